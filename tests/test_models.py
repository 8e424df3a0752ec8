"""Direct tests of workbench.models: each family's prediction, starting values, offsets and errors."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config.sections import ModelConfig
from workbench.errors import InputError
from workbench.formula import parse_formula
from workbench.models import build_model

X = np.linspace(1.0, 10.0, 40)


def built(kind: str, y: np.ndarray, x: np.ndarray = X, **extra):
    config = ModelConfig(type=kind, inputs=("x",), target="y", **extra)
    return build_model(config, {"x": x, "y": y})


def predict(model, **params) -> np.ndarray:
    values = {p.name: p.init for p in model.params}
    values.update(params)
    return np.asarray(model.forward(values, {"x": X}), dtype=float)


@pytest.mark.parametrize("kind,truth,formula", [
    ("linear", {"intercept": 3.0, "coef_x": -0.5}, lambda p: p["intercept"] + p["coef_x"] * X),
    ("polynomial", {"c0": 1.0, "c1": 2.0, "c2": -0.3}, lambda p: p["c0"] + p["c1"] * X + p["c2"] * X ** 2),
    ("exponential", {"a": 2.0, "b": -0.3, "c": 0.5}, lambda p: p["a"] * np.exp(p["b"] * X) + p["c"]),
    ("power", {"a": 4.0, "b": -0.7}, lambda p: p["a"] * X ** p["b"]),
    ("gaussian", {"amplitude": 5.0, "center": 4.0, "sigma": 1.5, "offset": 0.2},
     lambda p: p["amplitude"] * np.exp(-(X - p["center"]) ** 2 / (2 * p["sigma"] ** 2)) + p["offset"]),
    ("michaelis_menten", {"vmax": 7.0, "km": 2.5}, lambda p: p["vmax"] * X / (p["km"] + X)),
])
def test_each_family_predicts_its_formula_and_starts_near_noise_free_truth(kind, truth, formula):
    y = formula(truth)
    model = built(kind, y)
    assert model.param_names == tuple(truth)
    np.testing.assert_allclose(predict(model, **truth), y, rtol=1e-12)
    start = predict(model)
    assert np.sqrt(np.mean((start - y) ** 2)) < np.std(y)   # a data-driven guess beats the plain mean


def test_linear_and_polynomial_starts_are_the_least_squares_solution():
    y = 3.0 - 0.5 * X + 0.01 * np.sin(X)
    linear = built("linear", y)
    expected = np.polyfit(X, y, 1)[::-1]
    np.testing.assert_allclose([p.init for p in linear.params], expected, rtol=1e-10)
    cubic = built("polynomial", y, degree=3)
    np.testing.assert_allclose([p.init for p in cubic.params], np.polyfit(X, y, 3)[::-1], rtol=1e-8)


def test_offsets_and_input_scales_are_marked_for_regularization():
    y = 2.0 * X
    linear = built("linear", y)
    assert [p.offset for p in linear.params] == [True, False]
    assert linear.params[1].input_scale == pytest.approx(np.std(X))
    poly = built("polynomial", y, degree=2)
    assert [p.offset for p in poly.params] == [True, False, False]
    assert [p.input_scale for p in poly.params] == pytest.approx([1.0, np.std(X), np.std(X) ** 2])
    assert [p.offset for p in built("exponential", np.exp(-X) + 1).params] == [False, False, True]
    mlp = build_model(ModelConfig(type="mlp", inputs=("x",), target="y", hidden=(3,)), {"x": X, "y": y})
    assert {p.name: p.offset for p in mlp.params} == {"W1": False, "b1": True, "W2": False, "b2": True}


def test_user_starting_values_replace_the_guesses_and_unknown_names_are_refused():
    config = ModelConfig(type="power", inputs=("x",), target="y")
    model = build_model(config, {"x": X, "y": 2 * X}, inits={"b": 0.25})
    assert dict((p.name, p.init) for p in model.params)["b"] == 0.25
    with pytest.raises(InputError, match="has no parameter 'exponent'") as info:
        build_model(config, {"x": X, "y": 2 * X}, inits={"exponent": 1.0})
    assert info.value.where == "params.exponent"


def test_families_refuse_data_they_cannot_describe():
    with pytest.raises(InputError, match="positive values"):
        built("power", X, x=X - 5.0)
    with pytest.raises(InputError, match="0/1 target"):
        built("logistic", X)


def test_logistic_outputs_the_log_odds_and_starts_at_zero():
    y = (X > 5).astype(float)
    model = built("logistic", y)
    assert model.binary and all(p.init == 0.0 for p in model.params)
    np.testing.assert_allclose(predict(model, intercept=-5.0, coef_x=1.0), X - 5.0)


def test_the_mlp_is_reproducible_from_its_seed_and_standardizes_inputs_and_target():
    config = ModelConfig(type="mlp", inputs=("x",), target="y", hidden=(4,))
    y = 1000.0 + 50.0 * X
    first, again = (build_model(config, {"x": X, "y": y}, seed=3) for _ in range(2))
    other = build_model(config, {"x": X, "y": y}, seed=4)
    np.testing.assert_array_equal(first.params[0].init, again.params[0].init)
    assert not np.array_equal(first.params[0].init, other.params[0].init)
    zeros = {p.name: np.zeros(p.shape) for p in first.params}
    np.testing.assert_allclose(first.forward(zeros, {"x": X}), np.full(X.size, y.mean()))


def test_a_formula_model_reads_columns_and_parameters_and_marks_its_offset():
    formula = parse_formula("y ~ a * exp(-b * x) + c")
    model = build_model(ModelConfig(formula=formula.text), {"x": X, "y": X}, formula=formula,
                        table_columns=["x", "y"], inits={"a": 2.0, "b": 0.5, "c": 1.0})
    assert model.inputs == ("x",) and model.param_names == ("a", "b", "c")
    assert [p.offset for p in model.params] == [False, False, True]
    values = {"a": 2.0, "b": 0.5, "c": 1.0}
    np.testing.assert_allclose(np.asarray(model.forward(values, {"x": X})), 2.0 * np.exp(-0.5 * X) + 1.0)
