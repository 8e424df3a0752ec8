"""Logistic regression at scale: its Hessian as one weighted product of the design (glm_hessian).

For cross-entropy on a logit linear in the parameters, H = Jᵀ·diag(w·p(1 − p))·J exactly; these
tests hold that product to the engine's forward-over-reverse Hessian (whole and in row chunks,
with weights, a fixed parameter and a penalty), its standard errors to statsmodels' Logit, and
check that every other model or loss keeps the engine's Hessian.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench import engine as ad
from workbench.config import load_config
from workbench.pipeline import glm_hessian
from workbench.pipeline.chunks import ChunkedObjective
from workbench.pipeline.fit import run_fit
from workbench.pipeline.prepare import prepare

COEF = np.array([1.2, -0.8, 0.5])


def _logit_csv(folder, n=400, seed=11):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, 3.0]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ COEF - 1.0)))).astype(int)
    w = rng.uniform(0.5, 2.0, n)
    lines = ["x0,x1,x2,w,y"] + [f"{a!r},{b!r},{c!r},{d!r},{e}" for (a, b, c), d, e in zip(x.tolist(), w.tolist(), y)]
    (folder / "b.csv").write_text("\n".join(lines) + "\n")
    return x, y, w


LOGISTIC = "name: logit\ndata: {path: b.csv}\nmodel: {type: logistic, inputs: [x0, x1, x2], target: y}\n"


def _objective(folder, text, *overrides):
    path = folder / "c.yaml"
    path.write_text(text)
    return prepare(load_config(path, list(overrides))).objective


def _engine_hessian(objective, x, rows_factor):
    return ad.hessian(lambda v: objective.loss_of_flat(v) * rows_factor)(x)


@pytest.mark.parametrize("extra", [
    "loss: cross_entropy\n",
    "loss: {name: cross_entropy, weights: w, regularization: {l2: 0.05, l1: 0.01}}\n",
    "loss: cross_entropy\nparams: {coef_x1: {init: -0.7, fixed: true}}\n",
], ids=["plain", "weighted-penalized", "fixed-parameter"])
def test_logistic_hessian_by_the_design_equals_the_engines_hessian(tmp_path, extra):
    _logit_csv(tmp_path)
    objective = _objective(tmp_path, LOGISTIC + extra)
    assert glm_hessian.applies(objective.model, objective.loss)
    x = np.linspace(-0.6, 0.9, objective.n_params)
    by_design = objective.summed_hessian(x, float(objective.n_rows))
    assert by_design.shape == (objective.n_params, objective.n_params)
    np.testing.assert_allclose(by_design, _engine_hessian(objective, x, float(objective.n_rows)), rtol=1e-10, atol=1e-9)


def test_logistic_hessian_summed_over_chunks_equals_the_whole_engine_hessian(tmp_path):
    _logit_csv(tmp_path)
    objective = _objective(tmp_path, LOGISTIC + "loss: {name: cross_entropy, weights: w, regularization: {l2: 0.1}}\n")
    x = np.array([-0.9, 1.1, -0.7, 0.4])
    chunked = ChunkedObjective(objective, chunk_rows=37).summed_hessian(x, 400.0)
    np.testing.assert_allclose(chunked, _engine_hessian(objective, x, 400.0), rtol=1e-10, atol=1e-9)


def test_prediction_and_design_equal_the_engines_forward_jacobian(tmp_path):
    _logit_csv(tmp_path)
    objective = _objective(tmp_path, LOGISTIC + "loss: cross_entropy\nparams: {coef_x0: {init: 1.0, fixed: true}}\n")
    x = np.array([0.3, -0.2, 0.6])
    prediction, design = objective.prediction_and_design(x)
    values = objective.unpack(x)

    def logit_of(*free):
        return objective.predict({**values, **{p.name: t for p, t in zip(objective.free, free)}})

    with ad.no_grad():
        expected, jacobians = ad.forward_jacobians(logit_of, [values[p.name] for p in objective.free])
    np.testing.assert_allclose(prediction, np.asarray(getattr(expected, "data", expected)), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(design, np.column_stack([np.ravel(j) for j in jacobians]), rtol=1e-13, atol=1e-15)
    assert design.shape == (400, 3)      # intercept, coef_x1, coef_x2: the fixed coef_x0 has no column


def test_logistic_standard_errors_in_chunks_equal_statsmodels_logit(tmp_path):
    sm = pytest.importorskip("statsmodels.api")
    x, y, _ = _logit_csv(tmp_path, n=600, seed=4)
    path = tmp_path / "c.yaml"
    path.write_text(LOGISTIC + "loss: cross_entropy\n")
    outcome = run_fit(load_config(path, ["execution.chunk_rows=64", "output.plots=false"]), tmp_path / "out",
                      reports=False)
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    names = ["intercept", "coef_x0", "coef_x1", "coef_x2"]
    assert outcome.result["uncertainty"]["method"] == "hessian"
    for name, value, stderr in zip(names, reference.params, reference.bse):
        assert outcome.result["params"][name] == pytest.approx(value, rel=1e-5, abs=1e-7), name
        assert outcome.result["stderr"][name] == pytest.approx(stderr, rel=1e-5), name


def test_a_formula_linear_in_its_parameters_takes_the_product_too(tmp_path):
    _logit_csv(tmp_path)
    objective = _objective(tmp_path, 'name: f\ndata: {path: b.csv}\nmodel: {formula: "y ~ a + b * x0 + c * x1"}\n'
                                     "params: {a: 0.1, b: 0.2, c: 0.3}\nloss: cross_entropy\n")
    assert glm_hessian.applies(objective.model, objective.loss)
    x = np.array([-1.0, 1.1, -0.9])
    np.testing.assert_allclose(objective.summed_hessian(x, 400.0), _engine_hessian(objective, x, 400.0),
                               rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("text", [
    'model: {formula: "y ~ a * exp(b * x0)"}\nparams: {a: 0.5, b: 0.2}\nloss: cross_entropy\n',
    "model: {type: logistic, inputs: [x0, x1, x2], target: y}\nloss: {name: cross_entropy, from_logits: false}\n",
    "model: {type: mlp, inputs: [x0, x1], hidden: [3], target: y}\nloss: cross_entropy\n",
    "model: {type: linear, inputs: [x0, x1], target: y}\nloss: mae\n",
], ids=["nonlinear-logit", "probabilities", "mlp", "other-loss"])
def test_every_other_model_or_loss_keeps_the_engines_hessian(tmp_path, text):
    _logit_csv(tmp_path, n=120)
    objective = _objective(tmp_path, "name: o\ndata: {path: b.csv}\n" + text)
    assert not glm_hessian.applies(objective.model, objective.loss)
    x = np.asarray(prepare_start(objective), dtype=float) * 0.9 + 0.01
    np.testing.assert_allclose(objective.summed_hessian(x, 120.0), _engine_hessian(objective, x, 120.0),
                               rtol=1e-12, atol=1e-12)


def prepare_start(objective):
    return np.concatenate([np.ravel(np.asarray(p.init, dtype=float)) for p in objective.free])


@pytest.mark.parametrize("logit", [0.0, 3.0, -3.0, 40.0, -40.0, 800.0])
def test_logistic_curvature_is_p_times_one_minus_p_without_cancellation(logit):
    expected = np.exp(-abs(logit)) / (1 + np.exp(-abs(logit))) ** 2     # exact algebra of σ(η)(1 − σ(η))
    value = glm_hessian.logistic_curvature(np.array([logit]))[0]
    assert value == pytest.approx(expected, rel=1e-15, abs=0.0)
    if abs(logit) == 40.0:       # where 1 − σ(40) rounds to 0, the curvature still has every digit
        p = 1 / (1 + np.exp(-40.0))
        assert p * (1 - p) == 0.0 and value > 4e-18


def test_a_chunked_network_whose_chunk_jacobian_passes_the_size_limit_ends_without_uncertainties(tmp_path,
                                                                                                 monkeypatch):
    """The scale benchmark's mlp row at 1e5 rows: the fit succeeded, then the chunked Jacobian
    factor for its uncertainties was refused as exit 2 naming optimizer.name (an adam fit)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    y = np.tanh(x @ [1.0, -0.5, 0.3]) + rng.normal(0, 0.05, 300)
    (tmp_path / "m.csv").write_text("x0,x1,x2,y\n" + "".join(f"{a!r},{b!r},{c!r},{t!r}\n"
                                                            for (a, b, c), t in zip(x.tolist(), y.tolist())))
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ndata: {path: m.csv}\nmodel: {type: mlp, inputs: [x0, x1, x2], hidden: [8], target: y}\n"
                    "loss: mse\noptimizer: {name: adam, max_steps: 5}\nexecution: {chunk_rows: 100}\n")
    objective = prepare(load_config(path)).objective
    jacobian, evaluation = objective.forward_jacobian_elements(100), 2 * 100 * (objective.model.values_per_row + 4)
    assert jacobian > 4 * evaluation
    monkeypatch.setenv("WORKBENCH_MODEL_MAX_ELEMENTS", str(jacobian // 2))
    assert not objective.jacobian_fits(100)
    outcome = run_fit(load_config(path, ["output.plots=false"]), tmp_path / "out", reports=False)
    assert outcome.result["uncertainty"]["method"] == "none"
    why = outcome.result["uncertainty"]["why"]
    assert "uncertainties: the forward-mode Jacobian of 41 parameters over 300 rows" in why
    assert "optimizer.name" not in why
    assert all(value is None for value in outcome.result["stderr"].values())
