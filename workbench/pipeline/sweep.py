"""The sweep job: expand the sweep file, store the runs, execute what is not done, write outputs.

``plan_sweep`` does every check (the sweep file, the space keys, every member's config) and
raises ``InputError`` before anything runs. ``run_sweep`` then, holding the sweep's lock:

1. recovers from a previous invocation: rows left *running* are pending again, and a run whose
   folder is complete is recorded rather than repeated;
2. runs every run that is not *done* (failed runs are retried), at most ``capacity`` at a
   time, recording each result in the store as it arrives; a failed run is recorded with its
   error and the others go on;
3. writes the leaderboard, ``best.yaml``, ``sweep.html`` and ``summary.json``.

Ctrl-C or SIGTERM stops the workers, puts the runs in flight back to pending and exits 130;
after ``kill -9`` the next invocation does the same recovery. Exit status: 0 when every run is
done, 1 when any failed.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workbench.errors import EXIT_FAILED, EXIT_OK
from workbench.sweep.members import Expansion, Member, describe_overrides, expand
from workbench.sweep.spec import SweepSpec, load_sweep
from workbench.sweep.store import STORE_NAME, RunStore, utc_now

EXIT_INTERRUPTED = 130


class SweepInterrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop cleanly, keep what is done."""


@dataclass
class Plan:
    spec: SweepSpec
    expansion: Expansion
    out_dir: Path

    @property
    def members(self) -> list[Member]:
        return self.expansion.members


@dataclass
class SweepReport:
    out_dir: Path
    counts: dict
    exit_status: int
    metric: str
    best: object = None             # the best RunRecord, if any
    ran: int = 0                    # runs executed by this invocation
    adopted: int = 0                # runs found complete on disk and recorded without running
    recovered: int = 0              # runs left running by a dead invocation
    notes: list[str] = field(default_factory=list)


def default_out_dir(spec: SweepSpec) -> Path:
    """``output:`` of the sweep file (relative to it), else reports/sweeps/<name>/ here."""
    return spec.output if spec.output is not None else (Path("reports") / "sweeps" / spec.name).resolve()


def plan_sweep(sweep_file: str | Path, out: str | Path | None = None) -> Plan:
    """Read and check the sweep and every member's config; nothing is written."""
    spec = load_sweep(sweep_file)
    expansion = expand(spec)
    out_dir = Path(out).expanduser().resolve() if out is not None else default_out_dir(spec)
    return Plan(spec, expansion, out_dir)


def dry_run_lines(plan: Plan) -> list[str]:
    """What ``--dry-run`` prints: one line per run (key, stored status, config, overrides)."""
    statuses = {}
    store_path = plan.out_dir / STORE_NAME
    if store_path.is_file():
        with RunStore(store_path, create=False) as store:
            statuses = {r.key: r.status for r in store.records()}
    spec, members = plan.spec, plan.members
    how = f"random, {spec.trials} trials, seed {spec.seed}" if spec.strategy == "random" else "grid"
    lines = [f"{spec.name}: {len(members)} runs ({how}; ranked by {plan.expansion.metric}, "
             f"{plan.expansion.goal}) -> {plan.out_dir}"]
    lines += [f"note: {note}" for note in plan.expansion.notes]
    several = len(spec.configs) > 1
    for m in members:
        where = f"{m.config_path.name}  " if several else ""
        lines.append(f"{m.key}  {statuses.get(m.key, 'new'):<7}  {where}{describe_overrides(m.overrides)}")
    return lines


def _restart(out_dir: Path) -> None:
    """Forget every run of this sweep (the caller holds the lock, which is kept)."""
    from workbench.sweep.outputs import BEST, LEADERBOARD, REPORT, SUMMARY
    from workbench.sweep.rundir import RUNS_DIR

    for name in (STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm", LEADERBOARD, BEST, REPORT, SUMMARY):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / RUNS_DIR, ignore_errors=True)


def _prepare_store(store: RunStore, plan: Plan) -> tuple[int, int]:
    """Recover rows left running, add new runs, adopt complete run folders; (recovered, adopted)."""
    from workbench.sweep.rundir import clean_leftovers, read_finished

    clean_leftovers(plan.out_dir)
    recovered = store.recover_interrupted()
    store.sync(plan.members)
    adopted = 0
    for record in store.records([m.key for m in plan.members]):
        if record.status != "done":
            finished = read_finished(plan.out_dir, record.key)
            if finished is not None:
                store.mark_finished(record.key, finished)
                adopted += 1
    store.set_meta("sweep_name", plan.spec.name)
    store.set_meta("sweep_file", str(plan.spec.path))
    store.set_meta("metric", plan.expansion.metric)
    return recovered, adopted


def _state(plan: Plan, store: RunStore, started_at: str, executor_label: str):
    from workbench.sweep.outputs import SweepState

    return SweepState(name=plan.spec.name, sweep_file=str(plan.spec.path), out_dir=plan.out_dir,
                      metric=plan.expansion.metric, goal=plan.expansion.goal, space_keys=list(plan.spec.space),
                      show_config=len(plan.spec.configs) > 1, records=store.records([m.key for m in plan.members]),
                      started_at=started_at, executor=executor_label)



def _on_sigterm(signum, frame) -> None:
    raise SweepInterrupted(f"signal {signum}")


def _execute(plan: Plan, store: RunStore, executor, state, *, runner: str | None, quiet: bool,
             warn: Callable[[str], None]) -> int:
    """Run what is not done; returns how many runs this invocation executed."""
    from workbench.sweep.coordinator import Coordinator
    from workbench.sweep.outputs import write_summary

    done = {r.key for r in state.records if r.status == "done"}
    todo = [m for m in plan.members if m.key not in done]
    coordinator = Coordinator(store, executor, plan.out_dir, reports=plan.spec.run_reports, runner=runner,
                              quiet=quiet, warn=warn)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        coordinator.run(todo, label=plan.spec.name)
    except KeyboardInterrupt:
        state.records = store.records([m.key for m in plan.members])
        state.state, state.exit_status, state.finished_at = "interrupted", EXIT_INTERRUPTED, utc_now()
        write_summary(state)
        if not quiet:
            warn(f"interrupted: {state.counts()['done']} of {len(state.records)} runs done; "
                 f"run the same command again to resume")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return coordinator.done + coordinator.failed


def run_sweep(plan: Plan, *, workers: int | None = None, scheduler: str | None = None, restart: bool = False,
              quiet: bool = False, runner: str | None = None, connect_timeout: float | None = None,
              warn: Callable[[str], None] | None = None) -> SweepReport:
    """Execute ``plan`` (see the module docstring); ``runner`` is "module:function" (tests, benchmarks)."""
    from workbench.atomic import ensure_dir
    from workbench.sweep.executors import CONNECT_TIMEOUT_S, make_executor
    from workbench.sweep.lock import SweepLock, describe_holder
    from workbench.sweep.outputs import write_all, write_summary

    warn = warn or (lambda text: print(text, file=sys.stderr))
    executor = make_executor(workers, scheduler, timeout=connect_timeout or CONNECT_TIMEOUT_S)
    try:
        ensure_dir(plan.out_dir, "sweep output folder")
        started_at = utc_now()
        with SweepLock(plan.out_dir, started_at=started_at) as lock:
            if lock.previous_holder and not quiet:
                warn(f"note: the previous invocation ({describe_holder(lock.previous_holder)}) ended without "
                     f"finishing; resuming")
            if restart:
                _restart(plan.out_dir)
            with RunStore(plan.out_dir / STORE_NAME) as store:
                recovered, adopted = _prepare_store(store, plan)
                state = _state(plan, store, started_at, f"{executor.label} ({executor.capacity} at a time)")
                already = state.counts()["done"]
                if already and not quiet:
                    warn(f"resuming: {already} of {len(plan.members)} runs already done")
                write_summary(state)
                ran = _execute(plan, store, executor, state, runner=runner, quiet=quiet, warn=warn)
                state.records = store.records([m.key for m in plan.members])
            counts = state.counts()
            state.exit_status = EXIT_FAILED if counts["failed"] else EXIT_OK
            state.state, state.finished_at = "finished", utc_now()
            write_all(state)
    finally:
        executor.close()
    return SweepReport(plan.out_dir, counts, state.exit_status, state.metric, state.best(), ran, adopted,
                       recovered, list(plan.expansion.notes))
