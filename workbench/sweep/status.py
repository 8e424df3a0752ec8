"""Telling a sweep that died from one that runs.

A sweep killed with ``kill -9`` leaves ``summary.json`` saying *running*. The lock tells the
truth: its file still names the dead holder while nobody holds it (``SweepLock.dead_holder``).
``mark_interrupted`` then rewrites ``summary.json`` with the state ``interrupted`` and the
store's counts, the runs left *running* counted as pending (nothing runs them now).
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.sweep.leaderboard import default_goal
from workbench.sweep.lock import SweepLock, describe_holder
from workbench.sweep.outputs import SUMMARY
from workbench.sweep.state import SweepState, summary_payload
from workbench.sweep.store import STORE_NAME, RunStore


def mark_interrupted(out_dir: Path) -> dict | None:
    """When the sweep in ``out_dir`` died, rewrite its summary.json as interrupted and return it."""
    from workbench.atomic import write_json

    out_dir = Path(out_dir)
    holder = SweepLock(out_dir).dead_holder()
    store_path = out_dir / STORE_NAME
    if holder is None or not store_path.is_file():
        return None
    try:
        previous = json.loads((out_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    with RunStore(store_path, create=False) as store:
        records = store.records()
        metric = previous.get("metric") or store.get_meta("metric") or "loss"
    for record in records:
        if record.status == "running":
            record.status = "pending"
    state = SweepState(name=previous.get("name") or out_dir.name, sweep_file=previous.get("sweep_file") or "",
                       out_dir=out_dir, metric=metric, goal=previous.get("goal") or default_goal(metric), space_keys=[],
                       show_config=False, records=records, started_at=previous.get("started_at"),
                       state="interrupted", executor=previous.get("executor") or "",
                       notes=[f"the sweep ({describe_holder(holder)}) ended without finishing; run it again "
                              f"to resume"])
    payload = summary_payload(state)
    write_json(out_dir / SUMMARY, payload)
    return payload
