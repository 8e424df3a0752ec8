"""Writing a fit's files: result.json, params.csv, predictions.csv, history.csv, plots, reports.

Predictions are written by pyarrow, column by column: as CSV, or as Parquet
(``predictions.parquet``) when ``output.predictions`` says so or, under ``auto``, from
``PARQUET_FROM_ROWS`` rows, where a CSV would be slow to write and to open.

The files are one set. They are written into a fresh staging folder beside the output folder
(plots and reports are rendered there too: ``outcome.out_dir`` points at it meanwhile) and the
complete set replaces the old one in one step (``workbench.atomic.replace_folder``). A failure
on the way (a full disk) is ``OutputError`` (exit 74) naming the file: the incomplete new set is
removed at once (a full disk must not stay fuller), the previous set is untouched and the message
says so, or says that nothing was written when there was none. Staging folders a killed fit left
are removed by the next one. ``manifest.json``, written last, lists the set.

A fit writes only where it owns what it replaces: a new or empty folder, or one holding a
previous fit's outputs (every entry listed in its manifest or named like a workbench output).
Anything else is refused before the fit starts (exit 2, naming the folder and the stranger).
A plot that cannot be drawn (say, all residuals NaN after a divergence) is reported as a
warning instead of losing the rest.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import shutil
from pathlib import Path

import numpy as np

from workbench.atomic import (atomic_path, ensure_dir, remove_leftovers, replace_folder, staging_folder,
                              write_json, write_text)
from workbench.errors import InputError, OutputError

PARAMS_COLUMNS = ("name", "value", "stderr", "ci_low", "ci_high", "min", "max", "fixed")
HISTORY_COLUMNS = ("step", "loss", "grad_norm", "lr", "val_loss", "elapsed_s")
PARQUET_FROM_ROWS = 1_000_000   # output.predictions: auto writes Parquet from this many rows
MANIFEST = "manifest.json"
PREDICTION_PARTS = "predictions"      # the folder of a cluster fit's predictions, a part per file (dask_data)
MANIFEST_KIND = "workbench fit outputs"
MANIFEST_VERSION = 1
# What the workbench writes into a fit's folder (fit, check, graph), also before manifests existed.
OUTPUT_PATTERNS = ("result.json", "params.csv", "predictions.*", "history.csv", "*.png", "report.html",
                   "report.pdf", "results.xlsx", "gradcheck.json", "gradcheck.html", "graph-*.*", MANIFEST,
                   ".*.tmp")


def _csv_text(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else (repr(float(v)) if isinstance(v, (float, np.floating)) else v)
                         for v in row])
    return buffer.getvalue()


def write_tables(outcome) -> list[Path]:
    out = outcome.out_dir
    files = [write_json(out / "result.json", outcome.result)]
    files.append(write_text(out / "params.csv", _csv_text(
        PARAMS_COLUMNS, ([r[c] for c in PARAMS_COLUMNS] for r in outcome.params_table))))
    choice = getattr(outcome.prepared.config.output, "predictions", "auto")
    if getattr(outcome.prepared, "cluster", None) is not None:     # the rows are on the workers: a part per file
        from workbench.pipeline.dask_results import write_prediction_parts

        files += write_prediction_parts(outcome)
    else:
        files.append(write_predictions(out, outcome.predictions, choice))
    files.append(write_text(out / "history.csv", _csv_text(
        HISTORY_COLUMNS, ([h.get(c) for c in HISTORY_COLUMNS] for h in outcome.history))))
    return files


def predictions_format(n_rows: int, choice: str = "auto") -> str:
    """``csv`` or ``parquet``: as chosen, or by size (``PARQUET_FROM_ROWS``) for ``auto``."""
    if choice in ("csv", "parquet"):
        return choice
    return "parquet" if n_rows >= PARQUET_FROM_ROWS else "csv"


def write_predictions(out: Path, predictions: dict, choice: str = "auto") -> Path:
    """predictions.csv or predictions.parquet, written column by column by pyarrow (no per-row
    Python): numbers in their shortest exact form, read back to the same float64."""
    import pyarrow as pa

    n = len(predictions["prediction"])
    table = pa.table({name: _arrow_column(values) for name, values in predictions.items()})
    if predictions_format(n, choice) == "parquet":
        import pyarrow.parquet as pq

        target = out / "predictions.parquet"
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp, **_parquet_options(table))
        return target
    from pyarrow import csv as arrow_csv

    target = out / "predictions.csv"
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(_csv_text(list(predictions), []).encode("utf-8"))
            quoting = "none" if _plain_text(table) else "needed"     # quotes only where a value needs them
            arrow_csv.write_csv(table, handle, arrow_csv.WriteOptions(include_header=False, quoting_style=quoting))
    return target


def _parquet_options(table) -> dict:
    """How each predictions column is stored. Measured values (inputs, predictions, residuals) are
    float64 with nearly every value distinct: a dictionary is tried and given up on, and zstd saves
    a few percent, together most of the writing time (10 million rows: 7.8 s against about 2 s),
    so they are stored plain. Dictionaries are for the categorical columns (``set``, ``file``),
    zstd for them and for the integers (row numbers shrink to almost nothing)."""
    import pyarrow as pa

    dictionaries = [field.name for field in table.schema if pa.types.is_dictionary(field.type)]
    compression = {field.name: "none" if pa.types.is_floating(field.type) else "zstd" for field in table.schema}
    return {"use_dictionary": dictionaries, "compression": compression}


def _arrow_column(values):
    """One prediction column as a pyarrow array, built from its buffers: ``pa.array`` would import
    pandas (half a second of every fit) only to ask whether the values are a pandas object."""
    import pyarrow as pa

    if hasattr(values, "codes") and hasattr(values, "categories"):     # a categorical (the set column)
        codes = np.ascontiguousarray(values.codes, dtype=np.int32)
        return pa.DictionaryArray.from_arrays(_numeric_array(pa.int32(), codes), _string_array(values.categories))
    values = np.asarray(values)
    if values.dtype.kind in "fiu":
        wide = np.float64 if values.dtype.kind == "f" else np.int64
        return _numeric_array(pa.from_numpy_dtype(wide), np.ascontiguousarray(values, dtype=wide))
    if values.dtype.kind == "b":
        return pa.Array.from_buffers(pa.bool_(), len(values),
                                     [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
    return _string_array(values.tolist())


def _plain_text(table) -> bool:
    """True when no text value holds a comma, a quote or a line break (so none needs quoting)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.chunk(0).dictionary if column.num_chunks == 1 else column.cast(pa.large_string())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, r'[,"\r\n]')).as_py():
                return False
    return True


def _numeric_array(arrow_type, values: np.ndarray):
    import pyarrow as pa

    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


def _string_array(items):
    """UTF-8 strings (None stays missing) as an arrow string array, from offsets and bytes."""
    import pyarrow as pa

    items = list(items)
    encoded = [b"" if item is None else str(item).encode("utf-8") for item in items]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    missing = np.array([item is None for item in items], dtype=bool)
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count=int(missing.sum()))


def manifest_files(folder: Path) -> set[str]:
    """The files a fit's ``manifest.json`` in ``folder`` lists (none when it has no readable one)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        return set()
    return {str(name) for name in manifest.get("files") or ()}


def check_fit_folder(target: Path) -> None:
    """``InputError`` unless a fit may replace what ``target`` holds (see the module docstring)."""
    target = Path(target)
    here = Path.cwd().resolve()
    if target.resolve() == here or target.resolve() in here.parents:
        raise InputError("is the current folder or holds it; a fit replaces its whole output folder, so give it "
                         "a folder of its own (--out)", where=str(target))
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError("is a file, not an output folder: choose another --out", where=str(target))
    listed = manifest_files(target)
    for entry in sorted(target.iterdir()):
        ours = entry.name in listed or any(fnmatch.fnmatchcase(entry.name, p) for p in OUTPUT_PATTERNS)
        if entry.name == PREDICTION_PARTS and entry.is_dir():    # a cluster fit's parts, each listed
            ours = all(f"{entry.name}/{part.name}" in listed for part in entry.iterdir())
        elif not entry.is_file():
            ours = False
        if not ours:
            raise InputError(f"holds {entry.name!r}, which no fit wrote; a fit replaces the whole folder, so it "
                             f"writes only into a new or empty folder or a previous fit's: choose another --out "
                             f"or move that file", where=str(target))


def write_outputs(outcome, *, reports: bool = True, staged: bool = True) -> list[Path]:
    """Write everything for ``outcome`` as one set (see the module docstring); returns the final
    paths. ``staged=False`` writes straight into ``outcome.out_dir`` (a folder the caller will
    move into place itself, like a sweep's run folder)."""
    if not staged:
        ensure_dir(outcome.out_dir)
        outcome.files = _write_set(outcome, reports)
        return outcome.files
    target = Path(outcome.out_dir)
    check_fit_folder(target)
    ensure_dir(target.parent)
    remove_leftovers(target)
    had_outputs = target.is_dir() and any(target.iterdir())
    staging = staging_folder(target)
    outcome.out_dir, outcome.destination = staging, target
    try:
        files = _write_set(outcome, reports)
        replace_folder(staging, target)
    except (OSError, OutputError) as err:
        # A full disk must not stay fuller: the incomplete set goes, and the message says what
        # the reader still has.
        shutil.rmtree(staging, ignore_errors=True)
        raise _write_failure(err, staging, target, had_outputs) from None
    finally:
        outcome.out_dir = target
    outcome.files = [target / f.relative_to(staging) for f in files]
    return outcome.files


def _write_failure(err: OSError | OutputError, staging: Path, target: Path, had_outputs: bool) -> OutputError:
    """The one line for a set that could not be written: the final file's name, the reason, and
    whether an earlier set is still there."""
    if isinstance(err, OutputError):
        path, reason = Path(err.path), err.reason
    else:
        path, reason = Path(err.filename) if err.filename else target, err.strerror or str(err)
    if path == staging or staging in path.parents:
        path = target / path.relative_to(staging)
    consequence = f"the previous outputs in {target} are unchanged" if had_outputs else "nothing was written"
    return OutputError(path, reason, consequence)


def _write_set(outcome, reports: bool) -> list[Path]:
    files = _write_files(outcome, reports)
    manifest = {"kind": MANIFEST_KIND, "version": MANIFEST_VERSION, "status": outcome.result.get("status"),
                "files": sorted(f.relative_to(outcome.out_dir).as_posix() for f in files) + [MANIFEST]}
    files.append(write_json(outcome.out_dir / MANIFEST, manifest))
    return files


def _write_files(outcome, reports: bool) -> list[Path]:
    config = outcome.prepared.config
    figures, pictures = None, []
    if config.output.plots:      # drawn first: result.json then records any picture that could not be drawn
        from workbench.report.figures import draw_figures, record_problems

        figures = draw_figures(outcome, outcome.out_dir)
        pictures = figures.paths
        record_problems(outcome, figures)
    files = write_tables(outcome) + pictures
    if reports:
        try:
            from workbench.report import write_reports
        except ImportError:
            write_reports = None
        if write_reports is not None and config.output.formats:
            from workbench.pipeline.check import fit_gradient_checks

            outcome.gradcheck = fit_gradient_checks(outcome)
            files += write_reports(outcome, formats=tuple(config.output.formats), figures=figures)
    return files
