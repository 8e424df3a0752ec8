"""Reading one sheet of an Excel workbook (.xlsx, .xlsm) into rows of cells.

``excel_rows(data, path, sheet, where)`` gives the sheet's non-empty rows with their row numbers
as Excel shows them: cell values as the workbook saved them (text stripped, dates as
``datetime``, None when empty). A formula cell holds the value Excel saved when it last
computed it; a workbook written by a program that never computed it (openpyxl, some exporters)
has formulas with no saved value, which are not "empty": such a cell becomes
``Unusable(formula, FORMULA)``, so that messages say what it is and what to do (open and save
the file in Excel), and predictions copy it as its formula text.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from workbench.data.cells import FORMULA, PercentNumber, Unusable
from workbench.errors import InputError, did_you_mean

__all__ = ["excel_rows", "choose_sheet"]

_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


def excel_rows(data: bytes, path: Path, sheet, where: str) -> tuple[list[list], list[int], str]:
    """The sheet's non-empty rows (cells), their row numbers and the sheet's name."""
    import pandas as pd

    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
        names = list(book.sheet_names)
    except Exception as exc:                       # zip, xml and openpyxl errors alike
        raise InputError(f"cannot read {path.name} as an Excel workbook: {exc}", where=f"{where}.path") from None
    chosen = choose_sheet(names, sheet, path, where)
    try:
        frame = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    except MemoryError:
        raise
    except Exception as exc:                       # a corrupt part: bad XML, a string index out of range
        raise InputError(f"cannot read sheet {chosen!r} of {path.name}: the workbook is damaged "
                         f"({type(exc).__name__}: {exc})", where=f"{where}.path") from None
    grid = [[_cell(v) for v in values] for values in frame.itertuples(index=False, name=None)]
    if any(cell is None for row in grid for cell in row) and _has_formulas(data):
        _mark_unsaved_formulas(grid, data, chosen)
    _mark_percent_columns(grid, book.book[chosen])     # the workbook pandas opened (read-only, saved values)
    rows, numbers = [], []
    for number, cells in enumerate(grid, start=1):
        if any(cell is not None for cell in cells):
            rows.append(cells)
            numbers.append(number)
    return rows, numbers, chosen


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet of the workbook holds a formula (read from the zip, no XML parsed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(_FORMULA_TAG.search(archive.read(item))
                       for item in archive.namelist() if item.startswith("xl/worksheets/") and item.endswith(".xml"))
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _mark_unsaved_formulas(grid: list[list], data: bytes, sheet: str) -> None:
    """Replace the empty cells of ``grid`` (rows from row 1, columns from A) that hold a formula
    by ``Unusable(formula, FORMULA)``: their value was never saved."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        rows = book[sheet].iter_rows(min_row=1, min_col=1, max_row=len(grid), values_only=True)
        for cells, formulas in zip(grid, rows):
            for j, text in enumerate(formulas[:len(cells)]):
                if cells[j] is None and isinstance(text, str) and text.startswith("="):
                    cells[j] = Unusable(text, FORMULA)
    finally:
        book.close()


FORMAT_ROWS = 1000      # rows whose number formats decide whether a column is shown as percentages


def _mark_percent_columns(grid: list[list], sheet) -> None:
    """Mark as ``PercentNumber`` the numbers of every column whose numbers Excel shows as
    percentages (a ``%`` in the number format of each number in the first ``FORMAT_ROWS`` rows:
    the formats of a column are one style in practice, and reading every cell's would double the
    time of a large sheet). ``sheet``: the openpyxl worksheet, opened with its saved values."""
    shown, numbers = {}, {}
    for cells in sheet.iter_rows(min_row=1, max_row=min(len(grid), FORMAT_ROWS)):
        for j, cell in enumerate(cells):
            value = getattr(cell, "value", None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                numbers[j] = numbers.get(j, 0) + 1
                shown[j] = shown.get(j, 0) + _scales_by_100(str(getattr(cell, "number_format", "") or ""))
    percent = [j for j, count in numbers.items() if shown.get(j) == count]
    for row in grid:
        for j in percent:
            if j < len(row) and isinstance(row[j], (int, float)) and not isinstance(row[j], bool):
                row[j] = PercentNumber(row[j])


_LITERALS = re.compile(r'"[^"]*"|\\.')


def _scales_by_100(number_format: str) -> bool:
    """Whether a number format shows its value times 100 with a % (``0.0%``), not a literal
    percent sign after the value itself (``0"%"``, ``0\\%``)."""
    return "%" in _LITERALS.sub("", number_format)


def choose_sheet(names: list[str], sheet, path: Path, where: str) -> str:
    """The sheet's name from ``sheet``: a name, a position (1 = first) or None (the first)."""
    listing = f"sheets are: {', '.join(names)}"
    if sheet is None:
        return names[0]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    if isinstance(sheet, str) and sheet.strip().isdigit():
        sheet = int(sheet)
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 1 <= sheet <= len(names):
            return names[sheet - 1]
        raise InputError(f"{path.name} has {len(names)} sheet(s), so there is no sheet {sheet}; {listing}",
                         where=f"{where}.sheet")
    raise InputError(f"no sheet {sheet!r} in {path.name}{did_you_mean(sheet, names)}; {listing}", where=f"{where}.sheet")
