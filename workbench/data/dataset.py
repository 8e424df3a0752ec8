"""The columns a model needs, as float64 arrays, with an account of every row left out.

``load_dataset(cfg, columns)`` reads the file (``source.read_raw``), converts the requested
columns and those the ``where`` filter names (``cells``: numbers as typed in spreadsheets, dates
as days, ``columns``), applies the filter, then drops rows with an empty or unreadable value in a
requested column or stops at the first, as the policies say (``drops``), and counts every dropped
row by reason (``Dataset.summary``). A column without a single usable value is an error under any
policy: it is the wrong column, not a few bad rows.
``read_table``, ``read_columns`` and ``numeric_columns`` look at a file without loading a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workbench.data.cells import BAD, OK, Converted, convert_numbers
from workbench.data.columns import convert_columns, percent_columns
from workbench.data.dates import looks_like_dates
from workbench.data.drops import account_rows, reason, refuse_by_policy, refuse_too_many_dropped, row_reason, shown
from workbench.data.multi import is_pattern, load_files
from workbench.data.source import RawTable, as_data_config, forget_parsed, read_raw
from workbench.data.summary import FILTERED, RowAccount
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
    account: RowAccount | None = None       # rows read, used, dropped by reason
    files: tuple[Path, ...] = ()            # the files a glob path matched (``multi``), else empty
    file_of_row: np.ndarray | None = None   # index into ``files`` of each used row
    warnings: list[str] = field(default_factory=list)   # about the data (derived columns' quoted texts)
    date_formats: dict[str, str] = field(default_factory=dict)   # date column -> format it was read with
    percent_columns: list[str] = field(default_factory=list)     # used columns written as 23.2% (read 0.232)
    decimal_mark: str | None = None         # the decimal mark the number columns were read with

    @property
    def summary(self) -> dict:
        """Rows read, used and dropped (total, by reason, first row), for result.json."""
        return self._account().as_dict()

    @property
    def summary_sentence(self) -> str:
        """The summary in one line, e.g. '28 of 891 rows dropped: 23 empty Sessions; first at row 12'."""
        return self._account().sentence()

    def _account(self) -> RowAccount:
        if self.account is not None:
            return self.account
        first = self.dropped[0][0] if self.dropped else None
        return RowAccount(self.n_rows_read, self.n, {"dropped": self.n_dropped} if self.n_dropped else {}, first)

    @property
    def n(self) -> int:
        return int(len(self.row_numbers))


def _check_usable(raw: RawTable, name: str, column: Converted, is_date: bool, where: str,
                  one_of_files: bool = False) -> None:
    """InputError when the column has no usable value (naming the file when it is one of a glob's)."""
    if (column.status == OK).any():
        return
    bad = np.flatnonzero(column.status >= BAD)
    if not len(bad):
        raise InputError(f"column {name!r} in {raw.path.name} has no values", where=where)
    first = bad[0]
    column_in = f"column {name!r} in {raw.path.name}" if one_of_files else f"column {name!r}"
    if column.status[first] != BAD:
        text = reason(name, int(column.status[first]), raw.cell(name, first), is_date)
        raise InputError(f"{column_in} has no usable value (e.g. row {raw.row_numbers[first]}: {text})",
                         where=where)
    kind = "a date column" if is_date else "numeric"
    raise InputError(f"{column_in} is not {kind} (e.g. row {raw.row_numbers[first]}: "
                     f"{shown(raw.cell(name, first))})", where=where)


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


def load_dataset(cfg: Any, columns: Sequence[str], *, source_where: str = "data",
                 one_of_files: bool = False) -> Dataset:
    """Read ``cfg``'s file and return ``columns`` as float64 arrays, with dropped rows accounted for.
    ``one_of_files``: the file is one of a glob's (``load_files``), so every message names it."""
    options = as_data_config(cfg, source_where)
    if is_pattern(options.path):
        return load_files(options, columns, source_where=source_where)
    try:
        return _load_file(options, columns, source_where, one_of_files)
    finally:
        forget_parsed()               # the columns are converted: the file's text is not needed again


def _load_file(options, columns: Sequence[str], source_where: str, one_of_files: bool) -> Dataset:
    raw = read_raw(options, source_where)
    wanted = list(dict.fromkeys(columns))
    _require(wanted, raw, source_where)
    for name in options.dates:
        if name not in raw.names:
            raise InputError(f"no column {name!r} in {raw.path.name}{did_you_mean(name, raw.names)}",
                             where=f"{source_where}.dates.{name}")
    condition = _parse_where(options.where, raw, source_where)
    needed = list(dict.fromkeys(wanted + list(condition.names if condition else ())))
    formats = dict(getattr(raw, "date_formats", {}))
    decided: dict = {}
    converted, origins, date_names = convert_columns(raw, needed, options, source_where, formats, decided)
    for name in needed:
        _check_usable(raw, name, converted[name], name in date_names, source_where, one_of_files)
    n = len(raw.row_numbers)
    passes = _filter_mask(condition, converted, n)
    status = np.stack([converted[name].status for name in wanted]) if wanted else np.zeros((0, n), np.int8)
    refuse_by_policy(raw, wanted, status, passes, options, date_names, source_where)
    keep = passes & (status == OK).all(axis=0)
    dropped = [(int(raw.row_numbers[i]), FILTERED if not passes[i] else row_reason(raw, wanted, status, i, date_names))
               for i in np.flatnonzero(~keep)[:MAX_DROPPED_LISTED]]
    if not keep.any():
        example = f" (e.g. row {dropped[0][0]}: {dropped[0][1]})" if dropped else ""
        raise InputError(f"no rows left in {raw.path.name}: {n} read, all dropped{example}", where=source_where)
    account = account_rows(raw, wanted, status, passes, keep, date_names)
    refuse_too_many_dropped(account, options.max_dropped, raw.path.name, source_where)
    percent, percent_warnings = percent_columns(raw, wanted, converted, date_names)
    every = keep.all()                # then the converted arrays are the columns, not copies (memory)
    kept = {name: converted[name].values if every else converted[name].values[keep] for name in wanted}
    return Dataset(columns=kept,
                   row_numbers=raw.row_numbers[keep].copy(), n_rows_read=n, n_dropped=int((~keep).sum()),
                   dropped=dropped, date_columns={k: v for k, v in origins.items() if k in needed},
                   path=raw.path, sheet=raw.sheet, sha256=raw.sha256, all_columns=list(raw.names),
                   header_row=raw.header_row, account=account,
                   warnings=[*getattr(raw, "warnings", ()), *percent_warnings, *_repeated_names(raw, needed)],
                   date_formats=formats,
                   decimal_mark=decided.get("decimal"),
                   percent_columns=percent)


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
    """Columns of the file whose values are mostly numbers (under either decimal mark) or dates, in file order."""
    options = as_data_config({"path": path, "sheet": sheet})
    raw = read_raw(options)
    numeric = []
    for name in raw.names:
        cells = raw.cells[name]
        if looks_like_dates(cells):
            numeric.append(name)
            continue
        present = sum(1 for cell in cells if cell is not None)
        n_ok = max(int((convert_numbers(cells, mark).status == OK).sum()) for mark in (".", ","))
        if n_ok and n_ok >= present / 2:
            numeric.append(name)
    return numeric


def _repeated_names(raw, needed) -> list[str]:
    """A warning for each used column whose name the header repeats: the model reads the first."""
    return [f"{raw.path.name} has columns {name!r} and {name + '.1'!r}: the model reads {name!r}, the first "
            f"(a header name repeated in a file is read with .1 added to the second); rename one if that is "
            f"not the column meant" for name in needed if f"{name}.1" in raw.names]
