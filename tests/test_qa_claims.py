"""QA's false claims (issue 8, /work/qa/findings.md #1, #3, #4, #5, #14, #22, #23, #26, #29): each
case as a user met it, with synthetic data of the same shape, and the true statement now made."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_cli, write_config, write_csv

KINK_ROWS = [(1, 2.1), (2, 3.9), (3, 6.2), (4, 8.1), (5, 9.8), (6, 12.2)]


# ---- #3: a kink on a data value is not a wrong rule --------------------------------------------

def test_check_at_a_kink_on_a_data_value_does_not_fail(tmp_path):
    write_csv(tmp_path, "base.csv", "x,y", KINK_ROWS)
    config = write_config(tmp_path, """
        name: kink
        data: {path: base.csv}
        model: {formula: "y ~ a*abs(x - b) + c*max(x, d)"}
        params: {a: 1, b: 3, c: 1, d: 2}
    """)
    proc = run_cli("check", str(config), "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DISAGREES" not in proc.stdout and "is wrong" not in proc.stderr
    result_path = tmp_path / "out" / "result.json"
    result = json.loads(result_path.read_text())
    assert result["params"]["b"] == pytest.approx(5.0, abs=1e-6)      # the breakpoint lands on a data value
    result["params"]["b"] = 5.0                                        # ... exactly, as QA's run did
    result_path.write_text(json.dumps(result))
    proc = run_cli("check", str(config), "--at", "fit", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DISAGREES" not in proc.stdout and "is wrong" not in proc.stderr
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] in ("verified", "inconclusive") and report["failed_primitives"] == []


def test_a_failure_names_only_the_points_that_disagreed():
    from workbench.pipeline.check_verdict import CheckReport, DerivativeRow, PointCheck

    def point(at, passed):
        row = DerivativeRow("b", 1.0, 1.0, 1.0 if passed else 3.0, 1.0 if passed else 3.0, 0.0 if passed else 2.0,
                            0.0, 0.1 if passed else 50.0, passed, numeric_verdict="agrees" if passed else "disagrees")
        return PointCheck(at, 1.0, 1, [row], [], {}, 4)

    report = CheckReport("k", [point("init", True), point("fit", False)], 0)
    assert report.verdict == "failed"
    assert report.detail() == "numeric differences confidently disagree with the derivatives of b at the fitted point"


# ---- the check at sqrt(0): not differentiable, not a wrong rule --------------------------------

def test_check_where_sqrt_has_an_infinite_derivative_is_inconclusive_not_failed(tmp_path):
    write_csv(tmp_path, "base.csv", "x,y", KINK_ROWS)
    config = write_config(tmp_path, """
        name: sq
        data: {path: base.csv}
        model: {formula: "y ~ a*sqrt(x - b)"}
        params: {a: 1, b: 0}
    """)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "result.json").write_text(json.dumps({"status": "converged", "params": {"a": 1.0, "b": 1.0}}))
    proc = run_cli("check", str(config), "--at", "fit", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not differentiable" in proc.stdout and "sqrt" in proc.stdout
    assert "DISAGREES" not in proc.stdout and "is wrong" not in proc.stderr
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] == "inconclusive" and report["failed_primitives"] == []
    assert report["non_differentiable"] == ["sqrt"]


# ---- #14: an infinite derivative at the start is bad input, named like log(-x) -----------------

@pytest.mark.parametrize("formula, params, said", [
    ("y ~ a*sqrt(x - b)", "{a: 1, b: 1}", "the derivative of sqrt is infinite at row 2 (x = 1), in sqrt(x - b)"),
    ("y ~ a*(x - b)**0.5", "{a: 1, b: 1}",
     "a power below 1 of zero has an infinite derivative at row 2 (x = 1), in (x - b)**0.5"),
])
def test_an_infinite_derivative_at_the_start_is_exit_2_naming_row_column_and_expression(tmp_path, formula, params,
                                                                                         said):
    write_csv(tmp_path, "base.csv", "x,y", KINK_ROWS)
    config = write_config(tmp_path, f"""
        name: sq
        data: {{path: base.csv}}
        model: {{formula: "{formula}"}}
        params: {params}
    """)
    proc = run_cli("fit", str(config), "--out", "out", "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr and "model.formula" in proc.stderr
    assert not (tmp_path / "out").exists()


# ---- helpers: a fit in-process, without reports, and its summary as a manager reads it -----------

def _fit(folder, name, header, rows, config_text):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    write_csv(folder, f"{name}.csv", header, rows)
    path = write_config(folder, f"name: {name}\ndata: {{path: {name}.csv}}\n{config_text}\n"
                                f"output: {{dir: out_{name}, formats: [], plots: false}}\n", name=f"{name}.yaml")
    return run_fit(load_config(path), folder / f"out_{name}", reports=False)


def _summary(outcome, language="en"):
    from workbench.report.content import report_inputs
    from workbench.report.i18n import translator
    from workbench.report.sentences import alerts, summary_sentences

    inputs = report_inputs(outcome)
    tr = translator(language)
    said = summary_sentences(inputs.result, inputs.effects, inputs.target, tr, binary=inputs.binary,
                             units=inputs.units)
    return " ".join(said), " ".join(alerts(inputs.result, tr))


def _parameter_rows(outcome, language="en"):
    from workbench.report.content import _parameters, report_inputs
    from workbench.report.i18n import translator

    return _parameters(report_inputs(outcome), translator(language)).blocks[0].rows


# ---- #1: separated classes are not "converged, 100% correct" ------------------------------------

def _leads(separating: str):
    rng = np.random.default_rng(7)
    price = rng.uniform(400, 2400, 200)
    noise = rng.normal(0, 1, 200)
    won = (price < 1200) if separating == "price" else (price / 1000 + noise > 1.5)
    return zip(np.round(price / 1000, 4), np.round(noise, 4), won.astype(int))


@pytest.mark.parametrize("separating, by", [("price", ["price_k"]), ("combination", [])])
def test_separated_classes_have_no_estimate_and_the_summary_says_so(tmp_path, separating, by):
    outcome = _fit(tmp_path, "sep", "price_k,noise,won", _leads(separating),
                   "model: {type: logistic, inputs: [price_k, noise], target: won}\nloss: cross_entropy")
    result = outcome.result
    assert result["status"] == "separated" and result["converged"] is False
    assert result["separation"] == {"by": by, "kind": "complete"}
    assert [(u["param"], u["reason"], u["with"]) for u in result["undetermined"]] == [
        (name, "separation", by) for name in ("intercept", "coef_price_k", "coef_noise")]
    assert all(v is None for v in result["stderr"].values())           # no ±5e7 presented as a standard error
    summary, alerts = _summary(outcome)
    named = "price_k" if by else "a combination of the inputs"
    assert f"are perfectly separated by {named}" in summary and f"perfectly separated by {named}" in alerts
    assert "classifies" not in summary and "converged after" not in summary and "odds" not in summary
    rows = _parameter_rows(outcome)
    assert all(r[2].endswith("(not converged)") and r[4] == "—" and r[5] == "no finite estimate (separated classes)"
               for r in rows)
    summary_ja, _ = _summary(outcome, "ja")
    assert "完全に分かれています" in summary_ja and "収束しました" not in summary_ja


def test_a_constant_zero_one_target_is_refused(tmp_path):
    write_csv(tmp_path, "leads.csv", "price,won", [(p, 0) for p in range(1, 21)])
    config = write_config(tmp_path, "data: {path: leads.csv}\nmodel: {type: logistic, inputs: [price], target: won}\n"
                                    "loss: cross_entropy\n")
    proc = run_cli("fit", str(config), "--out", "out", "--no-reports", cwd=tmp_path)
    assert proc.returncode == 2 and "won" in proc.stderr and not (tmp_path / "out").exists()


# ---- #4: a plateau where the model is flat is not convergence -----------------------------------

def test_a_flat_plateau_is_stalled_with_no_effect_parameters_and_an_r2_warning(tmp_path):
    rng = np.random.default_rng(3)
    price = rng.uniform(10, 100, 400)
    quantity = np.round(60 * price ** -0.77 * 10 + rng.normal(0, 2, 400) + 10, 3)
    outcome = _fit(tmp_path, "div", "price,quantity", zip(np.round(price, 3), quantity),
                   'model: {formula: "quantity ~ a * exp(b*price)"}\nparams: {a: 25, b: 0.5}\n'
                   "optimizer: {name: adam, lr: 10}")
    result = outcome.result
    assert result["metrics"]["r2"] < 0
    assert result["status"] == "stalled" and result["converged"] is False
    assert "does not change with any parameter" in result["message"]
    assert [(u["param"], u["reason"]) for u in result["undetermined"]] == [("a", "no_effect"), ("b", "no_effect")]
    summary, alerts = _summary(outcome)
    assert "on a plateau where the model's prediction does not change with any parameter" in summary
    assert "The model predicts worse than the plain average would" in alerts
    assert "no clear effect" not in summary and "raises" not in summary and "lowers" not in summary


def test_a_parameter_without_effect_is_flat_but_the_others_keep_their_uncertainty():
    from workbench.pipeline import uncertainty

    x = np.linspace(1, 5, 20)
    jac = np.column_stack([x, np.ones_like(x), np.zeros_like(x)])
    u = uncertainty.estimate(["a", "b", "d"], np.ones(3), 20, jacobian=jac, residuals=np.full(20, 0.1),
                             no_effect=["d"])
    assert u.undetermined == [{"param": "d", "reason": "no_effect", "with": []}]
    assert np.isfinite(u.stderr[:2]).all() and np.isnan(u.stderr[2])


# ---- #5: a fit that did not converge states no effects or intervals as results ------------------

def test_an_unconverged_fit_states_no_effects_and_labels_its_values(tmp_path):
    from workbench.report.i18n import translator
    from workbench.report.xlsx import write_xlsx

    rng = np.random.default_rng(5)
    price = rng.uniform(10, 100, 300)
    quantity = 60 * price ** -0.77 + rng.normal(0, 0.2, 300)
    outcome = _fit(tmp_path, "power", "price,quantity", zip(price, quantity),
                   'model: {formula: "quantity ~ a * price ** b"}\nparams: {a: 25, b: 0}\n'
                   "optimizer: {name: gd, max_steps: 30}")
    assert outcome.result["status"] == "max_steps"
    summary, alerts = _summary(outcome)
    assert "not estimates, so no effect of an input is stated" in summary
    assert not any(word in summary for word in ("raises", "lowers", "no clear effect", "95%"))
    for language in ("en", "ja"):
        rows = _parameter_rows(outcome, language)
        label = translator(language)("value.not_converged", value="")
        assert all(r[2].endswith(label) and r[4] == "—" for r in rows), rows
    summary_ja, _ = _summary(outcome, "ja")
    assert "推定値ではありません" in summary_ja
    import openpyxl

    path = write_xlsx(outcome, tmp_path / "results.xlsx")
    sheet = openpyxl.load_workbook(path)["Parameters"]
    header = [c.value for c in sheet[1]]
    low, high = header.index("95% interval, low"), header.index("95% interval, high")
    for row in list(sheet.iter_rows(values_only=True))[1:]:
        assert row[low] == row[high] == "not an estimate (not converged)"


# ---- #23 and #29: pictures that tell the truth and do not overlap --------------------------------

def test_a_zero_one_fit_is_drawn_as_calibration_by_groups_of_predicted_chance():
    import matplotlib

    matplotlib.use("Agg")
    from workbench.report.plots import FitSeries, Words, fit_figure

    predicted = np.array([0.05, 0.15, 0.12, 0.55, 0.58, 0.95, 0.91, 0.93])
    actual = np.array([0, 0, 1, 1, 0, 1, 1, 0], dtype=float)
    fig, how = fit_figure(FitSeries(y=actual, predicted=predicted, binary=True), Words("t", "x", "y", ("g", "line")))
    assert how == {"shown": 8, "total": 8, "method": "groups"}
    points = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(points, [[0.05, 0.0], [0.135, 0.5], [0.565, 0.5], [0.93, 2 / 3]])


def test_fit_captions_of_a_zero_one_model_make_no_impossible_claim():
    from workbench.report.i18n import translator

    for language in ("en", "ja"):
        tr = translator(language)
        caption = tr("figure.fit.calibration", target="won")
        assert caption != tr("figure.fit.actual") and "won" in caption
    assert "predicted exactly" not in translator("en")("figure.fit.calibration", target="won")


def test_large_values_are_written_in_full_with_no_offset_text_over_the_legend():
    import matplotlib

    matplotlib.use("Agg")
    from workbench.report.plots import FitSeries, Words, fit_figure

    y = np.linspace(4e5, 1.1e6, 30)
    fig, _ = fit_figure(FitSeries(y=y, predicted=y * 1.01), Words("t", "actual", "predicted", ("data", "perfect")))
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.yaxis.get_offset_text().get_text() == "" and ax.xaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any(label.endswith(",000") for label in labels), labels


# ---- #22: dates per day, categories against their reference --------------------------------------

def test_effect_sentences_read_dates_per_day_and_levels_against_the_reference():
    from workbench.report.effects import Effect
    from workbench.report.i18n import translator
    from workbench.report.sentences import effect_sentence, input_kinds

    result = {"prediction": {"date_origins": {"Date": "2023-01-01"}, "levels": {"region": ["East", "North", "West"]}}}
    kinds = input_kinds(result)
    rising = Effect("Date", "slope", 0.8, 0.1, 0.6, 1.0, 1.0)
    unclear = Effect("Date", "slope", 0.1, 0.1, -0.1, 0.3, 1.0)
    north = Effect("region[North]", "odds_ratio", 1.5, 0.2, 1.1, 2.0, 1.0)
    en, ja = translator("en"), translator("ja")
    assert effect_sentence(rising, "sales", en, kinds=kinds) == "Each additional day of Date raises sales by 0.800 (±0.10)."
    assert "the change per additional day, −0.100 to 0.300" in effect_sentence(unclear, "sales", en, kinds=kinds)
    assert effect_sentence(north, "won", en, kinds=kinds).startswith(
        "region North compared with East (the reference) raises the odds that won is 1: they are multiplied by 1.50")
    assert effect_sentence(rising, "売上", ja, kinds=kinds).startswith("Dateが1日進むごとに、売上は0.800増加します")
    assert effect_sentence(north, "won", ja, kinds=kinds).startswith("regionがEast(基準)ではなくNorthの場合、")
    assert effect_sentence(rising, "sales", en).startswith("Each additional 1 of Date")      # a plain number


# ---- results without pandas: the set and file columns as numpy labels ---------------------------

def test_set_labels_read_as_texts_and_write_as_a_parquet_dictionary(tmp_path):
    import pyarrow.parquet as pq

    from workbench.pipeline.outputs import write_predictions
    from workbench.pipeline.results import _set_labels

    labels = _set_labels(5, np.array([1, 3]))
    assert labels.codes.dtype == np.int8 and len(labels) == 5
    assert list(labels) == ["train", "validation", "train", "validation", "train"]
    assert labels[1] == "validation" and list(labels[2:4]) == ["train", "validation"]
    assert np.asarray(labels).tolist() == list(labels)
    path = write_predictions(tmp_path, {"prediction": np.arange(5.0), "set": labels}, "parquet")
    column = pq.read_table(path).column("set")
    assert str(column.type).startswith("dictionary") and column.to_pylist() == list(labels)


# ---- a picture that could not be drawn is in result.json, and told in the report's language ------

def test_a_picture_not_drawn_is_recorded_in_result_json_and_translated(tmp_path, monkeypatch):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit
    from workbench.report import figures
    from workbench.report.i18n import translator

    def broken(outcome, path, tr, language):
        raise ValueError("no room for the legend")

    monkeypatch.setitem(figures.DRAWERS, "fit", broken)
    write_csv(tmp_path, "d.csv", "x,y", KINK_ROWS)
    config = write_config(tmp_path, """
        name: pic
        data: {path: d.csv}
        model: {type: linear, inputs: [x], target: y}
        report: {language: ja, appendix: true}
        output: {dir: out, formats: [html]}
    """)
    run_fit(load_config(config), tmp_path / "out")
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["pictures_not_drawn"] == [{"picture": "fit", "reason": "no room for the legend"}]
    assert "Fit could not be drawn: no room for the legend" in result["warnings"]
    tr = translator("ja")
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # once where the chart would be ("データと当てはめ: …"), once among the fit's messages
    assert page.count(tr("figure.missing", title=tr("plot.name.fit"))) == 2


# ---- #26: "1 step", and no restart note for a restart that found nothing better -----------------

def test_one_step_is_singular_on_the_console_and_in_both_languages(tmp_path):
    from workbench.report.i18n import translator
    from workbench.report.stops import stop_sentence

    write_csv(tmp_path, "d.csv", "x,y", [(x, 2 * x + 1 + 0.1 * (-1) ** x) for x in range(1, 9)])
    config = write_config(tmp_path, "data: {path: d.csv}\nmodel: {type: linear, inputs: [x], target: y}\n")
    proc = run_cli("fit", str(config), "--out", "out", "--no-reports", cwd=tmp_path)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert proc.returncode == 0 and result["iterations"] == 1
    assert "converged after 1 step (" in proc.stdout and "1 steps" not in proc.stdout
    assert stop_sentence(result, translator("en")) == "The fit converged after 1 step."
    assert stop_sentence(result, translator("ja")) == "フィットは1ステップで収束しました。"


def test_a_restart_that_found_nothing_better_is_not_mentioned(tmp_path):
    write_csv(tmp_path, "base.csv", "x,y", KINK_ROWS)
    config = write_config(tmp_path, """
        data: {path: base.csv}
        model: {formula: "y ~ a*abs(x - b) + c*max(x, d)"}
        params: {a: 1, b: 3, c: 1, d: 2}
    """)
    proc = run_cli("fit", str(config), "--out", "out", "--no-reports", cwd=tmp_path)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "converged" and "restart" not in result["message"], result["message"]


def test_the_meaning_of_a_date_coefficient_is_per_day(tmp_path):
    days = np.arange(30)
    dates = [str(np.datetime64("2023-03-01") + int(d)) for d in days]
    outcome = _fit(tmp_path, "daily", "Date,sales", zip(dates, 50 + 0.5 * days + 0.3 * np.sin(days)),
                   "model: {type: linear, inputs: [Date], target: sales}")
    meanings = {r[0]: r[1] for r in _parameter_rows(outcome)}
    assert meanings["coef_Date"] == "change in sales per additional 1 day of Date"
    assert {r[0]: r[1] for r in _parameter_rows(outcome, "ja")}["coef_Date"].startswith("Dateが1日増えたとき")
