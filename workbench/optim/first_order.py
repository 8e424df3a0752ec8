"""First-order optimizers: gd, momentum, nesterov, adagrad, rmsprop, adam, adamw.

Each is a small ``UpdateRule`` that only knows how to turn a gradient into a step;
``run_first_order`` is the one loop they share (minibatches, schedule, stopping,
divergence). Weight decay is L2 (added to the gradient) except for adamw, where it is
decoupled (x <- x - lr * weight_decay * x, Loshchilov & Hutter).

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

from workbench.optim.base import (CONVERGED, DIVERGED, MAX_STEPS, all_finite, diverged_message,
                                 loss_scale, max_steps_message, Monitor, OptimizeResult, safe_norm,
                                 steps)
from workbench.optim.options import Options
from workbench.optim.schedules import make_schedule


class UpdateRule:
    """Turns (x, gradient, learning rate) into the next x; keeps its own state."""

    def __init__(self, n: int, options: Options):
        self.weight_decay = options.get("weight_decay")

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
    rule = RULES[options.name](x0.size, options)
    schedule = make_schedule(options.schedule, options.get("lr"), max(options.max_steps, 1))
    batches = _batches(objective, options)
    x = x0.copy()
    loss, grad = objective.value_and_grad(x, next(batches) if batches else None)
    if not all_finite(loss, grad):
        return _finish(objective, None, monitor, x, loss, DIVERGED, diverged_message(0), 0, diverged_at=0)
    loss0 = loss
    monitor.record(0, x, loss, safe_norm(grad), None)
    for step in range(1, options.max_steps + 1):
        lr = schedule(step - 1)
        x_new = rule.step(x, grad, lr)
        loss_new, grad_new = objective.value_and_grad(x_new, next(batches) if batches else None)
        if not all_finite(loss_new, grad_new):
            return _finish(objective, batches, monitor, x, loss, DIVERGED, diverged_message(step),
                           step - 1, diverged_at=step)
        converged = None if batches else _converged(options, loss, loss_new, grad_new, x, x_new,
                                                    step, loss0)
        x, loss, grad = x_new, loss_new, grad_new
        stop = monitor.record(step, x, loss, safe_norm(grad), lr)
        if converged:
            return _finish(objective, batches, monitor, x, loss, CONVERGED, converged, step)
        if stop:
            return _finish(objective, batches, monitor, x, loss, monitor.stop_status,
                           monitor.stop_message, step)
    return _finish(objective, batches, monitor, x, loss, MAX_STEPS,
                   max_steps_message(options.max_steps), options.max_steps)


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
