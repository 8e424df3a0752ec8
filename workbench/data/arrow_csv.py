"""Reading a CSV/TSV/TXT file at library speed: pyarrow's CSV reader, every cell kept as text.

Every column is read as strings (never typed by pyarrow: the file's decimal mark is decided
later from all values, ``separators.py``), trimmed, with empty cells as nulls, so the cells are
exactly those Python's ``csv`` module gives (``source._text_rows``), and conversion to numbers
runs vectorised on the columns a dataset needs.

``read_text_table`` returns None whenever it cannot promise that: a file that is not UTF-8, has
NUL bytes, rows of different widths (a title line above the table), quoted cells spanning
lines (spreadsheet row numbers would need the line count of each record), a quote after a
delimiter and spaces (``csv`` skips the spaces, pyarrow does not) or a row count that does not
match its lines. The caller then reads the file the careful, slower way; both give one result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.arrow import (bool_array, holds_byte, null_where_empty, text_bytes, text_offsets,
                                  valid_mask)
from workbench.data.header import HEADER_SCAN_ROWS, column_names, find_header
from workbench.errors import InputError

__all__ = ["read_text_table"]

_SNIFF_LINES = 256          # lines decoded up front to choose the delimiter (the sniffer reads 200)
_WIDEST = 4096              # columns a file may have on this path
_BLOCK = 1 << 24            # bytes pyarrow parses at a time: at 1e7 x 21, 4 MiB blocks parse no faster once
#                             joined, and their freed pieces raise the peak by 1.5 GB


def _head_text(data: bytes) -> str | None:
    end = 0
    for _ in range(_SNIFF_LINES):
        found = data.find(b"\n", end)
        if found < 0:
            end = len(data)
            break
        end = found + 1
    try:
        return data[:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _arrow_table(data: bytes, delimiter: str, quoted: bool):
    import pyarrow as pa
    from pyarrow import csv

    read = csv.ReadOptions(autogenerate_column_names=True, block_size=_BLOCK)
    parse = csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                             newlines_in_values=quoted, ignore_empty_lines=True)
    # ASCII is valid UTF-8: checking it again cell by cell costs 10-20% of the parse (isascii: 8 ms per 190 MB)
    convert = csv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(_WIDEST)},
                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                 check_utf8=not data.isascii())
    try:
        return csv.read_csv(pa.BufferReader(data), read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None


def _line_numbers(data: bytes, n_records: int) -> np.ndarray | None:
    """The 1-based line of each record, when every non-empty line is one record; else None."""
    n_lines = _count_newlines(data) + (0 if data.endswith(b"\n") else 1)
    if n_lines == n_records and (b"\r" not in data or not _bare_carriage_return(data)):
        # pyarrow ends records at "\n" here (a "\r" comes only before one), so as many records as
        # lines leaves no room for an empty line or a record spanning lines: neither is searched for.
        return np.arange(1, n_lines + 1)
    blank = data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data
    if not blank:
        return np.arange(1, n_lines + 1) if n_lines == n_records else None
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    length = stops - starts
    carriage = np.zeros(len(length), dtype=bool)
    inside = stops > starts
    carriage[inside] = np.frombuffer(data, dtype=np.uint8)[stops[inside] - 1] == 13
    filled = np.flatnonzero(length - carriage > 0)
    return filled + 1 if len(filled) == n_records else None


_COUNT_BLOCK = 1 << 20


def _count_newlines(data: bytes) -> int:
    """``data.count(b"\\n")`` in blocks of 1 MiB with numpy (twice as fast, little memory)."""
    view = np.frombuffer(data, dtype=np.uint8)
    return sum(int(np.count_nonzero(view[at:at + _COUNT_BLOCK] == 10)) for at in range(0, len(view), _COUNT_BLOCK))


def _bare_carriage_return(data: bytes) -> bool:
    """Whether some "\\r" is not followed by "\\n" (pyarrow ends a record there too)."""
    view = np.frombuffer(data, dtype=np.uint8)
    for at in range(0, len(view), _COUNT_BLOCK):
        after = np.flatnonzero(view[at:at + _COUNT_BLOCK] == 13) + at + 1
        if len(after) and (after[-1] == len(view) or np.any(view[after] != 10)):
            return True
    return False


def _trimmed(column):
    """Trimmed text, null where the cell is empty (``cell.strip() or None``). Most columns have
    nothing to trim: they are kept as read (a scan instead of a copy of every cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        text = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    else:
        text = column
    if _may_need_trimming(text):
        text = pc.utf8_trim_whitespace(text)
    return null_where_empty(text)


_MAY_BE_SPACE = np.zeros(256, dtype=bool)
_MAY_BE_SPACE[:0x21] = _MAY_BE_SPACE[0x80:] = True    # ASCII space and controls; any byte of U+3000, U+00A0...


def _may_need_trimming(text) -> bool:
    """Whether some cell starts or ends with a byte that may belong to whitespace: an ASCII space
    or control character, or any byte of a non-ASCII character (U+3000, U+00A0...)."""
    offsets, data = text_offsets(text), text_bytes(text)
    if offsets[-1] == offsets[0]:
        return False
    used = data[offsets[0]:offsets[-1]]
    if used.min() > 0x20 and used.max() < 0x80:     # no such byte anywhere (two fast reductions)
        return False
    filled = offsets[1:] > offsets[:-1]
    for edge in (offsets[:-1], offsets[1:] - 1):       # an empty cell's edge is clipped into the data, then ignored
        if np.any(_MAY_BE_SPACE[data.take(edge, mode="clip")] & filled):
            return True
    return False


def _trimmed_columns(chunked: list) -> list:
    """Every column trimmed; each read column is dropped from ``chunked`` once trimmed, so that the
    read columns and their trimmed copies are not all held at once."""
    columns = []
    for j in range(len(chunked)):
        columns.append(_trimmed(chunked[j]))
        chunked[j] = None
    return columns


def read_text_table(data: bytes, path: Path, delimiter_of, header_row: int | None, where: str):
    """``(header row, names, text columns, row numbers, delimiter)`` of a text file, or None when
    the careful reader must decide (see the module docstring). ``delimiter_of(head_text)`` chooses
    the delimiter from the first lines, as the careful reader does."""
    if data.startswith((b"PK\x03\x04", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = _head_text(data)
    if head is None:
        return None
    delimiter = delimiter_of(head)
    quoted = b'"' in data
    table = _arrow_table(data, delimiter, quoted)
    if table is None or table.num_columns == 0 or table.num_columns >= _WIDEST:
        return None
    numbers = _line_numbers(data, table.num_rows)
    if numbers is None:
        return None
    chunked = table.columns
    del table                              # the columns are let go of one by one as they are trimmed
    columns = _trimmed_columns(chunked)
    if quoted and any(holds_byte(c, ord('"')) is not False for c in columns):
        return None
    if all(c.null_count for c in columns):     # else a column without empty cells fills every row
        filled = np.zeros(len(numbers), dtype=bool)
        for column in columns:
            filled |= valid_mask(column)
        if not filled.all():                   # rows of empty cells (",,,") are skipped, uncounted
            columns = [c.filter(bool_array(filled)) for c in columns]
            numbers = numbers[filled]
    return (*_split_header(columns, numbers, header_row, path, where), delimiter)


def _split_header(columns: list, numbers: np.ndarray, header_row: int | None, path: Path, where: str):
    if not len(numbers):
        raise InputError(f"{path.name} has no data: every row is empty", where=f"{where}.path")
    if header_row is not None:
        at = int(np.searchsorted(numbers, header_row))
        if at == len(numbers) or numbers[at] != header_row:
            if header_row < numbers[-1]:
                raise InputError(f"row {header_row} of {path.name} is empty", where=f"{where}.header_row")
            raise InputError(f"{path.name} has no row {header_row} (its last row is {numbers[-1]})",
                             where=f"{where}.header_row")
    else:
        scan = min(HEADER_SCAN_ROWS, len(numbers))
        head_rows = [list(row) for row in zip(*(c.slice(0, scan).to_pylist() for c in columns))]
        at = find_header(head_rows, list(numbers[:scan]), None, path, where)
    if at + 1 >= len(numbers):
        raise InputError(f"{path.name} has a header (row {numbers[at]}) but no data rows below it",
                         where=f"{where}.path")
    header = [c[at].as_py() for c in columns]
    body = [c.slice(at + 1) for c in columns]
    named = column_names(header, lambda j: body[j].null_count == len(body[j]))
    return int(numbers[at]), tuple(name for _, name in named), {name: body[j] for j, name in named}, \
        numbers[at + 1:].copy()
