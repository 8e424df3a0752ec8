"""Tests for workbench.optim: every optimizer, schedules, stopping, divergence, bounds and scaling."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.optim import Options, minimize
from workbench.optim.first_order import Adam, AdamW, Momentum, Nesterov
from workbench.optim.linesearch import strong_wolfe
from workbench.optim.schedules import make_schedule
from workbench.optim.transform import ParameterTransform


class LeastSquares:
    """An objective from a residual function and its Jacobian; loss = 0.5 * ||r||².

    ``delay`` seconds are slept in every evaluation (for the time-limit tests).
    """

    def __init__(self, residuals, jacobian, n_params: int, n_rows: int | None = None, delay: float = 0.0):
        self._residuals, self._jacobian = residuals, jacobian
        self.n_params, self.n_rows, self.delay = n_params, n_rows, delay

    def residuals(self, x):
        time.sleep(self.delay)
        return self._residuals(x)

    def residuals_and_jacobian(self, x):
        return self.residuals(x), self._jacobian(x)

    def value_and_grad(self, x, batch=None):
        r, jac = self.residuals_and_jacobian(x)
        return 0.5 * float(r @ r), jac.T @ r


def quadratic() -> LeastSquares:
    """0.5 (x - b)' A (x - b) with A = L L' (eigenvalues ~2.2 and ~0.8), minimum at b = (1, -2)."""
    chol = np.linalg.cholesky(np.array([[2.0, 0.5], [0.5, 1.0]])).T
    b = np.array([1.0, -2.0])
    return LeastSquares(lambda x: chol @ (x - b), lambda x: chol, 2)


def rosenbrock() -> LeastSquares:
    """(1 - x0)² + 100 (x1 - x0²)² as residuals; minimum 0 at (1, 1)."""
    return LeastSquares(lambda x: np.array([1 - x[0], 10 * (x[1] - x[0] ** 2)]),
                        lambda x: np.array([[-1.0, 0.0], [-20 * x[0], 10.0]]), 2)


class ValueOnly:
    """A loss with a gradient but no residuals (not least squares)."""

    n_params, n_rows = 1, None

    def value_and_grad(self, x, batch=None):
        return float(np.cosh(x[0] - 2.0)), np.array([np.sinh(x[0] - 2.0)])


FIRST_ORDER_SETTINGS = {
    "gd": dict(lr=0.3), "momentum": dict(lr=0.05, momentum=0.9), "nesterov": dict(lr=0.05, momentum=0.9),
    "adagrad": dict(lr=0.5), "adam": dict(lr=0.05), "adamw": dict(lr=0.05, weight_decay=0.0),
    # With a constant rate RMSprop ends circling the minimum at a distance ~ lr; a decaying rate settles.
    "rmsprop": dict(lr=0.01, schedule="cosine"),
}


@pytest.mark.parametrize("name", list(FIRST_ORDER_SETTINGS) + ["lbfgs", "lm"])
def test_every_optimizer_finds_the_minimum_of_a_convex_quadratic(name):
    options = Options(name=name, max_steps=5000, **FIRST_ORDER_SETTINGS.get(name, {}))
    result = minimize(quadratic(), [1.0, 1.0], options)
    assert result.status == "converged" and result.success, result.message
    assert result.message.endswith(f"after {result.nit} steps")
    np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-6)
    assert result.fun == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name,options,tolerance", [
    ("lbfgs", Options(name="lbfgs"), 1e-8),
    ("lm", Options(name="lm"), 1e-12),
    ("adam", Options(name="adam", lr=0.02, max_steps=20000), 1e-3),
])
def test_rosenbrock_from_the_classic_start(name, options, tolerance):
    result = minimize(rosenbrock(), [-1.2, 1.0], options)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=tolerance)
    if name != "adam":
        assert result.success, result.message


def test_a_loss_without_residuals_suits_lbfgs_and_is_refused_by_lm():
    result = minimize(ValueOnly(), [5.0], Options(name="lbfgs"))
    assert result.success and result.x[0] == pytest.approx(2.0, abs=1e-8)
    assert result.fun == pytest.approx(1.0, abs=1e-14)
    with pytest.raises(InputError, match="least-squares") as info:
        minimize(ValueOnly(), [5.0], Options(name="lm"))
    assert info.value.where == "optimizer.name"


def test_lm_recovers_from_trial_points_with_non_finite_residuals():
    # log(x) is undefined for x <= 0: the first Gauss-Newton step from 20 lands there.
    problem = LeastSquares(lambda x: np.array([np.log(x[0]) if x[0] > 0 else np.nan, x[0] - 1.0]),
                           lambda x: np.array([[1.0 / x[0]], [1.0]]), 1)
    result = minimize(problem, [20.0], Options(name="lm"))
    assert result.success
    assert result.x[0] == pytest.approx(1.0, abs=1e-12)


def test_lm_restarts_from_the_best_point_after_converging_on_ftol():
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 4.0, 40)
    y = 2.5 * np.exp(-1.3 * t) + 0.01 * rng.standard_normal(t.size)
    problem = LeastSquares(lambda b: b[0] * np.exp(-b[1] * t) - y,
                           lambda b: np.column_stack([np.exp(-b[1] * t), -b[0] * t * np.exp(-b[1] * t)]), 2)
    once = minimize(problem, [0.1, 10.0], Options(name="lm", ftol=1e-2, restarts=0))
    restarted = minimize(problem, [0.1, 10.0], Options(name="lm", ftol=1e-2, restarts=3))
    assert "restart" in restarted.message and "restart" not in once.message
    assert restarted.fun < once.fun
    assert restarted.nit > once.nit


def test_adam_first_step_moves_each_coordinate_by_lr_against_the_gradient_sign():
    rule = Adam(2, Options(name="adam", lr=0.1))
    x = rule.step(np.array([1.0, 1.0]), np.array([3.0, -1e-3]), lr=0.1)
    np.testing.assert_allclose(x, [0.9, 1.1], rtol=1e-6)


def test_adamw_decays_parameters_geometrically_when_the_gradient_is_zero():
    rule = AdamW(1, Options(name="adamw", weight_decay=0.5))
    x = np.array([2.0])
    for _ in range(10):
        x = rule.step(x, np.zeros(1), lr=0.1)
    assert x[0] == pytest.approx(2.0 * (1 - 0.1 * 0.5) ** 10, rel=1e-12)


def test_momentum_and_nesterov_follow_their_update_formulas():
    grads = [np.array([1.0]), np.array([2.0])]
    heavy, nesterov = Momentum(1, Options(name="momentum")), Nesterov(1, Options(name="nesterov"))
    x_heavy = x_nesterov = np.array([0.0])
    for g in grads:
        x_heavy = heavy.step(x_heavy, g, lr=0.1)
        x_nesterov = nesterov.step(x_nesterov, g, lr=0.1)
    # heavy ball: v1 = 1, v2 = 0.9 + 2 = 2.9; x = -0.1 (1 + 2.9)
    assert x_heavy[0] == pytest.approx(-0.39)
    # nesterov: steps g + mu v: 1 + 0.9 = 1.9, then 2 + 0.9 * 2.9 = 4.61
    assert x_nesterov[0] == pytest.approx(-0.1 * (1.9 + 4.61))


@pytest.mark.parametrize("spec,expected", [
    (None, [0.1, 0.1, 0.1]),
    ({"name": "step", "step_size": 2, "gamma": 0.5}, [0.1, 0.1, 0.05, 0.05, 0.025]),
    ({"name": "exponential", "gamma": 0.9}, [0.1, 0.09, 0.081]),
    ({"name": "cosine", "total_steps": 4, "min_lr": 0.0}, [0.1, 0.085355339, 0.05, 0.014644661, 0.0, 0.0]),
    ({"name": "warmup", "warmup_steps": 4}, [0.025, 0.05, 0.075, 0.1, 0.1]),
    ({"name": "warmup_cosine", "warmup_steps": 2, "total_steps": 4}, [0.05, 0.1, 0.1, 0.05, 0.0]),
])
def test_schedule_values_at_each_step(spec, expected):
    schedule = make_schedule(spec, 0.1, 100)
    np.testing.assert_allclose([schedule(k) for k in range(len(expected))], expected, atol=1e-9)


def test_cosine_schedule_spans_max_steps_by_default():
    schedule = make_schedule("cosine", 1.0, 10)
    assert schedule(5) == pytest.approx(0.5)
    assert schedule(10) == pytest.approx(0.0)


@pytest.mark.parametrize("spec,where", [
    ({"name": "cosin"}, "optimizer.schedule.name"),
    ({"name": "step", "gama": 0.5}, "optimizer.schedule.gama"),
    ({"name": "step", "step_size": 0}, "optimizer.schedule.step_size"),
    ({"name": "warmup_cosine", "warmup_steps": 10, "total_steps": 5}, "optimizer.schedule.total_steps"),
])
def test_bad_schedules_name_the_config_key(spec, where):
    with pytest.raises(InputError) as info:
        Options(name="adam", schedule=spec).validate()
    assert info.value.where == where


def test_the_schedule_drives_the_learning_rate_in_the_history():
    options = Options(name="gd", lr=0.2, max_steps=6, gtol=0.0, schedule={"name": "step", "step_size": 2, "gamma": 0.5})
    result = minimize(quadratic(), [1.0, 1.0], options)
    assert [h["lr"] for h in result.history[1:]] == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05, 0.05])


def test_a_step_into_a_nan_region_is_undone_and_the_parameters_stay_finite():
    # Gradient descent walks x from 0 towards 10; the loss is NaN beyond x = 3. A trial step
    # landing there is undone with half the learning rate, so every accepted point is finite.
    problem = LeastSquares(lambda x: np.array([x[0] - 10.0 if x[0] < 3.0 else np.nan]), lambda x: np.eye(1), 1)
    seen = {}
    result = minimize(problem, [0.0], Options(name="gd", lr=1.0, max_steps=300),
                      callback=lambda step, x, loss: seen.__setitem__(step, x.copy()))
    assert result.status == "max_steps" and not result.success
    assert all(x[0] < 3.0 for x in seen.values())
    assert 2.9 < result.x[0] < 3.0 and math.isfinite(result.fun)
    assert result.history[-1]["lr"] < 1.0  # the rate was halved at the edge


def test_a_loss_that_is_nan_everywhere_but_the_start_diverges_at_step_one():
    problem = LeastSquares(lambda x: np.array([1.0 if x[0] == 2.0 else np.nan]), lambda x: np.eye(1), 1)
    result = minimize(problem, [2.0], Options(name="gd"))
    assert result.status == "diverged" and result.diverged_at == 1
    assert result.x[0] == 2.0 and "halved 40 times" in result.message and "optimizer.lr" in result.message


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov"])
def test_a_learning_rate_that_is_too_large_is_halved_until_steps_lower_the_loss(name):
    result = minimize(quadratic(), [1.0, 1.0], Options(name=name, lr=50.0, max_steps=10000))
    assert result.status == "converged", result.message
    losses = [h["loss"] for h in result.history]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(losses, losses[1:]))
    assert result.history[-1]["lr"] < 50.0 / 2
    np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-6)


def test_lm_reports_divergence_when_the_jacobian_is_not_finite():
    problem = LeastSquares(lambda x: np.array([x[0] - 1.0]), lambda x: np.array([[np.nan if x[0] < 5 else 1.0]]), 1)
    result = minimize(problem, [9.0], Options(name="lm"))
    assert result.status == "diverged" and result.diverged_at == 1
    assert result.x[0] == 9.0


def test_a_non_finite_start_is_divergence_at_step_zero():
    problem = LeastSquares(lambda x: np.array([np.inf]), lambda x: np.eye(1), 1)
    for name in ("adam", "lbfgs", "lm"):
        result = minimize(problem, [1.0], Options(name=name))
        assert result.status == "diverged" and result.diverged_at == 0


@pytest.mark.parametrize("name", ["adam", "lbfgs", "lm"])
def test_time_limit_stops_the_run(name):
    base = rosenbrock()
    slow = LeastSquares(base._residuals, base._jacobian, 2, delay=0.01)
    result = minimize(slow, [-1.2, 1.0], Options(name=name, time_limit=0.05, max_steps=10000, lr=1e-3))
    assert result.status == "time_limit" and not result.success
    assert "time limit" in result.message
    assert result.nit < 10000
    assert result.history[-1]["elapsed_s"] >= 0.05


@pytest.mark.parametrize("name", ["adam", "lbfgs", "lm"])
def test_early_stopping_returns_the_parameters_with_the_best_validation_loss(name):
    # The "validation loss" is smallest at step 3 and then grows.
    seen = {}

    def callback(step, x, loss):
        seen[step] = x.copy()
        return abs(step - 3) + 1.0

    options = Options(name=name, patience=2, max_steps=1000, lr=1e-3)
    result = minimize(rosenbrock(), [-1.2, 1.0], options, callback=callback)
    assert result.status == "early_stopped"
    np.testing.assert_array_equal(result.x, seen[3])
    assert [h["val_loss"] for h in result.history[1:6]] == [3.0, 2.0, 1.0, 2.0, 3.0]
    assert len(result.history) == 6  # steps 0..5: two steps without improvement after step 3


def test_a_callback_returning_true_stops_the_run():
    result = minimize(rosenbrock(), [-1.2, 1.0], Options(name="lbfgs"), callback=lambda step, x, loss: step >= 4)
    assert result.status == "early_stopped" and result.nit == 4
    assert "callback" in result.message


def test_max_steps_is_reported_in_words():
    result = minimize(quadratic(), [1.0, 1.0], Options(name="gd", lr=0.01, max_steps=7))
    assert result.status == "max_steps" and result.nit == 7 and "max_steps = 7" in result.message
    assert [h["step"] for h in result.history] == list(range(8))
    assert set(result.history[0]) == {"step", "loss", "grad_norm", "lr", "val_loss", "elapsed_s"}


def test_strong_wolfe_search_returns_a_point_meeting_both_conditions():
    # phi(a) = (a - 3)² + 0.5 sin(3a), a bumpy 1-D function with phi'(0) < 0.
    def phi(a):
        return (a - 3) ** 2 + 0.5 * np.sin(3 * a), None, 2 * (a - 3) + 1.5 * np.cos(3 * a)

    value0, _, slope0 = phi(0.0)
    for alpha0 in (0.01, 1.0, 10.0):
        search = strong_wolfe(phi, value0, slope0, alpha0, c1=1e-4, c2=0.1)
        assert search.success
        assert search.value <= value0 + 1e-4 * search.alpha * slope0
        assert abs(search.slope) <= 0.1 * abs(slope0)


def test_strong_wolfe_search_backs_off_from_non_finite_values():
    def phi(a):
        if a > 0.5:
            return np.nan, None, np.nan
        return (a - 0.4) ** 2, None, 2 * (a - 0.4)

    search = strong_wolfe(phi, 0.16, -0.8, alpha0=1.0)
    assert search.success and 0 < search.alpha <= 0.5


def test_every_lbfgs_step_satisfies_the_strong_wolfe_conditions():
    problem = rosenbrock()
    points = [np.array([-1.2, 1.0])]
    result = minimize(problem, points[0], Options(name="lbfgs"),
                      callback=lambda step, x, loss: points.append(x.copy()))
    assert result.success and len(points) > 10
    for before, after in zip(points, points[1:]):
        f0, g0 = problem.value_and_grad(before)
        f1, g1 = problem.value_and_grad(after)
        move = after - before
        assert f1 <= f0 + 1e-4 * float(g0 @ move) + 1e-15 * abs(f0)
        assert abs(float(g1 @ move)) <= 0.9 * abs(float(g0 @ move)) + 1e-15


def test_transform_round_trips_and_its_derivative_matches_finite_differences():
    x0 = np.array([0.3, 5.0, -2.0, 1e-7, 1e3])
    lower = [0.0, 1.0, -np.inf, -np.inf, -np.inf]
    upper = [1.0, np.inf, 0.0, np.inf, np.inf]
    transform = ParameterTransform(x0, lower, upper)
    u = transform.to_internal(x0)
    np.testing.assert_allclose(transform.to_external(u), x0, rtol=1e-12)
    h = 1e-7
    numeric = [(transform.to_external(u + h * e) - transform.to_external(u - h * e))[k] / (2 * h)
               for k, e in enumerate(np.eye(5))]
    np.testing.assert_allclose(transform.derivative(u), numeric, rtol=1e-6)
    assert np.all(np.abs(u[3:]) == pytest.approx(1.0))  # free parameters are divided by |x0|


@pytest.mark.parametrize("lower", [None, [0.0, 0.0]])
@pytest.mark.parametrize("name", ["adam", "lbfgs", "lm"])
def test_parameters_of_very_different_scales_converge(name, lower):
    # Model y = a * t + b * t² with a ~ 1e-7 and b ~ 1e3, fitted from the right orders of magnitude.
    t = np.linspace(1.0, 2.0, 20)
    y = 3e-7 * 1e7 * t + 2e3 * 1e-3 * t ** 2  # generated by a = 3e-7, b = 2e3 (scaled inputs)
    problem = LeastSquares(lambda p: p[0] * 1e7 * t + p[1] * 1e-3 * t ** 2 - y,
                           lambda p: np.column_stack([1e7 * t, 1e-3 * t ** 2]), 2)
    options = Options(name=name, lr=0.1, max_steps=5000)
    result = minimize(problem, [1e-7, 1e3], options, lower=lower)
    assert result.success, result.message
    np.testing.assert_allclose(result.x, [3e-7, 2e3], rtol=1e-8)


@pytest.mark.parametrize("name", ["adam", "lbfgs", "lm"])
def test_bounds_are_never_violated_and_a_bounded_optimum_sits_on_the_bound(name):
    # Unconstrained minimum at (-1, 3); the box [0, 2] x [0, 10] makes x0 = 0 the optimum.
    problem = LeastSquares(lambda x: np.array([x[0] + 1.0, x[1] - 3.0]), lambda x: np.eye(2), 2)
    visited = []
    result = minimize(problem, [1.5, 8.0], Options(name=name, lr=0.05, max_steps=5000),
                      lower=[0.0, 0.0], upper=[2.0, 10.0], callback=lambda s, x, loss: visited.append(x.copy()))
    visited = np.array(visited)
    assert (visited >= [0.0, 0.0]).all() and (visited <= [2.0, 10.0]).all()
    assert result.x[0] == pytest.approx(0.0, abs=1e-9)
    assert result.x[1] == pytest.approx(3.0, abs=1e-6)


def test_one_sided_bounds_and_a_start_on_the_bound():
    problem = LeastSquares(lambda x: np.array([x[0] - 4.0, x[1] + 5.0]), lambda x: np.eye(2), 2)
    result = minimize(problem, [1.0, -2.0], Options(name="lbfgs"), lower=[1.0, -np.inf], upper=[np.inf, -1.0])
    np.testing.assert_allclose(result.x, [4.0, -5.0], rtol=1e-8)
    upper_active = minimize(problem, [0.0, -2.0], Options(name="lm"), upper=[np.inf, -1.0])
    assert upper_active.x[1] == pytest.approx(-5.0)
    pinned = minimize(problem, [0.0, -1.0], Options(name="lm"), lower=[None, -1.5])
    assert pinned.x[1] == pytest.approx(-1.5, abs=1e-9)


def test_bad_bounds_and_starts_are_input_errors_naming_the_parameter():
    problem = quadratic()
    with pytest.raises(InputError, match="outside the bounds") as info:
        minimize(problem, [3.0, 0.0], Options(), lower=[0.0, 0.0], upper=[1.0, 1.0], names=["a", "b"])
    assert info.value.where == "parameters.a"
    with pytest.raises(InputError, match="exceeds upper bound"):
        minimize(problem, [0.5, 0.5], Options(), lower=[0.0, 2.0], upper=[1.0, 1.0])
    with pytest.raises(InputError, match="not finite"):
        minimize(problem, [np.nan, 0.5], Options())
    with pytest.raises(InputError, match="3 start values for 2 parameters"):
        minimize(problem, [1.0, 2.0, 3.0], Options())


class CountingRows:
    """Mean squared error of rows r_i = x - target_i; records the batches it is given."""

    def __init__(self, targets):
        self.targets, self.batches = targets, []
        self.n_params, self.n_rows = 1, len(targets)

    def value_and_grad(self, x, batch=None):
        rows = self.targets if batch is None else self.targets[batch]
        if batch is not None:
            self.batches.append(np.asarray(batch).copy())
        r = x[0] - rows
        return 0.5 * float(r @ r) / rows.size, np.array([r.sum() / rows.size])


def test_minibatches_cover_every_row_once_per_epoch_and_fun_is_the_full_loss():
    targets = np.arange(10.0)
    problem = CountingRows(targets)
    result = minimize(problem, [1.0], Options(name="gd", lr=0.5, batch_size=4, max_steps=8))
    first_epoch = np.concatenate(problem.batches[:3])
    assert sorted(first_epoch.tolist()) == list(range(10))
    assert [b.size for b in problem.batches[:3]] == [4, 4, 2]
    full_loss, _ = problem.value_and_grad(result.x)
    assert result.fun == pytest.approx(full_loss)


def test_same_seed_gives_the_same_numbers_and_another_seed_does_not():
    def run(seed):
        problem = CountingRows(np.linspace(-3.0, 5.0, 37))
        return minimize(problem, [4.0], Options(name="adam", lr=0.05, batch_size=5, max_steps=60, seed=seed))

    first, again, other = run(7), run(7), run(8)
    assert [h["loss"] for h in first.history] == [h["loss"] for h in again.history]
    np.testing.assert_array_equal(first.x, again.x)
    assert [h["loss"] for h in first.history] != [h["loss"] for h in other.history]


def test_options_validation_names_the_key():
    with pytest.raises(InputError, match="did you mean 'adam'") as info:
        Options(name="adma").validate()
    assert info.value.where == "optimizer.name"
    for bad, key in [(dict(lr=-1.0), "lr"), (dict(max_steps=2.5), "max_steps"), (dict(beta1=1.0), "beta1"),
                     (dict(patience=0), "patience"), (dict(name="lm", batch_size=8), "batch_size"),
                     (dict(time_limit=float("inf")), "time_limit")]:
        with pytest.raises(InputError) as info:
            Options(**{"name": "adam", **bad}).validate()
        assert info.value.where == f"optimizer.{key}"
    with pytest.raises(InputError, match="did you mean 'momentum'") as info:
        Options.from_mapping({"name": "gd", "momentun": 0.9})
    assert info.value.where == "optimizer.momentun"


def test_options_from_yaml_accept_exponent_numbers_read_as_text():
    options = Options.from_mapping({"name": "adam", "lr": "1e-3", "ftol": "1e-12"})
    assert options.lr == 1e-3 and options.ftol == 1e-12
    with pytest.raises(InputError) as info:
        Options.from_mapping({"name": "adam", "lr": "fast"})
    assert info.value.where == "optimizer.lr"


def test_options_report_keys_the_chosen_optimizer_ignores():
    assert Options(name="lm", lr=0.1, beta1=0.5).unused() == ["lr", "beta1"]
    assert Options(name="adam", lr=0.1, beta1=0.5).unused() == []
    assert Options(name="lbfgs").get("history_size") == 10


def test_a_thinned_log_holds_a_bounded_number_of_evenly_spread_entries_with_the_first_and_last():
    from workbench.optim.history import ThinnedLog

    log = ThinnedLog(limit=100)
    for step in range(1_000_001):
        log.append(step, step)
    kept = log.items()
    assert len(kept) <= 101
    assert kept[0] == 0 and kept[-1] == 1_000_000
    gaps = np.diff(kept[:-1])
    assert len(set(gaps.tolist())) == 1 and gaps[0] == log.stride  # evenly spread
    assert len(kept) > 50


def test_a_long_run_keeps_a_bounded_history_from_its_first_to_its_last_step():
    from workbench.optim.history import HISTORY_LIMIT

    result = minimize(quadratic(), [1.0, 1.0], Options(name="gd", lr=1e-6, gtol=0.0, max_steps=3 * HISTORY_LIMIT))
    steps = [entry["step"] for entry in result.history]
    assert result.status == "max_steps"
    assert HISTORY_LIMIT // 2 <= len(steps) <= HISTORY_LIMIT + 1
    assert steps[0] == 0 and steps[-1] == 3 * HISTORY_LIMIT
    assert steps == sorted(steps)
