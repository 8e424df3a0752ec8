"""The computational graph of a fit, for pictures and for learners.

``loss_graph(prepared, x)`` records the fit's loss at the parameter vector ``x`` with every free
parameter as a named leaf (``a``, ``b``, ``W1``), so the engine's DOT export labels them by name;
``graph_dot`` turns it into DOT text (values, and adjoints from a backward pass, on every node).
``row_trace`` records the model alone at one data row, where every value is a single number, and
returns the engine's step-by-step chain-rule trace of it: the view a learner can follow by hand.
"""

from __future__ import annotations

import numpy as np

from workbench import engine as ad


def _named_leaves(prepared, x: np.ndarray) -> dict[str, ad.Tensor]:
    values = prepared.objective.unpack(np.asarray(x, dtype=float))
    return {p.name: ad.Tensor(values[p.name], requires_grad=True, name=p.name) for p in prepared.free}


def _record_loss(prepared, leaves: dict, named_data: bool):
    objective = prepared.objective
    columns, target = objective.columns, objective.target
    if named_data:   # data as named constants, so the picture says "price" rather than "array(37,)"
        columns = {name: ad.Tensor(values, name=name) for name, values in columns.items()}
        target = ad.Tensor(target, name=prepared.model.target)
    params = dict(objective.fixed)
    params.update(leaves)
    with ad.enable_grad():
        prediction = objective.predict(params, columns)
        return objective.loss(prediction, target, objective.weights, list(leaves.values()))


def loss_graph(prepared, x: np.ndarray) -> ad.Tensor:
    """The fit's loss at ``x`` on the training rows, recorded, with named parameter leaves."""
    leaves = _named_leaves(prepared, x)
    try:
        loss = _record_loss(prepared, leaves, named_data=True)
    except Exception:  # noqa: BLE001 - a model that needs plain arrays (an MLP stacks its columns)
        loss = _record_loss(prepared, leaves, named_data=False)
    if not isinstance(loss, ad.Tensor) or not loss.requires_grad:
        raise ValueError("the loss does not depend on any free parameter: there is no graph to draw")
    return loss


def graph_dot(prepared, x: np.ndarray) -> str:
    """DOT text of the loss's graph at ``x``: op, value summary and adjoint on every node."""
    from workbench.report.graph import with_rankdir

    return with_rankdir(ad.to_dot(loss_graph(prepared, x), values=True, grads=True), "TB")


def _row_columns(prepared, row: int, scalar: bool) -> dict:
    columns = prepared.objective.columns
    if scalar:   # named constants, so the trace reads "mul(b, x)" with x's value beside it
        return {name: ad.Tensor(values[row], name=name) for name, values in columns.items()}
    return {name: values[row:row + 1] for name, values in columns.items()}


def row_output(prepared, x: np.ndarray, row: int) -> ad.Tensor:
    """The model's output at training row ``row`` (0-based) as a recorded scalar tensor."""
    n = prepared.objective.n_rows
    if not 0 <= row < n:
        raise IndexError(f"row {row + 1} is outside the {n} rows the fit uses")
    leaves = _named_leaves(prepared, x)
    params = dict(prepared.objective.fixed)
    params.update(leaves)
    with ad.enable_grad():
        try:    # one number per column: every node of the trace is then a single value
            out = prepared.model.forward(params, _row_columns(prepared, row, scalar=True))
        except Exception:  # noqa: BLE001 - models that need 2-D input (an MLP) take a 1-row table
            out = prepared.model.forward(params, _row_columns(prepared, row, scalar=False))
        if not isinstance(out, ad.Tensor):
            raise ValueError("the model's output does not depend on any free parameter")
        if out.shape != ():
            out = ad.reshape(out, ())
    return out


def row_trace(prepared, x: np.ndarray, row: int):
    """The engine's forward and backward chain-rule trace of the model at one data row."""
    return ad.trace(row_output(prepared, x, row))
