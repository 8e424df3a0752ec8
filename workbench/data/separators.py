"""Which character is the decimal mark in this file: decided from every value, never guessed.

``3,931`` is 3.931 in a European export and 3931 in an American one; read the wrong way, a fit
succeeds with numbers a thousand times off. So every text value of every numeric column is
tested against the two conventions:

* dot decimal: ``1234.5``, ``1,234.5``, ``1 234.5``, ``1.5e3``;
* comma decimal: ``1234,5``, ``1.234,5``, ``1 234,5``, ``1,5e3``.

A value readable only one way (``0,100``, ``12.5``, ``1.234,5``) decides its column, and a
decided column decides the file, since one file follows one convention. A value readable both
ways with different results (``3,931``, ``1.234``) is ambiguous: it takes the file's convention,
and when nothing in the file decides it, reading stops (exit 2) and asks for ``data.decimal`` /
``data.thousands``, quoting the row. One exception is safe: in a comma-delimited file a value
like ``1.234`` is read with a decimal dot, because that file cannot use decimal commas unquoted
everywhere. Two columns (or two values) that prove opposite conventions are an error too.

``Convention`` is the result: the decimal mark and the thousands separators allowed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from workbench.data.arrow import (bool_values, float_values, holds_byte, string_array, text_bytes, text_offsets,
                                  valid_mask)
from workbench.errors import InputError

__all__ = ["Convention", "PlainRead", "decide_convention", "column_votes", "plain_number_votes", "text_cores",
           "GROUP_SPACES"]

GROUP_SPACES = " '\u00a0\u202f"
_EDGES = "^[\\s(+\\-\u2212$€£¥]+|[\\s)%+\\-\u2212$€£¥]+$"
_EXPONENT = r"([eE][+-]?\d+)?"


def _readable(decimal: str, group: str) -> str:
    d, g = "\\" + decimal, "\\" + group
    return (rf"^(\d+({d}\d*)?|{d}\d+){_EXPONENT}$|^[1-9]\d{{0,2}}({g}\d{{3}})+({d}\d*)?$"
            rf"|^[1-9]\d{{0,2}}([{GROUP_SPACES}]\d{{3}})+({d}\d*)?$")


_DOT_READABLE = _readable(".", ",")
_COMMA_READABLE = _readable(",", ".")


@dataclass(frozen=True)
class Convention:
    decimal: str                    # "." or ","
    thousands: str | None           # None: any of the separators allowed with this decimal mark

    @property
    def groups(self) -> tuple[str, ...]:
        if self.thousands:
            return (self.thousands,)
        return tuple(g for g in ("," if self.decimal == "." else ".") + GROUP_SPACES)


@dataclass
class Votes:
    """One column's evidence: the first row index readable only as dot (or comma) decimal, and
    the first ambiguous one (readable both ways, with different values)."""

    dot_only: int | None = None
    comma_only: int | None = None
    ambiguous: int | None = None
    ambiguous_has_comma: bool = False


def text_cores(texts):
    """The texts (Python strings, or a ``TextView`` of a pyarrow array) without surrounding spaces,
    currency, signs, % and parentheses (a pyarrow array)."""
    import pyarrow.compute as pc

    array = texts.array if hasattr(texts, "array") else string_array(list(texts))
    return pc.replace_substring_regex(array, _EDGES, "")


def _first(mask) -> int | None:
    hits = np.flatnonzero(bool_values(mask))
    return int(hits[0]) if len(hits) else None


def column_votes(cores) -> Votes:
    """The evidence in one column's text values (``cores`` from ``text_cores``)."""
    import pyarrow.compute as pc

    if len(cores) == 0:
        return Votes()
    as_dot = pc.match_substring_regex(cores, _DOT_READABLE)
    as_comma = pc.match_substring_regex(cores, _COMMA_READABLE)
    has_mark = pc.match_substring_regex(cores, r"[.,]")
    both = pc.and_(pc.and_(as_dot, as_comma), has_mark)
    ambiguous = _first(both)
    has_comma = ambiguous is not None and "," in str(cores[ambiguous])
    return Votes(dot_only=_first(pc.and_(as_dot, pc.invert(as_comma))),
                 comma_only=_first(pc.and_(as_comma, pc.invert(as_dot))),
                 ambiguous=ambiguous, ambiguous_has_comma=has_comma)


@dataclass(frozen=True)
class PlainRead:
    """A column whose every value is a plain number with at most one kind of mark: its votes, and
    its numbers (float64, NaN where empty) as read with ``decimal`` ("." or ","; None when no value
    holds either mark, so that the numbers are the same under both)."""

    votes: Votes
    values: np.ndarray
    decimal: str | None


def plain_number_votes(texts) -> PlainRead | None:
    """The votes and numbers of a trimmed pyarrow text column whose every value pyarrow reads as a
    plain number, written with a dot (``12.5``, ``-3``, ``1e5``) or, in the whole column, with a
    comma instead (``12,5``); found without a regex pass. None when some value is not plain
    (then ``column_votes`` decides). A dot votes for the decimal dot (``12.5``) unless it may be a
    thousands group (``1.234``: ambiguous); a comma likewise for the decimal comma (``12,5``, and
    ``1,234`` ambiguous). Since the numbers hold under one convention only (``1.234`` is 1234
    under decimal commas), ``decimal`` says which."""
    import pyarrow as pa
    import pyarrow.compute as pc

    comma = holds_byte(texts, _COMMA)
    if comma and holds_byte(texts, _DOT) is not False:
        return None                 # a failed cast costs 20 successful ones: not tried when sure to fail
    mark = "," if comma else "."
    try:
        values = float_values(pc.cast(_commas_as_dots(texts) if comma else texts, pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    ambiguous = np.zeros(len(texts), dtype=bool)
    ambiguous[_grouped_thousands(texts, ord(mark))] = True
    first_ambiguous = int(np.argmax(ambiguous)) if ambiguous.any() else None
    voter = _first_mark_outside(texts, mark, ambiguous)
    if comma:
        votes = Votes(comma_only=voter, ambiguous=first_ambiguous, ambiguous_has_comma=first_ambiguous is not None)
    else:
        votes = Votes(dot_only=voter, ambiguous=first_ambiguous)
    marked = comma is not False or voter is not None or first_ambiguous is not None
    return PlainRead(votes, values, mark if marked else None)


_SHORTEST_GROUPED, _LONGEST_GROUPED = len("1.234"), len("+123.456")
_DIGIT_0, _DIGIT_9, _DOT, _PLUS, _MINUS, _COMMA = (ord(c) for c in "09.+-,")


def _commas_as_dots(texts):
    """The text column with every comma made a dot, byte for byte (a new copy of its bytes: 10x
    faster than ``replace_substring``)."""
    import pyarrow as pa

    data = text_bytes(texts)
    data = data + (data == _COMMA).view(np.uint8) * np.uint8(_DOT - _COMMA)
    return pa.StringArray.from_buffers(len(texts), texts.buffers()[1], pa.py_buffer(data), texts.buffers()[0],
                                       texts.null_count, texts.offset)


def _grouped_thousands(texts, mark: int) -> np.ndarray:
    """Indices of the values shaped ``[+-]?[1-9]\\d{0,2}M\\d{3}`` with M the ``mark`` (``1.234``,
    ``-12,500``), read from the string buffers: first the values of 5 to 8 bytes with the mark 4
    bytes before their end, then every byte of those few."""
    offsets, data = text_offsets(texts), text_bytes(texts)
    if offsets[-1] == offsets[0]:
        return np.zeros(0, dtype=np.int64)
    length = np.diff(offsets)
    mark_placed = data.take(offsets[1:] - 4, mode="clip") == mark     # clipped where too short, then ignored
    picked = np.flatnonzero((length >= _SHORTEST_GROUPED) & (length <= _LONGEST_GROUPED) & mark_placed)
    if texts.null_count:
        picked = picked[valid_mask(texts)[picked]]
    if not len(picked):
        return picked
    size, place = length[picked, None], np.arange(_LONGEST_GROUPED)
    cells = data[np.minimum(offsets[picked, None] + place, len(data) - 1)]
    digit = (cells >= _DIGIT_0) & (cells <= _DIGIT_9)
    signed = (cells[:, 0] == _PLUS) | (cells[:, 0] == _MINUS)
    lead = signed.astype(np.int64)[:, None]
    integer_part = (place >= lead) & (place < size - 4)
    fraction = (place > size - 4) & (place < size)
    shaped = (np.all(digit | ~integer_part, axis=1) & np.all(digit | ~fraction, axis=1)
              & (size[:, 0] - 4 - lead[:, 0] >= 1) & (size[:, 0] - 4 - lead[:, 0] <= 3)
              & (np.take_along_axis(cells, lead, axis=1)[:, 0] != _DIGIT_0))
    return picked[shaped]


_FIRST_BLOCK = 4096


def _first_mark_outside(texts, mark: str, ambiguous: np.ndarray) -> int | None:
    """The first value holding ``mark`` that is not ambiguous, looked for in growing blocks: in
    most columns it is among the first rows, and the rest is never scanned."""
    import pyarrow.compute as pc

    start, size = 0, _FIRST_BLOCK
    while start < len(texts):
        block = texts.slice(start, size)
        hits = np.flatnonzero(bool_values(pc.match_substring(block, mark)) & ~ambiguous[start:start + len(block)])
        if len(hits):
            return start + int(hits[0])
        start, size = start + len(block), size * 4
    return None


@dataclass(frozen=True)
class Sample:
    """Where a vote came from, for messages: column, spreadsheet row, cell text."""

    column: str
    row: int
    text: str

    def __str__(self) -> str:
        return f"{self.column!r} row {self.row}: {self.text!r}"


def decide_convention(evidence: list[tuple[Votes, str, np.ndarray, list[str]]], *, delimiter: str | None,
                      decimal: str | None, thousands: str | None, filename: str, where: str,
                      others: Callable[[], list] = list, fallback: str | None = None) -> Convention:
    """The file's convention from every column's votes.

    ``evidence`` holds, per used column: its votes, its name, the spreadsheet row of each text
    value and the texts. When they prove nothing, ``others()`` gives the same for the file's other
    columns, which decide only when they agree. ``decimal``/``thousands`` given are taken as they are.
    ``fallback``: the decimal mark to take when nothing decides it (``workbench predict``: the one
    the fit's data proved), instead of stopping.
    """
    if decimal:
        return Convention(decimal, thousands)
    if thousands in (".", ","):
        return Convention("," if thousands == "." else ".", thousands)
    dots, commas, unsure = [], [], []
    for votes, name, rows, texts in evidence:
        if votes.dot_only is not None and votes.comma_only is not None:
            raise _conflict(Sample(name, int(rows[votes.dot_only]), texts[votes.dot_only]),
                            Sample(name, int(rows[votes.comma_only]), texts[votes.comma_only]), filename, where)
        if votes.dot_only is not None:
            dots.append(Sample(name, int(rows[votes.dot_only]), texts[votes.dot_only]))
        if votes.comma_only is not None:
            commas.append(Sample(name, int(rows[votes.comma_only]), texts[votes.comma_only]))
        if votes.ambiguous is not None:
            unsure.append((Sample(name, int(rows[votes.ambiguous]), texts[votes.ambiguous]),
                           votes.ambiguous_has_comma))
    if dots and commas:
        raise _conflict(dots[0], commas[0], filename, where)
    if dots or commas:
        return Convention("." if dots else ",", thousands)
    if unsure:
        proven = {"." if v.dot_only is not None else "," for v, *_ in others()
                  if (v.dot_only is None) != (v.comma_only is None)}
        if len(proven) == 1:
            return Convention(proven.pop(), thousands)
        if fallback:
            return Convention(fallback, thousands)
    for sample, has_comma in unsure:
        if has_comma or delimiter != ",":
            raise InputError(f"{filename} {sample}: is that number written with a decimal comma or a "
                             f"thousands separator? Nothing in the file decides it; set {where}.decimal "
                             f"(and {where}.thousands), e.g. decimal: ',' and thousands: '.' for European "
                             f"exports", where=where)
    return Convention(".", thousands)


def _conflict(dot: Sample, comma: Sample, filename: str, where: str) -> InputError:
    return InputError(f"{filename} mixes number conventions: {dot} has a decimal dot, {comma} a decimal "
                      f"comma; set {where}.decimal and {where}.thousands", where=where)
