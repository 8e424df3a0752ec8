"""Running a planned sweep: the lock, signals, restart, recovery, the run loop and the outputs.

``run_sweep(plan)``, holding the sweep's lock:

1. recovers from a previous invocation: rows left *running* are pending again, half-written run
   folders are removed, and a run whose folder is complete is recorded rather than repeated
   (``--restart`` first forgets every run, deleting only what the sweep wrote);
2. runs every run that is not *done* (failed runs are retried), at most ``executor.capacity`` at
   a time. The loop is the only writer of the store and the only one to put a run's folder in
   place (workers fill ``.partial`` folders at most): a run is marked *running* when handed to
   a worker and *done* or *failed* once its folder is in place, so the store never claims a
   result whose files are missing. ``summary.json`` is rewritten as runs finish (at most every
   ``SUMMARY_EVERY_S``), so after ``kill -9`` it still shows nearly true counts, and the next
   ``sweep`` or ``runs`` call marks it interrupted with the store's counts;
3. writes the leaderboard, ``best.yaml``, ``sweep.html`` and ``summary.json``.

When a local worker process dies (killed, out of memory, a crash in native code) the pool fails
every run in flight, innocent or not. Those runs are run again one at a time: the one that kills
its worker alone is recorded as failed, the others finish normally.

Ctrl-C or SIGTERM stops the workers, puts the runs in flight back to pending and exits 130. A
full disk or an unwritable store is an ``InfrastructureError`` (exit 74). Otherwise the exit
status is 0 when every run is done, 1 when any failed.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from workbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, InfrastructureError
from workbench.sweep.members import Member, describe_overrides
from workbench.sweep.outputs import write_all, write_summary
from workbench.sweep.plan import Plan
from workbench.sweep.rundir import partial_dir, read_finished, write_run_dir
from workbench.sweep.state import SweepState
from workbench.sweep.store import STORE_NAME, Finished, RunStore, utc_now
from workbench.sweep.worker import DEFAULT_RUNNER, RunTask

SUMMARY_EVERY_S = 1.0


class SweepInterrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop cleanly, keep what is done."""


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


@contextlib.contextmanager
def infrastructure(out_dir: Path) -> Iterator[None]:
    """A write that fails for the machine's reasons (disk full, read-only, I/O error) mid-sweep
    becomes ``InfrastructureError`` (exit 74) naming the file."""
    try:
        yield
    except OSError as err:
        where = err.filename or out_dir
        raise InfrastructureError(f"cannot write {where}: {err.strerror or err}") from None


def _on_sigterm(signum, frame) -> None:
    raise SweepInterrupted(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prepare_store(store: RunStore, plan: Plan) -> tuple[int, int]:
    """Recover rows left running, add new runs, adopt complete run folders; (recovered, adopted)."""
    from workbench.sweep.folder import clean_leftovers

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


def _state(plan: Plan, store: RunStore, started_at: str, executor_label: str) -> SweepState:
    return SweepState(name=plan.spec.name, sweep_file=str(plan.spec.path), out_dir=plan.out_dir,
                      metric=plan.expansion.metric, goal=plan.expansion.goal, space_keys=list(plan.spec.space),
                      show_config=len(plan.spec.configs) > 1, records=store.records([m.key for m in plan.members]),
                      started_at=started_at, executor=executor_label, notes=list(plan.expansion.notes))


class RunLoop:
    """Keeps the executor busy and records each result as it arrives (see the module docstring)."""

    def __init__(self, plan: Plan, store: RunStore, executor, state: SweepState, *, runner: str | None = None,
                 quiet: bool = False, warn: Callable[[str], None] | None = None):
        self.plan, self.store, self.executor, self.state = plan, store, executor, state
        self.out_dir = plan.out_dir
        self.runner = runner or DEFAULT_RUNNER
        self.quiet = quiet
        self.warn = warn or (lambda text: print(text, file=sys.stderr))
        self.in_flight: dict[object, Member] = {}
        self.shared: set[str] = set()       # keys that were in flight together with another run
        self.queue: deque = deque()
        self.suspects: deque = deque()
        self.index = {record.key: i for i, record in enumerate(state.records)}
        self.summary_at = time.monotonic()
        self.done = 0
        self.failed = 0

    def task(self, member: Member) -> RunTask:
        source = f"{member.config_path.name} [{describe_overrides(member.overrides)}]"
        partial = str(partial_dir(self.out_dir, member.key)) if self.executor.shares_files else None
        return RunTask(key=member.key, raw=member.raw, base_dir=str(member.base_dir), source=source,
                       name=member.name, overrides=member.overrides, reports=self.plan.spec.run_reports,
                       runner=self.runner, partial_dir=partial, limits=self.plan.spec.limits)

    def run(self, todo: Sequence[Member]) -> None:
        """Execute ``todo``; on any exception the runs in flight are put back to pending."""
        self.queue, self.suspects = deque(todo), deque()
        with self._progress(len(todo), self.plan.spec.name) as bar:
            try:
                while self.queue or self.suspects or self.in_flight:
                    self._fill()
                    for future, report in self.executor.wait_any(list(self.in_flight)):
                        member = self.in_flight.pop(future)
                        if self.executor.worker_died(report) and member.key in self.shared:
                            self._suspect(member)
                        else:
                            self._record(member, report, bar)
            except BaseException:
                self.executor.close(abort=True)
                self.store.mark_pending([m.key for m in self.in_flight.values()])
                self.in_flight.clear()
                raise

    def _fill(self) -> None:
        """Submit up to capacity; suspects only one at a time, with nothing else in flight."""
        if self.suspects:
            if not self.in_flight:
                self._submit(self.suspects.popleft())
            return
        while self.queue and len(self.in_flight) < self.executor.capacity:
            self._submit(self.queue.popleft())

    def _submit(self, member: Member) -> None:
        if self.in_flight:
            self.shared.add(member.key)
            self.shared.update(m.key for m in self.in_flight.values())
        else:
            self.shared.discard(member.key)
        self.store.mark_running(member.key, self.executor.host)
        self._refresh(member.key)
        self.in_flight[self.executor.submit(self.task(member))] = member

    def _suspect(self, member: Member) -> None:
        """A worker died while this run shared the pool with others: which run killed it is
        unknown, so each of them is run again alone, where a death names its culprit."""
        self.store.mark_pending([member.key])
        self.shared.discard(member.key)
        self.suspects.append(member)

    def _record(self, member: Member, report, bar) -> None:
        if isinstance(report, BaseException):
            reason = str(report).splitlines()[0] if str(report) else ""
            now = utc_now()
            error = f"the worker running it died: {type(report).__name__}" + (f": {reason}" if reason else "")
            limits = self.plan.spec.limits
            if limits.max_memory and self.executor.worker_died(report):
                # A worker under an address-space limit dies when a native library cannot allocate.
                error = f"ran out of memory ({limits.describe_memory()}): the worker running it died"
            shutil.rmtree(partial_dir(self.out_dir, member.key), ignore_errors=True)
            finished = Finished(status="failed", started_at=now, finished_at=now, host=self.executor.host,
                                pid=0, elapsed_s=0.0, error=error)
        else:
            from workbench.config import to_yaml

            with infrastructure(self.out_dir):
                finished = write_run_dir(self.out_dir, member.key, report, to_yaml(member.raw), member.overrides,
                                         str(member.config_path))
        self.store.mark_finished(member.key, finished)
        self._refresh(member.key, finishing=True)
        if finished.status == "done":
            self.done += 1
        else:
            self.failed += 1
            if not self.quiet:
                message = f"run {member.key} failed ({describe_overrides(member.overrides)}): {finished.error}"
                bar.write(message, file=sys.stderr) if bar is not None else self.warn(message)
        if bar is not None:
            bar.set_postfix(done=self.done, failed=self.failed, refresh=False)
            bar.update(1)

    def _refresh(self, key: str, finishing: bool = False) -> None:
        """Keep the state's copy of ``key`` current; rewrite summary.json now and then."""
        self.state.records[self.index[key]] = self.store.record(key)
        if finishing and time.monotonic() - self.summary_at >= SUMMARY_EVERY_S:
            with infrastructure(self.out_dir):
                write_summary(self.state)
            self.summary_at = time.monotonic()

    def _progress(self, total: int, label: str):
        if self.quiet or not sys.stderr.isatty() or total == 0:
            return contextlib.nullcontext(None)
        from tqdm import tqdm

        # Sized explicitly: a terminal that reports 0 x 0 (some ptys) would otherwise hide the bar.
        columns, lines = shutil.get_terminal_size()
        return tqdm(total=total, desc=label, unit="run", file=sys.stderr, ncols=columns, nrows=lines,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")


def _execute(plan: Plan, store: RunStore, executor, state: SweepState, *, runner: str | None, quiet: bool,
             warn: Callable[[str], None]) -> int:
    """Run what is not done; returns how many runs this invocation executed."""
    done = {r.key for r in state.records if r.status == "done"}
    loop = RunLoop(plan, store, executor, state, runner=runner, quiet=quiet, warn=warn)
    try:
        with _sigterm_interrupts():
            loop.run([m for m in plan.members if m.key not in done])
    except KeyboardInterrupt:
        state.records = store.records([m.key for m in plan.members])
        state.state, state.exit_status, state.finished_at = "interrupted", EXIT_INTERRUPTED, utc_now()
        with infrastructure(plan.out_dir):
            write_summary(state)
        if not quiet:
            warn(f"interrupted: {state.counts()['done']} of {len(state.records)} runs done; "
                 f"run the same command again to resume")
        raise
    return loop.done + loop.failed


def run_sweep(plan: Plan, *, workers: int | None = None, scheduler: str | None = None, restart: bool = False,
              quiet: bool = False, runner: str | None = None, connect_timeout: float | None = None,
              warn: Callable[[str], None] | None = None) -> SweepReport:
    """Execute ``plan`` (see the module docstring); ``runner`` is "module:function" (tests, benchmarks)."""
    from workbench.atomic import ensure_dir
    from workbench.sweep.executors import CONNECT_TIMEOUT_S, make_executor
    from workbench.sweep.folder import check_output_folder, forget_runs
    from workbench.sweep.lock import SweepLock, describe_holder

    warn = warn or (lambda text: print(text, file=sys.stderr))
    executor = make_executor(workers, scheduler, timeout=connect_timeout or CONNECT_TIMEOUT_S)
    try:
        ensure_dir(plan.out_dir, "sweep output folder")
        started_at = utc_now()
        with SweepLock(plan.out_dir, started_at=started_at) as lock:
            check_output_folder(plan.out_dir)       # again, now that no other invocation can change it
            if lock.previous_holder and not quiet:
                warn(f"note: the previous invocation ({describe_holder(lock.previous_holder)}) ended without "
                     f"finishing; resuming")
            kept_notes = []
            with infrastructure(plan.out_dir):
                if restart:
                    kept_notes = forget_runs(plan.out_dir)
            with RunStore(plan.out_dir / STORE_NAME) as store:
                recovered, adopted = _prepare_store(store, plan)
                state = _state(plan, store, started_at, f"{executor.label} ({executor.capacity} at a time)")
                already = state.counts()["done"]
                if already and not quiet:
                    warn(f"resuming: {already} of {len(plan.members)} runs already done")
                with infrastructure(plan.out_dir):
                    write_summary(state)
                ran = _execute(plan, store, executor, state, runner=runner, quiet=quiet, warn=warn)
                state.records = store.records([m.key for m in plan.members])
            counts = state.counts()
            state.exit_status = EXIT_FAILED if counts["failed"] else EXIT_OK
            state.state, state.finished_at = "finished", utc_now()
            with infrastructure(plan.out_dir):
                write_all(state)
    finally:
        executor.close()
    return SweepReport(plan.out_dir, counts, state.exit_status, state.metric, state.best(), ran, adopted,
                       recovered, list(plan.expansion.notes) + kept_notes)
