"""The header row of a sheet or text file, the names of its columns, and the cells below it as columns.

``find_header`` takes the first row (of the first 20) filled more than half as much as the fullest,
unless ``data.header_row`` says which; ``column_names`` cleans the names, suffixes a repeated one
(``x``, ``x.1``, as pandas does) and names an unnamed column that holds values ``column N``;
``rows_to_table`` refuses rows with values right of the header's last name when other rows have
none there (a shifted row), and turns the rest into one object array per column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.errors import InputError

__all__ = ["find_header", "column_names", "rows_to_table"]

_HEADER_SCAN_ROWS = 20


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
    filled = [_filled(row) for row in rows[:_HEADER_SCAN_ROWS]]
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


def rows_to_table(rows, numbers, header_row, path: Path, where: str):
    """(header row number, names, columns of cells, row numbers) of the data below the header."""
    at = find_header(rows, numbers, header_row, path, where)
    body = list(zip(numbers[at + 1:], rows[at + 1:]))
    if not body:
        raise InputError(f"{path.name} has a header (row {numbers[at]}) but no data rows below it",
                         where=f"{where}.path")
    _refuse_ragged_rows(rows[at], numbers[at], body, path, where)
    width = max(len(rows[at]), *(len(row) for _, row in body))
    header = list(rows[at]) + [None] * (width - len(rows[at]))
    grid = np.empty((len(body), width), dtype=object)
    for k, (_, row) in enumerate(body):
        grid[k, :len(row)] = row
    named = column_names(header, lambda j: all(c is None for c in grid[:, j]))
    return (numbers[at], tuple(name for _, name in named), {name: grid[:, j] for j, name in named},
            np.array([n for n, _ in body], dtype=int))


def _refuse_ragged_rows(header: list, header_number: int, body: list, path: Path, where: str) -> None:
    """Some rows, not all, with values right of the header's last name: a value with an unquoted
    separator (``3,1,234`` for 3 and 1,234) shifts what follows, so reading on would be wrong."""
    named = max((j + 1 for j, cell in enumerate(header) if cell is not None), default=0)
    ragged = [(n, row) for n, row in body if any(cell is not None for cell in row[named:])]
    if ragged and len(ragged) < len(body):
        number, row = ragged[0]
        fields = max(j + 1 for j, cell in enumerate(row) if cell is not None)
        raise InputError(f"{path.name} row {number} has {fields} values but the header (row {header_number}) "
                         f"names {named} columns: a value with an unquoted separator (1,234 in a comma-"
                         f"separated file) shifts the values after it; quote such values, or set "
                         f"{where}.delimiter", where=f"{where}.path")


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
