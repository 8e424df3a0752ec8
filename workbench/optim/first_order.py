"""First-order optimizers: gd, momentum, nesterov, adagrad, rmsprop, adam, adamw.

Each is a small ``UpdateRule`` that only knows how to turn a gradient into a step;
``run_first_order`` is the one loop they share (minibatches, schedule, stopping,
divergence). Weight decay is L2 (added to the gradient) except for adamw, where it is
decoupled (x <- x - lr * weight_decay * x, Loshchilov & Hutter).

Safeguards (so that no default learning rate blows up on unscaled spreadsheet data): the
parameters are the O(1) variables of ``transform`` and the step uses the gradient of the loss
divided by its starting value, so ``lr`` is unit-free; a trial step whose loss is not finite
or rises (with minibatches: rises above ``FAR_ABOVE`` starting losses) is undone, the rule's
momentum is dropped (an adaptive restart) and the learning rate halved for good, up to
``MAX_HALVINGS`` times per step. The history's ``lr`` is the rate actually used. An
acceptable step that takes the parameters past ``EXPLODED`` times their starting size is a
runaway (the loss keeps falling towards infinity): divergence.

Stopping (full batch only; a minibatch loss is too noisy to test): converged when
max|g| <= gtol * |f| (``base.loss_scale``: |f| capped at |f0| and floored at 1e-8 |f0|), i.e.
a 100% change of any (scaled) parameter would change the loss by less than a gtol fraction
of itself; optionally when the relative loss change
is <= ftol or the largest step is <= xtol * max(1, max|x|) (both off by default, since a
small learning rate makes them fire far from the optimum). With minibatches the history
records each step's batch loss, and ``fun`` is the full-data loss at the returned x.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from workbench.optim.base import (CONVERGED, DIVERGED, EXPLODED, FAR_ABOVE, MAX_STEPS, ROUNDING_SLACK, STALLED, all_finite,
                                 diverged_message, exploded_message, loss_scale, max_steps_message,
                                 Monitor, no_finite_step_message, OptimizeResult, safe_norm, steps)
from workbench.optim.options import Options
from workbench.optim.schedules import make_schedule

MAX_HALVINGS = 40        # 2**-40 ~ 1e-12: a step that still fails is not a matter of its length


class UpdateRule:
    """Turns (x, gradient, learning rate) into the next x; keeps its own state."""

    def __init__(self, n: int, options: Options):
        self.weight_decay = options.get("weight_decay")

    def save(self) -> dict:
        """A copy of the rule's state, so that a rejected trial step can be undone."""
        return {key: value.copy() if isinstance(value, np.ndarray) else value
                for key, value in vars(self).items()}

    def restore(self, saved: dict) -> None:
        vars(self).update(saved)

    def restart(self) -> None:
        """Forget accumulated momentum (after a step that raised the loss); plain rules have none."""

    def step(self, x: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.weight_decay:
            grad = grad + self.weight_decay * x
        return x - lr * self.direction(grad)

    def direction(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GradientDescent(UpdateRule):
    """x <- x - lr * g."""

    def direction(self, grad: np.ndarray) -> np.ndarray:
        return grad


class Momentum(UpdateRule):
    """Heavy ball: v <- mu * v + g; x <- x - lr * v."""

    def __init__(self, n: int, options: Options):
        super().__init__(n, options)
        self.mu = options.get("momentum")
        self.velocity = np.zeros(n)

    def direction(self, grad: np.ndarray) -> np.ndarray:
        self.velocity = self.mu * self.velocity + grad
        return self.velocity

    def restart(self) -> None:
        self.velocity = np.zeros_like(self.velocity)


class Nesterov(Momentum):
    """Nesterov momentum (Sutskever form): v <- mu * v + g; x <- x - lr * (g + mu * v)."""

    def direction(self, grad: np.ndarray) -> np.ndarray:
        return grad + self.mu * super().direction(grad)


class Adagrad(UpdateRule):
    """G <- G + g**2; x <- x - lr * g / (sqrt(G) + eps)."""

    def __init__(self, n: int, options: Options):
        super().__init__(n, options)
        self.eps = options.get("eps")
        self.sum_sq = np.zeros(n)

    def direction(self, grad: np.ndarray) -> np.ndarray:
        self.sum_sq += grad * grad
        return grad / (np.sqrt(self.sum_sq) + self.eps)


class RMSprop(UpdateRule):
    """s <- beta2 * s + (1 - beta2) * g**2; x <- x - lr * g / (sqrt(s) + eps)."""

    def __init__(self, n: int, options: Options):
        super().__init__(n, options)
        self.beta2, self.eps = options.get("beta2"), options.get("eps")
        self.mean_sq = np.zeros(n)

    def direction(self, grad: np.ndarray) -> np.ndarray:
        self.mean_sq = self.beta2 * self.mean_sq + (1 - self.beta2) * grad * grad
        return grad / (np.sqrt(self.mean_sq) + self.eps)


class Adam(UpdateRule):
    """Adam (Kingma & Ba) with bias-corrected first and second moments."""

    def __init__(self, n: int, options: Options):
        super().__init__(n, options)
        self.beta1, self.beta2, self.eps = options.get("beta1"), options.get("beta2"), options.get("eps")
        self.m, self.v, self.t = np.zeros(n), np.zeros(n), 0

    def direction(self, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return m_hat / (np.sqrt(v_hat) + self.eps)

    def restart(self) -> None:
        self.m = np.zeros_like(self.m)


class AdamW(Adam):
    """Adam with decoupled weight decay: the decay shrinks x directly, not through g."""

    def step(self, x: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        return x - lr * (self.direction(grad) + self.weight_decay * x)


RULES: dict[str, type[UpdateRule]] = {
    "gd": GradientDescent, "momentum": Momentum, "nesterov": Nesterov, "adagrad": Adagrad,
    "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
}


def minibatches(n_rows: int, batch_size: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of successive minibatches, reshuffled each epoch by a seeded generator."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n_rows)
        for start in range(0, n_rows, batch_size):
            yield order[start:start + batch_size]


def run_first_order(objective, x0: np.ndarray, options: Options, monitor: Monitor) -> OptimizeResult:
    """Minimize with the update rule ``options.name``; see the module docstring for stopping."""
    loop = _Loop(objective, x0, options, monitor)
    return loop.run()


class _Loop:
    """The shared first-order loop: safeguarded steps, convergence tests, the result."""

    def __init__(self, objective, x0: np.ndarray, options: Options, monitor: Monitor):
        self.objective, self.options, self.monitor = objective, options, monitor
        self.rule = RULES[options.name](x0.size, options)
        self.schedule = make_schedule(options.schedule, options.get("lr"), max(options.max_steps, 1))
        self.batches = _batches(objective, options)
        self.x = x0.copy()
        self.lr_factor = 1.0  # halved for good each time a step had to be retried

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return self.objective.value_and_grad(x, next(self.batches) if self.batches else None)

    def run(self) -> OptimizeResult:
        x, options = self.x, self.options
        loss, grad = self.evaluate(x)
        if not all_finite(loss, grad):
            return self.finish(x, loss, DIVERGED, diverged_message(0), 0, diverged_at=0)
        self.loss0 = loss
        # Steps are taken on the loss relative to its starting value: with parameters already
        # scaled to O(1) by ``transform``, a default learning rate then means the same whatever
        # the data's units (a loss of 1e6 in spreadsheet units no longer makes a 1e6-long step).
        self.unit = abs(loss) if loss != 0.0 else 1.0
        self.monitor.record(0, x, loss, safe_norm(grad), None)
        for step in range(1, options.max_steps + 1):
            trial = self.safeguarded_step(step, x, loss, grad)
            if isinstance(trial, OptimizeResult):
                return trial
            x_new, loss_new, grad_new, lr = trial
            converged = None if self.batches else _converged(options, loss, loss_new, grad_new, x, x_new,
                                                             step, self.loss0)
            x, loss, grad = x_new, loss_new, grad_new
            stop = self.monitor.record(step, x, loss, safe_norm(grad), lr)
            if converged:
                return self.finish(x, loss, CONVERGED, converged, step)
            if stop:
                return self.finish(x, loss, self.monitor.stop_status, self.monitor.stop_message, step)
        return self.finish(x, loss, MAX_STEPS, max_steps_message(options.max_steps), options.max_steps)

    def safeguarded_step(self, step: int, x: np.ndarray, loss: float, grad: np.ndarray):
        """(x, loss, grad, lr) of an acceptable step, or the final result when there is none.

        A trial is acceptable when its loss and gradient are finite and, with all rows, when
        the loss does not rise (beyond rounding); with minibatches when the batch loss stays
        below ``FAR_ABOVE`` times the starting loss. Otherwise the rule's state is restored,
        its momentum dropped (an adaptive restart) and the learning rate halved, for this step
        and every later one, at most ``MAX_HALVINGS`` times per step.
        """
        direction_grad = grad / self.unit
        for _ in range(MAX_HALVINGS + 1):
            lr = self.schedule(step - 1) * self.lr_factor
            saved = self.rule.save()
            x_new = self.rule.step(x, direction_grad, lr)
            loss_new, grad_new = self.evaluate(x_new)
            if all_finite(loss_new, grad_new) and self._acceptable(loss, loss_new):
                if safe_norm(x_new) > EXPLODED:  # a lower loss ever further out: a runaway
                    message = exploded_message(step, x_new, EXPLODED, self.monitor.names)
                    return self.finish(x, loss, DIVERGED, message, step - 1, diverged_at=step)
                return x_new, loss_new, grad_new, lr
            finite = math.isfinite(loss_new)
            self.rule.restore(saved)
            self.rule.restart()
            self.lr_factor *= 0.5
        if not finite:
            return self.finish(x, loss, DIVERGED, no_finite_step_message(step, MAX_HALVINGS),
                               step - 1, diverged_at=step)
        message = (f"no step lowered the loss at step {step}, even with the learning rate halved "
                   f"{MAX_HALVINGS} times: the loss {loss:.6g} may be at its minimum to rounding "
                   f"precision (largest gradient {float(np.max(np.abs(grad))):.3g})")
        return self.finish(x, loss, STALLED, message, step - 1)

    def _acceptable(self, loss: float, loss_new: float) -> bool:
        if self.batches:
            return loss_new <= FAR_ABOVE * abs(self.loss0) or loss_new <= loss
        return loss_new <= loss + ROUNDING_SLACK * abs(loss)

    def finish(self, x: np.ndarray, loss: float, status: str, message: str, nit: int,
               diverged_at: int | None = None) -> OptimizeResult:
        return _finish(self.objective, self.batches, self.monitor, x, loss, status, message, nit, diverged_at)


def _batches(objective, options: Options) -> Iterator[np.ndarray] | None:
    size, rows = options.batch_size, getattr(objective, "n_rows", None)
    if size is None or rows is None or size >= rows:
        return None
    return minibatches(rows, size, options.seed)


def _converged(options: Options, loss: float, loss_new: float, grad: np.ndarray,
               x: np.ndarray, x_new: np.ndarray, step: int, loss0: float) -> str | None:
    """The sentence saying which tolerance was met, or None."""
    gtol, ftol, xtol = options.get("gtol"), options.get("ftol"), options.get("xtol")
    gmax = float(np.max(np.abs(grad)))
    if gmax <= gtol * loss_scale(loss_new, loss0):
        return f"largest gradient {gmax:.3g} at or below gtol {gtol:g} relative to the loss after {steps(step)}"
    change = abs(loss - loss_new) / max(abs(loss), abs(loss_new), 1e-300)
    if ftol and change <= ftol:
        return f"relative loss change {change:.3g} at or below ftol {ftol:g} after {steps(step)}"
    move = float(np.max(np.abs(x_new - x)))
    if xtol and move <= xtol * max(1.0, float(np.max(np.abs(x_new)))):
        return f"largest step {move:.3g} at or below xtol {xtol:g} (relative) after {steps(step)}"
    return None


def _finish(objective, batches, monitor: Monitor, x: np.ndarray, loss: float, status: str,
            message: str, nit: int, diverged_at: int | None = None) -> OptimizeResult:
    result = monitor.result(x, loss, status, message, nit, 0, 0, diverged_at=diverged_at)
    if batches is not None and status != DIVERGED:  # report the full-data loss, not a batch's
        full_loss, _ = objective.value_and_grad(result.x)
        result.fun = full_loss if math.isfinite(full_loss) else result.fun
    result.nfev = getattr(objective, "nfev", 0)
    result.njev = getattr(objective, "njev", result.nfev)
    return result
