"""Honest termination: no optimizer claims success at a blow-up, and none blows up by default.

The issue's case: ``quantity ~ a * price ** b`` on 1,500 sales rows (prices 10-100, quantities
1-50) from ``a = 25, b = 0``. Plain gradient descent with its default rate once jumped to
a = -9e38 and printed "converged". Every optimizer, with its defaults, must now end at a finite
point no worse than the start, and say "converged" only where the fit really is at its optimum.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cli_helpers import run_cli, write_config, write_csv
from workbench.formula import parse_formula
from workbench.losses import Loss
from workbench.models.formula_model import FormulaModel
from workbench.optim import OPTIMIZER_NAMES, Options, OptimizeResult, honest, minimize
from workbench.pipeline.objective import FitObjective


def sales_rows(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Prices 10-100 and whole quantities 1-50 falling with price, like a sales export."""
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(10.0, 100.0, n), 2)
    quantity = np.clip(np.round(200.0 * price ** -0.8 * np.exp(rng.normal(0.0, 0.3, n))), 1, 50)
    return price, quantity


def power_law_objective() -> FitObjective:
    price, quantity = sales_rows()
    model = FormulaModel(parse_formula("quantity ~ a * price ** b"), ["price", "quantity"], {"a": 25.0, "b": 0.0})
    return FitObjective(model, Loss("mse"), {"price": price}, quantity, None, list(model.params), {})


@pytest.fixture(scope="module")
def optimum() -> OptimizeResult:
    return minimize(power_law_objective(), [25.0, 0.0], Options(name="lm"))


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_optimizer_with_its_defaults_ends_finite_no_worse_than_the_start_and_claims_only_the_truth(
        name, optimum):
    objective = power_law_objective()
    start_loss = objective.loss_value(np.array([25.0, 0.0]))
    with np.errstate(all="ignore"):
        result = minimize(objective, [25.0, 0.0], Options(name=name), names=["a", "b"])
    assert result.status != "diverged", result.message
    assert np.isfinite(result.x).all() and math.isfinite(result.fun)
    assert result.fun <= start_loss
    assert np.abs(result.x).max() < 1e4  # nowhere near -9e38
    if result.success:
        assert result.fun == pytest.approx(optimum.fun, rel=1e-6)
        np.testing.assert_allclose(result.x, optimum.x, rtol=1e-4)
    else:
        assert "converged" not in result.message
    losses = [entry["loss"] for entry in result.history]
    if name in ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"):
        assert all(after <= before * (1 + 1e-12) for before, after in zip(losses, losses[1:]))


def test_the_optimum_found_by_lm_is_the_least_squares_power_law(optimum):
    price, quantity = sales_rows()
    a, b = optimum.x
    # The gradient of the mean squared error vanishes there (normal equations).
    residual = a * price ** b - quantity
    assert abs(np.mean(residual * price ** b)) < 1e-8 * np.mean(quantity * price ** b)
    assert abs(np.mean(residual * a * price ** b * np.log(price))) < 1e-6
    assert -1.0 < b < -0.6


def test_the_issue_case_through_the_cli_never_prints_converged_for_a_blow_up(tmp_path):
    price, quantity = sales_rows()
    write_csv(tmp_path, "sales.csv", "price,quantity", zip(price, quantity.astype(int)))
    config = write_config(tmp_path, """
        data: sales.csv
        model: {formula: "quantity ~ a * price ** b"}
        params: {a: 25, b: 0}
        optimizer: {name: gd}
        """)
    run = run_cli("fit", str(config), "--no-reports", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["converged"] is False and result["status"] == "max_steps"
    assert "converged after" not in run.stdout.lower()
    assert all(abs(result["params"][name]) < 1e3 for name in ("a", "b"))
    assert result["loss"] < 258.35  # the loss of the start, a = 25 and b = 0, is about 258.3


def test_a_converged_claim_above_the_starting_loss_becomes_stalled():
    history = [{"step": 0, "loss": 10.0}, {"step": 1, "loss": 12.0}]
    claimed = OptimizeResult(x=np.array([3.0]), fun=12.0, success=True, status="converged",
                             message="largest gradient 0 at or below gtol", nit=1, nfev=2, njev=2, history=history)
    result = honest(claimed, np.array([1.0]))
    assert result.status == "stalled" and not result.success
    assert "above the starting loss 10" in result.message
    assert result.x[0] == 3.0


@pytest.mark.parametrize("status", ["converged", "max_steps", "time_limit"])
def test_a_run_ending_far_above_the_starting_loss_diverged_and_returns_the_start(status):
    history = [{"step": 0, "loss": 10.0}, {"step": 5, "loss": 40.0}]
    ended = OptimizeResult(x=np.array([-9e38]), fun=40.0, success=status == "converged", status=status,
                           message="", nit=5, nfev=6, njev=6, history=history)
    result = honest(ended, np.array([1.0]))
    assert result.status == "diverged" and not result.success and result.diverged_at == 5
    assert result.x[0] == 1.0 and result.fun == 10.0
    assert "4 times the starting loss" in result.message and "optimizer.lr" in result.message


def test_a_non_finite_end_diverged_even_when_its_optimizer_said_converged():
    ended = OptimizeResult(x=np.array([np.inf]), fun=1.0, success=True, status="converged", message="",
                           nit=2, nfev=3, njev=3, history=[{"step": 0, "loss": 10.0}])
    result = honest(ended, np.array([1.0]))
    assert result.status == "diverged" and result.x[0] == 1.0 and "not finite" in result.message


class Downhill:
    """f(x) = -x: lower the further x runs, with no minimum."""

    n_params, n_rows = 1, None

    def value_and_grad(self, x, batch=None):
        return -float(x[0]), np.array([-1.0])


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_parameters_running_away_to_infinity_are_divergence_naming_the_parameter(name):
    result = minimize(Downhill(), [1.0], Options(name=name, lr=1e12), names=["slope"])
    assert result.status == "diverged" and np.isfinite(result.x).all()
    assert result.x[0] < 1e10 and result.diverged_at == result.nit + 1
    assert f"parameter 'slope' ran away at step {result.diverged_at}" in result.message


def test_minibatch_steps_whose_batch_loss_runs_far_above_the_start_are_undone():
    objective = power_law_objective()
    result = minimize(objective, [25.0, 0.0], Options(name="gd", lr=5.0, batch_size=50, max_steps=200))
    start_loss = objective.loss_value(np.array([25.0, 0.0]))
    assert result.status == "max_steps" and np.isfinite(result.x).all()
    assert all(entry["loss"] <= 2.0 * start_loss for entry in result.history)
    assert result.fun < start_loss
