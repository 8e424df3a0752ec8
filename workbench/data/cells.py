"""Turning spreadsheet cells into numbers: text numbers as people type them, and dates.

``parse_number`` reads the numbers exports are full of: ``$1,234.50``, ``12%`` (0.12),
``(1,234.50)`` (accounting negative), ``1.234,5`` with ``decimal=","``, ``1 234``, ``1234-``
(trailing minus). ``convert_numbers`` does a whole column and says, per cell, whether it was a
number, missing or bad. ``convert_dates`` turns a date column into float days since an origin.
``looks_like_dates`` decides whether a column is one (real date cells or ISO-like text).

An ``Unusable`` cell holds text but no value, with its own status: an Excel formula whose value
was never saved (FORMULA; its text is the formula) or a level of a categorical column the fit
never saw (UNSEEN); they are counted under their own reasons when rows are dropped.

Conventions: empty cells and the markers in ``MISSING_TEXT`` (NA, N/A, null, -, ...) are missing;
``True``/``False`` cells are 1/0; text such as ``inf`` or ``nan`` is not a number (status BAD), and a
number too large for a float (``1e400``) is NOT_FINITE: neither is ever read as infinity or NaN.
Dates are read by ``workbench.data.dates``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["OK", "MISSING", "BAD", "NOT_FINITE", "FORMULA", "UNSEEN", "MISSING_TEXT", "Converted", "Unusable",
           "PercentNumber", "parse_number", "convert_numbers", "convert_texts", "convert_stored", "is_missing"]

OK, MISSING, BAD, NOT_FINITE, FORMULA, UNSEEN = 0, 1, 2, 3, 4, 5     # BAD and above: unreadable
MISSING_TEXT = frozenset({"", "na", "n/a", "#n/a", "null", "none", "-", "--", "—", "–"})
_CURRENCY = "$€£¥"
_GROUP_CANDIDATES = (",", ".", " ", "'", "\u00a0", "\u202f")


@dataclass(frozen=True)
class Converted:
    """A column as float64 ``values`` (NaN unless ``status`` is OK) and a per-cell ``status``."""

    values: np.ndarray
    status: np.ndarray          # OK, MISSING, BAD or NOT_FINITE per cell


class Unusable(str):
    """A cell's text that is no value, with the status saying why (FORMULA or UNSEEN)."""

    status: int

    def __new__(cls, text: str, status: int) -> "Unusable":
        cell = super().__new__(cls, text)
        cell.status = status
        return cell

    def __reduce__(self):
        return Unusable, (str(self), self.status)


class PercentNumber(float):
    """A number an Excel cell shows as a percentage (stored 0.232, shown 23.2%): a float like any
    other, marked so that the column is known to be written in percentages."""

    __slots__ = ()

    def __reduce__(self):
        return PercentNumber, (float(self),)


def is_missing(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip().lower() in MISSING_TEXT) or (
        isinstance(cell, float) and cell != cell)


@lru_cache(maxsize=8)
def _patterns(decimal: str, groups: tuple[str, ...]) -> tuple[re.Pattern, list[tuple[str, re.Pattern]]]:
    d = re.escape(decimal)
    plain = re.compile(rf"^(\d+({d}\d*)?|{d}\d+)([eE][+-]?\d+)?$")
    grouped = [(g, re.compile(rf"^\d{{1,3}}({re.escape(g)}\d{{3}})+({d}\d*)?$")) for g in groups]
    return plain, grouped


def _peel_signs(text: str) -> tuple[str, list[str]]:
    """Remove currency symbols and +/- signs from both ends; return the core and the signs seen."""
    signs = []
    while text and (text[0] in _CURRENCY or text[0] in "+-"):
        signs += [text[0]] if text[0] in "+-" else []
        text = text[1:].lstrip()
    while text and (text[-1] in _CURRENCY or text[-1] in "+-"):
        signs += [text[-1]] if text[-1] in "+-" else []
        text = text[:-1].rstrip()
    return text, signs


def parse_number(text: str, decimal: str | None = None, thousands: str | None = None) -> float | None:
    """The number written in ``text``, or None when it is not one. ``decimal`` defaults to "."; with
    ``thousands`` unset, any of , . space ' groups thousands when the groups are of three digits."""
    decimal = decimal or "."
    core = text.strip().replace("\u2212", "-")
    sign = 1.0
    if len(core) > 2 and core[0] == "(" and core[-1] == ")":
        sign, core = -1.0, core[1:-1].strip()
    scale = 1.0
    if core.endswith("%"):
        scale, core = 0.01, core[:-1].rstrip()
    core, signs = _peel_signs(core)
    if len(signs) > 1 or (signs and sign < 0):
        return None
    if signs == ["-"]:
        sign = -sign
    groups = (thousands,) if thousands else tuple(g for g in _GROUP_CANDIDATES if g != decimal)
    plain, grouped = _patterns(decimal, groups)
    if plain.match(core):
        return sign * scale * float(core.replace(decimal, "."))
    for group, pattern in grouped:
        if pattern.match(core):
            return sign * scale * float(core.replace(group, "").replace(decimal, "."))
    return None


def _plain(decimal: str) -> str:
    d = re.escape(decimal)
    return rf"^[+-]?(\d+{d}?\d*|{d}\d+)([eE][+-]?\d+)?$"


def _vector_numbers(texts, decimal: str | None, thousands: str | None) -> np.ndarray:
    """Numbers written plainly (``-12.5``, ``1e3``, ``1.234,5`` under its convention), parsed by
    pyarrow in C; NaN where the careful parser must look. Overflow stays infinite, to be reported.
    ``texts``: Python strings, or a pyarrow string array already trimmed (null cells give NaN)."""
    from workbench.data.arrow import float_values, holds_byte, string_array
    from workbench.data.separators import GROUP_SPACES

    if not len(texts):
        return np.empty(0)
    import pyarrow as pa
    import pyarrow.compute as pc

    decimal = decimal or "."
    trimmed = pc.utf8_trim_whitespace(string_array(texts)) if isinstance(texts, list) else texts
    if decimal == "." and holds_byte(trimmed, ord(",")) is not True:    # a comma fails it, at 20x the cost
        try:                    # every value a plain number: pyarrow reads them all (inf and nan are checked)
            return float_values(pc.cast(trimmed, pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    groups = (thousands,) if thousands else tuple(("," if decimal == "." else ".") + GROUP_SPACES)
    grouped = "|".join(re.escape(g) for g in groups)
    d = re.escape(decimal)
    pattern = f"{_plain(decimal)}|^[+-]?[1-9]\\d{{0,2}}(({grouped})\\d{{3}})+({d}\\d*)?$"
    usable = pc.match_substring_regex(trimmed, pattern)
    core = pc.if_else(usable, trimmed, pa.nulls(len(trimmed), pa.string()))
    core = pc.replace_substring_regex(core, f"[{''.join(re.escape(g) for g in groups)}]", "")
    if decimal != ".":
        core = pc.replace_substring(core, decimal, ".")
    return float_values(pc.cast(core, pa.float64()))


def convert_texts(texts, decimal: str | None = None, thousands: str | None = None,
                  numbers: np.ndarray | None = None) -> Converted:
    """A column of text cells (a trimmed pyarrow string array, null where empty) as numbers, with
    their status: vectorised, with the careful parser only for the cells plain parsing leaves.
    ``numbers``: the column already read plainly under this convention (``plain_number_votes``:
    NaN where empty, "nan", "inf" or 1e400), which is not read again; this array becomes the result."""
    from workbench.data.arrow import bool_array, valid_mask

    values = numbers if numbers is not None else _vector_numbers(texts, decimal, thousands)
    finite = np.isfinite(values)
    status = np.full(len(values), OK, dtype=np.int8)
    if finite.all():                    # no empty cell (NaN), nothing for the careful parser
        return Converted(values, status)
    present = valid_mask(texts)
    status[~finite] = BAD               # "inf", "nan" and 1e400 are looked at below
    status[~present] = MISSING
    values[~finite] = np.nan
    careful = np.flatnonzero(present & ~finite)
    if len(careful):
        picked = np.zeros(len(values), dtype=bool)
        picked[careful] = True
        left = texts.filter(bool_array(picked))
        decorated = _decorated_numbers(left, decimal, thousands)
        read = np.isfinite(decorated)
        values[careful[read]], status[careful[read]] = decorated[read], OK
        if not read.all():
            for i, text in zip(careful[~read], left.filter(bool_array(~read)).to_pylist()):
                _read_one(i, text, values, status, decimal, thousands)
    return Converted(values, status)


_EDGE_MARKS = f"[{re.escape(_CURRENCY + '+-')}]"       # what _peel_signs takes off either end


def _decorated_numbers(texts, decimal: str | None, thousands: str | None) -> np.ndarray:
    """``parse_number`` of every cell, in C, for the decorations exports add: currency symbols and
    signs at either end (``¥1,995``, ``1234-``), a trailing ``%`` (÷100) and accounting parentheses
    (negative). NaN (or ±inf) where the cell needs the careful parser: the cells read here are a
    subset of what it reads, with the same values (the same core, the same float, the factor
    sign·scale applied in the same order)."""
    import pyarrow.compute as pc

    from workbench.data.arrow import bool_array, bool_values

    if not len(texts):
        return np.empty(0)
    text = pc.replace_substring(texts, "\u2212", "-")
    paren = bool_values(pc.match_substring_regex(text, r"^\(.+\)$"))
    text = pc.utf8_trim_whitespace(pc.if_else(bool_array(paren), pc.utf8_slice_codeunits(text, 1, -1), text))
    percent = bool_values(pc.ends_with(text, "%"))
    text = pc.utf8_trim_whitespace(pc.if_else(bool_array(percent), pc.utf8_slice_codeunits(text, 0, -1), text))
    parts = pc.extract_regex(text, f"^(?P<head>(?:{_EDGE_MARKS}\\s*)*)(?P<core>.*?)(?P<tail>(?:\\s*{_EDGE_MARKS})*)$")
    head, core, tail = parts.flatten()       # null where a cell does not match (a line break in it)
    signs, minus = _edge_count(head, tail, "[+-]"), _edge_count(head, tail, "-")
    numbers = _vector_numbers(core, decimal, thousands)
    refused = (signs > 1) | ((signs > 0) & paren)
    factor = np.where((minus == 1) != paren, -1.0, 1.0) * np.where(percent, 0.01, 1.0)
    numbers = factor * numbers
    numbers[refused] = np.nan
    return numbers


def _edge_count(head, tail, pattern: str) -> np.ndarray:
    """How often ``pattern`` occurs in each cell's ``head`` and ``tail`` together, as floats (NaN
    where null; numpy from pyarrow's integers would import pandas, which a plain CSV need not)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbench.data.arrow import float_values

    found = pc.add(pc.count_substring_regex(head, pattern), pc.count_substring_regex(tail, pattern))
    return float_values(pc.cast(found, pa.float64()))


def _read_one(i: int, text: str, values: np.ndarray, status: np.ndarray, decimal, thousands) -> None:
    """Cell ``i`` read the careful way (currency, percent, separators) into ``values``/``status``."""
    if is_missing(text):
        status[i] = MISSING
        return
    number = parse_number(text, decimal, thousands)
    if number is not None and math.isfinite(number):
        values[i], status[i] = number, OK
    elif number is not None:
        status[i] = NOT_FINITE


def convert_stored(array) -> Converted:
    """A column stored as numbers or booleans (Parquet) as float64: null and NaN are missing,
    infinity is not a finite number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbench.data.arrow import float_values

    values = float_values(pc.cast(array, pa.float64()))
    status = np.where(np.isnan(values), MISSING, np.where(np.isinf(values), NOT_FINITE, OK)).astype(np.int8)
    values[status != OK] = np.nan
    return Converted(values, status)


def convert_numbers(cells: np.ndarray, decimal: str | None = None, thousands: str | None = None) -> Converted:
    """Every cell of a column as a number, with its status."""
    n = len(cells)
    values, status = np.full(n, np.nan), np.full(n, BAD, dtype=np.int8)
    text_rows, texts = [], []
    for i, cell in enumerate(cells):
        if cell is None:
            status[i] = MISSING
        elif isinstance(cell, Unusable):
            status[i] = cell.status
        elif isinstance(cell, str):
            text_rows.append(i)
            texts.append(cell)
        elif isinstance(cell, (bool, np.bool_, int, float, np.integer, np.floating)):
            number = float(cell)
            if math.isfinite(number):
                values[i], status[i] = number, OK
            else:
                status[i] = MISSING if number != number else NOT_FINITE
    fast = _vector_numbers(texts, decimal, thousands)
    for i, text, number in zip(text_rows, texts, fast):
        if number != number:                       # the fast path could not read it
            _read_one(i, text, values, status, decimal, thousands)
        elif math.isfinite(number):
            values[i], status[i] = number, OK
        else:
            status[i] = NOT_FINITE
    return Converted(values, status)
