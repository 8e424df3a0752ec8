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
