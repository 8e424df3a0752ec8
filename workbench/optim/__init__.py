"""Optimizers on flat float64 vectors: ``minimize(objective, x0, options) -> OptimizeResult``.

``options.name`` picks one of gd, momentum, nesterov, adagrad, rmsprop, adam, adamw
(``first_order``), lbfgs (``lbfgs``) or lm (``lm``, least squares only). Bounds and
parameter scaling are applied here once, through ``transform``, so each optimizer works
on unbounded O(1) variables; the result, the history and the callback speak in the
user's parameters.

Importing the package costs nothing: ``minimize`` and the result types (which need numpy) are
loaded on first use, because the config reads the option tables (``optim.options``,
``optim.schedules``) on every start of the CLI.
"""

from __future__ import annotations

from workbench.optim.options import OPTIMIZER_NAMES, Options

__all__ = ["minimize", "honest", "Options", "OptimizeResult", "Objective", "OPTIMIZER_NAMES"]

_LAZY = {"minimize": "workbench.optim.driver", "honest": "workbench.optim.driver",
         "OptimizeResult": "workbench.optim.base", "Objective": "workbench.optim.base"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench.optim' has no attribute {name!r}")
