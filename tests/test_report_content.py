"""The report's content: manager part first, true sentences from result.json, units, meanings, drift."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.report.i18n import translator

REPORT = Path(__file__).resolve().parent.parent / "workbench" / "report"
ENGINEER_WORDS = ("Wolfe", "xtol", "ftol", "gtol", "Jacobian", "Hessian", "Gauss-Newton", "lbfgs")


def _fit(folder, text, rows, header="price,units"):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    write_csv(folder, "data.csv", header, rows)
    config = load_config(write_config(folder, text))
    return run_fit(config, folder / "out", reports=False)


@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sales")
    rng = np.random.default_rng(11)
    price = np.linspace(1, 10, 40)
    return _fit(folder, """
        name: sales
        data: {path: data.csv, units: {price: USD, units: pcs}}
        model: {type: linear, inputs: [price], target: units}
        report: {describe: {intercept: baseline sales}}
        output: {dir: out, formats: [], plots: false}
    """, zip(price, 2400 - 237 * price + rng.normal(0, 5, 40)))


def _text(section) -> str:
    return " ".join(getattr(b, "text", "") or " ".join(" ".join(r) for r in getattr(b, "rows", ())) for b in section.blocks)


def test_report_never_imports_the_pipeline_or_the_sweep():
    for path in REPORT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith(("workbench.pipeline", "workbench.sweep")) for n in names), (path, names)


def test_manager_part_comes_first_and_the_appendix_can_be_left_out(sales):
    from workbench.report.content import build_content, report_inputs
    from workbench.report.html import render_report_html

    inputs = report_inputs(sales)
    content = build_content(inputs)
    assert [s.key for s in content.manager] == ["summary", "chart", "parameters", "quality"]
    assert [s.key for s in content.appendix][:3] == ["data", "model", "gradient-check"]
    html = render_report_html(content)
    assert html.index('id="summary"') < html.index('id="parameters"') < html.index('id="appendix"') \
        < html.index('id="gradient-check"')
    config = dataclasses.replace(inputs.config, report=dataclasses.replace(inputs.config.report, appendix=False))
    short = build_content(dataclasses.replace(inputs, config=config))
    assert short.appendix == [] and 'id="appendix"' not in render_report_html(short)


def test_manager_part_has_units_meanings_and_no_engineer_words(sales):
    from workbench.report.content import report_content
    from workbench.report.text import number

    content = report_content(sales)
    manager = " ".join(_text(s) for s in content.manager)
    assert not any(word in manager for word in ENGINEER_WORDS), manager
    slope, se = sales.result["params"]["coef_price"], sales.result["stderr"]["coef_price"]
    assert (f"Each additional 1 USD of price lowers units by {number(-slope, 3)} pcs (±{number(se, 2)})."
            in manager)
    table = next(b for b in content.manager[2].blocks if hasattr(b, "rows"))
    rows = {r[0]: r for r in table.rows}
    assert rows["intercept"][1] == "baseline sales"                      # report.describe wins
    assert rows["coef_price"][1] == "change in units per additional 1 USD of price"
    quality = next(b for b in content.manager[3].blocks if hasattr(b, "rows"))
    assert any(r[1] == number(sales.result["metrics"]["rmse"], 4) + " pcs" for r in quality.rows)


def test_meanings_are_read_off_the_formula():
    from workbench.report.meanings import parameter_meanings

    meanings = parameter_meanings(["a", "b", "c", "k"], tr=translator("en"), target="units", kind=None,
                                  inputs=("price", "ads"), formula="units ~ a * price ** b + c + k * ads + sin(a)")
    assert meanings == {"b": "exponent of price in the a·price^b term", "c": "constant term added to units",
                        "k": "change in units per additional 1 of ads"}      # a appears twice: no meaning
    unknown = parameter_meanings(["r"], tr=translator("en"), target="y", kind=None, inputs=("x",),
                                 formula="y ~ exp(-r * x)")
    assert unknown == {}


def _result(**changes) -> dict:
    base = {"name": "t", "status": "converged", "converged": True, "iterations": 12, "loss": 1.0,
            "metrics": {"r2": 0.9, "rmse": 1.0, "n": 30}, "params": {}, "stderr": {}, "undetermined": [],
            "gradient_check": {"verdict": "verified"}}
    base.update(changes)
    return base


@pytest.mark.parametrize("changes, first, second", [
    ({}, "The fit converged after 12 steps.", "Its gradients were verified."),
    ({"gradient_check": {"verdict": "inconclusive"}}, "The fit converged after 12 steps.",
     "The check of its gradients was inconclusive."),
    ({"gradient_check": {"verdict": "failed"}}, "The fit converged after 12 steps.", "The check of its gradients failed."),
    ({"gradient_check": None}, "The fit converged after 12 steps.", "Its gradients were not checked."),
    ({"status": "diverged", "converged": True, "diverged_at": 3},
     "The fit diverged at step 3; the values shown are not a fit.", "Its gradients were verified."),
    ({"status": "max_steps", "converged": False},
     "The fit stopped without converging when it reached its limit of 12 steps.", "Its gradients were verified."),
    ({"converged": True, "loss": None, "status": "converged"}, "The fit stopped after 12 steps without converging.",
     "Its gradients were verified."),
])
def test_trust_sentences_come_from_result_json(changes, first, second):
    from workbench.report.sentences import alerts, trust_sentences

    result = _result(**changes)
    assert trust_sentences(result, translator("en")) == [first, second]
    warned = alerts(result, translator("en"))
    assert ("The fit diverged; do not use these numbers." in warned) == (result["status"] == "diverged")
    assert any("derivatives failed" in w for w in warned) == (changes.get("gradient_check") == {"verdict": "failed"})


def test_drift_says_which_parameters_moved_from_what_to_what(sales):
    from workbench.report.content import build_content, report_inputs
    from workbench.report.sentences import drift_sentences

    tr = translator("en")
    moved = _result(drift=[{"param": "b", "previous": -1.31, "now": -1.52, "z": -4.3}])
    assert drift_sentences(moved, tr) == ["b moved from −1.310 to −1.520 since the previous fit (4.3 times the "
                                          "standard error of the change)."]
    assert drift_sentences(_result(drift=[]), tr) == ["Since the previous fit, no parameter moved beyond its drift "
                                                      "threshold and the fit did not get worse beyond its tolerance."]
    assert drift_sentences(_result(), tr) == []
    inputs = report_inputs(sales)
    inputs.result = dict(inputs.result, drift=moved["drift"])
    content = build_content(inputs)
    assert content.manager[-1].key == "drift"
    assert "b moved from −1.310 to −1.520" in _text(content.manager[0]) + _text(content.manager[-1])


def test_console_notes_go_to_the_appendix_not_the_summary(tmp_path):
    from workbench.report.content import report_content

    x = np.linspace(0, 5, 20)
    outcome = _fit(tmp_path, """
        data: {path: data.csv}
        model: {formula: "y ~ a * x + m"}
        params: {a: 1}
        output: {dir: out, formats: [], plots: false}
    """, zip(x, 2 * x + 1), header="x,y")
    note = "parameter 'm' is not listed under params; it starts at 1.0"
    assert note in outcome.warnings
    content = report_content(outcome)
    assert all(note not in _text(s) for s in content.manager)
    assert any(note in getattr(b, "text", "") for s in content.appendix for b in s.blocks)


def test_undetermined_parameters_are_named_in_plain_words(tmp_path):
    from workbench.report.content import report_content

    x = np.linspace(0, 8, 30)
    outcome = _fit(tmp_path, """
        data: {path: data.csv}
        model: {formula: "y ~ a * exp(-b * x) + c + d"}
        params: {a: 1, b: 0.1, c: 0, d: 0.5}
        output: {dir: out, formats: [], plots: false}
    """, zip(x, 3.2 * np.exp(-0.45 * x) + 0.8), header="x,y")
    content = report_content(outcome)
    summary = _text(content.manager[0])
    undetermined = [u["param"] for u in outcome.result["undetermined"]]
    assert undetermined and f"The data cannot determine {' and '.join(undetermined)}" in summary
