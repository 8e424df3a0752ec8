"""The history as a table: one row per recorded fit, one column per parameter and metric.

The same columns serve ``workbench history`` as a table and as CSV; JSON keeps every row whole.
Parameters appear in the order they were first recorded; network weights (``W1[0,3]``) are
left to JSON, as drift leaves them out.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from workbench.history.drift import compared_params
from workbench.history.store import FitRow

METRICS = ("n", "r2", "rmse", "mae", "accuracy", "log_loss")


def param_names(rows: list[FitRow]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(compared_params(row.params)))
    return list(seen)


def metric_names(rows: list[FitRow]) -> list[str]:
    return [m for m in METRICS if any(row.metrics.get(m) is not None for row in rows)]


def drifted(row: FitRow) -> list[str]:
    """What moved in this fit: parameter and metric names from its drift entries."""
    return [str(entry.get("param") or entry.get("metric")) for entry in row.drift_detail]


def csv_text(rows: list[FitRow]) -> str:
    """CSV: time, name, source, converged, status, each parameter and its standard error
    (``se(a)``), loss and metrics, drift (true/false), what drifted, the data's SHA-256, label."""
    params, metrics = param_names(rows), metric_names(rows)
    header = (["id", "time", "name", "source", "converged", "status"] + params + [f"se({p})" for p in params]
              + ["loss"] + metrics + ["drift", "drifted", "data_sha256", "workbench_version", "label"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.id, row.time, row.name, row.source, _flag(row.converged), row.status]
                        + [_cell(row.params.get(p)) for p in params] + [_cell(row.stderr.get(p)) for p in params]
                        + [_cell(row.loss)] + [_cell(row.metrics.get(m)) for m in metrics]
                        + [_flag(row.drift), " ".join(drifted(row)), row.data_sha256 or "", row.workbench_version,
                           row.label or ""])
    return buffer.getvalue()


def json_text(rows: list[FitRow]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False) + "\n"


def table_lines(rows: list[FitRow]) -> list[str]:
    """Aligned text: each parameter as value ± standard error, the main metrics, the drift flag."""
    if not rows:
        return ["no fits recorded"]
    params, metrics = param_names(rows), [m for m in metric_names(rows) if m != "n"]
    header = ["time", "name", "converged"] + params + metrics + ["drift"]
    body = []
    for row in rows:
        cells = [row.time, row.name, "yes" if row.converged else f"no ({row.status})"]
        cells += [_plus_minus(row.params.get(p), row.stderr.get(p)) if p in row.params else "" for p in params]
        cells += [_short(row.metrics.get(m)) for m in metrics]
        cells.append("DRIFT: " + ", ".join(drifted(row)) if row.drift else "-")
        body.append(cells)
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header] + body]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _cell(value) -> str:
    return "" if value is None else repr(float(value)) if isinstance(value, float) else str(value)


def _short(value) -> str:
    if value is None:
        return "—"
    return f"{value:.5g}" if isinstance(value, float) else str(value)


def _plus_minus(value, stderr) -> str:
    if value is None:
        return "—"
    return f"{value:.6g} ± {stderr:.2g}" if stderr is not None else f"{value:.6g}"
