"""Writing a fit's files: result.json, params.csv, predictions.csv, history.csv, plots, reports.

Each file is written atomically (``workbench.atomic``). Plots and reports are drawn after the
numbers are safely on disk, and a plot that cannot be drawn (say, all residuals NaN after a
divergence) is reported as a warning instead of losing the rest.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from workbench.atomic import ensure_dir, write_json, write_text

PARAMS_COLUMNS = ("name", "value", "stderr", "ci_low", "ci_high", "min", "max", "fixed")
HISTORY_COLUMNS = ("step", "loss", "grad_norm", "lr", "val_loss", "elapsed_s")


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
    columns = list(outcome.predictions)
    n = len(outcome.predictions["prediction"])
    rows = ([outcome.predictions[c][i] for c in columns] for i in range(n))
    files.append(write_text(out / "predictions.csv", _csv_text(columns, rows)))
    files.append(write_text(out / "history.csv", _csv_text(
        HISTORY_COLUMNS, ([h.get(c) for c in HISTORY_COLUMNS] for h in outcome.history))))
    return files


def write_outputs(outcome, *, reports: bool = True) -> list[Path]:
    """Write everything for ``outcome``; returns the paths written."""
    ensure_dir(outcome.out_dir)
    files = write_tables(outcome)
    config = outcome.prepared.config
    figures = None
    if config.output.plots:
        from workbench.report.figures import draw_figures

        figures = draw_figures(outcome, outcome.out_dir)
        files += figures.paths
        outcome.warnings += figures.problems()
    if reports:
        try:
            from workbench.report import write_reports
        except ImportError:
            write_reports = None
        if write_reports is not None and config.output.formats:
            from workbench.pipeline.check import fit_gradient_checks

            outcome.gradcheck = fit_gradient_checks(outcome)
            files += write_reports(outcome, formats=tuple(config.output.formats), figures=figures)
    outcome.files = files
    return files
