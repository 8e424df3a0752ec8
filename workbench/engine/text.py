"""How the engine writes numbers, arrays, names and options in traces and pictures.

A trace is read by a learner next to a hand calculation, so a number is written in full
(``repr``: every digit that tells it apart), 5 rather than 5.0, an array as its shape and a few
values, an adjoint with a bar (v̄3) and a tangent with a dot (v̇3).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from workbench.engine.recording import data_of

ARRAY_HEAD = 2   # elements shown before the "…" in an array summary (the last one follows it)


# ---- how numbers and names are written --------------------------------------------------------

def format_number(x: float, digits: int | None = None) -> str:
    """A float as a reader wants it: 5 rather than 5.0; all digits unless ``digits`` is given."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    if digits is None:
        return repr(x)
    text = f"{x:.{digits}g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def summarize(value, digits: int | None = None) -> str:
    """A number in full, or an array as its shape and a few values: ``array(37,) [80.57, 84.25, … 1.4e3]``."""
    array = np.asarray(data_of(value), dtype=np.float64)
    if array.ndim == 0:
        return format_number(array, digits)
    flat = array.ravel()
    short = 4 if digits is None else digits
    if flat.size <= ARRAY_HEAD + 1:
        shown = ", ".join(format_number(v, short) for v in flat)
    else:
        head = ", ".join(format_number(v, short) for v in flat[:ARRAY_HEAD])
        shown = f"{head}, … {format_number(flat[-1], short)}"
    dims = ", ".join(str(n) for n in array.shape) + ("," if array.ndim == 1 else "")
    return f"array({dims}) [{shown}]"


def factor(value) -> str:
    """A number inside a product: negative ones in parentheses, so ``1 · (-1)`` reads right."""
    text = summarize(value)
    return f"({text})" if text.startswith("-") else text


def adjoint_symbol(name: str) -> str:
    """v3 -> v̄3 (the bar of the adjoint ∂y/∂v3); names longer than a letter and digits -> adj(name)."""
    if re.fullmatch(r"[A-Za-z][0-9_]*", name):
        return name[0] + "\u0304" + name[1:]
    return f"adj({name})"


def _index_text(index) -> str:
    """An index as it is written in Python: ``1:3``, ``..., 0``, ``[0 2 2]``."""
    if isinstance(index, tuple):
        return ", ".join(_index_text(part) for part in index) if index else "()"
    if isinstance(index, slice):
        bounds = ["" if b is None else str(b) for b in (index.start, index.stop, index.step)]
        return ":".join(bounds[:2] if index.step is None else bounds)
    if index is Ellipsis:
        return "..."
    if index is None:
        return "newaxis"
    if isinstance(index, (list, np.ndarray)):
        return np.array2string(np.asarray(index), threshold=6, edgeitems=2, separator=" ")
    return str(index)


def describe_options(kw: dict) -> str:
    """The keyword options of an operation, e.g. ``axis=0, keepdims=True`` (functions by name)."""
    parts = []
    for key, value in kw.items():
        if key == "index":
            parts.append(f"[{_index_text(value)}]")
            continue
        if value is None:
            continue
        if callable(value):
            value = getattr(value, "__name__", type(value).__name__)
        elif isinstance(value, np.ndarray):
            value = summarize(value)
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def tangent_symbol(name: str) -> str:
    """v3 -> v̇3 (the dot of the tangent ∂v3/∂x); names longer than a letter and digits -> tan(name)."""
    if re.fullmatch(r"[A-Za-z][0-9_]*", name):
        return name[0] + "\u0307" + name[1:]
    return f"tan({name})"


def scalar_or_array(value):
    """A Python float for a one-number value (what a learner expects to see), else a float64 array."""
    array = np.asarray(data_of(value), dtype=np.float64)
    return float(array.reshape(())) if array.ndim == 0 else array


def width(text: str) -> int:
    """Columns on screen: a combining bar (the ¯ of x̄) takes none."""
    return sum(not unicodedata.combining(c) for c in text)


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    widest = max((width(left) for left, _ in rows), default=0)
    return [f"  {left}{' ' * (widest - width(left))} = {right}" for left, right in rows]
