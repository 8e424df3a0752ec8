"""What a sweep's outputs describe: the sweep, its runs, and how the current invocation went.

``SweepState`` is read by every writer of the outputs (``outputs``: leaderboard, best.yaml,
summary.json; ``html``: the report), so it lives apart from both of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from workbench.sweep.leaderboard import best_record, metric_value
from workbench.sweep.members import describe_overrides

STATES = ("running", "finished", "interrupted")


@dataclass
class SweepState:
    """The sweep, its runs, and the state of the invocation that writes the outputs."""

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
    state: str = "running"          # one of STATES
    exit_status: int | None = None
    executor: str = ""
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts

    def best(self):
        return best_record(self.records, self.metric, self.goal)


def summary_payload(state: SweepState) -> dict:
    """The content of summary.json: counts by status, the best run, times, exit status."""
    best = state.best()
    return {
        "name": state.name, "sweep_file": state.sweep_file, "output": str(state.out_dir),
        "state": state.state, "exit_status": state.exit_status, "executor": state.executor,
        "started_at": state.started_at, "finished_at": state.finished_at,
        "total": len(state.records), "counts": state.counts(),
        "metric": state.metric, "goal": state.goal,
        "best": None if best is None else {
            "key": best.key, "value": metric_value(best.metrics, state.metric), "overrides": best.overrides,
            "label": describe_overrides(best.overrides), "converged": (best.metrics or {}).get("converged"),
            "config": best.config_path, "result_dir": best.result_dir},
        "failed": [{"key": r.key, "error": r.error} for r in state.records if r.status == "failed"],
        "notes": list(state.notes),
    }

