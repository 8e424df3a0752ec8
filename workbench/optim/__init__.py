"""Optimizers on flat float64 vectors: ``minimize(objective, x0, options) -> OptimizeResult``.

``options.name`` picks one of gd, momentum, nesterov, adagrad, rmsprop, adam, adamw
(``first_order``), lbfgs (``lbfgs``) or lm (``lm``, least squares only). Bounds and
parameter scaling are applied here once, through ``transform``, so each optimizer works
on unbounded O(1) variables; the result, the history and the callback speak in the
user's parameters.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workbench.errors import InputError
from workbench.optim.base import Callback, Monitor, Objective, OptimizeResult
from workbench.optim.options import FIRST_ORDER, OPTIMIZER_NAMES, Options
from workbench.optim.transform import ParameterTransform

__all__ = ["minimize", "Options", "OptimizeResult", "Objective", "OPTIMIZER_NAMES"]


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
    monitor = Monitor(options, callback, transform.to_external)
    result = _runner(options.name)(inner, transform.to_internal(x0), options, monitor)
    result.x = transform.to_external(result.x)
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
