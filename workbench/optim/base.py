"""What every optimizer shares: the ``Objective`` protocol, ``OptimizeResult`` and ``Monitor``.

The monitor owns the parts of the loop that do not depend on the update rule: the
per-step history, the callback and its validation loss, patience (early stopping), the
time limit and the wording of the result. Optimizers call ``monitor.record`` after each
accepted step and ``monitor.result`` once at the end.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from workbench.optim.history import HISTORY_LIMIT, ThinnedLog
from workbench.optim.options import Options

Callback = Callable[[int, np.ndarray, float], Any]

CONVERGED = "converged"
MAX_STEPS = "max_steps"
TIME_LIMIT = "time_limit"
DIVERGED = "diverged"
EARLY_STOPPED = "early_stopped"
STALLED = "stalled"

# Optimizer variables are the parameters divided by their starting size (``transform``); a
# vector of them this long means a parameter ran away to infinity.
EXPLODED = 1e10
# A rise of the loss this small (relative) is rounding, not a worse point.
ROUNDING_SLACK = 1e-12
# A loss above this many starting losses has run away (the end of a run; with minibatches, a step).
FAR_ABOVE = 2.0
# What to try after a divergence, ending every divergence message.
ADVICE = ("Try a smaller optimizer.lr, the lm optimizer (least squares) or lbfgs, better starting "
          "values under params, or inputs on a common scale (standardize: true for built-in models)")


class Objective(Protocol):
    """What an optimizer needs from the problem; least-squares methods also use the last two."""

    n_params: int
    n_rows: int | None

    def value_and_grad(self, x: np.ndarray, batch: np.ndarray | None = None) -> tuple[float, np.ndarray]: ...

    def residuals(self, x: np.ndarray) -> np.ndarray: ...

    def residuals_and_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class OptimizeResult:
    """The same shape of result for every optimizer (like scipy's).

    ``success`` means converged. ``status`` is one of converged, max_steps, time_limit,
    diverged, early_stopped, stalled; ``message`` says in words why the run stopped.
    ``history`` has one entry per accepted step (step 0 is the start) with the keys
    step, loss, grad_norm, lr, val_loss, elapsed_s; past ``history.HISTORY_LIMIT`` steps it is
    thinned evenly (the first and the last step are always kept), so memory stays bounded. For ``lm`` the loss is 0.5 * sum(r**2).
    """

    x: np.ndarray
    fun: float
    success: bool
    status: str
    message: str
    nit: int
    nfev: int
    njev: int
    history: list[dict] = field(default_factory=list)
    diverged_at: int | None = None


class Monitor:
    """Records history, runs the callback, and decides stops that any optimizer shares."""

    def __init__(self, options: Options, callback: Callback | None = None,
                 to_external: Callable[[np.ndarray], np.ndarray] | None = None,
                 names: Sequence[str] | None = None, history_limit: int = HISTORY_LIMIT):
        self.names = list(names) if names is not None else None  # one per entry of x, for messages
        self._log: ThinnedLog[dict] = ThinnedLog(history_limit)
        self.stop_status: str | None = None
        self.stop_message = ""
        self._callback = callback
        self._to_external = to_external or (lambda x: x)
        self._time_limit = options.time_limit
        self._patience = options.patience
        self._start = time.perf_counter()
        self._best_val = math.inf
        self._best: tuple[int, np.ndarray, float] | None = None
        self._since_best = 0
        self._out_of_patience = False

    def record(self, step: int, x: np.ndarray, loss: float, grad_norm: float | None,
               lr: float | None = None) -> bool:
        """Log one accepted step (step 0 = the start); True when the run must stop now."""
        elapsed = time.perf_counter() - self._start
        entry = {"step": step, "loss": float(loss), "grad_norm": grad_norm, "lr": lr,
                 "val_loss": None, "elapsed_s": elapsed}
        self._log.append(step, entry)
        if step > 0 and self._callback is not None:
            self._call_back(step, x, loss, entry)
        if self.stop_status is None and self._time_limit is not None and elapsed >= self._time_limit:
            self.stop_status = TIME_LIMIT
            self.stop_message = f"time limit of {self._time_limit:g} s reached after {steps(step)}"
        return self.stop_status is not None

    @property
    def history(self) -> list[dict]:
        """The recorded steps, thinned to a bounded number (see ``history.ThinnedLog``)."""
        return self._log.items()

    def _call_back(self, step: int, x: np.ndarray, loss: float, entry: dict) -> None:
        reply = self._callback(step, self._to_external(x), float(loss))
        if isinstance(reply, (bool, np.bool_)):
            if reply:
                self.stop_status = EARLY_STOPPED
                self.stop_message = f"the callback asked to stop at step {step}"
            return
        if reply is None:
            return
        val = float(reply)
        entry["val_loss"] = val
        if val < self._best_val:
            self._best_val, self._best, self._since_best = val, (step, x.copy(), float(loss)), 0
            return
        self._since_best += 1
        if self._patience is not None and self._since_best >= self._patience:
            best_step = self._best[0] if self._best else 0
            self.stop_status, self._out_of_patience = EARLY_STOPPED, True
            self.stop_message = (f"validation loss did not improve for {steps(self._patience)}; "
                                 f"best {self._best_val:.6g} at step {best_step}")

    def result(self, x: np.ndarray, fun: float, status: str, message: str, nit: int,
               nfev: int, njev: int, diverged_at: int | None = None) -> OptimizeResult:
        """The final result; an early stop by patience returns the best-validation point."""
        if status == EARLY_STOPPED and self._out_of_patience and self._best is not None:
            _, x, fun = self._best
        return OptimizeResult(x=x, fun=float(fun), success=status == CONVERGED, status=status,
                              message=message, nit=nit, nfev=nfev, njev=njev,
                              history=self.history, diverged_at=diverged_at)

    def stopped_result(self, x: np.ndarray, fun: float, nit: int, nfev: int, njev: int) -> OptimizeResult:
        """The result for a stop the monitor decided (time limit, callback, patience)."""
        return self.result(x, fun, self.stop_status or STALLED, self.stop_message, nit, nfev, njev)


def steps(n: int) -> str:
    """'1 step', '2 steps': for messages."""
    return f"{n} step" if n == 1 else f"{n} steps"


def diverged_message(step: int, what: str = "loss or its gradient") -> str:
    """The sentence for a non-finite loss (or gradient, or Jacobian: ``what``) at ``step``."""
    if step == 0:
        return f"the {what} is not finite at the starting point; check the starting values under params"
    return (f"the {what} became non-finite at step {step}; returning the parameters of step {step - 1}. "
            f"{ADVICE}")


def no_finite_step_message(step: int, halvings: int) -> str:
    return (f"every trial step at step {step} gave a non-finite loss, even with the learning rate halved "
            f"{halvings} times; returning the parameters of step {step - 1}. {ADVICE}")


def exploded_message(step: int, x: np.ndarray, limit: float, names: Sequence[str] | None = None) -> str:
    """The sentence for optimizer variables ``x`` that grew past ``limit`` (naming the largest)."""
    with np.errstate(invalid="ignore"):
        largest = int(np.argmax(np.where(np.isfinite(x), np.abs(x), np.inf)))
    name = repr(names[largest]) if names is not None and largest < len(names) else str(largest + 1)
    return (f"parameter {name} ran away at step {step} (more than {limit:.0e} times its starting "
            f"size): the loss keeps falling as it grows, so there may be no finite best fit; returning "
            f"the parameters of step {step - 1}. Check the model. {ADVICE}")


def max_steps_message(max_steps: int) -> str:
    return f"reached max_steps = {max_steps} without meeting the tolerances"


def loss_scale(loss: float, loss0: float) -> float:
    """The loss magnitude a gradient tolerance is relative to.

    The current loss, but never more than the starting loss (a growing loss must not make
    a large gradient look small) and never less than 1e-6 of it (so that problems whose
    minimum is 0 can converge too).
    """
    return max(min(abs(loss), abs(loss0)), 1e-6 * abs(loss0))


def safe_norm(v: np.ndarray) -> float:
    """The 2-norm without overflow warnings (steps and gradients can be huge); inf if not finite."""
    largest = float(np.abs(v).max()) if v.size else 0.0
    if largest < 1e150:
        return math.sqrt(float(v @ v))
    if not math.isfinite(largest):
        return math.inf
    scaled = v / largest
    return largest * math.sqrt(float(scaled @ scaled))


def all_finite(value: float, grad: np.ndarray | None = None) -> bool:
    """True when the loss (and gradient, if given) has no NaN or infinity."""
    if not math.isfinite(value):
        return False
    return grad is None or bool(np.isfinite(grad).all())
