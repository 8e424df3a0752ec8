"""The files a sweep leaves for its readers, each written atomically.

* ``leaderboard.csv`` – every run with its overrides and metrics, best first;
* ``best.yaml``       – the winning resolved config, ready for ``workbench fit`` from anywhere;
* ``sweep.html``      – the self-contained report (``workbench.sweep.html``);
* ``summary.json``    – for monitoring: counts by status, the best run, times, exit status.
"""

from __future__ import annotations

from pathlib import Path

from workbench.atomic import write_json, write_text
from workbench.sweep.leaderboard import metric_value, write_leaderboard
from workbench.sweep.state import SweepState, summary_payload

LEADERBOARD = "leaderboard.csv"
BEST = "best.yaml"
REPORT = "sweep.html"
SUMMARY = "summary.json"
OUTPUT_NAMES = (LEADERBOARD, BEST, REPORT, SUMMARY)


def write_summary(state: SweepState) -> Path:
    return write_json(state.out_dir / SUMMARY, summary_payload(state))


def write_best(state: SweepState) -> Path | None:
    """``best.yaml`` from the winner's resolved config (data.path is already absolute)."""
    from workbench.config import to_yaml

    best = state.best()
    if best is None:
        return None
    header = (f"# best run of sweep {state.name!r}: {best.key}, {state.metric} = "
              f"{metric_value(best.metrics, state.metric):.6g}\n")
    return write_text(state.out_dir / BEST, header + to_yaml(best.config))


def write_all(state: SweepState, *, report: bool = True) -> list[Path]:
    """Leaderboard, best config, report and summary; returns the paths written."""
    out = state.out_dir
    written = [write_leaderboard(out / LEADERBOARD, state.records, state.space_keys, state.metric, state.goal,
                                 show_config=state.show_config)]
    best = write_best(state)
    if best is not None:
        written.append(best)
    if report:
        from workbench.sweep.html import write_report

        written.append(write_report(out / REPORT, state))
    written.append(write_summary(state))
    return written
