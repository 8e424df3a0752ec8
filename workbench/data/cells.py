"""Turning spreadsheet cells into numbers: text numbers as people type them, and dates.

``parse_number`` reads the numbers exports are full of: ``$1,234.50``, ``12%`` (0.12),
``(1,234.50)`` (accounting negative), ``1.234,5`` with ``decimal=","``, ``1 234``, ``1234-``
(trailing minus). ``convert_numbers`` does a whole column and says, per cell, whether it was a
number, missing or bad. ``convert_dates`` turns a date column into float days since an origin.
``looks_like_dates`` decides whether a column is one (real date cells or ISO-like text).

Conventions: empty cells and the markers in ``MISSING_TEXT`` (NA, N/A, null, -, ...) are missing;
``True``/``False`` cells are 1/0; text such as ``inf`` or ``nan`` is not a number.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["OK", "MISSING", "BAD", "MISSING_TEXT", "Converted", "parse_number", "convert_numbers",
           "convert_dates", "looks_like_dates", "is_missing"]

OK, MISSING, BAD = 0, 1, 2
MISSING_TEXT = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "none", "-", "--", "—", "–"})
_CURRENCY = "$€£¥"
_GROUP_CANDIDATES = (",", ".", " ", "'", "\u00a0", "\u202f")
_ISO_DATE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class Converted:
    """A column as float64 ``values`` (NaN unless ``status`` is OK) and a per-cell ``status``."""

    values: np.ndarray
    status: np.ndarray          # OK, MISSING or BAD per cell


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


_PLAIN_NUMBERS = re.compile(r"[0-9eE+\-. \n]*")


def _fast_numbers(texts: list[str], decimal: str | None, thousands: str | None) -> np.ndarray:
    """Plain numbers parsed in C; NaN where the slow, careful parser must look.

    A column of plain numbers (the usual CSV) is converted by numpy alone, so reading it does not
    import pandas (a third of a second at every start); anything else goes through pandas.
    """
    if (decimal or ".") != "." or thousands == "." or not texts:
        return np.full(len(texts), np.nan)
    if _PLAIN_NUMBERS.fullmatch("\n".join(texts)):
        try:
            values = np.array(texts, dtype=str).astype(float)
        except ValueError:      # e.g. "1.2.3": let pandas mark exactly which cells are not numbers
            pass
        else:
            values[~np.isfinite(values)] = np.nan
            return values
    import pandas as pd

    values = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def convert_numbers(cells: np.ndarray, decimal: str | None = None, thousands: str | None = None) -> Converted:
    """Every cell of a column as a number, with its status."""
    n = len(cells)
    values, status = np.full(n, np.nan), np.full(n, BAD, dtype=np.int8)
    text_rows, texts = [], []
    for i, cell in enumerate(cells):
        if cell is None:
            status[i] = MISSING
        elif isinstance(cell, str):
            text_rows.append(i)
            texts.append(cell)
        elif isinstance(cell, (bool, np.bool_, int, float, np.integer, np.floating)):
            number = float(cell)
            if math.isfinite(number):
                values[i], status[i] = number, OK
            elif number != number:
                status[i] = MISSING
    fast = _fast_numbers(texts, decimal, thousands)
    for i, text, number in zip(text_rows, texts, fast):
        if number != number:
            if is_missing(text):
                status[i] = MISSING
                continue
            number = parse_number(text, decimal, thousands)
        if number is not None:
            values[i], status[i] = number, OK
    return Converted(values, status)


def _is_date_cell(cell: object) -> bool:
    return isinstance(cell, (dt.datetime, dt.date)) or (isinstance(cell, str) and bool(_ISO_DATE.match(cell.strip())))


def looks_like_dates(cells: np.ndarray, sample: int = 500) -> bool:
    """True when most non-missing cells are dates (real date cells, or ISO text like 2024-03-01),
    judged on the first ``sample`` of them."""
    present = []
    for cell in cells:
        if not is_missing(cell):
            present.append(cell)
            if len(present) == sample:
                break
    return bool(present) and sum(map(_is_date_cell, present)) > len(present) / 2


def _timestamps(cells: np.ndarray):
    """Cells as naive UTC timestamps (NaT where not a date); numbers are not dates."""
    import pandas as pd

    candidates = [c if isinstance(c, (str, dt.datetime, dt.date)) else None for c in cells]
    stamps = pd.to_datetime(pd.Series(candidates, dtype=object), errors="coerce", format="mixed", utc=True)
    return stamps.dt.tz_localize(None)


def convert_dates(cells: np.ndarray, origin: str | None = None) -> tuple[Converted, str | None]:
    """Days (float) since ``origin`` (ISO text), or since the column's earliest date when None;
    returns the values and the origin used, as ISO text (None if the column holds no date)."""
    import pandas as pd

    stamps = _timestamps(cells)
    valid = stamps.notna().to_numpy()
    if origin is not None:
        start = pd.Timestamp(origin)
        start = start.tz_convert("UTC").tz_localize(None) if start.tzinfo else start
    elif valid.any():
        start = stamps[valid].min()
    else:
        start = None
    status = np.full(len(cells), OK, dtype=np.int8)
    for i in np.flatnonzero(~valid):
        status[i] = MISSING if is_missing(cells[i]) else BAD
    if start is None:
        return Converted(np.full(len(cells), np.nan), status), None
    days = ((stamps - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    text = start.date().isoformat() if start == start.normalize() else start.isoformat()
    return Converted(days, status), text
