"""The header row of a sheet or text file, the names of its columns, and the cells below it as columns.

``find_header`` takes the first row (of the first 20) filled more than half as much as the fullest,
unless ``data.header_row`` says which; ``column_names`` cleans the names, suffixes a repeated one
(``x``, ``x.1``, as pandas does) and names an unnamed column that holds values ``column N``;
``rows_to_table`` turns the rows below the header into one object array per column; for a text
file it first refuses a row shifted by an unquoted separator (``_refuse_shifted_rows``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.cells import parse_number
from workbench.errors import InputError

__all__ = ["find_header", "column_names", "rows_to_table", "HEADER_SCAN_ROWS"]

HEADER_SCAN_ROWS = 20       # rows looked at for the header when data.header_row is not given


def find_header(rows: list[list], numbers: list[int], header_row: int | None, path: Path, where: str) -> int:
    """Index into ``rows`` (the non-empty rows, numbered by ``numbers``) of the header row."""
    if not rows:
        raise InputError(f"{path.name} has no data: every row is empty", where=f"{where}.path")
    if header_row is not None:
        if header_row in numbers:
            return numbers.index(header_row)
        if header_row < numbers[-1]:
            raise InputError(f"row {header_row} of {path.name} is empty", where=f"{where}.header_row")
        raise InputError(f"{path.name} has no row {header_row} (its last row is {numbers[-1]})",
                         where=f"{where}.header_row")
    filled = [_filled(row) for row in rows[:HEADER_SCAN_ROWS]]
    return next(i for i, count in enumerate(filled) if count > max(filled) / 2)


def _filled(row: list) -> int:
    """How many cells of the row are not empty."""
    return len(row) - row.count(None)


def _header_name(cell: object) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if hasattr(cell, "isoformat"):
        return cell.isoformat()
    return " ".join(str(cell).split())


def rows_to_table(rows, numbers, header_row, path: Path, where: str, delimiter: str | None = None):
    """(header row number, names, columns of cells, row numbers) of the data below the header.
    ``delimiter``: a text file's field separator (None for a sheet, whose cells nothing shifts)."""
    at = find_header(rows, numbers, header_row, path, where)
    body = list(zip(numbers[at + 1:], rows[at + 1:]))
    if not body:
        raise InputError(f"{path.name} has a header (row {numbers[at]}) but no data rows below it",
                         where=f"{where}.path")
    if delimiter is not None:
        _refuse_shifted_rows(rows[at], numbers[at], body, delimiter, path, where)
    width = max(len(rows[at]), *(len(row) for _, row in body))
    header = list(rows[at]) + [None] * (width - len(rows[at]))
    grid = np.empty((len(body), width), dtype=object)
    for k, (_, row) in enumerate(body):
        grid[k, :len(row)] = row
    named = column_names(header, lambda j: all(c is None for c in grid[:, j]))
    return (numbers[at], tuple(name for _, name in named), {name: grid[:, j] for j, name in named},
            np.array([n for n, _ in body], dtype=int))


_SHOWN_ROW = 60         # characters of a refused row shown in its message


def _refuse_shifted_rows(header: list, header_number: int, body: list, delimiter: str, path: Path,
                         where: str) -> None:
    """A row with more fields than the header and a number right of the header's last name: a
    value with an unquoted separator (``3,1,234`` for 3 and 1,234; ``3,12,5`` for 3 and 12,5)
    shifts what follows and leaves a number fragment there, so reading on would be wrong, even
    when every row has one. Text there (a note, a text column the header does not name) is read.
    Only rows longer than the header are looked at: a file whose rows all have the header's
    width is what the fast reader (``arrow_csv``) reads, and both readers give one result."""
    named = max((j + 1 for j, cell in enumerate(header) if cell is not None), default=0)
    shifted = next(((number, row) for number, row in body
                    if len(row) > len(header) and any(cell is not None and _is_number(cell) for cell in row[named:])),
                   None)
    if shifted is None or _is_title_above_header(header, body[0][1]):
        return
    number, row = shifted
    written = delimiter.join(cell or "" for cell in row)
    if len(written) > _SHOWN_ROW:
        written = written[:_SHOWN_ROW - 3] + "..."
    example = " (1,234 or 12,5)" if delimiter == "," else ""
    raise InputError(f"{path.name} row {number} has {_filled(row)} values but the header (row {header_number}) "
                     f"names {named} columns ({written!r}); a value with an unquoted {delimiter!r} in it{example} "
                     f"shifts the values after it: quote such values, set {where}.delimiter, or name the extra "
                     f"column in the header", where=f"{where}.path")


def _is_title_above_header(header: list, first_row: list) -> bool:
    """Whether the row below the header fills more cells, with text only: the header taken
    (``data.header_row``) is a title above the real one, which the column not found then says
    with a hint, rather than a table shifted by separators."""
    return _filled(first_row) > _filled(header) and not any(cell is not None and _is_number(cell)
                                                            for cell in first_row)


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number under either decimal mark (the fragment a shift leaves)."""
    return any(parse_number(text, mark) is not None for mark in (".", ","))


def column_names(header: list, is_empty) -> list[tuple[int, str]]:
    """(position, unique name) of each column kept: header names cleaned, duplicates suffixed,
    unnamed columns called ``column N`` unless ``is_empty(position)`` (then left out)."""
    named, seen = [], {}
    for j, cell in enumerate(header):
        name = _header_name(cell)
        if name is None:
            if is_empty(j):
                continue                   # an empty column, as exports often have on the right
            name = f"column {j + 1}"
        unique = name if name not in seen else f"{name}.{seen[name]}"
        seen[name] = seen.get(name, 0) + 1
        named.append((j, unique))
    return named
