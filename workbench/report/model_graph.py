"""The computational graph of a fit, for pictures and for learners.

``row_output(prepared, x, row)`` records the model alone at one data row, where every value is a
single number, with every free parameter a named leaf (``a``, ``b``, ``W1``), every fixed one a
named constant (``c (fixed)``) and every data column a named constant (``x``). ``model_dot``
draws it (each node's value and ∂prediction/∂node), ``row_trace`` gives the engine's step-by-step
chain rule of it: what a learner can follow by hand, and what a user's own formula means (the
5.5 of ∂f/∂x1, not a loss's adjoint). ``loss_graph``/``graph_dot`` draw the whole loss instead (the reports use it).
``default_row`` picks a row worth looking at: the first whose inputs are all non-zero, since at
x = 0 half of a formula's partial derivatives vanish.
"""

from __future__ import annotations

import numpy as np

from workbench import engine as ad


def _named_params(prepared, x: np.ndarray) -> dict[str, ad.Tensor]:
    """Free parameters as named leaves; fixed ones as named constants, labelled as fixed."""
    values = prepared.objective.unpack(np.asarray(x, dtype=float))
    free = {p.name for p in prepared.free}
    return {name: ad.Tensor(value, requires_grad=name in free, name=name if name in free else f"{name} (fixed)")
            for name, value in values.items()}


def _record_loss(prepared, params: dict, named_data: bool):
    objective = prepared.objective
    columns, target = objective.columns, objective.target
    if named_data:   # data as named constants, so the picture says "price" rather than "array(37,)"
        columns = {name: ad.Tensor(values, name=name) for name, values in columns.items()}
        target = ad.Tensor(target, name=prepared.model.target)
    with ad.enable_grad():
        prediction = objective.predict(params, columns)
        return objective.loss(prediction, target, objective.weights, [params[p.name] for p in prepared.free])


def loss_graph(prepared, x: np.ndarray) -> ad.Tensor:
    """The fit's loss at ``x`` on the training rows, recorded, with named parameter leaves."""
    params = _named_params(prepared, x)
    try:
        loss = _record_loss(prepared, params, named_data=True)
    except Exception:  # noqa: BLE001 - a model that needs plain arrays (an MLP stacks its columns)
        loss = _record_loss(prepared, params, named_data=False)
    if not isinstance(loss, ad.Tensor) or not loss.requires_grad:
        raise ValueError("the loss does not depend on any free parameter: there is no graph to draw")
    return loss


def graph_dot(prepared, x: np.ndarray) -> str:
    """DOT text of the loss's graph at ``x``: op, value summary and ∂loss/∂node on every node."""
    from workbench.report.graph import with_rankdir

    return with_rankdir(ad.to_dot(loss_graph(prepared, x), values=True, grads=True), "TB")


def _row_columns(prepared, row: int, scalar: bool) -> dict:
    columns = prepared.objective.columns
    if scalar:   # named constants, so the trace reads "mul(b, x)" with x's value beside it
        return {name: ad.Tensor(values[row], name=name) for name, values in columns.items()}
    return {name: values[row:row + 1] for name, values in columns.items()}


def default_row(prepared) -> int:
    """0-based index of the first training row whose data values are all non-zero (else 0)."""
    columns = list(prepared.objective.columns.values())
    if not columns:
        return 0
    table = np.column_stack([np.asarray(c, dtype=float).reshape(len(c), -1) for c in columns])
    usable = np.nonzero(np.all((table != 0) & np.isfinite(table), axis=1))[0]
    return int(usable[0]) if usable.size else 0


def row_output(prepared, x: np.ndarray, row: int) -> ad.Tensor:
    """The model's output at training row ``row`` (0-based) as a recorded scalar tensor."""
    n = prepared.objective.n_rows
    if not 0 <= row < n:
        raise IndexError(f"row {row + 1} is outside the {n} rows the fit uses")
    params = _named_params(prepared, x)
    with ad.enable_grad():
        try:    # one number per column: every node of the trace is then a single value
            out = prepared.model.forward(params, _row_columns(prepared, row, scalar=True))
        except Exception:  # noqa: BLE001 - models that need 2-D input (an MLP) take a 1-row table
            out = prepared.model.forward(params, _row_columns(prepared, row, scalar=False))
        if not isinstance(out, ad.Tensor) or not out.requires_grad:
            raise ValueError("the model's output does not depend on any free parameter")
        if out.shape != ():
            out = ad.reshape(out, ())
    return out


def model_dot(prepared, x: np.ndarray, row: int) -> str:
    """DOT text of the model at one row: each node's value and ∂prediction/∂node."""
    from workbench.report.graph import with_rankdir

    return with_rankdir(ad.to_dot(row_output(prepared, x, row), values=True, grads=True), "TB")


def row_trace(prepared, x: np.ndarray, row: int):
    """The engine's forward and backward chain-rule trace of the model at one data row."""
    return ad.trace(row_output(prepared, x, row))
