"""``minimize``: one entry point for every optimizer, and ``honest``, the last word on each run.

Bounds and parameter scaling are applied here once, through ``transform``, so each optimizer
works on unbounded O(1) variables; the result, the history and the callback speak in the
user's parameters.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from workbench.errors import InputError
from workbench.optim.base import (ADVICE, CONVERGED, DIVERGED, FAR_ABOVE, ROUNDING_SLACK, STALLED, Callback,
                                  Monitor, Objective, OptimizeResult)
from workbench.optim.options import FIRST_ORDER, Options
from workbench.optim.transform import ParameterTransform


def minimize(objective: Objective, x0: Sequence[float], options: Options | None = None, *,
             lower: Sequence[float] | None = None, upper: Sequence[float] | None = None,
             callback: Callback | None = None, names: Sequence[str] | None = None) -> OptimizeResult:
    """Minimize ``objective`` from ``x0`` with ``options.name``, keeping x within [lower, upper].

    ``callback(step, x, loss)`` runs after each accepted step; it may return a validation
    loss (recorded, and used by ``options.patience``) or True to stop. ``names`` (the
    parameters' names) only make error messages point at the right config entry.
    """
    options = options or Options()
    options.validate()
    x0 = np.array(x0, dtype=float).reshape(-1)
    n_params = getattr(objective, "n_params", x0.size)
    if x0.size == 0:
        raise InputError("there are no parameters to fit", where="parameters")
    if x0.size != n_params:
        raise InputError(f"{x0.size} start values for {n_params} parameters", where="parameters")
    if options.name == "lm" and not hasattr(objective, "residuals_and_jacobian"):
        raise InputError("'lm' fits least-squares losses only; choose lbfgs or a first-order "
                         "optimizer for this loss", where="optimizer.name")
    # lm scales Jacobian columns itself, so scaling x as well would change nothing but cost.
    transform = ParameterTransform(x0, lower, upper, names, scale=options.name != "lm")
    inner = transform.wrap(objective)
    monitor = Monitor(options, callback, transform.to_external, names)
    result = _runner(options.name)(inner, transform.to_internal(x0), options, monitor)
    result.x = transform.to_external(result.x)
    return honest(result, x0)


def honest(result: OptimizeResult, x0: np.ndarray) -> OptimizeResult:
    """The last word on every run, whichever optimizer made it.

    "Converged" stands only at a finite point whose loss is no worse than the start's; a run
    that ends far above the starting loss (``FAR_ABOVE`` times it) diverged, and then the
    starting parameters, the best point known, are returned.
    """
    if result.status == DIVERGED or not result.history:
        return result
    loss0 = result.history[0]["loss"]
    finite = math.isfinite(result.fun) and bool(np.isfinite(result.x).all())
    if not finite or result.fun > FAR_ABOVE * abs(loss0) + np.finfo(float).tiny:
        what = (f"is not finite (the starting loss was {loss0:.6g})" if not finite else
                f"is {result.fun:.6g}, {result.fun / loss0:.3g} times the starting loss {loss0:.6g}")
        result.message = f"the loss at the end {what}; returning the starting parameters. {ADVICE}"
        result.x, result.fun, result.status, result.success = x0.copy(), loss0, DIVERGED, False
        result.diverged_at = result.nit
    elif result.status == CONVERGED and result.fun > loss0 + ROUNDING_SLACK * abs(loss0):
        result.status, result.success = STALLED, False
        result.message = (f"stopped at a loss of {result.fun:.6g}, above the starting loss {loss0:.6g}, so this "
                          f"is not a converged fit (the tolerance met: {result.message})")
    return result


def _runner(name: str):
    if name in FIRST_ORDER:
        from workbench.optim.first_order import run_first_order

        return run_first_order
    if name == "lbfgs":
        from workbench.optim.lbfgs import run_lbfgs

        return run_lbfgs
    from workbench.optim.lm import run_lm

    return run_lm
