"""Which rows and parameters a gradient check looks at: evenly spaced, the same every run.

The derivative rules checked are the same at any number of rows; the cost is not. A fit's own
check therefore evaluates the loss on a fixed sample of rows (``on_row_sample``) and, for a model
with many values per row, on fewer still (``on_fewer_rows``).
"""

from __future__ import annotations

import dataclasses

import numpy as np


def evenly_spaced(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices of range(n), first and last included, deterministic."""
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=int)
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))



def on_row_sample(prepared, most: int):
    """``prepared`` with its objective on at most ``most`` evenly spaced fitted rows (the same
    rows every run), and the number of rows it had when that is fewer; else ``prepared`` and None.
    The derivative rules checked are the same at any number of rows; the cost is not."""
    from workbench.pipeline.objective import FitObjective

    objective = prepared.objective
    if objective.n_rows <= most:
        return prepared, None
    rows = evenly_spaced(objective.n_rows, most)
    weights = None if objective.weights is None else objective.weights[rows]
    sample = FitObjective(objective.model, objective.loss, {k: v[rows] for k, v in objective.columns.items()},
                          objective.target[rows], weights, objective.free, objective.fixed)
    return dataclasses.replace(prepared, objective=sample, train_rows=prepared.train_rows[rows],
                               optimizer_view=None), objective.n_rows


def on_fewer_rows(prepared, budget: int, least: int):
    """``prepared`` with its loss on evenly spaced rows when all of them would cost more than
    ``budget`` numbers per evaluation: derivatives are the same functions of any rows, and a
    network over thousands of rows would otherwise spend minutes on numeric differences."""
    from workbench.pipeline.objective import FitObjective

    obj = prepared.objective
    per_row = max(prepared.model.values_per_row, 1)
    if obj.n_rows * per_row <= budget:
        return prepared
    keep = evenly_spaced(obj.n_rows, max(budget // per_row, least))
    weights = None if obj.weights is None else obj.weights[keep]
    fewer = FitObjective(obj.model, obj.loss, {k: v[keep] for k, v in obj.columns.items()}, obj.target[keep],
                         weights, obj.free, obj.fixed)
    return dataclasses.replace(prepared, objective=fewer, train_rows=prepared.train_rows[keep],
                               weights=weights)
