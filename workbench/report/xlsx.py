"""results.xlsx: the fit's numbers in Excel, so spreadsheet users carry on where they are.

Four sheets: ``Summary`` (one quantity per row: what was fitted, how it went, every metric),
``Parameters`` (params.csv's columns), ``Predictions`` (every data row with its prediction and
residual) and ``History`` (the optimizer's steps). Cells hold numbers as numbers, at full
precision, so they equal result.json's; values that are not numbers (NaN, ±inf, none) are left
empty, because Excel has no NaN.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from workbench.pipeline.outputs import HISTORY_COLUMNS, PARAMS_COLUMNS

SUMMARY_KEYS = ("name", "model", "loss_name", "optimizer", "converged", "status", "message", "iterations",
                "function_evaluations", "loss", "val_loss", "elapsed_s", "seed", "workbench_version")


def _cell(value):
    """A value Excel can store: numbers as float/int/bool, text as str, NaN/inf/None as empty."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return str(value)


def summary_rows(outcome) -> list[tuple[str, object]]:
    """(quantity, value) rows of the Summary sheet, in reading order."""
    result = outcome.result
    rows = [(key, result.get(key)) for key in SUMMARY_KEYS]
    rows += [(f"metrics.{k}", v) for k, v in (result.get("metrics") or {}).items()]
    rows += [(f"validation_metrics.{k}", v) for k, v in (result.get("validation_metrics") or {}).items()]
    rows += [(f"data.{k}", v) for k, v in (result.get("data") or {}).items()]
    check = getattr(outcome, "gradcheck", None)
    if check is not None:
        rows += [(f"gradient_check.{p.at}", "passed" if p.passed else "FAILED") for p in check.points]
    rows += [("warning", w) for w in outcome.warnings]
    return rows


def _sheet(book, title: str, header, rows, widths=None):
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    for k, width in enumerate(widths or [14] * len(header)):
        sheet.column_dimensions[sheet.cell(row=1, column=k + 1).column_letter].width = width
    return sheet


def write_xlsx(outcome, target: Path) -> Path:
    """Write results.xlsx for ``outcome`` (atomically); returns its path."""
    from openpyxl import Workbook

    from workbench.atomic import atomic_path

    book = Workbook()
    book.remove(book.active)
    _sheet(book, "Summary", ("quantity", "value"), summary_rows(outcome), [30, 60])
    _sheet(book, "Parameters", PARAMS_COLUMNS, ([r[c] for c in PARAMS_COLUMNS] for r in outcome.params_table))
    columns = list(outcome.predictions)
    n = len(outcome.predictions["prediction"])
    _sheet(book, "Predictions", columns, ([outcome.predictions[c][i] for c in columns] for i in range(n)))
    _sheet(book, "History", HISTORY_COLUMNS, ([h.get(c) for c in HISTORY_COLUMNS] for h in outcome.history))
    with atomic_path(Path(target)) as tmp:
        book.save(tmp)
    return Path(target)
