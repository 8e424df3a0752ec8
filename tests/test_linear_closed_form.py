"""Models linear in their parameters are solved in closed form (workbench.pipeline.linear_solve).

Each test fits the same data twice: with the default optimizer (the closed form) and with an
optimizer named in the config (the iterative path), and compares parameters, standard errors
and the loss; and checks when the closed form steps aside (ill-conditioned, bounds, l1).
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import load_config
from workbench.formula import parse_formula
from workbench.models.formula_model import NONLINEAR, parameter_degree
from workbench.pipeline.fit import run_fit

CLOSED = "solved in closed form"


def _csv(folder, n=120, seed=5):
    rng = np.random.default_rng(seed)
    x0, x1, x2 = rng.normal(size=(3, n))
    t = np.linspace(0.5, 4.0, n)
    w = rng.uniform(0.5, 2.0, n)
    y = 1.5 * x0 - 2.0 * x1 + 0.5 * x2 + 0.7 + rng.normal(0.0, 0.2, n)
    curve = 0.3 * t ** 2 - t + 2.0 + 0.5 * np.log(t) + rng.normal(0.0, 0.05, n)
    near = x0 + rng.normal(0.0, 1e-13, n)          # collinear with x0 to 13 digits
    lines = ["x0,x1,x2,t,w,y,curve,near"] + [",".join(repr(float(v)) for v in row)
                                             for row in zip(x0, x1, x2, t, w, y, curve, near)]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")


LINEAR = "name: lin\ndata: {path: d.csv}\nmodel: {type: linear, inputs: [x0, x1, x2], target: y}\n"
POLY = "name: poly\ndata: {path: d.csv}\nmodel: {type: polynomial, inputs: [t], degree: 3, target: curve}\n"
FORMULA = 'name: f\ndata: {path: d.csv}\nmodel: {formula: "curve ~ a * t**2 + b * t + c + d * log(t)"}\n'


def _fit(folder, text, *overrides):
    path = folder / "c.yaml"
    path.write_text(text + "output: {plots: false}\n")
    config = load_config(path, list(overrides))
    return run_fit(config, folder / ("out" + str(abs(hash(overrides)))), reports=False)


def _same(closed, iterative, rtol=1e-8):
    for name, value in iterative.result["params"].items():
        assert closed.result["params"][name] == pytest.approx(value, rel=rtol, abs=1e-10), name
        assert closed.result["stderr"][name] == pytest.approx(iterative.result["stderr"][name], rel=1e-6), name
    assert closed.result["loss"] == pytest.approx(iterative.result["loss"], rel=1e-12)


@pytest.mark.parametrize("text", [LINEAR, POLY, FORMULA], ids=["linear", "polynomial", "formula"])
def test_closed_form_gives_the_iterative_fits_parameters_and_standard_errors(tmp_path, text):
    _csv(tmp_path)
    closed = _fit(tmp_path, text)
    iterative = _fit(tmp_path, text, "optimizer.name=lm")
    assert closed.result["message"].startswith(CLOSED) and closed.result["iterations"] == 1
    assert not iterative.result["message"].startswith(CLOSED)
    assert closed.result["converged"] and closed.result["status"] == "converged"
    _same(closed, iterative)


def test_closed_form_with_weights_and_row_chunks_matches_the_iterative_fit(tmp_path):
    _csv(tmp_path)
    closed = _fit(tmp_path, LINEAR, "loss.weights=w", "execution.chunk_rows=7")
    iterative = _fit(tmp_path, LINEAR, "loss.weights=w", "optimizer.name=lm")
    assert closed.result["message"].startswith(CLOSED)
    _same(closed, iterative)


@pytest.mark.parametrize("standardize", [False, True])
def test_l2_closed_form_by_augmented_rows_matches_lbfgs_and_its_hessian_uncertainties(tmp_path, standardize):
    _csv(tmp_path)
    penalty = ["loss.regularization.l2=0.05", f"loss.regularization.standardize={str(standardize).lower()}"]
    closed = _fit(tmp_path, POLY, *penalty, "execution.chunk_rows=11")
    iterative = _fit(tmp_path, POLY, *penalty, "optimizer.name=lbfgs", "optimizer.max_steps=5000")
    assert closed.result["message"].startswith(CLOSED)
    for name, value in iterative.result["params"].items():
        assert closed.result["params"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
        assert closed.result["stderr"][name] == pytest.approx(iterative.result["stderr"][name], rel=1e-5), name
    assert closed.result["loss"] <= iterative.result["loss"] * (1 + 1e-12)
    # the penalty shrinks the fit: its coefficients are not the unpenalized ones
    plain = _fit(tmp_path, POLY)
    assert abs(closed.result["params"]["c3"]) < abs(plain.result["params"]["c3"])


def test_ill_conditioned_design_is_fitted_iteratively_with_a_note(tmp_path):
    _csv(tmp_path)
    text = 'name: near\ndata: {path: d.csv}\nmodel: {formula: "y ~ a * x0 + b * near + c"}\n'
    outcome = _fit(tmp_path, text)
    assert not outcome.result["message"].startswith(CLOSED)
    notes = [w for w in outcome.result["warnings"] if "closed-form solve was not used" in w]
    assert len(notes) == 1 and "ill-conditioned" in notes[0]
    condition = float(notes[0].split("condition number ")[1].split(")")[0])
    assert condition > 1e10


def test_solution_outside_the_bounds_is_fitted_iteratively_and_respects_them(tmp_path):
    _csv(tmp_path)
    outcome = _fit(tmp_path, LINEAR + "params: {coef_x0: {max: 1.0}}\n")
    assert any("puts coef_x0 outside its bounds" in w for w in outcome.result["warnings"])
    assert 1.0 - 1e-4 < outcome.result["params"]["coef_x0"] <= 1.0


def test_l1_and_a_named_optimizer_keep_the_iterative_path(tmp_path):
    _csv(tmp_path)
    l1 = _fit(tmp_path, LINEAR, "loss.regularization.l1=0.01")
    named = _fit(tmp_path, LINEAR, "optimizer.name=adam", "optimizer.max_steps=50")
    assert not l1.result["message"].startswith(CLOSED)
    assert not named.result["message"].startswith(CLOSED)


@pytest.mark.parametrize("formula,degree", [
    ("y ~ a * x + b", 1), ("y ~ a * exp(x) - b * log(x) / 2 + c * x**2", 1), ("y ~ (a + b) * x", 1),
    ("y ~ -a * x**1", 1), ("y ~ x + 2", 0), ("y ~ a * exp(-b * x) + c", NONLINEAR), ("y ~ a * b * x", NONLINEAR),
    ("y ~ x / a", NONLINEAR), ("y ~ a**2 * x", NONLINEAR), ("y ~ x**a", NONLINEAR), ("y ~ sqrt(a) * x", NONLINEAR),
])
def test_parameter_degree_tells_formulas_linear_in_their_parameters(formula, degree):
    parsed = parse_formula(formula)
    params = [n for n in parsed.names if n not in ("x", "y")]
    assert parameter_degree(parsed.expr, params) == degree


def test_closed_form_with_model_standardize_matches_the_iterative_fit(tmp_path):
    _csv(tmp_path)
    text = POLY.replace("degree: 3,", "degree: 3, standardize: true,")
    closed = _fit(tmp_path, text)
    iterative = _fit(tmp_path, text, "optimizer.name=lm")
    assert closed.result["message"].startswith(CLOSED)
    _same(closed, iterative, rtol=1e-7)


def test_starting_values_of_a_large_table_come_from_evenly_spaced_rows():
    from workbench.models.builtin import START_ROWS, start_rows

    assert start_rows(START_ROWS) == slice(None)
    rows = start_rows(10 * START_ROWS)
    assert len(rows) == START_ROWS and rows[0] == 0 and rows[-1] == 10 * START_ROWS - 1
    assert set(np.diff(rows).tolist()) <= {9, 10, 11}
