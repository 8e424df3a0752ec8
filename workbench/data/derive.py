"""Derived and categorical columns, added to a raw table before anything else reads it.

``data.derive`` maps new column names to expressions of the safe formula language
(``workbench.formula.table``): ``won: "Status == 'won'"``, ``price_k: "Price / 1000"``,
``month: "month(date)"``. They are computed in the order written, so a derived column may use
the file's columns and the derived columns before it. A condition gives 1/0. ``with_derived``
adds them to a ``RawTable`` as number cells, so the rest of the data layer (filters, dropped
rows, policies, the row account) treats them like any column of the file.

Inside an expression a column is text where it is compared with quoted text (or listed with
texts after ``in``), a date where it is a date column (named in ``data.dates`` or looking like
dates; ``datetime64``), and a number otherwise, read under the file's decimal convention.

Rows: a derived value is empty where a column it uses is empty, and unreadable where one is
unreadable (so the ``missing`` and ``unreadable`` policies decide, as for the file's own
columns). Under ``unreadable: error`` an unreadable input or a result that is not a finite
number (``log(0)``) stops with one line naming the derived key, the spreadsheet row and the
values it used.

Categorical columns (``model.categorical``, built-in linear and logistic models) become one 0/1
indicator column per level except the reference level, the first in sorted order (numbers sort
as numbers): ``region[North]``. ``categorical_levels`` finds the levels in the file; applying a
fit to new rows passes the fit's own levels, and a level the fit never saw is refused.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
from typing import Any, Mapping, Sequence

import numpy as np

from workbench.data.cells import BAD, MISSING, OK, UNSEEN, Unusable, convert_numbers, is_missing
from workbench.errors import InputError, did_you_mean

__all__ = ["with_derived", "categorical_levels", "distinct_labels", "ordered_levels", "indicator_names", "level_label"]


def indicator_names(column: str, levels: Sequence[str]) -> list[str]:
    """The indicator columns of a categorical column: one per level but the reference (the first)."""
    return [f"{column}[{level}]" for level in list(levels)[1:]]


def level_label(cell: object) -> str:
    """A cell as a level's name: text as written, whole numbers without '.0', dates in ISO form."""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.date, dt.datetime)):
        return cell.isoformat()
    return str(cell)


def _level_order(labels: Sequence[str]) -> list[str]:
    numbers = [_as_float(label) for label in labels]
    if all(n is not None for n in numbers):
        return [label for _, label in sorted(zip(numbers, labels))]
    return sorted(labels)


def _as_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def categorical_levels(raw, columns: Sequence[str], where: str = "model.categorical") -> dict[str, list[str]]:
    """Each categorical column's levels in ``raw`` (reference first); at least two are needed."""
    return ordered_levels({column: distinct_labels(raw, column, where) for column in columns}, where)


def distinct_labels(raw, column: str, where: str = "model.categorical") -> list[str]:
    """The distinct labels (``level_label``) of ``column``'s usable cells in ``raw``, in order of appearance."""
    if column not in raw.names:
        raise InputError(f"column {column!r} not found in {raw.path.name}{did_you_mean(column, raw.names)}; "
                         f"columns are: {', '.join(raw.names)}", where=where)
    return list(dict.fromkeys(level_label(c) for c in raw.cells[column]
                              if not is_missing(c) and not isinstance(c, Unusable)))


def ordered_levels(labels: Mapping[str, Sequence[str]], where: str = "model.categorical") -> dict[str, list[str]]:
    """Each column's distinct ``labels`` as its levels, reference first; at least two are needed."""
    levels = {}
    for column, found in labels.items():
        if len(found) < 2:
            raise InputError(f"column {column!r} has {len(found)} distinct value(s); a categorical column "
                             f"needs at least two levels", where=where)
        levels[column] = _level_order(list(found))
    return levels


def with_derived(raw, options, where: str = "data"):
    """``raw`` with the derived columns of ``options.derive`` and the indicator columns of
    ``options.categorical`` (column -> levels) appended; ``raw`` itself when there are none."""
    derive: Mapping[str, str] = getattr(options, "derive", None) or {}
    categorical: Mapping[str, Sequence[str]] = getattr(options, "categorical", None) or {}
    if not derive and not categorical:
        return raw
    # Added columns exist as cells only, so the table is read through its cells from here on.
    names, added, warnings, formats = list(raw.names), {}, [], {}
    cells = collections.ChainMap(added, raw.cells)
    for key, text in derive.items():
        table = _cells_only(raw, names, cells)
        added[key] = _derived_cells(table, key, text, options, f"{where}.derive.{key}", list(derive),
                                    warnings, formats)
        names.append(key)
    for column, levels in categorical.items():
        table = _cells_only(raw, names, cells)
        for name, values in _indicators(table, column, list(levels), options).items():
            if name not in cells:
                names.append(name)
            added[name] = values
    return _cells_only(raw, names, cells, warnings, formats)


def _cells_only(raw, names: list[str], cells: Mapping, warnings: Sequence[str] = (), formats: Mapping | None = None):
    """``raw`` with these names and cells, read through its cells (it holds no pyarrow arrays),
    and the warnings and date formats of its derived columns."""
    fields = {f.name for f in dataclasses.fields(raw)}
    extra = {"arrays": None} if "arrays" in fields else {}
    if "warnings" in fields:
        extra["warnings"] = (*raw.warnings, *warnings)
        extra["date_formats"] = {**raw.date_formats, **(formats or {})}
    return dataclasses.replace(raw, names=tuple(names), cells=cells, **extra)


def _check_names(raw, key: str, expression, later: list[str], where: str) -> None:
    if key in raw.names:
        raise InputError(f"the file already has a column {key!r}: give the derived column another name", where=where)
    for name in expression.names:
        if name in raw.names:
            continue
        if name in later:
            raise InputError(f"{name!r} is derived after {key!r}: list it first, derived columns are computed in "
                             f"order", where=where)
        raise InputError(f"unknown column {name!r}{did_you_mean(name, list(raw.names))}; columns are: "
                         f"{', '.join(raw.names)}", where=where)


def _text_names(node) -> list[str]:
    """Columns the expression reads as text: compared with quoted text, or inside a text function
    (``lower(Status)``)."""
    from workbench.formula.ir import Call, Compare, Member, Name, Text, children
    from workbench.formula.table import TEXT_FUNCTIONS

    found = []
    compared = []
    if isinstance(node, Compare) and any(isinstance(o, Text) for o in node.operands):
        compared = list(node.operands)
    if isinstance(node, Member) and any(isinstance(v, Text) for v in node.values):
        compared = [node.operand]
    if isinstance(node, Call) and node.func in TEXT_FUNCTIONS:
        compared = list(node.args)
    found += [o.name for o in compared if isinstance(o, Name)]
    for child in children(node):
        found += _text_names(child)
    return list(dict.fromkeys(found))


def _derived_cells(raw, key: str, text: str, options, where: str, order: list[str],
                   warnings: list[str], formats: dict[str, str]) -> np.ndarray:
    from workbench.formula.evaluation import evaluate
    from workbench.formula.table import parse_table_expression

    expression = parse_table_expression(text, where=where)
    _check_names(raw, key, expression, order[order.index(key) + 1:], where)
    text_names = _text_names(expression.expr)
    env, status = _environment(raw, expression.names, text_names, options, where, formats)
    if getattr(options, "check_texts", True):
        from workbench.data.text_values import check_quoted_texts

        warnings += check_quoted_texts(expression, lambda node: evaluate(node, env), where)
    try:
        with np.errstate(all="ignore"):
            value = expression.evaluate(env)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot compute {text!r}: {exc}", where=where) from None
    values = _as_numbers(value, len(raw.row_numbers), text, where)
    return _cells(raw, values, status, expression.names, options, where)


def _environment(raw, names: Sequence[str], text_names: list[str], options, where: str, formats: dict[str, str]):
    """The value of every name for the expression, and the worst status of each row's inputs."""
    from workbench.data.columns import convert_columns

    n = len(raw.row_numbers)
    status = np.full((len(names), n), OK, dtype=np.int8)
    env: dict[str, Any] = {}
    plain = [name for name in names if name not in text_names]
    converted, origins, date_names = convert_columns(raw, plain, options, where, formats) if plain else \
        ({}, {}, set())
    for i, name in enumerate(names):
        if name in text_names:
            env[name], status[i] = _text_column(raw, name, options, where)
            continue
        column = converted[name]
        status[i] = column.status
        env[name] = _dates(column.values, origins.get(name)) if name in date_names else column.values
    return env, status


def _text_column(raw, name: str, options, where: str) -> tuple[np.ndarray, np.ndarray]:
    cells = raw.cells[name]
    missing = np.fromiter((is_missing(c) for c in cells), dtype=bool, count=len(cells))
    present = [c for c in cells if not is_missing(c)]
    if present and all(isinstance(c, str) for c in present):
        numbers = convert_numbers(np.array(present, dtype=object), options.decimal, options.thousands)
        if (numbers.status == OK).all():
            raise InputError(f"{name!r} holds numbers: compare it with a number, not with quoted text "
                             f"(e.g. {name} == 3)", where=where)
    elif present and all(isinstance(c, (int, float, np.number)) for c in present):
        raise InputError(f"{name!r} holds numbers: compare it with a number, not with quoted text", where=where)
    labels = np.array([None if m or isinstance(c, Unusable) else level_label(c) for c, m in zip(cells, missing)],
                      dtype=object)
    status = np.array([MISSING if m else getattr(c, "status", OK) for c, m in zip(cells, missing)], dtype=np.int8)
    return labels, status


def _dates(days: np.ndarray, origin: str | None) -> np.ndarray:
    """Days since ``origin`` as ``datetime64[ns]`` (NaT where empty)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    if origin is None:
        return out
    ok = np.isfinite(days)
    offsets = np.round(days[ok] * 86_400e9).astype("int64").astype("timedelta64[ns]")
    out[ok] = np.datetime64(origin).astype("datetime64[ns]") + offsets
    return out


def _as_numbers(value: Any, n: int, text: str, where: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind == "M":
        raise InputError(f"{text!r} is a date, not a number: take a part of it (year, month, day, weekday, "
                         f"dayofyear) or use the date column in the model directly", where=where)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{text!r} does not give numbers (it gives {array.dtype.name} values)", where=where)
    return np.broadcast_to(array.astype(float), (n,)).copy()


def _cells(raw, values: np.ndarray, status: np.ndarray, names: Sequence[str], options, where: str) -> np.ndarray:
    """The derived column as cells: numbers, None where an input is empty, the unreadable input's
    text where one is unreadable; refusing under ``unreadable: error`` (see the module docstring)."""
    worst = status.max(axis=0) if len(names) else np.zeros(len(values), dtype=np.int8)
    cells = np.empty(len(values), dtype=object)
    cells[:] = [float(v) for v in values]
    for i in np.flatnonzero(worst == MISSING):
        cells[i] = None
    unreadable = np.flatnonzero(worst >= BAD)
    broken = np.flatnonzero((worst == OK) & ~np.isfinite(values))
    if options.unreadable == "error" and (len(unreadable) or len(broken)):
        i = int(min(np.concatenate([unreadable, broken])))
        inputs = ", ".join(f"{n} = {_shown(raw.cells[n][i])}" for n in names)
        problem = "an input is unreadable" if i in set(unreadable.tolist()) else \
            f"the result is not a finite number ({values[i]})"
        raise InputError(f"{raw.path.name} row {raw.row_numbers[i]}: {problem} ({inputs}); set "
                         f"{where.split('.derive.')[0]}.unreadable: drop to skip such rows", where=where)
    for i in unreadable:
        j = int(np.argmax(status[:, i] >= BAD))
        source = raw.cells[names[j]][i]
        cells[i] = source if isinstance(source, Unusable) else str(source)   # keeps why it is unusable
    for i in broken:
        cells[i] = float("inf")      # counted as a non-finite number of the derived column
    return cells


def _shown(cell: object) -> str:
    return "empty" if is_missing(cell) else repr(level_label(cell))


def _indicators(raw, column: str, levels: list[str], options) -> dict[str, np.ndarray]:
    where = "model.categorical"
    if column not in raw.names:
        raise InputError(f"column {column!r} not found in {raw.path.name}{did_you_mean(column, raw.names)}",
                         where=where)
    cells = raw.cells[column]
    labels = [None if is_missing(c) or isinstance(c, Unusable) else level_label(c) for c in cells]
    known = set(levels)
    unknown = [i for i, label in enumerate(labels) if label is not None and label not in known]
    if unknown and options.unreadable == "error":
        i = unknown[0]
        raise InputError(f"{raw.path.name} row {raw.row_numbers[i]}: {column} {labels[i]!r} is not one of the "
                         f"levels the model knows ({', '.join(levels)})", where=where)
    out = {}
    for level, name in zip(levels[1:], indicator_names(column, levels)):
        values = np.empty(len(cells), dtype=object)
        values[:] = [cell if isinstance(cell, Unusable) else None if label is None else
                     float(label == level) if label in known else Unusable(label, UNSEEN)
                     for cell, label in zip(cells, labels)]
        out[name] = values
    return out
