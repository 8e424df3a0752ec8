"""Reading a data file into raw cells: which file, which sheet, which row is the header.

``DataConfig`` holds the data options (``as_data_config`` accepts the config module's object, any
object with those attributes, or a dict). ``read_raw(options, where)`` reads CSV/TSV/TXT (delimiter
given or detected; pyarrow's CSV reader, ``arrow_csv``, with Python's ``csv`` module for the
files it cannot promise to read the same way), Excel (.xlsx/.xlsm through pandas with the
openpyxl engine, ``excel``) or Parquet (``parquet``) into a ``RawTable``: column names after renaming, each
column's cells (text as written for text files, cell values for Excel and Parquet; ``None`` when
empty), as pyarrow arrays too where pyarrow read them, and the spreadsheet row number of every
data row (Parquet: the row a CSV export would put it on, the header being row 1).
Row numbers are what Excel or a text editor shows (a quoted cell spanning lines counts them all).

Without ``header_row`` the header is the first non-empty row holding more than half as many cells
as the widest row near the top, so title lines above a table are skipped. Fully empty rows are
skipped and not counted. Header names lose surrounding and repeated spaces; duplicates get a
suffix (``x``, ``x.1``); unnamed columns with data are called ``column N`` (N counted from 1).
The last table read is cached by file content and options; its cell arrays are shared, read-only.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field, fields
from pathlib import Path
from stat import S_ISREG
from typing import Any, Mapping

import numpy as np

from workbench.data.arrow import LazyCells
from workbench.data.cells import is_missing
from workbench.data.files import check_workbook, read_bytes
from workbench.data.header import rows_to_table
from workbench.errors import InputError, did_you_mean

__all__ = ["DataConfig", "RawTable", "as_data_config", "read_raw", "TEXT_SUFFIXES", "EXCEL_SUFFIXES",
           "PARQUET_SUFFIXES", "SUFFIXES"]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = TEXT_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
_CACHE: dict[tuple, tuple] = {}


@dataclass
class DataConfig:
    path: Path
    sheet: str | int | None = None
    header_row: int | None = None
    decimal: str | None = None
    thousands: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    where: str | None = None
    dates: dict[str, dict] = field(default_factory=dict)    # column -> {origin, format}
    missing: str = "drop"               # empty cells: drop | error
    unreadable: str = "error"           # not a number/date, NaN text, overflow: error | drop
    max_dropped: float = 0.10           # largest share of rows dropped for their values
    limits: dict = field(default_factory=dict)              # file_mb, unzipped_mb (files.py)
    derive: dict[str, str] = field(default_factory=dict)    # new column -> expression (derive.py)
    categorical: dict[str, list] = field(default_factory=dict)  # column -> levels, reference first
    check_texts: bool = True            # derive: quoted text must be a value of its column (text_values.py)
    decimal_fallback: str | None = None  # predict: the decimal mark of the fit's data, when the rows cannot decide


@dataclass(frozen=True)
class RawTable:
    path: Path
    sheet: str | None
    sha256: str
    header_row: int
    names: tuple[str, ...]
    cells: Mapping[str, np.ndarray]       # name -> object array, None for an empty cell
    row_numbers: np.ndarray               # spreadsheet row (1-based) of each data row
    delimiter: str | None = None          # text files: the field separator used
    arrays: Mapping[str, Any] | None = None   # name -> pyarrow array (text files: trimmed text, null
    #                                            when empty; Parquet: as stored) where read by pyarrow
    warnings: tuple[str, ...] = ()        # about derived columns (text_values.py), for validate and fit
    date_formats: Mapping[str, str] = field(default_factory=dict)   # date columns derived columns read

    def cell(self, name: str, i: int) -> object:
        """One cell as a Python value (quoting a cell never converts its whole column)."""
        if self.arrays is not None and name in self.arrays:
            return self.arrays[name][int(i)].as_py()
        return self.cells[name][i]

    def leading(self, name: str, count: int) -> np.ndarray:
        """The column's first cells, at least ``count`` non-missing ones where it has them."""
        if self.arrays is None or name not in self.arrays:
            return self.cells[name]
        column, size = self.arrays[name], count
        while True:
            cells = np.array(column.slice(0, size).to_pylist(), dtype=object)
            if size >= len(column) or sum(1 for c in cells if not is_missing(c)) >= count:
                return cells
            size *= 4


def as_data_config(cfg: Any, where: str = "data") -> DataConfig:
    """A checked ``DataConfig`` from a DataConfig, a dict, or any object with those attributes."""
    names = [f.name for f in fields(DataConfig)]
    if isinstance(cfg, Mapping):
        for key in cfg:
            if key not in names:
                raise InputError(f"unknown key{did_you_mean(key, names)}", where=f"{where}.{key}")
        values = dict(cfg)
    else:
        values = {name: getattr(cfg, name) for name in names if hasattr(cfg, name)}
    if values.get("path") in (None, ""):
        raise InputError("the data file's path is required", where=f"{where}.path")
    options = DataConfig(path=Path(values.pop("path")))
    for name, value in values.items():
        if value is not None:
            setattr(options, name, value)
    options.columns, options.limits = dict(options.columns or {}), dict(options.limits or {})
    options.derive, options.categorical = dict(options.derive or {}), dict(options.categorical or {})
    options.dates = {name: _date_spec(spec, f"{where}.dates.{name}") for name, spec in (options.dates or {}).items()}
    _check(options, where)
    return options


def _date_spec(spec: Any, where: str) -> dict:
    """``{origin, format}`` from a spec given as null, an origin, or a mapping."""
    if spec is None or isinstance(spec, (str, dt.date)):
        return {"origin": None if spec is None else str(spec), "format": None}
    if isinstance(spec, Mapping) and set(spec) <= {"origin", "format"}:
        fmt = spec.get("format")
        if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
            raise InputError(f"must be a strftime format such as '%d.%m.%Y', got {fmt!r}", where=f"{where}.format")
        origin = spec.get("origin")
        return {"origin": None if origin is None else str(origin), "format": fmt}
    raise InputError(f"must be a reference date, null, or {{origin: ..., format: ...}}, got {spec!r}", where=where)


def _check(options: DataConfig, where: str) -> None:
    for key in ("decimal", "thousands"):
        value = getattr(options, key)
        if value is not None and (not isinstance(value, str) or len(value) != 1):
            raise InputError(f"must be one character, got {value!r}", where=f"{where}.{key}")
    if options.decimal and options.decimal == options.thousands:
        raise InputError(f"decimal and thousands separators are both {options.decimal!r}", where=f"{where}.thousands")
    for key in ("missing", "unreadable"):
        if getattr(options, key) not in ("drop", "error"):
            raise InputError(f"must be 'drop' or 'error', got {getattr(options, key)!r}", where=f"{where}.{key}")
    share = options.max_dropped
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise InputError(f"must be a share between 0 and 1, got {share!r}", where=f"{where}.max_dropped")
    if options.header_row is not None and (isinstance(options.header_row, bool) or not isinstance(
            options.header_row, int) or options.header_row < 1):
        raise InputError(f"must be a row number (1 = first), got {options.header_row!r}", where=f"{where}.header_row")
    if options.delimiter is not None:
        options.delimiter = _DELIMITER_NAMES.get(str(options.delimiter).lower(), options.delimiter)
        if not isinstance(options.delimiter, str) or len(options.delimiter) != 1:
            raise InputError(f"must be one character or tab/comma/semicolon/pipe/space, got {options.delimiter!r}",
                             where=f"{where}.delimiter")


def read_raw(options: DataConfig, where: str = "data") -> RawTable:
    """The file's raw table; an unchanged file (same bytes, same options) is parsed only once.
    For a glob path (``multi``): the first matching file's (the columns every file must have)."""
    from workbench.data.multi import file_options, is_pattern, matching_files

    if is_pattern(options.path):
        options = file_options(options, matching_files(options.path, where)[0])
    if options.derive or options.categorical:        # derived and indicator columns (derive.py)
        from workbench.data.derive import with_derived

        return with_derived(read_raw(dataclasses.replace(options, derive={}, categorical={}), where), options, where)
    path = options.path
    if path.suffix.lower() in PARQUET_SUFFIXES:
        from workbench.data.parquet import read_parquet

        if options.sheet is not None:
            raise InputError(f"{path.name} is a Parquet file: only Excel workbooks have sheets", where=f"{where}.sheet")
        raw = read_parquet(path, options.limits, where)
        names, _ = _renamed(raw.names, {n: n for n in raw.names}, options.columns, path, where)
        arrays = raw.arrays.renamed(list(names), list(raw.names))
        return _with_derived(dataclasses.replace(raw, names=names, arrays=arrays, cells=LazyCells(arrays)),
                             options, where)
    # An unchanged file (``_file_stamp``) is neither read nor hashed again.
    key = (str(path), *_file_stamp(path), options.sheet, options.header_row, options.delimiter, options.decimal)
    entry = _CACHE.get(key)
    if entry is None:
        data = _read_bytes(path, options, where)
        entry = (hashlib.sha256(data).hexdigest(), *_parse(data, path, options, where))
        del data
        _CACHE.clear()                     # one table is enough: read_columns, then load_dataset
        _CACHE[key] = entry
    digest, sheet, delimiter, header_row, names, columns, row_numbers, by_arrow = entry
    names, columns = _renamed(names, columns, options.columns, path, where)
    if by_arrow:
        raw = RawTable(path, sheet, digest, header_row, names, LazyCells(columns), row_numbers, delimiter, columns)
    else:
        raw = RawTable(path, sheet, digest, header_row, names, columns, row_numbers, delimiter)
    return _with_derived(raw, options, where)


_STAMP_BYTES = 1 << 16


def _file_stamp(path: Path) -> tuple:
    """Size, times of change and the first and last 64 KiB: a file rewritten since is read again."""
    try:
        stat = path.stat()
        if not S_ISREG(stat.st_mode):
            return (None, None)      # a folder, a pipe, a device: _read_bytes refuses it
        with open(path, "rb") as handle:
            head = handle.read(_STAMP_BYTES)
            handle.seek(max(stat.st_size - _STAMP_BYTES, 0))
            tail = handle.read(_STAMP_BYTES)
    except OSError:
        return (None, None)          # _read_bytes says what is wrong with it
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, hashlib.sha256(head + tail).hexdigest())


def forget_parsed() -> None:
    """Let go of the parsed table ``read_raw`` keeps (a large file's text): a dataset is loaded.
    pyarrow's allocator keeps freed blocks for reuse; they are handed back to the system too."""
    import sys

    _CACHE.clear()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def _with_derived(raw: RawTable, options: DataConfig, where: str) -> RawTable:
    if options.derive or options.categorical:
        from workbench.data.derive import with_derived

        raw = with_derived(raw, options, where)
    return raw


def _parse(data: bytes, path: Path, options: DataConfig, where: str) -> tuple:
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        check_workbook(data, path, options.limits, where)
        from workbench.data.excel import excel_rows

        rows, numbers, sheet = excel_rows(data, path, options.sheet, where)
        return (sheet, None, *rows_to_table(rows, numbers, options.header_row, path, where), False)
    if suffix not in TEXT_SUFFIXES:
        raise _unsupported(path, where)
    if options.sheet is not None:
        raise InputError(f"{path.name} is a text file: only Excel workbooks have sheets", where=f"{where}.sheet")
    from workbench.data.arrow_csv import read_text_table

    fast = read_text_table(data, path, lambda head: _delimiter(head, options, suffix), options.header_row, where)
    if fast is not None:
        header_row, names, columns, row_numbers, delimiter = fast
        return (None, delimiter, header_row, names, columns, row_numbers, True)
    rows, numbers, delimiter = _text_rows(data, path, options, where)
    return (None, delimiter, *rows_to_table(rows, numbers, options.header_row, path, where, delimiter), False)


def _read_bytes(path: Path, options: DataConfig, where: str) -> bytes:
    if path.suffix.lower() not in SUFFIXES and path.exists() and not path.is_dir():
        raise _unsupported(path, where)
    data = read_bytes(path, options.limits, where)
    if path.suffix.lower() not in SUFFIXES:
        raise _unsupported(path, where)
    if not data or data.isspace():       # (strip() would copy the whole file)
        raise InputError(f"{path} is empty", where=f"{where}.path")
    return data


def _unsupported(path: Path, where: str) -> InputError:
    if path.suffix.lower() == ".xls":
        return InputError(f"{path.name}: the old .xls format is not supported; save it as .xlsx or CSV",
                          where=f"{where}.path")
    kinds = " ".join(SUFFIXES)
    return InputError(f"{path.name}: unsupported file type {path.suffix or '(none)'!r} (use {kinds})",
                      where=f"{where}.path")


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")       # Excel's "Unicode text" export
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")   # what Excel on Windows writes for "CSV"
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _delimiter(text: str, options: DataConfig, suffix: str) -> str:
    if options.delimiter:
        return options.delimiter
    if suffix == ".tsv":
        return "\t"
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    sample = "\n".join(lines[:50])
    try:
        found = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        found = None
    if found == "," and _same_count(lines[:50], ";") and not _same_count(lines[:50], ","):
        found = ";"                        # decimal commas fool the sniffer; ';' is then the delimiter
    if found:
        return found
    counts = {d: sum(1 for line in lines if d in line) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _same_count(lines: list[str], mark: str) -> bool:
    """Every line holds ``mark`` the same number of times, at least once (a delimiter's signature)."""
    counts = {line.count(mark) for line in lines}
    return len(counts) == 1 and counts.pop() > 0


def _text_rows(data: bytes, path: Path, options: DataConfig, where: str) -> tuple[list[list], list[int], str]:
    if data.startswith(b"PK\x03\x04"):
        raise InputError(f"{path.name} looks like an Excel workbook: rename it to .xlsx", where=f"{where}.path")
    text = _decode(data)
    if "\x00" in text:
        raise InputError(f"{path.name} is not a text file (it contains NUL bytes)", where=f"{where}.path")
    delimiter = _delimiter(text, options, path.suffix.lower())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    rows, numbers, last_line, last_start = [], [], 0, None
    try:
        for record in reader:
            cells = [cell.strip() or None for cell in record]
            if any(cells):                 # all cells are text or None here
                rows.append(cells)
                numbers.append(last_line + 1)
            spans = reader.line_num - last_line > 1 and any("\n" in cell for cell in record)
            last_start = last_line + 1 if spans else None
            last_line = reader.line_num
    except csv.Error as exc:
        raise InputError(f"{path.name} line {reader.line_num}: {exc}", where=f"{where}.path") from None
    if last_start is not None and _quote_left_open(text, last_start, delimiter):
        raise InputError(f"{path.name} line {last_start}: a quote (\") opened there is never closed, so every "
                         f"line after it would be read as one cell; close the quote or remove it",
                         where=f"{where}.path")
    return rows, numbers, delimiter


def _quote_left_open(text: str, first_line: int, delimiter: str) -> bool:
    """Whether the record starting at line ``first_line`` (the last one, spanning lines) ends in a
    quoted cell never closed: read again from there, strictly, it runs out of data. Read from there
    alone, a lone quote on an earlier line (an inch mark: ``a 5" screen``) does not count."""
    lines = io.StringIO(text, newline="")
    for _ in range(first_line - 1):
        lines.readline()
    try:
        for _ in csv.reader(lines, delimiter=delimiter, skipinitialspace=True, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)     # not a stray character after a closing quote
    return False


def _renamed(names, columns, renames: Mapping[str, str], path: Path, where: str):
    for old, new in renames.items():
        if old not in names:
            raise InputError(f"no column {old!r} to rename in {path.name}{did_you_mean(old, names)}; "
                             f"columns are: {', '.join(names)}", where=f"{where}.columns.{old}")
        if not isinstance(new, str) or not new.strip():
            raise InputError(f"the new name must be text, got {new!r}", where=f"{where}.columns.{old}")
    renamed = tuple(renames.get(n, n) for n in names)
    for i, name in enumerate(renamed):
        if name in renamed[:i]:
            raise InputError(f"renaming gives two columns called {name!r}", where=f"{where}.columns")
    return renamed, {renames.get(n, n): columns[n] for n in names}
