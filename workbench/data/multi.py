"""``data.path`` as a glob of CSV/Parquet files (``parts/*.parquet``): one table, file after file.

The files are taken in sorted order, each read and checked exactly as a single file would be
(``load_dataset``), so every message names the file and its own spreadsheet row. They must have
the same columns. The rows are concatenated; ``Dataset.files`` lists the files and
``Dataset.file_of_row`` says which one each row came from (predictions carry a ``file`` column).
Date columns count days from the first file's origin. The Dask executor reads each file where
its task runs (``workbench.pipeline.dask_sums``) with ``file_options``.

A categorical column's levels are those of every file (``glob_levels``), so a level that first
appears in a later file is a level of the fit. Each file's distinct labels are found on their own
(``file_level_labels``: where the file is, a task on a cluster) and merged (``merged_levels``);
more distinct values than the model could have parameters are refused, naming the column.
Each file is therefore parsed twice: once for its labels, once for its rows, whose indicator
columns need the levels of every file. Keeping every parsed file between the two would parse each
once but hold the whole glob's cells at once, which splitting a table into files avoids; only the
labels (at most ``most + 1`` per column and file) are kept from the first pass.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
from pathlib import Path

import numpy as np

from workbench.errors import InputError

__all__ = ["is_pattern", "matching_files", "file_options", "load_files", "joined_account", "origin_shift",
           "glob_levels", "file_level_labels", "merged_levels"]

PATTERN_CHARACTERS = "*?["


def is_pattern(path) -> bool:
    return any(c in str(path) for c in PATTERN_CHARACTERS)


def matching_files(pattern: Path, where: str = "data") -> list[Path]:
    """The files ``pattern`` matches, sorted; InputError when there is none."""
    found = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    if not found:
        raise InputError(f"no file matches {pattern}", where=f"{where}.path")
    return found


def file_options(options, path: Path):
    """The data options for one of the matched files."""
    return dataclasses.replace(options, path=Path(path))


def load_files(options, columns, *, source_where: str = "data"):
    """The files matching ``options.path`` as one ``Dataset`` (see the module docstring)."""
    from workbench.data.dataset import load_dataset

    files = matching_files(options.path, source_where)
    parts = []
    for path in files:
        part = load_dataset(file_options(options, path), columns, source_where=source_where, one_of_files=True)
        if parts and part.all_columns != parts[0].all_columns:
            raise InputError(f"{path.name} has the columns {', '.join(part.all_columns)} but {files[0].name} has "
                             f"{', '.join(parts[0].all_columns)}: every file of {options.path.name} needs the same "
                             f"columns", where=f"{source_where}.path")
        parts.append(part)
    return _joined(options.path, files, parts)


def _joined(pattern: Path, files: list[Path], parts: list):
    from workbench.data.dataset import Dataset

    first, counts = parts[0], [p.n for p in parts]
    columns = {}
    for name in list(first.columns):         # column by column, each file's copy let go at once
        pieces = [_on_first_origin(p, name, first) for p in parts]
        for part in parts:
            part.columns[name] = None
        columns[name] = np.concatenate(pieces)
        del pieces
    row_numbers = np.concatenate([p.row_numbers for p in parts])
    return Dataset(columns=columns, row_numbers=row_numbers, date_columns=dict(first.date_columns), path=pattern,
                   sheet=None, all_columns=list(first.all_columns), header_row=first.header_row,
                   files=tuple(files), file_of_row=np.repeat(np.arange(len(parts), dtype=np.int32), counts),
                   **joined_account(files, parts))


def joined_account(files: list[Path], parts: list) -> dict:
    """The ``Dataset`` fields that account for the rows of several files, from each file's own
    account (a ``Dataset`` or anything with its ``n``, ``n_rows_read``, ``n_dropped``, ``dropped``,
    ``summary`` and ``sha256``): the Dask executor joins the accounts its tasks send back."""
    from workbench.data.dataset import MAX_DROPPED_LISTED
    from workbench.data.summary import RowAccount

    digest = hashlib.sha256("".join(f"{f.name}:{p.sha256};" for f, p in zip(files, parts)).encode()).hexdigest()
    dropped = [(row, f"{reason} ({f.name})") for f, p in zip(files, parts) for row, reason in p.dropped]
    reasons: dict[str, int] = {}
    for part in parts:
        for reason, count in part.summary["dropped"]["by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    first_row = next((p.summary["dropped"]["first_row"] for p in parts if p.n_dropped), None)
    n_read = sum(p.n_rows_read for p in parts)
    account = RowAccount(n_read, sum(p.n for p in parts), dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
                         first_row)
    percent, percent_warnings = _joined_percent_columns(files, parts)
    warnings = list(dict.fromkeys(w for part in parts for w in getattr(part, "warnings", ()) or ()))
    return {"n_rows_read": n_read, "n_dropped": sum(p.n_dropped for p in parts),
            "dropped": dropped[:MAX_DROPPED_LISTED], "sha256": digest, "account": account,
            "warnings": warnings + percent_warnings, "percent_columns": percent,
            "date_formats": dict(getattr(parts[0], "date_formats", {}) or {}),
            "decimal_mark": getattr(parts[0], "decimal_mark", None)}


def _joined_percent_columns(files: list[Path], parts: list) -> tuple[list[str], list[str]]:
    """The columns every file writes as percentages, and a warning for each column that only some
    files write so (read as written: the report then states its effect per 1, not per point)."""
    listed = [list(getattr(part, "percent_columns", ()) or ()) for part in parts]
    names = list(dict.fromkeys(name for names in listed for name in names))
    everywhere = [name for name in names if all(name in names_of for names_of in listed)]
    warnings = []
    for name in names:
        if name not in everywhere:
            with_percent = next(f.name for f, names_of in zip(files, listed) if name in names_of)
            without = next(f.name for f, names_of in zip(files, listed) if name not in names_of)
            warnings.append(f"column {name!r} is written as percentages in {with_percent} but not in {without}: "
                            f"read as written, and its effect is stated per 1, not per percentage point")
    return everywhere, warnings


def glob_levels(options, columns, most: int, hint: str = "", where: str = "model.categorical") -> dict[str, list[str]]:
    """Each of ``columns``' levels over every file ``options.path`` matches (reference first)."""
    per_file = [file_level_labels(file_options(options, path), columns, most)
                for path in matching_files(options.path)]
    return merged_levels(options.path, per_file, columns, most, hint, where)


def file_level_labels(options, columns, most: int) -> dict[str, list[str]]:
    """One file's distinct labels of each of ``columns`` (``derive.distinct_labels``), at most
    ``most + 1`` of each: enough for ``merged_levels`` to refuse too many, and bounded to send."""
    from workbench.data.derive import distinct_labels
    from workbench.data.source import read_raw

    raw = read_raw(dataclasses.replace(options, categorical={}))
    return {column: distinct_labels(raw, column)[:most + 1] for column in columns}


def merged_levels(pattern: Path, per_file: list[dict], columns, most: int, hint: str = "",
                  where: str = "model.categorical") -> dict[str, list[str]]:
    """The levels of ``columns`` from every file's labels (``file_level_labels``, in the files'
    order); InputError naming the column when it has more than ``most`` distinct values."""
    from workbench.data.derive import ordered_levels

    labels = {}
    for column in columns:
        found = list(dict.fromkeys(label for labels_of_file in per_file for label in labels_of_file[column]))
        if len(found) > most:
            raise InputError(f"column {column!r} has more than {most:,} distinct values in the files of "
                             f"{Path(pattern).name}: a categorical column gets a parameter per level"
                             f"{'; ' + hint if hint else ''}", where=where)
        labels[column] = found
    return ordered_levels(labels, where)


def origin_shift(origin: str | None, first_origin: str | None) -> float:
    """Days from ``first_origin`` to ``origin``: what a file's date column adds to count its days
    from the first file's origin (0 when either is not a date column)."""
    if origin is None or first_origin is None or origin == first_origin:
        return 0.0
    return float((np.datetime64(origin, "s") - np.datetime64(first_origin, "s")) / np.timedelta64(86_400, "s"))


def _on_first_origin(part, name: str, first) -> np.ndarray:
    """A date column's day numbers counted from the first file's origin."""
    values = part.columns[name]
    shift = origin_shift(part.date_columns.get(name), first.date_columns.get(name))
    return values + shift if shift else values
