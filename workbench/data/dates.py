"""Date columns: one format per column, decided from all its values, and days since an origin.

A date column mixing ``2024-01-01``, ``01/02/2024`` and ``20240107`` cannot be read safely: the
second is the 1st of February or the 2nd of January, and the third is a date only if the column's
format says so (never the number 20,240,107). So ``infer_format`` tries every known format on all
the column's distinct texts and returns a ``FormatVerdict``: the one format that reads them all;
or the formats that read them all differently (``01/02/2024``: day or month first, ask); or two
values that only different formats read (mixed formats, ask). Text no format reads is an
unreadable date. Real date cells (Excel) are dates whatever the format; numbers are not dates.

``convert_dates(cells, fmt, origin)`` turns a column into float days since ``origin`` (ISO
text), or since its earliest date. pandas is imported here only: plain numeric files never need it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from workbench.data.cells import BAD, MISSING, OK, Converted, is_missing

__all__ = ["FormatVerdict", "infer_format", "convert_dates", "looks_like_dates", "ISO"]

ISO = "ISO8601"
_ISO_TEXT = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_TIMES = ("", " %H:%M", " %H:%M:%S")
CANDIDATES: tuple[str, ...] = (ISO,) + tuple(
    day + time for day in ("%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y")
    for time in _TIMES) + ("%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%b %d %Y", "%b %d, %Y",
                           "%B %d %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y")
_DATE_LIKE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|"
                        r"\d{1,2}[ -]?[A-Za-z]{3,9}[ -,]*\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})\b")


@dataclass(frozen=True)
class FormatVerdict:
    """``fmt`` when one format reads every date text; else ``ambiguous`` (formats that all read
    every text, differently, with the index of a text they disagree on) or ``mixed`` (indices of
    two texts read by different formats only, and those formats)."""

    fmt: str | None = None
    ambiguous: tuple[tuple[str, ...], int] | None = None
    mixed: tuple[int, str, int, str] | None = None


def _is_date_cell(cell: object) -> bool:
    return isinstance(cell, (dt.datetime, dt.date)) or (isinstance(cell, str) and bool(_DATE_LIKE.match(cell.strip())))


def looks_like_dates(cells: np.ndarray, sample: int = 500) -> bool:
    """True when most non-missing cells are dates (real date cells, or text written like a date in
    any common format), judged on the first ``sample`` of them."""
    present = []
    for cell in cells:
        if not is_missing(cell):
            present.append(cell)
            if len(present) == sample:
                break
    return bool(present) and sum(map(_is_date_cell, present)) > len(present) / 2


def _parse(texts, fmt: str):
    """Timestamps (naive UTC) of ``texts`` read with ``fmt``; NaT where it does not fit."""
    import pandas as pd

    series = pd.Series(texts, dtype=object)
    if fmt == ISO:
        iso = series.map(lambda t: bool(_ISO_TEXT.match(t)))
        stamps = pd.to_datetime(series.where(iso), format=ISO, errors="coerce", utc=True)
    else:
        stamps = pd.to_datetime(series, format=fmt, errors="coerce", utc=True)
    return stamps.dt.tz_localize(None)


def infer_format(texts: list[str]) -> FormatVerdict:
    """The verdict on a column's distinct, non-missing date texts (see ``FormatVerdict``)."""
    if not texts:
        return FormatVerdict(fmt=ISO)
    head = texts[:200]
    shortlist = [f for f in CANDIDATES if _parse(head, f).notna().any()] or list(CANDIDATES)
    parsed = {f: _parse(texts, f) for f in shortlist}
    read = {f: stamps.notna().to_numpy() for f, stamps in parsed.items()}
    complete = [f for f in shortlist if read[f].all()]
    if complete:
        first = parsed[complete[0]]
        differ = [f for f in complete[1:] if not parsed[f].equals(first)]
        if not differ:
            return FormatVerdict(fmt=complete[0])
        where = np.flatnonzero((parsed[differ[0]] != first).to_numpy())
        return FormatVerdict(ambiguous=(tuple([complete[0], *differ]), int(where[0])))
    best = max(shortlist, key=lambda f: int(read[f].sum()))
    for other in shortlist:
        only_other = read[other] & ~read[best]
        if only_other.any() and read[best].any():
            return FormatVerdict(mixed=(int(np.flatnonzero(read[best])[0]), best,
                                        int(np.flatnonzero(only_other)[0]), other))
    return FormatVerdict(fmt=best)


def _stamps(cells: np.ndarray, fmt: str):
    """Each cell as a naive UTC timestamp, NaT where it is not a date in ``fmt``."""
    import pandas as pd

    out = pd.Series(pd.NaT, index=range(len(cells)), dtype="datetime64[ns]")
    text_at = [i for i, c in enumerate(cells) if isinstance(c, str)]
    real_at = [i for i, c in enumerate(cells) if isinstance(c, (dt.datetime, dt.date))]
    if text_at:
        out.iloc[text_at] = _parse([cells[i].strip() for i in text_at], fmt).to_numpy()
    if real_at:
        real = pd.to_datetime(pd.Series([cells[i] for i in real_at], dtype=object), utc=True)
        out.iloc[real_at] = real.dt.tz_localize(None).to_numpy()
    return out


def convert_dates(cells: np.ndarray, origin: str | None = None, fmt: str = ISO) -> tuple[Converted, str | None]:
    """Days (float) since ``origin`` (ISO text), or since the column's earliest date when None;
    returns the values and the origin used, as ISO text (None if the column holds no date)."""
    import pandas as pd

    stamps = _stamps(cells, fmt)
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
        status[i] = MISSING if is_missing(cells[i]) else getattr(cells[i], "status", BAD)
    if start is None:
        return Converted(np.full(len(cells), np.nan), status), None
    days = ((stamps - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    text = start.date().isoformat() if start == start.normalize() else start.isoformat()
    return Converted(days, status), text
