"""Blocks that both parts of a report build: a figure (or why it is missing) and a table of measures."""

from __future__ import annotations

from pathlib import Path

from workbench.report.blocks import Figure, Paragraph
from workbench.report.text import count, number, share_text, unit_suffix

UNIT_MEASURES = ("rmse", "mae")             # measured in the target's units


def figure_path(figures, key: str) -> tuple[Path | None, object]:
    """(path, drawn record) of a picture from ``figures`` (``figures.Figures``, a mapping, or None)."""
    drawn = figures.get(key) if figures is not None else None
    path = getattr(drawn, "path", drawn)
    return (Path(path) if path is not None and Path(path).is_file() else None), drawn


def figure_block(figures, key: str, title: str, caption: str, tr, language: str):
    """A Figure block, or a note saying the picture is missing (with its reason, in English reports)."""
    path, drawn = figure_path(figures, key)
    if path is None:
        reason = getattr(drawn, "error", None)
        if reason and language == "en":
            return Paragraph(tr("figure.missing_reason", title=title, reason=reason), kind="note")
        return Paragraph(tr("figure.missing", title=title), kind="note")
    method = getattr(drawn, "method", "all")
    if method == "sample":
        caption += " " + tr("figure.sample", shown=count(drawn.shown), total=count(drawn.total))
    elif method == "density":
        caption += " " + tr("figure.density", total=count(drawn.total))
    elif method == "table_sample":
        caption += " " + tr("figure.table_sample", shown=count(drawn.shown), total=count(drawn.total))
    return Figure(path, caption, alt=title)


def r2_text(r2: float) -> str:
    """R² to 4 significant digits, more where that would round an imperfect fit up to 1."""
    for digits in (4, 6, 8):
        shown = number(r2, digits)
        if r2 >= 1 or not shown.startswith("1.0"):
            return shown
    return shown


def measure_rows(metrics: dict, validation: dict | None, keys, tr, target: str, target_unit: str | None):
    """(label, value, [validation value,] meaning) rows for the metrics present."""
    rows = []
    for key in keys:
        if metrics.get(key) is None:
            continue
        shown = [metrics[key]] + ([validation.get(key)] if validation else [])
        cells = [count(v) if key == "n" and v is not None else
                 share_text(v) if key == "accuracy" and v is not None else
                 r2_text(v) if key == "r2" and v is not None else
                 number(v, 4) + (unit_suffix(target_unit, tr) if key in UNIT_MEASURES and v is not None else "")
                 for v in shown]
        rows.append((tr(f"measure.{key}"), *cells, tr(f"measure.{key}.meaning", target=target)))
    return tuple(rows)
