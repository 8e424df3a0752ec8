"""Every word of a report true, in the report's language: the final folder, meanings that do not
overclaim, why a fit stopped (from result.json's status and the kind of message, never its English
text in a Japanese report), drift in words for every kind of entry, and Japanese throughout."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.report.i18n import catalog, translator

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


# ---- the folder a report names --------------------------------------------------------------

def test_report_names_the_final_output_folder_not_the_staging_folder(tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    x = np.linspace(0, 5, 20)
    write_csv(tmp_path, "line.csv", "x,y", zip(x, 2 * x + 1))
    config = load_config(write_config(tmp_path, """
        data: {path: line.csv}
        model: {formula: "y ~ a * x + c"}
        params: {a: 1, c: 0}
        output: {dir: out, formats: [html], plots: false}
    """))
    outcome = run_fit(config, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert ".wb-new-" not in html
    assert f"<td>{(tmp_path / 'out').resolve()}</td>" in html
    assert outcome.out_dir == tmp_path / "out"


# ---- meanings ---------------------------------------------------------------------------------

def _meanings(formula, names, inputs=("price",), logit=False, units=None):
    from workbench.report.meanings import parameter_meanings

    return parameter_meanings(names, tr=translator("en"), target="units", kind=None, inputs=inputs,
                              formula=formula, units=units, logit=logit)


@pytest.mark.parametrize("formula, expected", [
    ("units ~ a * price ** b", {"a": "units when price is 1 USD", "b": "elasticity: % change in units per 1% more price"}),
    ("units ~ a * price ** b + c", {"a": "multiplier of price^b", "b": "exponent of price in the a·price^b term",
                                    "c": "constant term added to units"}),
    ("units ~ c - a * price ** b", {"a": "multiplier of price^b", "b": "exponent of price in the a·price^b term",
                                    "c": "constant term added to units"}),
    ("units ~ c - b * price", {"b": "decrease in units per additional 1 USD of price", "c": "constant term added to units"}),
    ("units ~ -b * price + c", {"b": "decrease in units per additional 1 USD of price", "c": "constant term added to units"}),
    ("units ~ b * price - c", {"b": "change in units per additional 1 USD of price",
                               "c": "constant term subtracted from units"}),
    ("units ~ a * price + b * price ** 2", {"a": "coefficient of price in the a·price term"}),
    ("units ~ b * price + b * 2", {}),                       # b appears twice: its role is not one term's
    ("units ~ 2 * b * price", {}),                           # b is half the slope: no meaning rather than a wrong one
])
def test_a_meaning_is_claimed_only_where_the_formula_makes_it_true(formula, expected):
    assert _meanings(formula, ["a", "b", "c"], units={"price": "USD"}) == expected


def test_a_logit_formula_speaks_of_log_odds_and_never_of_elasticity():
    said = _meanings("units ~ a + b * price", ["a", "b"], logit=True)
    assert said == {"a": "constant term of the log-odds that units is 1",
                    "b": "change in the log-odds that units is 1 per additional 1 of price"}
    assert "elasticity" not in " ".join(_meanings("units ~ a * price ** b", ["a", "b"], logit=True).values())


def test_builtin_models_say_what_their_parameters_are():
    from workbench.report.meanings import parameter_meanings

    def said(kind, names):
        return parameter_meanings(names, tr=translator("en"), target="y", kind=kind, inputs=("x",))

    assert said("power", ["a", "b"]) == {"a": "y when x is 1", "b": "elasticity: % change in y per 1% more x"}
    assert said("exponential", ["a", "b", "c"]) == {
        "a": "value of the a·exp(b·x) term when x is 0",
        "b": "growth rate of the a·exp(b·x) term per additional 1 of x (negative: decay)",
        "c": "constant term added to y"}
    assert said("gaussian", ["offset"]) == {"offset": "level of y far from the peak"}


def test_the_example_report_calls_b_an_exponent_not_the_elasticity(tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit
    from workbench.report.content import report_content

    price = np.linspace(2, 12, 30)
    write_csv(tmp_path, "sales.csv", "price,units", zip(price, 5000 * price ** -1.3 + 150))
    config = load_config(write_config(tmp_path, """
        data: {path: sales.csv}
        model: {formula: "units ~ a * price**b + c"}
        params: {a: 5000, b: -1, c: 100}
        output: {dir: out, formats: [], plots: false}
    """))
    content = report_content(run_fit(config, tmp_path / "out", reports=False))
    parameters = next(s for s in content.manager if s.key == "parameters")
    rows = {r[0]: r[1] for r in parameters.blocks[0].rows}
    assert rows["b"] == "exponent of price in the a·price^b term" and "elasticity" not in " ".join(rows.values())


# ---- why a fit stopped ------------------------------------------------------------------------

def _optimizer_messages() -> dict[str, tuple[str, str]]:
    """status and message for each way a run ends, made by the optimizers' own message functions."""
    from workbench.optim.base import (EXPLODED, OptimizeResult, diverged_message, exploded_message,
                                      no_finite_step_message)
    from workbench.optim.driver import honest

    def ended(x, fun, status="converged", message="tolerance met"):
        run = OptimizeResult(x=np.array(x, dtype=float), fun=fun, success=status == "converged", status=status,
                             message=message, nit=7, nfev=8, njev=8, history=[{"step": 0, "loss": 10.0}])
        run = honest(run, np.array([1.0]))
        return run.status, run.message

    return {"diverged.at_start": ("diverged", diverged_message(0)),
            "diverged.nonfinite": ("diverged", diverged_message(5)),
            "diverged.no_finite_step": ("diverged", no_finite_step_message(5, 30)),
            "diverged.runaway": ("diverged", exploded_message(5, np.array([1e11, 1.0]), EXPLODED, ["slope", "c"])),
            "diverged.end_nonfinite": ended([np.inf], 1.0),
            "diverged.far_above": ended([3.0], 40.0),
            "stalled.above_start": ended([3.0], 12.0),
            "stalled": ("stalled", "no step lowered the loss at step 9"),
            "max_steps": ("max_steps", "reached max_steps = 12 without meeting the tolerances"),
            "converged": ("converged", "relative reduction of the loss below ftol")}


@pytest.mark.parametrize("reason", list(_optimizer_messages()))
def test_the_optimizers_own_messages_map_to_their_reason(reason):
    from workbench.report.stops import stop_of

    status, message = _optimizer_messages()[reason]
    stop = stop_of({"status": status, "message": message, "converged": status == "converged", "loss": 1.0,
                    "iterations": 7, "diverged_at": 5 if status == "diverged" else None})
    assert stop.reason == reason
    assert stop.fields["param"] == ("slope" if reason == "diverged.runaway" else "")


def test_early_stopping_by_patience_is_told_from_other_stops():
    from workbench.optim.base import Monitor
    from workbench.optim.options import Options
    from workbench.report.stops import stop_of

    monitor = Monitor(Options(patience=1), callback=lambda step, x, loss: 1.0)
    for step in range(3):
        monitor.record(step, np.zeros(1), 1.0, 1.0)
    assert monitor.stop_status == "early_stopped"
    patience = {"status": "early_stopped", "message": monitor.stop_message, "iterations": 2}
    assert stop_of(patience).reason == "early_stopped"
    assert stop_of(dict(patience, message="the callback asked to stop at step 2")).reason == "stopped"


@pytest.mark.parametrize("reason, words", [
    ("diverged.runaway", "The fit diverged at step 5: parameter slope grew without bound while the loss kept "
                         "falling, so the model may have no best fit for this data; the values shown are those of step 4."),
    ("diverged.far_above", "The fit diverged: after 7 steps its loss was far above the starting loss; the values "
                           "shown are the starting values."),
    ("diverged.nonfinite", "The fit diverged at step 5: the loss or its slope became infinite or undefined; the "
                           "values shown are those of step 4."),
])
def test_divergence_sentences_say_what_happened_and_which_values_are_shown(reason, words):
    from workbench.report.sentences import trust_sentences

    status, message = _optimizer_messages()[reason]
    result = {"status": status, "message": message, "converged": False, "iterations": 7, "diverged_at": 5,
              "gradient_check": {"verdict": "not_run"}}
    assert trust_sentences(result, translator("en"))[0] == words
    japanese = trust_sentences(result, translator("ja"))[0]
    assert JAPANESE.search(japanese) and not re.search(r"[A-Za-z]{3,}", japanese.replace("slope", ""))


# ---- drift --------------------------------------------------------------------------------------

def test_every_kind_of_drift_entry_is_said_and_tabled():
    from workbench.report.sentences import drift_sentences

    tr = translator("en")
    drift = [{"param": "b", "previous": 2.0, "now": 2.6, "z": None, "relative_change": 0.2307, "test": "relative",
              "tolerance": 0.1},
             {"metric": "rmse", "previous": 1.0, "now": 2.0, "relative_change": 1.0, "test": "metric",
              "tolerance": 0.5}]
    said = drift_sentences({"drift": drift, "converged": True}, tr)
    assert said == ["b moved from 2.000 to 2.600 since the previous fit (a change of 23%; without standard errors "
                    "it is compared with a tolerance of 10%).",
                    "Typical error (RMSE) rose from 1.000 to 2.000 since the previous fit (+100%; the tolerance is 50%)."]
    first = {"drift": [], "converged": True, "drift_check": {"compared_with": None}}
    assert drift_sentences(first, tr) == [catalog("en")["drift.first"]]
    assert drift_sentences(dict(first, converged=False), tr) == [catalog("en")["drift.not_compared"]]
    assert all(JAPANESE.search(s) for s in drift_sentences({"drift": drift, "converged": True}, translator("ja")))


# ---- Japanese throughout ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def japanese_divergence(tmp_path_factory):
    """A Japanese report of a fit that diverges at its start, with console notes and a check's detail:
    every English text the fit produces (optimizer message, notes, check detail) is on hand."""
    from workbench.config import load_config
    from workbench.errors import DivergedError
    from workbench.pipeline.fit import run_fit

    folder = tmp_path_factory.mktemp("ja-diverged")
    x = np.linspace(1, 5, 20)
    write_csv(folder, "grow.csv", "x,y", zip(x, np.exp(x)))
    config = load_config(write_config(folder, """
        data: {path: grow.csv}
        model: {formula: "y ~ sqrt(a) * x + m"}
        params: {a: 0}
        optimizer: {name: gd, max_steps: 50}
        report: {language: ja}
        output: {dir: out, formats: [html, xlsx], plots: false}
    """))
    # The pipeline now refuses this start (exit 2: sqrt's derivative is infinite at a = 0); let it
    # through to the optimizer, which diverges at step 0, so that a real divergence is reported.
    with pytest.MonkeyPatch.context() as patch, pytest.raises(DivergedError):
        patch.setattr("workbench.pipeline.start_point.check_start_point", lambda prepared: None)
        run_fit(config, folder / "out")
    out = folder / "out"
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    english = [result["message"], *result["warnings"], (result.get("gradient_check") or {}).get("detail") or ""]
    return out, result, [e for e in english if e]


def _english_runs(text: str, words: int = 4) -> list[str]:
    """Runs of ``words`` English words or more (how an untranslated sentence shows)."""
    return re.findall(r"[A-Za-z][a-z']*(?:[ ,;:]+[A-Za-z][a-z']*){%d,}" % (words - 1), text)


def test_a_japanese_report_quotes_no_english_from_the_optimizer_console_or_check(japanese_divergence):
    from test_i18n import _Visible, english_fragments

    out, result, english = japanese_divergence
    assert result["status"] == "diverged" and len(english) >= 3
    page = _Visible()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    visible = " ".join(page.text)
    assert page.lang == "ja"
    for text in english:
        assert text not in visible and not any(run in visible for run in _english_runs(text)), text
    normalized = " ".join(re.findall(r"[A-Za-z][A-Za-z'’-]*", visible))
    assert [f for f in english_fragments() if f in normalized] == []
    stop = translator("ja")("trust.diverged.at_start")
    assert stop in visible                                  # said in Japanese, in the summary and the appendix
    assert visible.count(stop) == 2
    assert translator("ja")("notes.elsewhere", n=len(result["warnings"])) in visible


def test_a_japanese_workbook_labels_and_words_are_japanese(japanese_divergence):
    import openpyxl

    from test_i18n import english_fragments

    out, result, english = japanese_divergence
    book = openpyxl.load_workbook(out / "results.xlsx")
    fragments = english_fragments()
    strings = [c.value for sheet in book for row in sheet.iter_rows(max_row=60) for c in row
               if isinstance(c.value, str)]
    for text in strings:
        normalized = " ".join(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))
        assert not [f for f in fragments if f in normalized], text
        assert text not in english, text
    summary = {r[0].value: r[1].value for r in book["概要"].iter_rows(min_row=2)}
    ja = translator("ja")
    assert summary[ja("xlsx.row.status")] == "発散"
    assert summary[ja("xlsx.row.gradient_check")] == ja(f"xlsx.verdict.{result['gradient_check']['verdict']}")
    assert summary[ja("xlsx.row.stop")] == ja("trust.diverged.at_start")
    assert ja("xlsx.row.message") not in summary


def test_an_english_workbook_keeps_the_optimizers_own_message_under_its_label():
    from workbench.report.xlsx import summary_rows

    result = {"status": "max_steps", "message": "reached max_steps = 12 without meeting the tolerances",
              "iterations": 12, "converged": False, "gradient_check": {"verdict": "inconclusive"}}
    rows = {label: value for label, value, _ in summary_rows(result, translator("en"))}
    assert rows["The optimizer's own message"] == result["message"]
    assert rows["Status"] == "step limit reached" and rows["Gradient check"] == "inconclusive"
    assert rows["Why it stopped"] == "The fit stopped without converging when it reached its limit of 12 steps."


# ---- the drift chart ----------------------------------------------------------------------------

def _nights(values: list[float], se: float = 0.05) -> list[list]:
    return [[f"2024-05-0{k + 1}T02:30:00+00:00", v, se] for k, v in enumerate(values)]


def test_drift_chart_draws_each_parameter_over_time_with_its_band_next_to_the_sentence(tmp_path):
    import dataclasses

    import matplotlib.dates as mdates

    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit
    from workbench.report import plots
    from workbench.report.content import report_content
    from workbench.report.figures import draw_figures, drift_series
    from workbench.report.blocks import Figure

    x = np.linspace(1, 10, 30)
    write_csv(tmp_path, "line.csv", "x,y", zip(x, 3 + 2 * x + np.random.default_rng(0).normal(0, 0.1, 30)))
    config = load_config(write_config(tmp_path, """
        data: {path: line.csv}
        model: {formula: "y ~ a * x + c"}
        params: {a: 1, c: 0}
        report: {language: ja}
        output: {dir: out, formats: [], plots: false}
    """))
    outcome = run_fit(config, tmp_path / "out", reports=False)
    history = {"a": _nights([2.0, 2.01, 2.6]), "c": _nights([3.0, 2.98, 3.01], se=None)}
    drift = [{"param": "a", "previous": 2.01, "now": 2.6, "z": 8.3, "test": "z"}]
    outcome = dataclasses.replace(outcome, result=dict(outcome.result, drift=drift, drift_history=history))

    series = drift_series(outcome.result)
    assert [(s.name, s.drifted) for s in series] == [("a", True), ("c", False)]
    assert str(series[0].times[0]) == "2024-05-01T02:30:00.000" and np.isnan(series[1].stderr).all()
    fig = plots.drift_figure(series, plots.Words(x="日時", legend=("値", "±2標準誤差")))
    try:
        panel = fig.axes[0]
        band = panel.collections[0].get_paths()[0].vertices[:, 1]
        assert band.min() == pytest.approx(2.0 - 2 * 0.05) and band.max() == pytest.approx(2.6 + 2 * 0.05)
        assert panel.get_title() == "a" and panel.lines[-1].get_color() == plots.ALERT
        assert mdates.num2date(panel.lines[0].get_xdata(orig=False)[-1]).day == 3
    finally:
        plots.pyplot().close(fig)

    drawn = draw_figures(outcome, tmp_path, ("drift",))
    content = report_content(outcome, drawn)
    section = next(s for s in content.manager if s.key == "drift")
    figure = next(b for b in section.blocks if isinstance(b, Figure))
    assert figure.caption == translator("ja")("figure.drift") and figure.path.name == "drift.png"
    assert section.blocks.index(figure) > 0              # after the sentence that it illustrates


def test_a_history_of_one_fit_draws_no_drift_chart():
    from workbench.report.figures import has_drift_history

    assert not has_drift_history({"drift": [], "drift_history": {"a": _nights([2.0])}})
    assert not has_drift_history({})
    assert has_drift_history({"drift": [], "drift_history": {"a": _nights([2.0, 2.1])}})


def test_a_japanese_page_carries_a_font_with_every_character_it_shows(japanese_divergence):
    import base64
    import io

    from fontTools.ttLib import TTFont

    from workbench.report.blocks import ReportContent, Section, Paragraph
    from workbench.report.html import render_report_html

    out, _, _ = japanese_divergence
    html = (out / "report.html").read_text(encoding="utf-8")
    found = re.search(r'@font-face \{ font-family: "workbench-cjk"; src: url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)',
                      html)
    assert found and len(found.group(1)) < 300_000             # a subset, not the 6 MB font
    cmap = TTFont(io.BytesIO(base64.b64decode(found.group(1)))).getBestCmap()
    shown = {c for c in re.sub(r"<style>.*?</style>|data:[^\"']+", "", html, flags=re.S) if ord(c) > 127}
    assert shown and [c for c in shown if ord(c) not in cmap and c.strip()] == []
    english = ReportContent("en", "Fit report: t", "today", [Section("summary", "Summary", [Paragraph("All fine.")])],
                            [], "footer")
    assert "@font-face" not in render_report_html(english)


def test_a_parameter_at_a_bound_or_without_uncertainty_is_not_called_undetermined():
    from workbench.report.sentences import alerts

    result = {"status": "converged", "converged": True, "loss": 1.0,
              "undetermined": [{"param": "k", "reason": "at_bound", "with": []},
                               {"param": "c3", "reason": "scaling", "with": [], "span": 1e14},
                               {"param": "a", "reason": "collinear", "with": ["b"]},
                               {"param": "b", "reason": "collinear", "with": ["a"]}]}
    said = alerts(result, translator("en"))
    assert said == ["The data cannot determine a and b; their values are not reliable.",
                    "The uncertainty of c3 could not be estimated because an input spans many orders of magnitude; "
                    "rescaling that input would fix this.",
                    "k ended at a limit set in the configuration: the value shown is that limit, not an estimate "
                    "from the data."]
    assert all(JAPANESE.search(s) for s in alerts(result, translator("ja")))


def test_the_parameters_table_notes_a_bound_as_a_bound(tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit
    from workbench.report.content import report_content

    x = np.linspace(0, 8, 30)
    write_csv(tmp_path, "decay.csv", "x,y", zip(x, 3.2 * np.exp(-0.45 * x) + 0.8))
    config = load_config(write_config(tmp_path, """
        data: {path: decay.csv}
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1, b: {init: 0.1, max: 0.2}, c: 0}
        output: {dir: out, formats: [], plots: false}
    """))
    outcome = run_fit(config, tmp_path / "out", reports=False)
    assert {"param": "b", "reason": "at_bound", "with": []} in outcome.result["undetermined"]
    content = report_content(outcome)
    rows = {r[0]: r for r in next(s for s in content.manager if s.key == "parameters").blocks[0].rows}
    assert rows["b"][-1] == "at its upper bound"
    summary = " ".join(b.text for b in content.manager[0].blocks)
    assert "b ended at a limit set in the configuration" in summary and "cannot determine b" not in summary
