""""Cannot be determined" says why (issue 8, case 6): scaling, collinearity (the pair named), no
effect; at most eight names and a count; exact uncertainties refused before a large allocation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_main, write_config, write_csv
from workbench.pipeline import uncertainty


def test_degree_5_polynomial_over_day_numbers_is_determined_as_numpy_polyfit_finds(tmp_path):
    day = np.arange(1, 901.0)
    sessions = 5000 / (1 + np.exp(-0.012 * (day - 400))) + np.random.default_rng(0).normal(0, 100, day.size)
    write_csv(tmp_path, "traffic.csv", "day,Sessions", zip(day, sessions.round(0)))
    config = write_config(tmp_path, """
        data: {path: traffic.csv}
        model: {type: polynomial, inputs: [day], target: Sessions, degree: 5}
        output: {dir: out, formats: []}
    """)
    assert run_main("fit", str(config), "-q", "--no-reports") == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["undetermined"] == []
    _, cov = np.polyfit(day, sessions.round(0), 5, cov=True)
    expected = np.sqrt(np.diag(cov))[::-1]
    assert [result["stderr"][f"c{k}"] for k in range(6)] == pytest.approx(expected, rel=1e-6)


def test_a_high_degree_over_day_numbers_is_blamed_on_scaling_with_the_fix():
    day = np.arange(1, 901.0)
    names = [f"c{k}" for k in range(26)]
    u = uncertainty.estimate(names, np.zeros(26), 901, jacobian=np.vander(day, 26, increasing=True),
                             residuals=np.ones(901))
    assert u.undetermined and {d["reason"] for d in u.undetermined} == {"scaling"}
    (warning,) = u.warnings
    assert "centre and scale" in warning and "standardize" in warning and "many orders of magnitude" in warning
    assert "and 9 more" in warning and warning.count(", c") == 7          # eight names, then a count


def test_collinear_parameters_name_the_pair_and_no_effect_is_told_apart():
    x = np.linspace(1.0, 5.0, 20)
    jac = np.column_stack([x, 2.0 * x, np.ones_like(x), np.zeros_like(x)])
    u = uncertainty.estimate(["a", "b", "c", "d"], np.ones(4), 20, jacobian=jac, residuals=np.full(20, 0.1))
    reasons = {d["param"]: (d["reason"], d["with"]) for d in u.undetermined}
    assert reasons == {"a": ("collinear", ["b"]), "b": ("collinear", ["a"]), "d": ("no_effect", [])}
    assert any("perfectly correlated parameters (a with b, b with a)" in w for w in u.warnings)
    assert any("d cannot be determined: the predictions do not change with them" in w for w in u.warnings)


def test_an_mlp_with_a_constant_input_lists_eight_names_and_counts_the_rest(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 60)
    write_csv(tmp_path, "d.csv", "x,k,y", zip(x, np.ones_like(x), np.sin(x)))
    config = write_config(tmp_path, """
        data: {path: d.csv}
        model: {type: mlp, inputs: [x, k], target: y, hidden: [12]}
        optimizer: {name: lbfgs, max_steps: 30}
        output: {dir: out, formats: []}
    """)
    assert run_main("fit", str(config), "-q", "--no-reports") in (0, 4)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    undetermined = result["undetermined"]
    assert len(undetermined) >= 12 and all(set(u) >= {"param", "reason", "with"} for u in undetermined)
    no_effect = [u["param"] for u in undetermined if u["reason"] == "no_effect"]
    assert len(no_effect) == 12 and all(name.startswith("W1[1,") for name in no_effect)   # k's weights
    warning = next(w for w in result["warnings"] if "(no effect)" in w)
    assert warning.count("W1[1,") == 8 and "and 4 more" in warning


def test_a_failing_svd_is_a_warning_not_a_crash():
    jac = np.array([[1.0, np.nan], [2.0, 1.0], [3.0, 0.5]])
    u = uncertainty.estimate(["a", "b"], np.ones(2), 3, jacobian=jac, residuals=np.ones(3))
    assert np.all(np.isnan(u.stderr)) and u.covariance is None
    assert u.warnings == ["uncertainties could not be computed: the Jacobian has NaN or infinite entries"]


def test_exact_uncertainties_are_refused_above_the_size_limit(monkeypatch):
    assert uncertainty.too_large("Jacobian (rows × parameters)", 1000) is None
    monkeypatch.setenv(uncertainty.MAX_ELEMENTS_ENV, "500")
    why = uncertainty.too_large("Jacobian (rows × parameters)", 1000)
    assert "method: none" in why and "1,000 numbers" in why and uncertainty.MAX_ELEMENTS_ENV in why
