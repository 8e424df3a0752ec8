"""Fitting in row chunks (workbench.pipeline.chunks) gives the unchunked fit's numbers.

Each test fits the same small data twice, once whole and once in chunks of 7 rows
(``execution.chunk_rows``), and compares parameters, standard errors and the loss.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import load_config
from workbench.pipeline.chunks import ChunkedObjective, optimizer_objective
from workbench.pipeline.fit import run_fit
from workbench.pipeline.prepare import prepare


def _decay_csv(folder, n=60, weights=False):
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 5.0, n)
    y = 2.5 * np.exp(-0.8 * x) + 0.4 + rng.normal(0.0, 0.03, n)
    w = rng.uniform(0.5, 2.0, n)
    lines = ["x,y,w"] + [f"{float(a)!r},{float(b)!r},{float(c)!r}" for a, b, c in zip(x, y, w)]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")


def _linear_csv(folder, n=80, k=4):
    rng = np.random.default_rng(5)
    inputs = rng.normal(size=(n, k))
    y = inputs @ np.arange(1.0, k + 1) + 0.5 + rng.normal(0.0, 0.1, n)
    header = ",".join(f"x{i}" for i in range(k)) + ",y"
    rows = [",".join(repr(float(v)) for v in row) + f",{float(t)!r}" for row, t in zip(inputs, y)]
    (folder / "lin.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


DECAY = """name: decay
data: {path: d.csv}
model: {formula: "y ~ a * exp(-b * x) + c"}
params: {a: 1.0, b: 0.3, c: 0.0}
"""


def _fit(folder, text, *overrides):
    path = folder / "c.yaml"
    path.write_text(text)
    config = load_config(path, list(overrides))
    return run_fit(config, folder / ("out" + str(abs(hash(overrides)))), reports=False)


def _same(whole, chunked, rtol=1e-9):
    for name, value in whole.result["params"].items():
        assert chunked.result["params"][name] == pytest.approx(value, rel=rtol, abs=1e-12), name
        assert chunked.result["stderr"][name] == pytest.approx(whole.result["stderr"][name], rel=max(rtol, 1e-7)), name
    assert chunked.result["loss"] == pytest.approx(whole.result["loss"], rel=max(rtol * rtol, 1e-12))


def test_lm_in_chunks_of_7_rows_gives_the_whole_fits_parameters_and_standard_errors(tmp_path):
    _decay_csv(tmp_path)
    whole = _fit(tmp_path, DECAY, "output.plots=false")
    chunked = _fit(tmp_path, DECAY, "output.plots=false", "execution.chunk_rows=7")
    assert whole.result["optimizer"] == "lm" and whole.converged and chunked.converged
    _same(whole, chunked)


def test_weighted_lm_in_chunks_matches_the_whole_fit(tmp_path):
    _decay_csv(tmp_path)
    text = DECAY + "loss: {name: mse, weights: w}\n"
    whole = _fit(tmp_path, text, "output.plots=false")
    chunked = _fit(tmp_path, text, "output.plots=false", "execution.chunk_rows=7")
    _same(whole, chunked)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_gradient_optimizers_in_chunks_take_the_same_steps(tmp_path, optimizer):
    _decay_csv(tmp_path)
    text = DECAY + f"optimizer: {{name: {optimizer}, max_steps: 300}}\n"
    whole = _fit(tmp_path, text, "output.plots=false")
    chunked = _fit(tmp_path, text, "output.plots=false", "execution.chunk_rows=7")
    # Sums in another order differ in the last digits, which may move a stopping test by a step.
    assert abs(chunked.result["iterations"] - whole.result["iterations"]) <= 2
    _same(whole, chunked, rtol=1e-6)


def test_regularized_linear_model_in_chunks_adds_the_penalty_once(tmp_path):
    _linear_csv(tmp_path)
    text = ("name: lin\ndata: {path: lin.csv}\nmodel: {type: linear, inputs: [x0, x1, x2, x3], target: y}\n"
            "loss: {name: mse, regularization: {l2: 0.1}}\noptimizer: {name: lbfgs}\n")
    whole = _fit(tmp_path, text, "output.plots=false")
    chunked = _fit(tmp_path, text, "output.plots=false", "execution.chunk_rows=7")
    _same(whole, chunked, rtol=1e-7)


def test_chunked_least_squares_problem_has_the_same_normal_equations_and_residual_norm(tmp_path):
    _decay_csv(tmp_path, n=50)
    (tmp_path / "c.yaml").write_text(DECAY)
    objective = prepare(load_config(tmp_path / "c.yaml")).objective
    chunked = optimizer_objective(objective, 7)
    assert isinstance(chunked, ChunkedObjective) and len(chunked.bounds) == 8
    x = np.array([2.0, 0.5, 0.1])
    r, jac = objective.residuals_and_jacobian(x)
    z, triangle = chunked.residuals_and_jacobian(x)
    assert triangle.shape == (4, 3)
    np.testing.assert_allclose(triangle.T @ triangle, jac.T @ jac, rtol=1e-12)
    np.testing.assert_allclose(triangle.T @ z, jac.T @ r, rtol=1e-10)
    assert np.linalg.norm(z) == pytest.approx(np.linalg.norm(r), rel=1e-13)
    assert np.linalg.norm(chunked.residuals(x)) == pytest.approx(np.linalg.norm(r), rel=1e-13)
    value, grad = chunked.value_and_grad(x)
    whole_value, whole_grad = objective.value_and_grad(x)
    assert value == pytest.approx(whole_value, rel=1e-13)
    np.testing.assert_allclose(grad, whole_grad, rtol=1e-12)


def test_small_data_is_not_chunked(tmp_path):
    _decay_csv(tmp_path, n=20)
    (tmp_path / "c.yaml").write_text(DECAY)
    objective = prepare(load_config(tmp_path / "c.yaml")).objective
    assert optimizer_objective(objective, None) is objective


def test_a_fits_gradient_check_of_many_rows_takes_the_loss_on_a_fixed_sample_and_says_so(tmp_path):
    _decay_csv(tmp_path, n=12_000)
    outcome = _fit(tmp_path, DECAY, "output.plots=false")
    check = outcome.result["gradient_check"]
    assert check["verdict"] == "verified"
    assert check["loss_rows"] <= 10_000 and check["of_rows"] == 12_000
    assert check["detail"].endswith(f"(the loss on a fixed sample of {check['loss_rows']:,} evenly spaced rows "
                                    f"of the 12,000)")
    assert outcome.gradcheck.points[0].loss == pytest.approx(outcome.prepared.objective.loss_value(outcome.prepared.x0))


def test_hessian_uncertainties_summed_over_chunks_match_the_whole_fit(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(300, 2))
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-(x @ [1.5, -1.0] + 0.3)))).astype(float)
    rows = "".join(f"{float(a)!r},{float(b)!r},{int(c)}\n" for (a, b), c in zip(x, y))
    (tmp_path / "b.csv").write_text("x0,x1,y\n" + rows)
    text = ("name: logit\ndata: {path: b.csv}\nmodel: {type: logistic, inputs: [x0, x1], target: y}\n"
            "loss: {name: cross_entropy, regularization: {l2: 0.01}}\n")
    whole = _fit(tmp_path, text, "output.plots=false")
    chunked = _fit(tmp_path, text, "output.plots=false", "execution.chunk_rows=13")
    _same(whole, chunked, rtol=1e-6)


@pytest.mark.parametrize("dependence", [0.0, 1e-9], ids=["independent", "nearly-dependent"])
def test_triangle_gives_householders_r_up_to_row_signs(dependence):
    from workbench.pipeline.chunks import triangle

    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(500, 6)) * [1.0, 1e3, 1e-3, 1.0, 5.0, 1.0]
    matrix[:, 5] = matrix[:, 0] + dependence * rng.normal(size=500) if dependence else matrix[:, 5]
    expected = np.linalg.qr(matrix, mode="r")
    got = triangle(matrix)
    signs = np.sign(np.diag(got)) * np.sign(np.diag(expected))
    scale = np.abs(expected).max(axis=0)
    assert np.max(np.abs(got * signs[:, None] - expected) / scale) < 1e-12
