"""Where runs execute: local worker processes or an existing Dask cluster, behind one interface.

Both executors take a ``RunTask``, run ``workbench.sweep.worker.execute`` somewhere, and hand
back ``(future, report)`` pairs as runs finish, where the report is ``execute``'s dict or the
exception that prevented it (a worker process that died). The coordinator keeps at most
``capacity`` runs in flight, so a run marked *running* in the store really is running.

Local workers are started with the ``spawn`` method, after the BLAS thread variables are set
to 1 in the environment they inherit: each run then uses one core and N workers do not fight
over the machine's cores (a forked child would inherit an already-initialised BLAS).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from typing import Iterator

from workbench.pipeline.dask_sums import CONNECT_TIMEOUT_S, connect
from workbench.sweep.worker import RUN_PROCESS_ENV, RunTask, execute, init_local_worker


@contextlib.contextmanager
def single_threaded_env() -> Iterator[None]:
    """Set the BLAS thread variables (and a headless plot backend) for child processes."""
    saved = {name: os.environ.get(name) for name in RUN_PROCESS_ENV}
    os.environ.update(RUN_PROCESS_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalExecutor:
    """A pool of ``workers`` spawned processes on this machine."""

    label = "local"
    shares_files = True             # workers see the output folder: they write runs in place

    def __init__(self, workers: int):
        self.capacity = max(1, int(workers))
        self.host = socket.gethostname()
        self._pool = None
        self._pool_of: dict = {}        # future -> the pool it was submitted to

    def _ensure_pool(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.capacity, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=init_local_worker, initargs=(os.getpid(),))
        return self._pool

    def submit(self, task: RunTask):
        from concurrent.futures.process import BrokenProcessPool

        with single_threaded_env():
            try:
                future = self._ensure_pool().submit(execute, task)
            except BrokenProcessPool:
                # A worker died since the last wait; its runs will report it. Start a fresh pool.
                self._discard_pool()
                future = self._ensure_pool().submit(execute, task)
        self._pool_of[future] = self._pool
        return future

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def wait_any(self, futures: list) -> list[tuple[object, object]]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        finished = []
        for future in done:
            pool = self._pool_of.pop(future, None)
            try:
                finished.append((future, future.result()))
            except BrokenProcessPool as err:
                finished.append((future, err))
                if pool is self._pool:
                    # A worker died (killed, out of memory): the pool is unusable, start a fresh one.
                    self._discard_pool()
            except Exception as err:  # noqa: BLE001 - reported as that run's failure
                finished.append((future, err))
        return finished

    @staticmethod
    def worker_died(report) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(report, BrokenProcessPool)

    def close(self, *, abort: bool = False) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if abort:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:   # our own workers, by their handles
                with contextlib.suppress(Exception):
                    process.kill()
            for process in processes:
                with contextlib.suppress(Exception):
                    process.join(timeout=5)
        else:
            pool.shutdown(wait=True)


class DaskExecutor:
    """Runs on an existing ``dask.distributed`` scheduler; results come back to the coordinator."""

    label = "dask"
    shares_files = False            # workers may be elsewhere: files come back with the result

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT_S):
        self.address = address
        self.client = connect(address, timeout=timeout, where="--scheduler")
        self.host = f"dask {address}"
        self._capacity, self._capacity_checked = 1, float("-inf")
        from distributed import as_completed

        self._finished = as_completed(loop=self.client.loop)

    @property
    def capacity(self) -> int:
        """Runs to keep in flight: the cluster's worker threads, re-read every few seconds so an
        adaptive cluster that grows (or shrinks) is used as it is."""
        import time

        if time.monotonic() - self._capacity_checked > 5.0:
            with contextlib.suppress(Exception):
                self._capacity = max(1, sum(self.client.nthreads().values()))
            self._capacity_checked = time.monotonic()
        return self._capacity

    def submit(self, task: RunTask):
        future = self.client.submit(execute, task, pure=False,
                                    key=f"workbench-run-{task.key}-{uuid.uuid4().hex[:8]}")
        self._finished.add(future)
        return future

    def wait_any(self, futures: list) -> list[tuple[object, object]]:
        done = [next(self._finished)]
        done += [f for f in self._finished.next_batch(block=False) if f is not None]
        finished = []
        for future in done:
            try:
                finished.append((future, future.result()))
            except Exception as err:  # noqa: BLE001 - KilledWorker and the like: that run failed
                finished.append((future, err))
        return finished

    @staticmethod
    def worker_died(report) -> bool:
        return False    # the scheduler retries a task whose worker died and names the culprit itself

    def close(self, *, abort: bool = False) -> None:
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)


def make_executor(workers: int | None, scheduler: str | None, *, timeout: float = CONNECT_TIMEOUT_S):
    """The executor the options ask for; connecting to a scheduler is checked here (exit 2)."""
    if scheduler:
        return DaskExecutor(scheduler, timeout=timeout)
    return LocalExecutor(workers or os.cpu_count() or 1)
