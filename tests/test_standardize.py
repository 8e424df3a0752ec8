"""``model.standardize: true`` (issue 8): built-in models are fitted on standardized inputs and
report coefficients, standard errors and covariance on the original scale, by the exact linear
transform θ = A·θ_z, Σ = A·Σ_z·Aᵀ; with l2 the penalty is on the standardized coefficients."""

from __future__ import annotations


import numpy as np
import pytest

from cli_helpers import run_cli, write_config, write_csv


def fit(config):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    cfg = load_config(config)
    return run_fit(cfg, cfg.output.dir, reports=False)


def config(folder, model: str, extra: str = "", data: str = "data.csv"):
    extra = extra.replace("\n", "\n        ")       # each extra line at the template's indentation
    return write_config(folder, f"""
        name: std
        data: {{path: {data}}}
        model: {model}
        output: {{dir: out, formats: [], plots: false}}
        {extra}
    """)


@pytest.fixture
def sales(tmp_path):
    """Two inputs on very different scales (price in thousands, a rate in percent)."""
    rng = np.random.default_rng(4)
    price = rng.uniform(1000, 5000, 120)
    rate = rng.uniform(0.01, 0.05, 120)
    units = 300 - 0.04 * price + 2000 * rate + rng.normal(0, 5, 120)
    write_csv(tmp_path, "data.csv", "price,rate,units", zip(price.round(2), rate.round(5), units.round(3)))
    data = np.loadtxt(tmp_path / "data.csv", delimiter=",", skiprows=1)
    return tmp_path, data


def test_linear_coefficients_standard_errors_and_covariance_equal_statsmodels_ols(sales):
    import statsmodels.api as sm

    folder, data = sales
    outcome = fit(config(folder, "{type: linear, inputs: [price, rate], target: units, standardize: true}"))
    ols = sm.OLS(data[:, 2], sm.add_constant(data[:, :2])).fit()
    names = ["intercept", "coef_price", "coef_rate"]
    result = outcome.result
    np.testing.assert_allclose([result["params"][n] for n in names], ols.params, rtol=1e-8)
    np.testing.assert_allclose([result["stderr"][n] for n in names], ols.bse, rtol=1e-8)
    np.testing.assert_allclose(result["standardization"]["covariance"], ols.cov_params(), rtol=1e-8)
    inputs = result["standardization"]["inputs"]
    assert inputs["price"]["mean"] == pytest.approx(np.mean(data[:, 0]), rel=1e-12)
    assert inputs["price"]["scale"] == pytest.approx(np.std(data[:, 0]), rel=1e-12)
    # what was fitted: the coefficients of standardized inputs, coef_z = coef · scale
    fitted = result["standardization"]["fitted_params"]
    assert fitted["coef_price"] == pytest.approx(ols.params[1] * np.std(data[:, 0]), rel=1e-8)
    low, high = ols.conf_int()[1]
    row = next(r for r in outcome.params_table if r["name"] == "coef_price")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, rel=1e-8), pytest.approx(high, rel=1e-8))


def test_with_l2_the_penalty_is_on_the_standardized_coefficients(sales):
    folder, data = sales
    l2 = 0.5
    outcome = fit(config(folder, "{type: linear, inputs: [price, rate], target: units, standardize: true}",
                         "loss: {name: mse, regularization: {l2: 0.5}}\noptimizer: {name: lbfgs, max_steps: 2000}"))
    x, y = data[:, :2], data[:, 2]
    n, mean, scale = len(y), x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / scale
    # (1/n)·‖y − b − Z·β‖² + l2·‖β‖², intercept unpenalized: b = ȳ (Z is centred), β the ridge solution
    beta = np.linalg.solve(z.T @ z / n + l2 * np.eye(2), z.T @ (y - y.mean()) / n)
    coef = beta / scale
    intercept = y.mean() - np.sum(beta * mean / scale)
    params = outcome.result["params"]
    np.testing.assert_allclose([params["intercept"], params["coef_price"], params["coef_rate"]],
                               [intercept, *coef], rtol=1e-6)
    fitted = outcome.result["standardization"]["fitted_params"]
    np.testing.assert_allclose([fitted["coef_price"], fitted["coef_rate"]], beta, rtol=1e-6)


@pytest.fixture
def days(tmp_path):
    rng = np.random.default_rng(0)
    day = np.arange(1, 901)
    sessions = 5000 / (1 + np.exp(-0.012 * (day - 400))) + rng.normal(0, 50, day.size)
    write_csv(tmp_path, "data.csv", "day,Sessions", zip(day, sessions.round(2)))
    return tmp_path, np.loadtxt(tmp_path / "data.csv", delimiter=",", skiprows=1)


def test_degree_5_polynomial_over_day_numbers_matches_numpy_polyfit(days):
    folder, data = days
    outcome = fit(config(folder, "{type: polynomial, inputs: [day], target: Sessions, degree: 5, "
                                 "standardize: true}", "optimizer: {name: lm}"))
    assert outcome.converged
    expected = np.polyfit(data[:, 0], data[:, 1], 5)[::-1]
    params = outcome.result["params"]
    np.testing.assert_allclose([params[f"c{k}"] for k in range(6)], expected, rtol=1e-7)
    # numpy.polyfit's covariance (column-scaled least squares, s² = RSS / (n − 6)); statsmodels on the
    # raw powers of day numbers (columns from 1 to 6·10¹⁴) loses the digits of the small coefficients
    _, cov = np.polyfit(data[:, 0], data[:, 1], 5, cov="unscaled")
    rss = np.sum((data[:, 1] - np.polyval(expected[::-1], data[:, 0])) ** 2)
    bse = np.sqrt(np.diag(cov) * rss / (len(data) - 6))[::-1]
    np.testing.assert_allclose([outcome.result["stderr"][f"c{k}"] for k in range(6)], bse, rtol=1e-6)
    assert outcome.result["undetermined"] == []


def test_the_transform_is_exact_for_the_polynomial(days):
    """Σ_k a_k·((x − m)/s)^k evaluated directly equals Σ_j c_j·x^j with c = A·a."""
    from workbench.models.builtin import PolynomialModel

    _, data = days
    model = PolynomialModel("day", "Sessions", 3, {"day": data[:, 0]}, data[:, 1], standardize=True)
    a = np.array([1.5, -2.0, 0.25, 3.0])
    x = np.array([1.0, 450.0, 900.0])
    z = (x - model.x_mean[0]) / model.x_scale[0]
    c = model.original_scale_matrix() @ a
    np.testing.assert_allclose(np.polyval(c[::-1], x), np.polyval(a[::-1], z), rtol=1e-10)


def test_logistic_with_standardize_reports_the_same_coefficients_as_without(tmp_path):
    rng = np.random.default_rng(2)
    price = rng.uniform(100, 900, 400)
    visits = rng.uniform(1, 30, 400)
    p = 1 / (1 + np.exp(-(1.5 - 0.004 * price + 0.08 * visits)))
    won = (rng.uniform(size=400) < p).astype(int)
    write_csv(tmp_path, "data.csv", "price,visits,won", zip(price.round(2), visits.round(3), won))
    model = "{type: logistic, inputs: [price, visits], target: won%s}"
    plain = fit(config(tmp_path, model % "", "optimizer: {max_steps: 5000}"))
    scaled = fit(config(tmp_path, model % ", standardize: true", "optimizer: {max_steps: 5000}"))
    for name in ("intercept", "coef_price", "coef_visits"):
        assert scaled.result["params"][name] == pytest.approx(plain.result["params"][name], rel=1e-4)
        assert scaled.result["stderr"][name] == pytest.approx(plain.result["stderr"][name], rel=1e-3)


def test_predict_on_a_standardized_fit_reproduces_its_predictions(sales):
    folder, data = sales
    path = config(folder, "{type: linear, inputs: [price, rate], target: units, standardize: true}")
    assert run_cli("fit", str(path), "--no-reports", "-q", cwd=folder).returncode == 0
    proc = run_cli("predict", str(folder / "out"), str(folder / "data.csv"), "--out", str(folder / "p.csv"),
                   cwd=folder)
    assert proc.returncode == 0, proc.stderr
    import csv

    with open(folder / "p.csv") as handle:
        predicted = [float(row["prediction"]) for row in csv.DictReader(handle)]
    with open(folder / "out" / "predictions.csv") as handle:
        fitted = [float(row["prediction"]) for row in csv.DictReader(handle)]
    np.testing.assert_allclose(predicted, fitted, rtol=1e-9)


def test_starting_values_under_params_are_on_the_original_scale(sales):
    from workbench.config import load_config
    from workbench.pipeline.prepare import prepare

    folder, _ = sales
    prepared = prepare(load_config(config(folder, "{type: linear, inputs: [price, rate], target: units, "
                                                  "standardize: true}", "params: {coef_price: -0.5}")))
    matrix = prepared.model.original_scale_matrix()
    assert (matrix @ prepared.x0)[1] == pytest.approx(-0.5, rel=1e-12)


def test_bounds_with_standardize_are_refused_naming_the_parameter(sales):
    folder, _ = sales
    path = config(folder, "{type: polynomial, inputs: [price], target: units, standardize: true}",
                  "params: {c1: {min: 0}}")
    proc = run_cli("validate", str(path), cwd=folder)
    assert proc.returncode == 2
    assert "params.c1: min cannot be combined with model.standardize: true" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_standardize_is_refused_for_models_it_does_not_apply_to(sales):
    folder, _ = sales
    path = config(folder, "{type: exponential, inputs: [price], target: units, standardize: true}")
    proc = run_cli("validate", str(path), cwd=folder)
    assert proc.returncode == 2 and "model.standardize" in proc.stderr


def test_the_scaling_hint_points_to_model_standardize():
    from workbench.pipeline.uncertainty import _explain

    (line,) = _explain([{"param": "c0", "reason": "scaling", "with": [], "span": 1e14}])
    assert "model.standardize: true" in line
