"""Parameter uncertainties: the textbook formula, t quantiles, and naming what cannot be determined."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from cli_helpers import run_cli, write_config, write_csv
from workbench.pipeline import uncertainty
from workbench.stats import t_quantile


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 250])
def test_t_quantile_matches_scipy(dof):
    assert t_quantile(0.975, dof) == pytest.approx(stats.t.ppf(0.975, dof), rel=1e-10)


def test_linear_least_squares_standard_errors_match_the_textbook():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1, 25)
    X = np.column_stack([np.ones_like(x), x])
    y = 1 + 2 * x + rng.normal(0, 0.1, x.size)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = X @ beta - y
    expected = np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * (r @ r) / (25 - 2))
    u = uncertainty.estimate(["a", "b"], beta, 25, jacobian=X, residuals=r)
    assert u.stderr == pytest.approx(expected, rel=1e-10)
    assert u.ci_high - u.ci_low == pytest.approx(2 * stats.t.ppf(0.975, 23) * expected, rel=1e-9)


def test_perfectly_correlated_parameters_are_named(tmp_path):
    x = np.linspace(1, 5, 20)
    write_csv(tmp_path, "d.csv", "x,y", zip(x, 3 * x + np.sin(x) * 0.01))
    config = write_config(tmp_path, 'data: {path: d.csv}\nmodel: {formula: "y ~ a * b * x + c"}\n'
                                    'params: {a: 1, b: 2, c: 0}\noutput: {dir: out, formats: []}\n')
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["stderr"]["a"] is None and result["stderr"]["b"] is None
    reasons = {u["param"]: u for u in result["undetermined"]}
    assert set(reasons) >= {"a", "b"} and "c" not in reasons
    assert reasons["a"]["reason"] == "collinear" and reasons["a"]["with"] == ["b"]
    assert "perfectly correlated parameters (a with b, b with a)" in proc.stdout


def test_parameter_at_a_bound_is_named_not_estimated():
    jac = np.column_stack([np.ones(10), np.arange(10.0)])
    u = uncertainty.estimate(["a", "b"], np.array([0.0, 1.0]), 10, jacobian=jac, residuals=np.ones(10) * 0.1,
                             at_bound=["a"])
    assert np.isnan(u.stderr[0]) and u.stderr[1] > 0
    assert u.undetermined == [{"param": "a", "reason": "at_bound", "with": []}]
    assert any("bound" in w for w in u.warnings)
