"""Regularization as users expect: offsets (intercepts, baselines, biases) are never penalized,
and ``standardize`` penalizes coefficients on a common scale; each case against its closed form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_cli, write_config, write_csv
from workbench.formula import parse_formula
from workbench.models.formula_model import additive_offsets


def fit(folder, model: str, regularization: str, rows, header: str, params: str = "") -> dict:
    write_csv(folder, "data.csv", header, rows)
    config = write_config(folder, f"""
        data: data.csv
        model: {model}
        {params}
        loss: {{name: mse, regularization: {regularization}}}
        optimizer: {{name: lbfgs, max_steps: 2000}}
        """)
    run = run_cli("fit", str(config), "--no-reports", "--out", str(folder / "out"))
    assert run.returncode == 0, run.stderr
    return json.loads((folder / "out" / "result.json").read_text())


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(1)
    x = np.round(rng.uniform(0.0, 50.0, 200), 3)
    y = np.round(1000.0 + 2.0 * x + rng.normal(0.0, 3.0, 200), 3)
    return x, y


def ridge_slope(x, y, l2):
    """argmin over (a, b) of mean((a + b x - y)²) + l2 b²: b = cov(x, y) / (var(x) + l2), a = ȳ - b x̄."""
    b = np.mean((x - x.mean()) * (y - y.mean())) / (np.var(x) + l2)
    return y.mean() - b * x.mean(), b


def test_a_strong_l2_penalty_leaves_the_intercept_free_so_the_fitted_mean_stays_at_the_data_mean(tmp_path, line):
    x, y = line
    result = fit(tmp_path, "{type: linear, inputs: [x], target: y}", "{l2: 10}", zip(x, y), "x,y")
    intercept, slope = ridge_slope(x, y, 10.0)
    assert result["params"]["coef_x"] == pytest.approx(slope, rel=1e-6)
    assert result["params"]["intercept"] == pytest.approx(intercept, rel=1e-8)
    fitted_mean = result["params"]["intercept"] + result["params"]["coef_x"] * x.mean()
    assert fitted_mean == pytest.approx(y.mean(), rel=1e-9)   # about 1050, never 91
    assert slope < 2.0 * 0.99                                 # the slope is shrunk


def test_a_formula_constant_that_enters_alone_is_an_offset_and_not_penalized(tmp_path, line):
    x, y = line
    result = fit(tmp_path, '{formula: "y ~ a + b * x"}', "{l2: 10}", zip(x, y), "x,y", "params: {a: 0, b: 0}")
    intercept, slope = ridge_slope(x, y, 10.0)
    assert result["params"]["a"] == pytest.approx(intercept, rel=1e-8)
    assert result["params"]["b"] == pytest.approx(slope, rel=1e-6)


def test_a_polynomials_constant_term_is_not_shrunk(tmp_path):
    x = np.linspace(0.0, 10.0, 60)
    y = 76.3 + 0.5 * x - 0.2 * x ** 2 + np.sin(7 * x)
    result = fit(tmp_path, "{type: polynomial, inputs: [x], target: y, degree: 2}", "{l2: 0.1}", zip(x, y), "x,y")
    design = np.vander(x, 3, increasing=True)
    penalty = np.diag([0.0, 1.0, 1.0]) * 0.1
    expected = np.linalg.solve(design.T @ design / x.size + penalty, design.T @ y / x.size)
    got = [result["params"][f"c{k}"] for k in range(3)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[0] > 70.0


def test_standardize_penalizes_each_coefficient_times_its_inputs_spread(tmp_path):
    rng = np.random.default_rng(4)
    small, large = rng.normal(0.0, 0.01, 150), rng.normal(0.0, 1000.0, 150)
    y = 5.0 + 300.0 * small + 0.002 * large + rng.normal(0.0, 1.0, 150)
    result = fit(tmp_path, "{type: linear, inputs: [small, large], target: y}", "{l2: 0.5, standardize: true}",
                 zip(small, large, y), "small,large,y")
    # Closed form: penalty 0.5 * ((b1 s1)² + (b2 s2)²), intercept free.
    design = np.column_stack([np.ones(150), small, large])
    spreads = np.array([0.0, np.std(small), np.std(large)])
    expected = np.linalg.solve(design.T @ design / 150 + 0.5 * np.diag(spreads ** 2), design.T @ y / 150)
    got = [result["params"][name] for name in ("intercept", "coef_small", "coef_large")]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Both standardized coefficients are shrunk by a similar factor, whatever the units.
    shrink = np.array(got[1:]) / np.linalg.lstsq(design, y, rcond=None)[0][1:]
    assert shrink[0] == pytest.approx(shrink[1], rel=0.2) and (shrink < 0.9).all()


@pytest.mark.parametrize("formula,offsets", [
    ("y ~ a * exp(-b * x) + c", {"c"}),
    ("y ~ c - a * x", {"c"}),
    ("y ~ -c + a * x + d", {"c", "d"}),
    ("y ~ c * x + c", set()),        # c appears twice: it is not an offset
    ("y ~ a * (x + c)", set()),      # inside a product
    ("y ~ K / (1 + exp(-r * (x - t0)))", set()),
])
def test_offsets_of_a_formula_are_the_parameters_added_alone(formula, offsets):
    parsed = parse_formula(formula)
    params = [name for name in parsed.names if name not in ("x", "y")]
    assert additive_offsets(parsed.expr, params) == offsets
