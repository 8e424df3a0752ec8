"""The starting point must be finite: a loss that is NaN or infinite before the first step, or a
sub-expression that overflows there, is bad input (exit 2), told as the first sub-expression that
breaks, on which row and column. So is a derivative that is infinite where the value is finite
(``sqrt(x - b)`` with b equal to a data x): the optimizer could not take a single step from there.

``check_start_point(prepared)`` evaluates the loss and its gradient at the starting values. When
either is not finite and the model is a formula, it evaluates the formula's sub-expressions
(the IR of ``workbench.formula``) innermost first on the fitted rows, and names the first one
that is not finite while its parts are: "log of a negative value at row 7, column x (x = -3):
log(-x)"; or, for the gradient, the first sub-expression whose own derivative is infinite or
undefined there: "the derivative of sqrt is infinite at row 2 (x = 1), in sqrt(x - b)".
Divergence *during* the fit is a different matter (exit 3, ``workbench.pipeline.fit``).
"""

from __future__ import annotations

import numpy as np

from workbench.errors import InputError

WHY = {"log": "log of a negative value", "log10": "log10 of a negative value", "log1p": "log1p of a value below -1",
       "sqrt": "square root of a negative value", "exp": "exp overflows", "/": "division by zero",
       "**": "a power that overflows or is undefined", "tan": "tan at a pole"}


def _why(node, parts: list[np.ndarray], row: int) -> str:
    from workbench.formula.ir import Binary, Call

    key = node.func if isinstance(node, Call) else node.op if isinstance(node, Binary) else ""
    if key in ("log", "log10") and parts and _at(parts[0], row) == 0:
        return f"{key} of zero"
    if key == "/" and len(parts) == 2 and _at(parts[1], row) != 0:
        return "a division that overflows"
    return WHY.get(key, "a value that is not finite")


def _at(value, row: int) -> float:
    value = np.asarray(value, dtype=float)
    return float(value if value.ndim == 0 else value[row])


def first_non_finite(formula, env: dict, data_columns: set[str]):
    """(sub-expression, row index, reason, {column: value}) of the innermost non-finite part, or None."""
    from workbench.formula import NUMPY_OPS, evaluate
    from workbench.formula.ir import Name, children, render

    def visit(node):
        parts = [visit(child) for child in children(node)]
        if any(p is not None and isinstance(p, tuple) for p in parts):
            return next(p for p in parts if isinstance(p, tuple))
        with np.errstate(all="ignore"):
            value = np.asarray(evaluate(node, env, NUMPY_OPS), dtype=float)
        bad = ~np.isfinite(value)
        if not np.any(bad):
            return value
        row = int(np.argmax(np.ravel(bad))) if value.ndim else 0
        values = [np.asarray(evaluate(c, env, NUMPY_OPS), dtype=float) for c in children(node)]
        used = [n.name for n in _names(node, Name) if n.name in data_columns]
        shown = {c: _at(env[c], row) for c in dict.fromkeys(used)}
        return render(node), row, _why(node, values, row), shown

    found = visit(formula.expr)
    return found if isinstance(found, tuple) else None


def _infinite_derivative(key: str, parts: list[np.ndarray], moves: list[bool]):
    """(why, rows) where the derivative of one operation is infinite or undefined although its
    value is finite, given its parts' values and which parts move with the parameters; or None."""
    if key == "sqrt" and moves[0]:
        return "the derivative of sqrt is infinite", parts[0] == 0
    if key == "**":
        base, exponent = parts
        if moves[0]:
            bad = (base == 0) & (exponent < 1) & (exponent != 0)
            if np.any(bad):
                return "a power below 1 of zero has an infinite derivative", bad
        if moves[1] and np.any(base == 0):
            return "a power of zero has no derivative with respect to its exponent", base == 0
    if key == "/" and moves[1]:
        with np.errstate(all="ignore"):
            return "the derivative of a division overflows", ~np.isfinite(parts[0] / parts[1] ** 2)
    return None


def first_infinite_derivative(formula, env: dict, data_columns: set[str]):
    """(sub-expression, row index or None, reason, {name: value}) of the innermost part whose value
    is finite but whose derivative with respect to the parameters is not, or None."""
    from workbench.formula import NUMPY_OPS, evaluate
    from workbench.formula.ir import Binary, Call, Name, children, render

    def moves(node) -> bool:
        return any(n.name not in data_columns for n in _names(node, Name))

    def visit(node):
        for child in children(node):
            found = visit(child)
            if found is not None:
                return found
        key = node.func if isinstance(node, Call) else node.op if isinstance(node, Binary) else ""
        with np.errstate(all="ignore"):
            parts = [np.asarray(evaluate(c, env, NUMPY_OPS), dtype=float) for c in children(node)]
            found = _infinite_derivative(key, parts, [moves(c) for c in children(node)]) if parts else None
        if found is None or not np.any(found[1]):
            return None
        why, bad = found
        row = int(np.argmax(np.ravel(bad))) if np.ndim(bad) else None
        names = [n.name for n in _names(node, Name)]
        used = [n for n in names if n in data_columns] if row is not None else names
        shown = {n: _at(env[n], row or 0) for n in dict.fromkeys(reversed(used))}
        return render(node), row, why, shown

    return visit(formula.expr)


def _names(node, name_type):
    from workbench.formula.ir import children

    stack, out = [node], []
    while stack:
        current = stack.pop()
        if isinstance(current, name_type):
            out.append(current)
        stack.extend(children(current))
    return out


def check_start_point(prepared) -> None:
    """InputError when the loss or its gradient is not finite at the starting values."""
    from workbench.pipeline.chunks import optimizer_objective

    objective = prepared.objective
    execution = getattr(prepared.config, "execution", None)
    in_chunks = optimizer_objective(objective, getattr(execution, "chunk_rows", None))   # memory: one chunk's
    with np.errstate(all="ignore"):
        try:
            loss, grad = in_chunks.value_and_grad(prepared.x0)
        except (FloatingPointError, OverflowError, ZeroDivisionError):
            loss, grad = float("nan"), np.zeros(0)
    if np.isfinite(loss) and np.all(np.isfinite(grad)):
        return
    what = "loss" if not np.isfinite(loss) else "gradient of the loss"
    hint = "change the starting values under params, or the formula"
    formula = prepared.formula
    if formula is not None:
        env = dict(objective.columns)
        env.update({k: np.asarray(v, dtype=float) for k, v in objective.unpack(prepared.x0).items()})
        found = first_non_finite(formula, env, set(objective.columns))
        if found is not None:
            text, index, why, shown = found
            row = int(np.asarray(prepared.dataset.row_numbers)[prepared.train_rows][index])
            columns = ", ".join(f"column {c} = {v:g}" for c, v in shown.items())
            raise InputError(f"the {what} is not finite at the starting values: {why} at row {row}"
                             f"{', ' + columns if columns else ''}, in {text}; {hint}", where="model.formula")
    if not np.isfinite(loss):
        raise InputError(f"the {what} is NaN or infinite at the starting values; {hint}", where="params")
    if formula is not None:
        found = first_infinite_derivative(formula, env, set(objective.columns))
        if found is not None:
            text, index, why, shown = found
            values = ", ".join(f"{c} = {v:g}" for c, v in shown.items())
            at = (f" at row {int(np.asarray(prepared.dataset.row_numbers)[prepared.train_rows][index])}"
                  if index is not None else "")
            raise InputError(f"the {what} is not finite at the starting values: {why}{at}"
                             f"{f' ({values})' if values else ''}, in {text}; {hint}", where="model.formula")
    raise InputError(f"the {what} is NaN or infinite at the starting values, although the loss is finite; "
                     f"{hint}", where="params")
