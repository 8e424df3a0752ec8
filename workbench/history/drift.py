"""Drift: did tonight's fit move away from the last converged fit of the same name?

Each parameter is compared with the previous fit's value on the scale of both uncertainties:

    z = (now − previous) / √(se_previous² + se_now²)

and it has drifted when |z| > ``threshold`` (3 by default: a change that two honest fits of
the same process would show about once in 370 comparisons). A parameter without a standard
error in either fit cannot be put on that scale; it has drifted when its relative change
|now − previous| / max(|previous|, |now|) exceeds ``relative_tolerance``, and the entry says
so (``"test": "relative"``). Network weights (names like ``W1[0,3]``) are not compared: a
network can reach the same fit with its hidden units in another order.

The fit has also drifted when it fits worse: its RMSE on the fitted rows (the log loss for a
0/1 target) rose by more than ``metric_tolerance`` relative to the previous fit's,
now > (1 + metric_tolerance) · previous. A fit that did not converge is not compared (its
parameters are not an estimate); use ``--strict`` to be alerted of it (exit 4).

Each entry of the ``drift`` list in result.json is one of

    {"param": "b", "previous": …, "now": …, "previous_stderr": …, "stderr": …, "z": …,
     "test": "z", "threshold": 3, "previous_time": …}
    {"param": "b", "previous": …, "now": …, "z": null, "relative_change": …,
     "test": "relative", "tolerance": 0.1, "previous_time": …}
    {"metric": "rmse", "previous": …, "now": …, "relative_change": …,
     "test": "metric", "tolerance": 0.5, "previous_time": …}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.history.store import FitRow

MAX_TRAJECTORY = 60     # fits kept per parameter in ``drift_history`` (for the report's chart)


@dataclass(frozen=True)
class DriftSettings:
    """The config's ``drift`` section (its defaults live in the config schema)."""

    threshold: float
    metric_tolerance: float
    relative_tolerance: float


def compared_params(params: dict) -> list[str]:
    """The parameters drift looks at: every scalar one, no network weights."""
    return [name for name in params if "[" not in name]


def quality_metric(metrics: dict) -> str:
    """The metric whose rise means a worse fit: log loss for a 0/1 target, else RMSE."""
    return "log_loss" if metrics.get("log_loss") is not None else "rmse"


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _param_entry(name: str, previous: FitRow, result: dict, settings: DriftSettings) -> dict | None:
    before, now = _number(previous.params.get(name)), _number(result["params"].get(name))
    if before is None or now is None:
        return None
    se_before, se_now = _number(previous.stderr.get(name)), _number(result["stderr"].get(name))
    entry = {"param": name, "previous": before, "now": now, "previous_time": previous.time}
    if se_before is not None and se_now is not None and math.hypot(se_before, se_now) > 0:
        z = (now - before) / math.hypot(se_before, se_now)
        entry.update(previous_stderr=se_before, stderr=se_now, z=z, test="z", threshold=settings.threshold)
        return entry if abs(z) > settings.threshold else None
    size = max(abs(before), abs(now))
    change = abs(now - before) / size if size > 0 else 0.0
    entry.update(z=None, relative_change=change, test="relative", tolerance=settings.relative_tolerance)
    return entry if change > settings.relative_tolerance else None


def _metric_entry(previous: FitRow, result: dict, settings: DriftSettings) -> dict | None:
    metric = quality_metric(result.get("metrics") or {})
    before, now = _number(previous.metrics.get(metric)), _number((result.get("metrics") or {}).get(metric))
    if before is None or now is None or before <= 0:
        return None
    change = (now - before) / before
    if change <= settings.metric_tolerance:
        return None
    return {"metric": metric, "previous": before, "now": now, "relative_change": change, "test": "metric",
            "tolerance": settings.metric_tolerance, "previous_time": previous.time}


def compare(previous: FitRow, result: dict, settings: DriftSettings) -> list[dict]:
    """The drift entries of ``result`` against the earlier converged fit ``previous`` (empty: none)."""
    entries = [_param_entry(name, previous, result, settings) for name in compared_params(result["params"])]
    entries.append(_metric_entry(previous, result, settings))
    return [e for e in entries if e is not None]


def trajectories(earlier: list[FitRow], result: dict, now_time: str) -> dict[str, list[list]]:
    """``drift_history``: each compared parameter's [time, value, stderr] over the earlier fits
    (oldest first) and this one, at most ``MAX_TRAJECTORY`` points."""
    rows = [(row.time, row.params, row.stderr) for row in earlier[-(MAX_TRAJECTORY - 1):]]
    rows.append((now_time, result["params"], result["stderr"]))
    return {name: [[time, _number(params.get(name)), _number(stderr.get(name))] for time, params, stderr in rows
                   if name in params]
            for name in compared_params(result["params"])}


def _g(value) -> str:
    return "—" if value is None else f"{value:.6g}"


def describe(entry: dict) -> str:
    """One entry in words: what moved, from what to what, and by which test."""
    if "metric" in entry:
        return (f"{entry['metric']} rose from {_g(entry['previous'])} to {_g(entry['now'])} "
                f"(+{entry['relative_change']:.0%}, tolerance {entry['tolerance']:.0%})")
    moved = f"{entry['param']} moved from "
    if entry["test"] == "z":
        return (moved + f"{_g(entry['previous'])} ± {_g(entry['previous_stderr'])} to {_g(entry['now'])} ± "
                f"{_g(entry['stderr'])} (z = {entry['z']:+.2f}, threshold {entry['threshold']:g})")
    return (moved + f"{_g(entry['previous'])} to {_g(entry['now'])} ({entry['relative_change']:.0%} change; no "
            f"standard error, so compared with the relative tolerance {entry['tolerance']:.0%})")


def summary_lines(result: dict) -> list[str]:
    """What the console says about drift for a fit recorded in a history (nothing otherwise)."""
    check = result.get("drift_check")
    if check is None:
        return []
    if check.get("compared_with") is None:
        return [f"history {check['history']}: {check['note']}"]
    drift = result.get("drift") or []
    if not drift:
        return [f"history {check['history']}: no drift against the fit of {check['compared_with']}"]
    lines = [f"DRIFT against the fit of {check['compared_with']} in {check['history']}:"]
    return lines + [f"  {describe(entry)}" for entry in drift]
