"""report.html, report.pdf and results.xlsx of a real fit: content, self-containment, numbers."""

from __future__ import annotations

import base64
import json
import math
from html.parser import HTMLParser

import numpy as np
import pytest

from cli_helpers import run_cli, write_config, write_csv
from workbench.errors import InputError

SECTIONS = ("title", "summary", "chart", "parameters", "quality", "appendix", "data", "model", "gradient-check",
            "correlations", "plots", "graph", "reproducibility")


def decay_config(folder, formats=("html", "pdf", "xlsx"), extra_params="", formula="y ~ a * exp(-b * x) + c",
                 plots=True):
    rng = np.random.default_rng(1)
    x = np.linspace(0, 8, 30)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, x.size)
    write_csv(folder, "decay.csv", "x,y", zip(x.round(4), y.round(5)))
    return write_config(folder, f"""
        name: decay
        data: {{path: decay.csv}}
        model: {{formula: "{formula}"}}
        params: {{a: 1.0, b: {{init: 0.1, min: 0}}, c: 0.0{extra_params}}}
        optimizer: {{name: lm, max_steps: 200}}
        output: {{dir: out, formats: [{", ".join(formats)}], plots: {str(plots).lower()}}}
    """)


def fit(config_path, **kw):
    from workbench.config import load_config
    from workbench.pipeline.fit import resolve_out_dir, run_fit

    config = load_config(config_path)
    return run_fit(config, resolve_out_dir(config, None), **kw)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    outcome = fit(decay_config(folder))
    return outcome


class _Page(HTMLParser):
    """Collects ids, resource references and text of an HTML document."""

    def __init__(self):
        super().__init__()
        self.ids, self.refs, self.scripts, self.text, self.images = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for key in ("src", "href"):
            if attrs.get(key):
                self.refs.append(attrs[key])
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_data(self, data):
        self.text.append(data)


def parse_html(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_html_report_holds_every_section_in_order(fitted):
    page = parse_html(fitted.out_dir / "report.html")
    positions = [page.ids.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    text = " ".join(page.text)
    for phrase in ("Rows used", "Formula", "± (standard error)", "95% interval", "RMSE", "Reduced chi-square",
                   "AIC", "BIC", "Convergence", "Residual (actual minus prediction)",
                   "Each parameter's value at every step", "SHA-256",
                   fitted.prepared.dataset.sha256, "numpy " + np.__version__):
        assert phrase in text, phrase


def test_html_report_references_nothing_outside_itself(fitted):
    page = parse_html(fitted.out_dir / "report.html")
    raw = (fitted.out_dir / "report.html").read_text(encoding="utf-8")
    assert page.scripts == []
    assert all(not ref.startswith(("http://", "https://", "//")) for ref in page.refs), page.refs
    assert "<link" not in raw and "@import" not in raw and "url(" not in raw
    assert len(page.images) >= 5          # convergence, fit, residuals, trajectories, graph
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def _summary(outcome):
    from workbench.report.content import report_inputs
    from workbench.report.i18n import translator
    from workbench.report.sentences import summary_sentences

    inputs = report_inputs(outcome)
    return summary_sentences(inputs.result, inputs.effects, inputs.target, translator("en"), binary=inputs.binary)


def test_summary_sentences_are_written_from_the_numbers(fitted):
    result = json.loads((fitted.out_dir / "result.json").read_text())
    first, second, third, fourth = _summary(fitted)
    r2 = result["metrics"]["r2"]
    assert first == f"The model explains {100 * r2:.{1 if r2 < 0.9995 else 2}f}% of the variation in y."
    assert second.startswith("On average, each additional 1 of x lowers y by ")
    assert third == f"The fit converged after {result['iterations']} steps."
    assert fourth == {"verified": "Its gradients were verified.", "inconclusive": "The check of its gradients was "
                      "inconclusive."}[result["gradient_check"]["verdict"]]
    html = (fitted.out_dir / "report.html").read_text(encoding="utf-8")
    assert first in html and third in html


def test_average_effect_of_a_nonlinear_model_is_the_mean_slope(fitted):
    from workbench.report.content import report_inputs

    a, b, _ = fitted.x
    x = fitted.prepared.objective.columns["x"]
    effect = report_inputs(fitted).effects[0]
    assert effect.column == "x" and effect.kind == "average" and effect.clear
    assert effect.value == pytest.approx(np.mean(-a * b * np.exp(-b * x)), rel=1e-7)
    assert effect.stderr is not None and 0 < effect.stderr < abs(effect.value) / 10


def test_linear_effect_and_confidence_band_match_closed_forms(tmp_path):
    from workbench.report.content import report_inputs
    from workbench.report.figures import confidence_band
    from workbench.report.text import number

    rng = np.random.default_rng(3)
    x = np.linspace(1, 10, 25)
    write_csv(tmp_path, "line.csv", "price,units", zip(x, 40 - 2.5 * x + rng.normal(0, 0.5, x.size)))
    config = write_config(tmp_path, """
        data: {path: line.csv}
        model: {type: linear, inputs: [price], target: units}
        validation: 0.2
        output: {dir: out, formats: [], plots: false}
    """)
    outcome = fit(config)
    assert len(outcome.prepared.val_rows) == 5
    intercept, slope = outcome.x
    unc = outcome.uncertainty
    effect = report_inputs(outcome).effects[0]
    assert effect.value == pytest.approx(slope, rel=1e-8) and effect.kind == "slope"
    assert effect.stderr == pytest.approx(unc.stderr[1], rel=1e-5)
    assert _summary(outcome)[1] == (f"Each additional 1 of price lowers units by {number(-slope, 3)} "
                                    f"(±{number(unc.stderr[1], 2)}).")
    low, high = confidence_band(outcome)
    cov = unc.covariance
    half = unc.t_value * np.sqrt(cov[0, 0] + 2 * x * cov[0, 1] + x * x * cov[1, 1])
    np.testing.assert_allclose(high - low, 2 * half, rtol=1e-9)
    np.testing.assert_allclose((high + low) / 2, intercept + slope * x, rtol=1e-12)


def test_validation_metrics_are_reported_beside_the_fitted_ones(tmp_path):
    from workbench.report.content import report_content
    from workbench.report.html import render_report_html
    from workbench.report.pieces import r2_text

    rng = np.random.default_rng(4)
    x = np.linspace(1, 10, 40)
    write_csv(tmp_path, "line.csv", "price,units", zip(x, 40 - 2.5 * x + rng.normal(0, 0.5, x.size)))
    outcome = fit(write_config(tmp_path, """
        data: {path: line.csv}
        model: {type: linear, inputs: [price], target: units}
        validation: 0.25
        output: {dir: out, formats: [], plots: false}
    """))
    content = report_content(outcome)
    quality = next(s for s in content.manager if s.key == "quality")
    table = next(b for b in quality.blocks if hasattr(b, "rows"))
    assert table.columns[:3] == ("Measure", "Fitted rows", "Validation rows")
    rows = {r[0]: r for r in table.rows}
    assert rows["Rows"][2] == "10" and rows["R²"][2] == r2_text(outcome.result["validation_metrics"]["r2"])
    data = next(s for s in content.appendix if s.key == "data").blocks[0]
    assert ("Held out for validation", "10 rows (25%, chosen with seed 0)") in data.rows
    page = _Page()
    page.feed(render_report_html(content))
    text = " ".join(page.text)
    assert "Validation rows" in text and rows["Typical error (RMSE)"][2] in text


# report.pdf and results.xlsx are tested in test_report_pdf.py and test_report_xlsx.py.


def test_fit_records_trajectory_and_compact_gradient_check(fitted):
    steps = [step for step, _ in fitted.trajectory]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 1
    np.testing.assert_allclose(fitted.trajectory[-1][1], fitted.x, rtol=1e-6)
    assert [p.at for p in fitted.gradcheck.points] == ["init", "fit"]
    assert fitted.gradcheck.passed and fitted.gradcheck.compact
    assert all(len(p.gradient) == 3 and len(p.jacobian) == 9 for p in fitted.gradcheck.points)


def test_a_plot_that_cannot_be_drawn_is_named_and_the_rest_is_kept(fitted, tmp_path):
    import dataclasses

    from workbench.report import write_reports

    broken = dataclasses.replace(fitted, predictions=dict(fitted.predictions),
                                 warnings=list(fitted.warnings))
    broken.predictions["residual"] = np.full_like(fitted.predictions["residual"], np.nan)
    paths = write_reports(broken, ("html",), out_dir=tmp_path)
    assert [p.name for p in paths] == ["report.html"]
    page = parse_html(tmp_path / "report.html")
    text = " ".join(page.text)
    assert "Residuals: not drawn (" in text
    assert all(section in page.ids for section in SECTIONS)
    assert len(page.images) == 4              # everything but the residual plot


def test_alerts_name_non_convergence_undetermined_parameters_and_failed_checks(tmp_path):
    from workbench.report.i18n import translator
    from workbench.report.sentences import alerts, trust_sentences

    tr = translator("en")
    config = decay_config(tmp_path, formats=(), extra_params=", d: 0.5",
                          formula="y ~ a * exp(-b * x) + c + d", plots=False)
    outcome = fit(config)
    warnings = alerts(outcome.result, tr)
    assert "The data cannot determine c and d; their values are not reliable." in warnings, warnings
    stopped = dict(outcome.result, converged=False, status="max_steps", message="reached max_steps 200")
    assert alerts(stopped, tr)[0] == "The fit did not reach a stable answer; treat the numbers with caution."
    assert trust_sentences(stopped, tr)[0] == ("The fit stopped without converging when it reached its limit of "
                                               f"{outcome.result['iterations']} steps.")


def test_report_formats_are_checked(tmp_path):
    from workbench.report import check_formats, write_reports

    with pytest.raises(InputError, match=r"output.formats: unknown report format 'docx'"):
        check_formats(["html", "docx"])
    assert check_formats(["pdf", "HTML", "pdf"]) == ("pdf", "html")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create the output folder"):
        write_reports(object(), ("html",), out_dir=blocker / "sub")


def test_unwritable_output_folder_exits_2_with_one_line(tmp_path):
    config = decay_config(tmp_path)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    proc = run_cli("fit", str(config), "--out", str(tmp_path / "blocker" / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "blocker" in proc.stderr


def test_numbers_are_formatted_for_readers():
    from workbench.report.text import number, percent

    assert [number(v) for v in (1234.5678, 0.031234, -2.5, 0.0, 3.1e-7, None, math.nan)] == \
        ["1,235", "0.03123", "−2.500", "0", "3.100e−7", "—", "—"]
    assert percent(0.97234) == "97.2%"


def test_a_failed_gradient_check_is_a_warning_that_names_the_primitive(tmp_path, monkeypatch):
    from workbench import engine as ad
    from workbench.engine.graph import Primitive
    from workbench.report.content import report_content
    from workbench.report.i18n import translator
    from workbench.report.sentences import alerts, trust_sentences

    broken = Primitive("bad_exp", np.exp, vjp=lambda g, ans, x: g * ans * 1.01, jvp=lambda t, ans, x: t * ans,
                       elementwise=True)
    monkeypatch.setattr(ad, "exp", broken)
    outcome = fit(decay_config(tmp_path, formats=(), plots=False))
    check = outcome.result["gradient_check"]
    assert check["verdict"] == "failed" and check["failed_primitives"] == ["bad_exp"]
    tr = translator("en")
    assert alerts(outcome.result, tr)[-1] == ("A check of the model's derivatives failed, so the fit may be wrong; "
                                              "the technical appendix names the cause.")
    assert trust_sentences(outcome.result, tr)[1] == "The check of its gradients failed."
    appendix = next(s for s in report_content(outcome).appendix if s.key == "gradient-check")
    assert ("Derivative rules that disagree with an independent computation of their derivative: bad_exp."
            in [b.text for b in appendix.blocks])
