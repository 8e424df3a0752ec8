"""The coordinator's loop: keep the executor busy, record each result as it arrives.

The coordinator is the only writer of the store and the only one to put a run's folder in
place (workers fill ``.partial`` folders at most). A run is marked
*running* when it is handed to a worker (at most ``executor.capacity`` at a time) and *done* or
*failed* once its folder is in place, in that order, so the store never claims a result whose
files are missing.

When a local worker process dies (killed, out of memory, a crash in native code) the pool fails
every run in flight, innocent or not. Those runs are run again one at a time: the one that
kills its worker alone is recorded as failed, the others finish normally.
"""

from __future__ import annotations

import shutil
import sys
from collections import deque
from pathlib import Path
from typing import Callable, Sequence

from workbench.sweep.members import Member, describe_overrides
from workbench.sweep.rundir import partial_dir, write_run_dir
from workbench.sweep.store import Finished, RunStore, utc_now
from workbench.sweep.worker import DEFAULT_RUNNER, RunTask


def _config_yaml(raw: dict) -> str:
    from workbench.config import to_yaml

    return to_yaml(raw)


class Coordinator:
    def __init__(self, store: RunStore, executor, out_dir: Path, *, reports: bool = False,
                 runner: str | None = None, quiet: bool = False, warn: Callable[[str], None] | None = None):
        self.store = store
        self.executor = executor
        self.out_dir = out_dir
        self.reports = reports
        self.runner = runner or DEFAULT_RUNNER
        self.quiet = quiet
        self.warn = warn or (lambda text: print(text, file=sys.stderr))
        self.in_flight: dict[object, Member] = {}
        self.shared: set[str] = set()       # keys that were in flight together with another run
        self.queue: deque = deque()
        self.suspects: deque = deque()
        self.done = 0
        self.failed = 0

    def task(self, member: Member) -> RunTask:
        source = f"{member.config_path.name} [{describe_overrides(member.overrides)}]"
        partial = str(partial_dir(self.out_dir, member.key)) if self.executor.shares_files else None
        return RunTask(key=member.key, raw=member.raw, base_dir=str(member.base_dir), source=source,
                       name=member.name, overrides=member.overrides, reports=self.reports, runner=self.runner,
                       partial_dir=partial)

    def run(self, todo: Sequence[Member], label: str = "sweep") -> None:
        """Execute ``todo``; on any exception the runs in flight are put back to pending."""
        self.queue, self.suspects = deque(todo), deque()
        with self._progress(len(todo), label) as bar:
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
            shutil.rmtree(partial_dir(self.out_dir, member.key), ignore_errors=True)
            finished = Finished(status="failed", started_at=now, finished_at=now, host=self.executor.host,
                                pid=0, elapsed_s=0.0, error=error)
        else:
            finished = write_run_dir(self.out_dir, member.key, report, _config_yaml(member.raw), member.overrides)
        self.store.mark_finished(member.key, finished)
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

    def _progress(self, total: int, label: str):
        import contextlib

        if self.quiet or not sys.stderr.isatty() or total == 0:
            return contextlib.nullcontext(None)
        import shutil

        from tqdm import tqdm

        # Sized explicitly: a terminal that reports 0 x 0 (some ptys) would otherwise hide the bar.
        columns, lines = shutil.get_terminal_size()
        return tqdm(total=total, desc=label, unit="run", file=sys.stderr, ncols=columns, nrows=lines,
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")
