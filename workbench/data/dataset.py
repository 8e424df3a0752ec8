"""The columns a model needs, as float64 arrays, with an account of every row left out.

``load_dataset(cfg, columns)`` reads the file (``source.read_raw``), converts the requested
columns and those the ``where`` filter names (``cells``: numbers as typed in spreadsheets, dates
as days), applies the filter, then drops rows with a missing or non-numeric value in a requested
column (``missing: drop``) or stops at the first (``missing: error``). A column without a single
usable value is an error under either setting: it is the wrong column, not a few bad rows.
``read_table``, ``read_columns`` and ``numeric_columns`` look at a file without loading a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workbench.data.cells import BAD, MISSING, OK, Converted, convert_dates, convert_numbers, looks_like_dates
from workbench.data.source import RawTable, as_data_config, read_raw
from workbench.errors import InputError, did_you_mean

__all__ = ["Dataset", "load_dataset", "read_table", "read_columns", "numeric_columns", "MAX_DROPPED_LISTED"]

MAX_DROPPED_LISTED = 10


@dataclass
class Dataset:
    """Numeric columns ready for a fit, and where they came from."""

    columns: dict[str, np.ndarray]          # the requested columns, in the order requested
    row_numbers: np.ndarray                 # spreadsheet row of each used row, as Excel shows it
    n_rows_read: int                        # non-empty data rows in the file
    n_dropped: int                          # rows filtered out or with missing/bad values
    dropped: list[tuple[int, str]]          # the first few dropped rows: (spreadsheet row, reason)
    date_columns: dict[str, str]            # date column -> ISO origin its day numbers count from
    path: Path
    sheet: str | None                       # the sheet's name (Excel), else None
    sha256: str                             # of the file's bytes
    all_columns: list[str]                  # every column in the file, after renaming
    header_row: int = 1

    @property
    def n(self) -> int:
        return int(len(self.row_numbers))


def _shown(cell: object) -> str:
    return repr(cell) if isinstance(cell, str) else repr(str(cell))


def _reason(name: str, status: int, cell: object, is_date: bool) -> str:
    if status == MISSING:
        return f"missing {name!r}"
    return f"{name!r} is not a {'date' if is_date else 'number'}: {_shown(cell)}"


def _convert(raw: RawTable, names: list[str], options, where: str) -> tuple[dict[str, Converted], dict[str, str]]:
    """Each named column as numbers (or days, for a date column) and the origin of each date column."""
    converted, origins = {}, {}
    for name in names:
        cells = raw.cells[name]
        if name in options.dates or looks_like_dates(cells):
            origin = options.dates.get(name)
            if origin is not None:
                import pandas as pd   # dates only: plain numeric files never load pandas

                try:
                    pd.Timestamp(str(origin))
                except (ValueError, TypeError):
                    raise InputError(f"origin must be an ISO date like 2024-01-31, got {origin!r}",
                                     where=f"{where}.dates.{name}") from None
                origin = str(origin)
            converted[name], origin_text = convert_dates(cells, origin)
            if origin_text:
                origins[name] = origin_text
        else:
            converted[name] = convert_numbers(cells, options.decimal, options.thousands)
        _check_usable(raw, name, converted[name], name in origins or name in options.dates, where)
    return converted, origins


def _check_usable(raw: RawTable, name: str, column: Converted, is_date: bool, where: str) -> None:
    if (column.status == OK).any():
        return
    bad = np.flatnonzero(column.status == BAD)
    if not len(bad):
        raise InputError(f"column {name!r} in {raw.path.name} has no values", where=where)
    first = bad[0]
    kind = "a date column" if is_date else "numeric"
    raise InputError(f"column {name!r} is not {kind} (e.g. row {raw.row_numbers[first]}: "
                     f"{_shown(raw.cells[name][first])})", where=where)


def _require(wanted: Sequence[str], raw: RawTable, where: str) -> None:
    for name in wanted:
        if name not in raw.names:
            unnamed = any(n.startswith("column ") and n[7:].isdigit() for n in raw.names)
            hint = f" (is row {raw.header_row} the header? if not, set {where}.header_row)" if unnamed else ""
            raise InputError(f"column {name!r} not found in {raw.path.name}{did_you_mean(name, raw.names)}; "
                             f"columns are: {', '.join(raw.names)}{hint}", where=where)


def _parse_where(text: str | None, raw: RawTable, where: str):
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    from workbench.formula import parse_expression

    key = f"{where}.where"
    condition = parse_expression(text, allow_comparisons=True, where=key)
    if not condition.is_condition:
        raise InputError(f"must be a condition such as 'price > 0', got {text!r}", where=key)
    for name in condition.names:
        if name not in raw.names:
            raise InputError(f"unknown column {name!r}{did_you_mean(name, raw.names)}; columns are: "
                             f"{', '.join(raw.names)}", where=key)
    return condition


def _filter_mask(condition, converted: dict[str, Converted], n: int) -> np.ndarray:
    if condition is None:
        return np.ones(n, dtype=bool)
    with np.errstate(all="ignore"):
        mask = condition.evaluate({name: converted[name].values for name in condition.names})
    return np.broadcast_to(np.asarray(mask, dtype=bool), (n,)).copy()


def load_dataset(cfg: Any, columns: Sequence[str], *, source_where: str = "data") -> Dataset:
    """Read ``cfg``'s file and return ``columns`` as float64 arrays, with dropped rows accounted for."""
    options = as_data_config(cfg, source_where)
    raw = read_raw(options, source_where)
    wanted = list(dict.fromkeys(columns))
    _require(wanted, raw, source_where)
    for name in options.dates:
        if name not in raw.names:
            raise InputError(f"no column {name!r} in {raw.path.name}{did_you_mean(name, raw.names)}",
                             where=f"{source_where}.dates.{name}")
    condition = _parse_where(options.where, raw, source_where)
    needed = list(dict.fromkeys(wanted + list(condition.names if condition else ())))
    converted, origins = _convert(raw, needed, options, source_where)
    n = len(raw.row_numbers)
    passes = _filter_mask(condition, converted, n)
    status = np.stack([converted[name].status for name in wanted]) if wanted else np.zeros((0, n), np.int8)
    bad = (status != OK).any(axis=0)
    if options.missing == "error" and (bad & passes).any():
        i = int(np.flatnonzero(bad & passes)[0])
        raise InputError(f"{raw.path.name} row {raw.row_numbers[i]}: {_row_reason(raw, wanted, status, i, origins)} "
                         f"(set {source_where}.missing: drop to skip such rows)", where=source_where)
    keep = passes & ~bad
    dropped = [(int(raw.row_numbers[i]), "filtered out by where" if not passes[i]
                else _row_reason(raw, wanted, status, i, origins))
               for i in np.flatnonzero(~keep)[:MAX_DROPPED_LISTED]]
    if not keep.any():
        example = f" (e.g. row {dropped[0][0]}: {dropped[0][1]})" if dropped else ""
        raise InputError(f"no rows left in {raw.path.name}: {n} read, all dropped{example}", where=source_where)
    return Dataset(columns={name: converted[name].values[keep] for name in wanted},
                   row_numbers=raw.row_numbers[keep].copy(), n_rows_read=n, n_dropped=int((~keep).sum()),
                   dropped=dropped, date_columns={k: v for k, v in origins.items() if k in needed},
                   path=raw.path, sheet=raw.sheet, sha256=raw.sha256, all_columns=list(raw.names),
                   header_row=raw.header_row)


def _row_reason(raw: RawTable, wanted: list[str], status: np.ndarray, i: int, origins: dict[str, str]) -> str:
    """Why row ``i`` cannot be used: its first missing or bad value, in the order columns were asked for."""
    j = int(np.flatnonzero(status[:, i] != OK)[0])
    name = wanted[j]
    return _reason(name, int(status[j, i]), raw.cells[name][i], name in origins)


def read_table(cfg: Any, *, source_where: str = "data"):
    """Every column of the file, renamed, as a pandas DataFrame of raw cells (text as written for
    text files, cell values for Excel, None when empty) indexed by spreadsheet row number."""
    import pandas as pd

    raw = read_raw(as_data_config(cfg, source_where), source_where)
    frame = pd.DataFrame({name: raw.cells[name] for name in raw.names},
                         index=pd.Index(raw.row_numbers, name="row"), columns=list(raw.names), copy=True)
    return frame


def read_columns(cfg: Any, *, source_where: str = "data") -> list[str]:
    """The column names in the file, after renaming."""
    return list(read_raw(as_data_config(cfg, source_where), source_where).names)


def numeric_columns(path: str | Path, sheet: str | int | None = None) -> list[str]:
    """Columns of the file whose values are mostly numbers or dates, in file order."""
    options = as_data_config({"path": path, "sheet": sheet})
    raw = read_raw(options)
    numeric = []
    for name in raw.names:
        cells = raw.cells[name]
        column = convert_dates(cells)[0] if looks_like_dates(cells) else convert_numbers(cells)
        n_ok, n_present = int((column.status == OK).sum()), int((column.status != MISSING).sum())
        if n_ok and n_ok >= n_present / 2:
            numeric.append(name)
    return numeric
