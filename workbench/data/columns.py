"""Converting the raw columns a dataset needs: numbers under the file's convention, dates in their
column's one format.

``convert_columns(raw, names, options, where)`` decides which columns are dates (named in
``dates``, or looking like dates), reads each date column with its one format (``dates.py``;
a mix of formats or an ambiguous one is an ``InputError`` naming two rows), decides the file's
decimal mark from every text value of the number columns (``separators.py``), and converts.

``percent_columns(raw, names, converted)`` names the number columns written as percentages (every
read text cell ends in ``%``, so ``23.2%`` was read as 0.232): a report then states their effects
per percentage point. A column mixing cells with and without ``%`` is read as it is, with a
warning naming a row of each kind, since one of the two kinds is likely off by a factor of 100.
"""

from __future__ import annotations

import re

import numpy as np

from workbench.data.arrow import TextView, bool_array, bool_values, holds_byte, string_array, valid_mask
from workbench.data.cells import (MISSING_TEXT, OK, Converted, PercentNumber, Unusable, convert_numbers, convert_stored,
                                  convert_texts, is_missing)
from workbench.data.dates import ISO, convert_dates, infer_format, looks_like_dates
from workbench.data.separators import (GROUP_SPACES, Convention, PlainRead, column_votes, decide_convention,
                                       plain_number_votes, text_cores)
from workbench.data.source import DataConfig, RawTable
from workbench.errors import InputError

__all__ = ["convert_columns", "percent_columns"]

_PERCENT_END = r"%\s*\)?$"     # 12% and the accounting negative (12%)


def convert_columns(raw: RawTable, names: list[str], options: DataConfig, where: str,
                    formats: dict[str, str] | None = None,
                    decided: dict | None = None) -> tuple[dict[str, Converted], dict[str, str], set[str]]:
    """Each named column converted; the ISO origin of each date column; the date columns.
    ``formats``, when given, receives the format each date column was read with (given or inferred);
    ``decided`` receives the decimal mark the number columns were read with (key ``decimal``)."""
    date_names = [n for n in names if n in options.dates or _is_date_column(raw, n)]
    converted, origins = {}, {}
    for name in date_names:
        converted[name], origin, fmt = _date_column(raw, name, options.dates.get(name) or {}, where)
        if origin:
            origins[name] = origin
        if formats is not None:
            formats[name] = fmt
    number_names = [n for n in names if n not in date_names]
    convention, read_plainly = _convention(raw, number_names, options, where)
    if decided is not None and number_names:
        decided["decimal"] = convention.decimal
    for name in number_names:
        plain = read_plainly.pop(name, None)
        converted[name] = _number_column(raw, name, convention, plain.values if _holds(plain, convention) else None)
    return converted, origins, set(date_names)


def percent_columns(raw: RawTable, names: list[str], converted: dict[str, Converted],
                    date_names=()) -> tuple[list[str], list[str]]:
    """The columns of ``names`` whose every number was written with a trailing ``%``, and a warning
    for each column where only some were (naming the file, the column and a row of each kind)."""
    percent, warnings = [], []
    for name in names:
        if name in date_names:
            continue
        marked = _percent_marks(raw, name)
        if marked is None:
            continue
        read = converted[name].status == OK
        with_mark, without = np.flatnonzero(read & marked), np.flatnonzero(read & ~marked)
        if len(with_mark) and not len(without):
            percent.append(name)
        elif len(with_mark):
            rows = raw.row_numbers
            warnings.append(f"{raw.path.name} column {name!r} mixes percentages and plain numbers (row "
                            f"{rows[with_mark[0]]}: {raw.cell(name, with_mark[0])!s}, row {rows[without[0]]}: "
                            f"{raw.cell(name, without[0])!s}); '12%' is read as 0.12 and '12' as 12, so check "
                            f"that the two kinds are on one scale")
    return percent, warnings


def _percent_marks(raw: RawTable, name: str) -> np.ndarray | None:
    """Per row, whether the cell is text ending in ``%``; None when no cell can be."""
    array = _arrow(raw, name)
    if array is not None and _is_text(array):
        if holds_byte(array, ord("%")) is False:
            return None
        import pyarrow.compute as pc

        return bool_values(pc.match_substring_regex(array, _PERCENT_END))
    if array is not None:
        return None
    ends = re.compile(_PERCENT_END)
    marks = np.fromiter((isinstance(cell, PercentNumber)
                         or (isinstance(cell, str) and ends.search(cell.strip()) is not None)
                         for cell in raw.cells[name]), dtype=bool, count=len(raw.cells[name]))
    return marks if marks.any() else None


def _arrow(raw: RawTable, name: str):
    """The column as read by pyarrow, or None where Python read it."""
    return raw.arrays[name] if raw.arrays is not None and name in raw.arrays else None


def _is_text(array) -> bool:
    import pyarrow as pa

    return pa.types.is_string(array.type)


def _is_date_column(raw: RawTable, name: str) -> bool:
    array = _arrow(raw, name)
    if array is not None and not _is_text(array):
        import pyarrow as pa

        return pa.types.is_temporal(array.type)
    return looks_like_dates(raw.leading(name, 500))


def _holds(plain: PlainRead | None, convention: Convention) -> bool:
    """Whether the numbers read while voting are the column's numbers under ``convention``: read
    with its decimal mark (or with none to read), and no thousands separator that could be in them."""
    if plain is None or plain.decimal not in (None, convention.decimal):
        return False
    return convention.decimal == "." or (
        convention.decimal == "," and convention.thousands in (None, ".", *GROUP_SPACES))


def _number_column(raw: RawTable, name: str, convention, numbers: np.ndarray | None) -> Converted:
    import pyarrow as pa

    array = _arrow(raw, name)
    if array is None:
        return convert_numbers(raw.cells[name], convention.decimal, convention.thousands)
    if _is_text(array):
        return convert_texts(array, convention.decimal, convention.thousands, numbers)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_boolean(array.type) \
            or pa.types.is_decimal(array.type):
        return convert_stored(array)
    return convert_numbers(raw.cells[name], convention.decimal, convention.thousands)


def _votes(raw: RawTable, names: list[str], read_plainly: dict[str, PlainRead] | None = None) -> list:
    """Each column's evidence for ``decide_convention``; ``read_plainly``, when given, receives the
    columns whose every value was a plain number, with their numbers (read once, converted once)."""
    evidence = []
    for name in names:
        array = _arrow(raw, name)
        plain = plain_number_votes(array) if array is not None and _is_text(array) else None
        if plain is not None:
            evidence.append((plain.votes, name, raw.row_numbers, TextView(array)))
            if read_plainly is not None:
                read_plainly[name] = plain
            continue
        rows, texts = _texts(raw, name)
        evidence.append((column_votes(text_cores(texts)), name, rows, texts))
    return evidence


def _texts(raw: RawTable, name: str) -> tuple[np.ndarray, list[str] | TextView]:
    """The spreadsheet rows and texts of the column's non-missing text cells."""
    array = _arrow(raw, name)
    if array is not None:
        if not _is_text(array):
            return raw.row_numbers[:0], []
        import pyarrow.compute as pc

        marker = pc.is_in(pc.utf8_lower(array), value_set=string_array(sorted(MISSING_TEXT)))
        keep = valid_mask(array) & ~bool_values(marker)
        return raw.row_numbers[keep], TextView(array.filter(bool_array(keep)))
    cells = raw.cells[name]
    at = [i for i, cell in enumerate(cells) if isinstance(cell, str) and not is_missing(cell)
          and not isinstance(cell, Unusable)]
    return raw.row_numbers[at], [cells[i] for i in at]


def _convention(raw: RawTable, names: list[str], options: DataConfig, where: str):
    """The file's decimal mark (from the used columns, else from the others where they agree),
    and the numbers of the used columns that were read plainly while deciding it."""
    if options.decimal:
        return decide_convention([], delimiter=raw.delimiter, decimal=options.decimal,
                                 thousands=options.thousands, filename=raw.path.name, where=where), {}

    def others() -> list:
        rest = [n for n in raw.names if n not in names and not _is_date_column(raw, n)]
        return _votes(raw, rest)

    read_plainly: dict[str, PlainRead] = {}
    convention = decide_convention(_votes(raw, names, read_plainly), delimiter=raw.delimiter, decimal=None,
                                   thousands=options.thousands, filename=raw.path.name, where=where, others=others,
                                   fallback=getattr(options, "decimal_fallback", None))
    return convention, read_plainly


def _date_column(raw: RawTable, name: str, spec: dict, where: str) -> tuple[Converted, str | None, str]:
    origin, fmt = spec.get("origin"), spec.get("format")
    key = f"{where}.dates.{name}"
    if origin is not None:
        import pandas as pd   # dates only: plain numeric files never load pandas

        try:
            pd.Timestamp(str(origin))
        except (ValueError, TypeError):
            raise InputError(f"origin must be an ISO date like 2024-01-31, got {origin!r}", where=key) from None
        origin = str(origin)
    if fmt is None:
        fmt = _inferred_format(raw, name, key)
    return (*convert_dates(raw.cells[name], origin, fmt), fmt)


def _inferred_format(raw: RawTable, name: str, key: str) -> str:
    rows, texts = _texts(raw, name)
    first_row: dict[str, int] = {}
    for row, text in zip(rows, texts):
        first_row.setdefault(text.strip(), int(row))
    distinct = list(first_row)
    verdict = infer_format(distinct)
    file = raw.path.name
    if verdict.ambiguous:
        formats, k = verdict.ambiguous
        text = distinct[k]
        raise InputError(f"{file} column {name!r}: dates such as {text!r} (row {first_row[text]}) read "
                         f"differently as {' or '.join(_shown(f) for f in formats)}; say which with "
                         f"{key}: {{format: {_shown(formats[0])!r}}}", where=key)
    if verdict.mixed:
        i, fmt_i, j, fmt_j = verdict.mixed
        a, b = distinct[i], distinct[j]
        raise InputError(f"{file} column {name!r} mixes date formats: row {first_row[a]} {a!r} is "
                         f"{_shown(fmt_i)}, row {first_row[b]} {b!r} is {_shown(fmt_j)}; write one format "
                         f"or set {key}: {{format: ...}}", where=key)
    return verdict.fmt or ISO


def _shown(fmt: str) -> str:
    return "%Y-%m-%d" if fmt == ISO else fmt
