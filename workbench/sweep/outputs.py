"""The files a sweep leaves for its readers, each written atomically.

* ``leaderboard.csv`` – every run with its overrides and metrics, best first;
* ``best.yaml``       – the winning resolved config, ready for ``workbench fit`` from anywhere;
* ``sweep.html``      – the self-contained report (``workbench.sweep.html``);
* ``summary.json``    – for monitoring: counts by status, the best run, times, exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from workbench.atomic import write_json, write_text
from workbench.sweep.leaderboard import best_record, metric_value, write_leaderboard

LEADERBOARD = "leaderboard.csv"
BEST = "best.yaml"
REPORT = "sweep.html"
SUMMARY = "summary.json"


@dataclass
class SweepState:
    """What the outputs describe: the sweep, its runs, and how this invocation went."""

    name: str
    sweep_file: str
    out_dir: Path
    metric: str
    goal: str
    space_keys: list[str]
    show_config: bool
    records: list = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    state: str = "running"          # running | finished | interrupted
    exit_status: int | None = None
    executor: str = ""

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts

    def best(self):
        return best_record(self.records, self.metric, self.goal)


def summary_payload(state: SweepState) -> dict:
    best = state.best()
    return {
        "name": state.name, "sweep_file": state.sweep_file, "output": str(state.out_dir),
        "state": state.state, "exit_status": state.exit_status, "executor": state.executor,
        "started_at": state.started_at, "finished_at": state.finished_at,
        "total": len(state.records), "counts": state.counts(),
        "metric": state.metric, "goal": state.goal,
        "best": None if best is None else {
            "key": best.key, "value": metric_value(best.metrics, state.metric), "overrides": best.overrides,
            "config": best.config_path, "result_dir": best.result_dir},
        "failed": [{"key": r.key, "error": r.error} for r in state.records if r.status == "failed"],
    }


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


def short_overrides(overrides: dict, keys: Sequence[str] | None = None) -> str:
    import json

    keys = list(overrides) if keys is None else keys
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={json.dumps(overrides[k])}" for k in keys if k in overrides)
