"""L-BFGS with a strong-Wolfe line search (Nocedal & Wright, Algorithms 7.4/7.5 and 3.5/3.6).

The inverse Hessian is approximated from the last ``history_size`` step/gradient-change
pairs (two-loop recursion, initial scaling s'y / y'y). Every accepted step satisfies the
strong Wolfe conditions, which keeps s'y > 0 and the approximation positive definite.
When the line search fails, the memory is cleared and the search is retried along the
steepest descent direction (at most ``restarts`` times); if that fails too, the run has
stalled, unless the gradient is too small to lower the loss past its rounding error
(``_below_rounding``): then it is at a minimum to rounding precision. A search that failed
because every trial was within rounding of the loss (``flat``, see ``linesearch``) at such a
point ends the run at once, without the restart.

Converged when, after a step, max|g| <= gtol * |f| (``base.loss_scale``, as in first_order),
or the relative decrease (f_prev - f) / max(|f_prev|, |f|) <= ftol, or the largest step
<= xtol * max(1, max|x|). Variables are the scaled ones from ``transform``; a step taking
them past ``base.EXPLODED`` times their starting size is a runaway (divergence). The history's
``lr`` is the accepted step length along the search direction.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from workbench.optim.base import (CONVERGED, DIVERGED, EXPLODED, MAX_STEPS, STALLED, all_finite,
                                 diverged_message, exploded_message, loss_scale, max_steps_message, Monitor, OptimizeResult, safe_norm,
                                 steps)
from workbench.optim.linesearch import strong_wolfe
from workbench.optim.options import Options

Pair = tuple[np.ndarray, np.ndarray, float]  # (s, y, 1 / s'y)


def two_loop_direction(grad: np.ndarray, pairs: deque[Pair]) -> np.ndarray:
    """-H grad for the L-BFGS inverse-Hessian approximation H built from ``pairs``."""
    if not pairs:
        return -grad
    q = grad.copy()
    coefficients = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        coefficients.append(a)
    s, y, _ = pairs[-1]
    r = q * (float(s @ y) / float(y @ y))
    for (s, y, rho), a in zip(pairs, reversed(coefficients)):
        r += s * (a - rho * float(y @ r))
    return -r


def run_lbfgs(objective, x0: np.ndarray, options: Options, monitor: Monitor) -> OptimizeResult:
    """Minimize ``objective.value_and_grad`` from ``x0``; see the module docstring."""
    pairs: deque[Pair] = deque(maxlen=options.get("history_size"))
    resets_left = options.get("restarts")
    x = x0.copy()
    f, g = objective.value_and_grad(x)
    counts = lambda: (getattr(objective, "nfev", 0), getattr(objective, "njev", 0))  # noqa: E731
    if not all_finite(f, g):
        return monitor.result(x, f, DIVERGED, diverged_message(0), 0, *counts(), diverged_at=0)
    loss0 = f
    monitor.record(0, x, f, safe_norm(g))
    step = 0
    while step < options.max_steps:
        direction = two_loop_direction(g, pairs)
        slope = float(g @ direction)
        if not slope < 0:
            pairs.clear()
            direction, slope = -g, -float(g @ g)
        alpha0 = 1.0 if pairs else min(1.0, 1.0 / max(float(np.max(np.abs(g))), 1e-300))
        search = strong_wolfe(_line(objective, x, direction), f, slope, alpha0)
        if not search.success:
            gmax = float(np.max(np.abs(g)))
            # A search that saw only rounding, where the gradient cannot make the loss move
            # either, has its answer: a restart along the gradient would see only rounding too.
            rounding_bound = search.flat and _below_rounding(gmax, x, f)
            if pairs and resets_left > 0 and not rounding_bound:
                resets_left -= 1
                pairs.clear()
                continue
            if _below_rounding(gmax, x, f):
                message = (f"at a minimum to rounding precision after {steps(step)}: the largest gradient "
                           f"{gmax:.3g} cannot lower the loss {f:.6g} by more than its rounding error")
                return monitor.result(x, f, CONVERGED, message, step, *counts())
            message = (f"the line search found no point meeting the Wolfe conditions along the "
                       f"steepest-descent direction after {steps(step)} (largest gradient "
                       f"{gmax:.3g}); the loss may be at its minimum to rounding precision")
            return monitor.result(x, f, STALLED, message, step, *counts())
        step += 1
        s = search.alpha * direction
        x_new, f_new, g_new = x + s, search.value, search.grad
        if not all_finite(f_new, g_new):
            return monitor.result(x, f, DIVERGED, diverged_message(step), step - 1, *counts(),
                                  diverged_at=step)
        if safe_norm(x_new) > EXPLODED:  # a lower loss ever further out: a runaway
            return monitor.result(x, f, DIVERGED, exploded_message(step, x_new, EXPLODED, monitor.names),
                                  step - 1, *counts(), diverged_at=step)
        y = g_new - g
        sy = float(s @ y)
        if sy > 0:
            pairs.append((s, y, 1.0 / sy))
        converged = _converged(options, f, f_new, g_new, s, x_new, step, loss0)
        x, f, g = x_new, f_new, g_new
        stop = monitor.record(step, x, f, safe_norm(g), search.alpha)
        if converged:
            return monitor.result(x, f, CONVERGED, converged, step, *counts())
        if stop:
            return monitor.stopped_result(x, f, step, *counts())
    return monitor.result(x, f, MAX_STEPS, max_steps_message(options.max_steps), step, *counts())


def _line(objective, x: np.ndarray, direction: np.ndarray):
    def phi(alpha: float) -> tuple[float, np.ndarray, float]:
        value, grad = objective.value_and_grad(x + alpha * direction)
        with np.errstate(invalid="ignore", over="ignore"):
            return value, grad, float(grad @ direction)
    return phi


def _converged(options: Options, f: float, f_new: float, g: np.ndarray, s: np.ndarray,
               x: np.ndarray, step: int, loss0: float) -> str | None:
    """The sentence naming the tolerance that was met, or None."""
    gtol, ftol, xtol = options.get("gtol"), options.get("ftol"), options.get("xtol")
    gmax = float(np.max(np.abs(g)))
    if gmax <= gtol * loss_scale(f_new, loss0):
        return f"largest gradient {gmax:.3g} at or below gtol {gtol:g} relative to the loss after {steps(step)}"
    decrease = (f - f_new) / max(abs(f), abs(f_new), 1e-300)
    if decrease < 0:  # only an approximate-Wolfe step (linesearch) may rise, and only by rounding
        return (f"the loss changed by no more than its rounding error ({-decrease:.3g} relative) after "
                f"{steps(step)}: at a minimum to rounding precision")
    if decrease <= ftol:
        return f"relative loss decrease {decrease:.3g} at or below ftol {ftol:g} after {steps(step)}"
    move = float(np.max(np.abs(s)))
    if move <= xtol * max(1.0, float(np.max(np.abs(x)))):
        return f"largest step {move:.3g} at or below xtol {xtol:g} (relative) after {steps(step)}"
    return None


def _below_rounding(gmax: float, x: np.ndarray, f: float) -> bool:
    """True when no step along the gradient can lower f by more than f's own rounding error.

    The smallest step that changes x at all is about √ε·max(1, |x|); along it the loss can fall
    by about gmax times that, which is invisible when it is below a few ε·|f|.
    """
    eps = np.finfo(float).eps
    scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    return gmax * np.sqrt(eps) * scale <= 10.0 * eps * max(abs(f), np.finfo(float).tiny)
