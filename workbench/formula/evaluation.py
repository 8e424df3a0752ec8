"""Evaluating the formula IR with a pluggable namespace of functions (``ops``).

``evaluate(node, env, ops)`` walks the tree; ``compile_node(node, ops)`` builds a tree of closures
once, so that an optimizer calling it thousands of times pays no dispatch on node types, and
computes constant subtrees (``2*pi``, ``1/3``) once. ``NUMPY_OPS`` is the numpy namespace; the
autodiff engine module offers the same names, so ``ops=workbench.engine`` gives differentiable values.

Operators ``+ - * / **`` and unary minus are applied with Python's operators on the values, so
anything that overloads them works. Constants are numpy float64: ``1/0`` is ``inf``, as for arrays.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from workbench.errors import InputError
from workbench.formula.ir import Binary, Call, Compare, Const, Member, Name, Node, Text, Unary, children

__all__ = ["NUMPY_OPS", "evaluate", "compile_node"]


def _stable_sigmoid(x):
    """1/(1+e⁻ˣ) from e^(−|x|) ≤ 1, so it never overflows."""
    x = np.asarray(x, dtype=float)
    small = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def _stable_softplus(x):
    """ln(1 + eˣ) without overflow for large x: logaddexp(0, x)."""
    return np.logaddexp(0.0, x)


def _days(dates) -> np.ndarray:
    """Dates (``datetime64``, ``datetime.date`` objects or ISO texts) as ``datetime64[D]``."""
    return np.asarray(dates).astype("datetime64[D]")


def _year(dates):
    return _days(dates).astype("datetime64[Y]").astype(np.int64) + 1970.0


def _month(dates):
    return _days(dates).astype("datetime64[M]").astype(np.int64) % 12 + 1.0


def _day(dates):
    days = _days(dates)
    return (days - days.astype("datetime64[M]")).astype(np.int64) + 1.0


def _weekday(dates):
    """Monday 0 ... Sunday 6 (1970-01-01, day 0, was a Thursday)."""
    return (_days(dates).astype(np.int64) + 3) % 7 + 0.0


def _dayofyear(dates):
    days = _days(dates)
    return (days - days.astype("datetime64[Y]")).astype(np.int64) + 1.0


def _lower(texts):
    """A text column (an object array, None where empty) in lower case."""
    return np.array([t.lower() if isinstance(t, str) else t for t in np.asarray(texts, dtype=object)], dtype=object)


NUMPY_OPS = SimpleNamespace(
    exp=np.exp, log=np.log, log1p=np.log1p, sqrt=np.sqrt, abs=np.abs, sin=np.sin, cos=np.cos,
    tan=np.tan, arctan=np.arctan, tanh=np.tanh, sigmoid=_stable_sigmoid, softplus=_stable_softplus,
    minimum=np.minimum, maximum=np.maximum, where=np.where,
    year=_year, month=_month, day=_day, weekday=_weekday, dayofyear=_dayofyear, lower=_lower)

_LN10 = math.log(10.0)


def _function(func: str, ops) -> Callable:
    """The callable for a canonical function name in the namespace ``ops``."""
    if func == "log10":
        log = ops.log
        return lambda x: log(x) / _LN10
    name = {"min": "minimum", "max": "maximum"}.get(func, func)
    found = getattr(ops, name, None)
    if found is None:   # a function only the engine registers: it computes on plain arrays too
        from workbench import engine

        found = getattr(engine, name)
    return found


_BINARY: dict[str, Callable] = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                                "/": lambda a, b: a / b, "**": lambda a, b: a ** b}
_COMPARE: dict[str, Callable] = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                                 ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
                                 "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
_BOOL = {"and": np.logical_and, "or": np.logical_or}


def _chain(ops: tuple[str, ...], values: list) -> Any:
    """``a < b <= c`` means ``a < b and b <= c``. Text compares with a column as text."""
    if any(isinstance(v, str) for v in values):
        values = [v if isinstance(v, str) else np.asarray(v, dtype=object) for v in values]
    result = _COMPARE[ops[0]](values[0], values[1])
    for i in range(1, len(ops)):
        result = np.logical_and(result, _COMPARE[ops[i]](values[i], values[i + 1]))
    return result


def _member(value: Any, listed: tuple, negated: bool) -> Any:
    """``value in listed`` elementwise; text is compared as text, numbers as numbers."""
    cells = np.asarray(value, dtype=object)
    found = np.zeros(cells.shape, dtype=bool)
    for item in listed:
        found |= np.asarray(cells == item, dtype=bool)
    return ~found if negated else found


def _missing(name: object) -> InputError:
    return InputError(f"no value for the name {name!r}", where="formula")


def evaluate(node: Node, env: Mapping[str, Any], ops=NUMPY_OPS) -> Any:
    """The value of ``node`` with ``env`` giving every name and ``ops`` the functions."""
    if isinstance(node, Const):
        return np.float64(node.value)
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Member):
        return _member(evaluate(node.operand, env, ops), _listed(node), node.negated)
    if isinstance(node, Name):
        try:
            return env[node.name]
        except KeyError:
            raise _missing(node.name) from None
    if isinstance(node, Binary):
        return _BINARY[node.op](evaluate(node.left, env, ops), evaluate(node.right, env, ops))
    if isinstance(node, Unary):
        value = evaluate(node.operand, env, ops)
        return np.logical_not(value) if node.op == "not" else -value
    if isinstance(node, Call):
        return _function(node.func, ops)(*[evaluate(a, env, ops) for a in node.args])
    values = [evaluate(o, env, ops) for o in node.operands]
    if isinstance(node, Compare):
        return _chain(node.ops, values)
    return functools.reduce(_BOOL[node.op], values)


def _listed(node: Member) -> tuple:
    return tuple(v.value for v in node.values)


def _has_names(node: Node) -> bool:
    return isinstance(node, Name) or any(_has_names(c) for c in children(node))


def _closure(node: Node, ops) -> Callable[[Mapping[str, Any]], Any]:
    if not _has_names(node):
        with np.errstate(all="ignore"):
            value = evaluate(node, {}, NUMPY_OPS)
        value = value[()] if isinstance(value, np.ndarray) else value
        return lambda env: value
    if isinstance(node, Name):
        name = node.name
        return lambda env: env[name]
    if isinstance(node, Member):
        operand, listed, negated = _closure(node.operand, ops), _listed(node), node.negated
        return lambda env: _member(operand(env), listed, negated)
    if isinstance(node, Binary):
        fn, left, right = _BINARY[node.op], _closure(node.left, ops), _closure(node.right, ops)
        return lambda env: fn(left(env), right(env))
    if isinstance(node, Unary):
        operand = _closure(node.operand, ops)
        if node.op == "not":
            return lambda env: np.logical_not(operand(env))
        return lambda env: -operand(env)
    if isinstance(node, Call):
        fn, args = _function(node.func, ops), [_closure(a, ops) for a in node.args]
        if len(args) == 1:
            (arg,) = args
            return lambda env: fn(arg(env))
        return lambda env: fn(*[a(env) for a in args])
    parts = [_closure(o, ops) for o in node.operands]
    if isinstance(node, Compare):
        chain_ops = node.ops
        return lambda env: _chain(chain_ops, [p(env) for p in parts])
    combine = _BOOL[node.op]
    return lambda env: functools.reduce(combine, [p(env) for p in parts])


def compile_node(node: Node, ops=NUMPY_OPS) -> Callable[[Mapping[str, Any]], Any]:
    """A function ``f(env)`` equal to ``evaluate(node, env, ops)``, built once."""
    inner = _closure(node, ops)

    def evaluate_compiled(env: Mapping[str, Any]) -> Any:
        try:
            return inner(env)
        except KeyError as exc:
            if exc.args and isinstance(exc.args[0], str) and exc.args[0] not in env:
                raise _missing(exc.args[0]) from None
            raise

    return evaluate_compiled
