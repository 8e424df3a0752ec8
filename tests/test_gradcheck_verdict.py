"""The gradient check does not cry wolf (issue 8, case 2) and still catches a wrong rule.

Numeric differences are evidence only within their own error; the verdict is one of verified,
failed, inconclusive, not_run, and result.json, the console and ``workbench check`` agree on it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_main, write_config, write_csv
from workbench import engine as ad
from workbench.engine.graph import Primitive
from workbench.engine.numdiff import AGREES, DISAGREES, INCONCLUSIVE, judge, numeric_derivative


def traffic_rows(k=9000.0, r=0.05, t0=800.0):
    """~900 daily rows, Sessions in the thousands, a saturation curve with noise."""
    day = np.arange(0, 901)
    sessions = k / (1 + np.exp(-r * (day - t0))) + np.random.default_rng(0).normal(0, 100, day.size)
    return zip(day, sessions.round(0))


@pytest.fixture
def saturation(tmp_path):
    write_csv(tmp_path, "traffic.csv", "day,Sessions", traffic_rows())
    return write_config(tmp_path, """
        name: traffic
        data: {path: traffic.csv}
        model: {formula: "Sessions ~ K / (1 + exp(-r * (day - t0)))"}
        params: {K: 9000, r: 0.05, t0: 800}
        output: {dir: out, formats: []}
    """)


@pytest.fixture
def polynomial(tmp_path):
    write_csv(tmp_path, "traffic.csv", "day,Sessions", traffic_rows(5000, 0.012, 400))
    return write_config(tmp_path, """
        name: poly
        data: {path: traffic.csv}
        model: {type: polynomial, inputs: [day], target: Sessions, degree: 5}
        output: {dir: out, formats: []}
    """)


def test_saturation_curve_over_900_days_is_verified_not_failed(saturation, tmp_path, capsys):
    assert run_main("check", str(saturation)) == 0
    printed = capsys.readouterr().out
    assert "FAILED" not in printed and "gradient check verified" in printed
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] == "verified" and report["failed_primitives"] == []
    fitted = report["points"][1]
    for row in fitted["gradient"]:
        assert row["forward"] == pytest.approx(row["reverse"], rel=1e-3, abs=1e-9)


def test_fit_writes_the_same_verdict_to_result_json_and_the_console(saturation, tmp_path, capsys):
    assert run_main("fit", str(saturation), "--no-reports") == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    check = result["gradient_check"]
    assert set(check) == {"verdict", "failed_primitives", "inconclusive_parameters", "detail"}
    assert check["verdict"] == "verified" and check["failed_primitives"] == []
    assert "node rules" in check["detail"] and "\n" not in check["detail"]
    assert f"gradient check verified: {check['detail']}" in capsys.readouterr().out


def test_degree_5_polynomial_over_day_numbers_is_not_failed(polynomial, tmp_path, capsys):
    assert run_main("check", str(polynomial)) == 0
    assert "FAILED" not in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] == "verified"
    assert [r["parameter"] for r in report["points"][0]["gradient"]] == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert all(r["passed"] for p in report["points"] for r in p["gradient"] + p["jacobian"])


def test_noise_at_the_optimum_is_inconclusive_not_a_failure(polynomial, tmp_path, capsys):
    """At the fitted point the loss gradient is ~0: numeric differences cannot confirm it, and say so."""
    assert run_main("fit", str(polynomial), "-q", "--no-reports") == 0
    capsys.readouterr()
    assert run_main("check", str(polynomial), "--at", "fit", "--rows", "0") == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] == "inconclusive"
    unconfirmed = report["inconclusive_parameters"]
    assert unconfirmed and set(unconfirmed) <= {"c0", "c1", "c2", "c3", "c4", "c5"}
    rows = {r["parameter"]: r for r in report["points"][0]["gradient"]}
    for name in unconfirmed:
        assert rows[name]["numeric_verdict"] == "inconclusive" and rows[name]["passed"]
        assert rows[name]["numeric_error"] > 0.5 * abs(rows[name]["richardson"])
    assert "inconclusive" in printed and "gradient check inconclusive" in printed
    assert ", ".join(unconfirmed) in report["detail"]


def test_a_wrong_rule_still_fails_everywhere_naming_the_primitive(saturation, tmp_path, monkeypatch, capsys):
    bad_exp = Primitive("bad_exp", np.exp, vjp=lambda g, ans, x: g * ans * 1.01,
                        jvp=lambda t, ans, x: t * ans, elementwise=True)
    monkeypatch.setattr(ad, "exp", bad_exp)
    assert run_main("check", str(saturation), "--at", "init") == 1
    assert "the rule of bad_exp is wrong" in capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["verdict"] == "failed" and report["failed_primitives"] == ["bad_exp"]
    assert run_main("fit", str(saturation), "--no-reports", "-q") == 1     # its own check failed
    check = json.loads((tmp_path / "out" / "result.json").read_text())["gradient_check"]
    assert check["verdict"] == "failed" and check["failed_primitives"] == ["bad_exp"]
    assert "bad_exp" in check["detail"]


def test_not_run_says_why():
    from workbench.pipeline.check import gradient_check_summary

    summary = gradient_check_summary(None, "the fit diverged before its first step")
    assert summary["verdict"] == "not_run" and "diverged" in summary["detail"]


def test_judge_agrees_disagrees_and_is_inconclusive_from_the_error_bar():
    assert judge(1.0, 1.0 + 1e-9, 1e-9, 1e-6, 1e-5) == AGREES
    assert judge(1.01, 1.0, 1e-9, 1e-6, 1e-5) == DISAGREES           # a 1% wrong rule, precise numbers
    assert judge(2.07, -0.28, 0.29, 1e-6, 1e-5) == INCONCLUSIVE       # noise larger than the value
    assert judge(np.nan, 1.0, 0.0, 1e-6, 1e-5) == DISAGREES
    assert judge(1.0, np.nan, np.nan, 1e-6, 1e-5) == INCONCLUSIVE


def _saturating(r):
    def f(t):
        return 9000.0 / (1.0 + np.exp((r + t) * 800.0))
    return f, -9000.0 * 800.0 * np.exp(r * 800.0) / (1.0 + np.exp(r * 800.0)) ** 2


@pytest.mark.parametrize("r", [0.005, 0.02, 0.05])
def test_a_saturating_curve_gets_a_step_on_its_own_scale(r):
    """Far from its midpoint a sigmoid looks flat up close and jumps further out; the step adapts."""
    f, exact = _saturating(r)
    estimate = numeric_derivative(f, f(0.0), exact, 1.0)
    assert estimate.value == pytest.approx(exact, rel=1e-6, abs=0)
    assert estimate.error < 1e-4 * abs(exact)


def test_a_derivative_below_rounding_is_never_called_wrong():
    f, exact = _saturating(0.2)            # f(0) ≈ 1e-66, f'(0) ≈ -2e-63
    estimate = numeric_derivative(f, f(0.0), exact, 1.0)
    assert judge(exact, estimate.value, estimate.error, 1e-6, 1e-5) != DISAGREES
    assert judge(exact, estimate.value, estimate.error, 0.0, 0.0) == INCONCLUSIVE


def test_a_quadratic_with_huge_curvature_is_differentiated_on_its_natural_length():
    """The x⁵ coefficient over day numbers: a unit step moves the loss by 10²⁴."""
    def f(t):
        return 1.0 + 0.29 * t + 3e24 * t * t
    estimate = numeric_derivative(f, 1.0, 0.29, 1.0)
    assert estimate.length < 1e-11
    assert judge(0.29 * estimate.length, estimate.value * estimate.length, estimate.error * estimate.length,
                 1e-6, 1e-5) == AGREES
