"""Which metrics a sweep can rank by, their direction, and the leaderboard itself.

A run's metrics are ``result.json`` flattened: the top-level numbers (``loss``, ``val_loss``,
``iterations``, ...), the fit statistics (``r2``, ``rmse``, ...) and the same statistics on the
validation rows prefixed ``val_``. Ranking puts finished runs with a finite metric first (those
that converged before those that did not, each best first, ties broken by time and then by the
order the runs were made), then finished runs without the metric, then failed, running and
pending runs. So a run that did not converge is never best while a converged run exists.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Iterable, Sequence

TOP_LEVEL = ("loss", "val_loss", "iterations", "function_evaluations", "elapsed_s")
FIT_STATS = ("r2", "rmse", "mae", "chi_square", "reduced_chi_square", "aic", "bic", "accuracy", "log_loss")
VALIDATION_STATS = ("r2", "rmse", "mae", "accuracy", "log_loss")
KNOWN_METRICS = TOP_LEVEL + FIT_STATS + tuple(f"val_{m}" for m in VALIDATION_STATS)
HIGHER_IS_BETTER = ("r2", "accuracy", "val_r2", "val_accuracy")
STATUS_ORDER = {"done": 0, "failed": 1, "running": 2, "pending": 3}
METRIC_COLUMNS = ("loss", "val_loss", "r2", "rmse", "mae", "val_r2", "val_rmse", "val_mae", "aic", "bic",
                  "reduced_chi_square", "accuracy", "val_accuracy", "log_loss", "val_log_loss",
                  "converged", "iterations", "elapsed_s")


def default_goal(metric: str) -> str:
    return "max" if metric in HIGHER_IS_BETTER else "min"


def flatten_metrics(result: dict) -> dict:
    """The numbers a leaderboard shows, from a run's ``result.json`` payload."""
    flat = {k: result.get(k) for k in TOP_LEVEL if k in result}
    if "converged" in result:
        flat["converged"] = bool(result["converged"])
    for name, value in (result.get("metrics") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "n":
            flat[name] = value
    for name, value in (result.get("validation_metrics") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "n":
            flat[f"val_{name}"] = value
    return flat


def metric_value(metrics: dict | None, metric: str) -> float | None:
    """The metric as a finite float, or None when the run has no usable value."""
    value = (metrics or {}).get(metric)
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def rank(records: Iterable, metric: str, goal: str) -> list:
    """``records`` (objects with ``status``, ``metrics``, ``seq``) best first."""
    sign = -1.0 if goal == "max" else 1.0

    def order(record):
        value = metric_value(record.metrics, metric) if record.status == "done" else None
        if value is not None:
            # A run that did not converge ranks below every run that did, whatever its metric
            # (its number is where the optimizer gave up, not an answer); ties on the metric go
            # to the faster run.
            unconverged = (record.metrics or {}).get("converged") is False
            elapsed = metric_value(record.metrics, "elapsed_s")
            return (0, unconverged, sign * value, math.inf if elapsed is None else elapsed, record.seq)
        return (1 + STATUS_ORDER.get(record.status, 9), 0.0, False, 0.0, record.seq)

    return sorted(records, key=order)


def best_record(records: Iterable, metric: str, goal: str):
    """The winning finished run, or None when no finished run has the metric."""
    ranked = rank(records, metric, goal)
    if ranked and ranked[0].status == "done" and metric_value(ranked[0].metrics, metric) is not None:
        return ranked[0]
    return None


def metric_columns(records: Sequence, metric: str) -> list[str]:
    present = {name for r in records for name in (r.metrics or {})}
    ordered = [metric] + [m for m in METRIC_COLUMNS if m in present and m != metric]
    return ordered + sorted(present - set(ordered))


def _cell(value, digits: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if digits is None else f"{value:.{digits}g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def leaderboard_rows(records: Sequence, space_keys: Sequence[str], metric: str, goal: str,
                     *, show_config: bool, digits: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the leaderboard, best first (every run, whatever its status).

    Numbers are exact (``repr``) unless ``digits`` asks for that many significant digits."""
    metrics = metric_columns(records, metric)
    header = ["rank", "key", "status"] + (["config"] if show_config else []) + list(space_keys)
    header += metrics + ["attempts", "started_at", "finished_at", "host", "result_dir", "error"]
    rows = []
    for position, record in enumerate(rank(records, metric, goal), start=1):
        row = [position, record.key, record.status] + ([record.config_path] if show_config else [])
        row += [record.overrides.get(k) for k in space_keys]
        row += [(record.metrics or {}).get(m) for m in metrics]
        row += [record.attempts, record.started_at, record.finished_at, record.host, record.result_dir,
                record.error]
        rows.append([_cell(v, digits) for v in row])
    return header, rows


def leaderboard_csv(records: Sequence, space_keys: Sequence[str], metric: str, goal: str,
                    *, show_config: bool) -> str:
    header, rows = leaderboard_rows(records, space_keys, metric, goal, show_config=show_config)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_leaderboard(path: Path, records: Sequence, space_keys: Sequence[str], metric: str, goal: str,
                      *, show_config: bool) -> Path:
    from workbench.atomic import write_text

    return write_text(path, leaderboard_csv(records, space_keys, metric, goal, show_config=show_config))
