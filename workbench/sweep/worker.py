"""What a worker process does for one run, locally or on a Dask cluster.

``execute(task)`` runs the task's runner and reports back status, metrics and the error. A
worker on another machine (Dask) runs in a private temporary folder and sends every file the
run wrote back as bytes, so it needs no shared output folder. A local worker writes straight
into the run's ``.partial`` folder, which saves the coordinator copying every file; it never
touches the store or a finished run folder: only the coordinator renames a partial folder into
place. ``execute`` never raises for a failing run: the failure is the report.

The runner is named by ``"module:function"`` so that it crosses process boundaries by name;
the default fits the config with ``workbench.pipeline.fit.run_fit``. Tests and benchmarks name
their own (``runner(task, out_dir) -> result dict``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import socket
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workbench.pipeline.limits import RunLimits

DEFAULT_RUNNER = "workbench.sweep.worker:fit_runner"
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
# What a run's own process adds to the environment it inherits: one core per run, headless plots.
RUN_PROCESS_ENV = {**SINGLE_THREAD_ENV, "MPLBACKEND": "Agg"}
ERROR_FILE = "error.txt"
NATIVE_STDERR = "stderr.txt"    # what native libraries printed during a memory-limited run


@dataclass(frozen=True)
class RunTask:
    key: str
    raw: dict                   # the resolved config (data.path absolute)
    base_dir: str
    source: str                 # names the run in error messages
    name: str
    overrides: dict = field(default_factory=dict)
    reports: bool = False
    runner: str = DEFAULT_RUNNER
    partial_dir: str | None = None  # write here directly (local workers); None: send files back
    limits: RunLimits = field(default_factory=RunLimits)


def fit_runner(task: RunTask, out_dir: Path) -> dict:
    """The real run: validate the config and fit it; returns ``result.json``'s payload."""
    from workbench.config import parse_config
    from workbench.pipeline.fit import run_fit

    raw = dict(task.raw)
    if not task.reports:
        # Per-run plots cost more than a small fit; the sweep report draws its own.
        output = dict(raw.get("output") or {})
        output["plots"] = False
        raw["output"] = output
    config = parse_config(raw, base_dir=Path(task.base_dir), source=task.source,
                          default_name=task.name)
    # The run's folder is already a staging folder that only the coordinator moves into place.
    return run_fit(config, out_dir, quiet=True, reports=task.reports, staged=False).result


_RUNNERS: dict[str, Callable] = {}


def load_runner(name: str) -> Callable:
    if name not in _RUNNERS:
        module, _, function = name.partition(":")
        _RUNNERS[name] = getattr(importlib.import_module(module), function)
    return _RUNNERS[name]


def _collect(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _read_result(folder: Path) -> dict | None:
    import json

    try:
        return json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run_in(task: RunTask, out_dir: Path) -> tuple[str, str | None, dict | None]:
    """(status, error, result) of the task's runner writing into ``out_dir``, within the task's
    time and memory limits. A run the time limit ended is said to be so, whatever the runner made
    of the interruption, and a message names the run's folder as it will be kept
    (``runs/<key>``), never the temporary one it is written in."""
    from workbench.errors import WorkbenchError
    from workbench.pipeline.limits import StopFlag, TimeLimitReached, memory_limit, time_limit

    result = None
    expired = StopFlag()
    if task.limits.max_memory:
        _load_before_memory_limit(task)
    try:
        with time_limit(task.limits.timeout, expired, grace=0), memory_limit(task.limits.max_memory):
            result = load_runner(task.runner)(task, out_dir)
        status, error = "done", None
    except TimeLimitReached:
        status, error = "failed", _time_limit_message(task, out_dir)
    except MemoryError:
        status, error = "failed", (f"ran out of memory ({task.limits.describe_memory()})" if task.limits.max_memory
                                   else "ran out of memory")
    except WorkbenchError as err:
        status, error = "failed", str(err).splitlines()[0] if str(err) else type(err).__name__
    except Exception as err:  # a bug or a crash in one run must not end the sweep
        first = str(err).splitlines()[0] if str(err) else ""
        status, error = "failed", f"{type(err).__name__}: {first}".rstrip(": ")
        if task.limits.max_memory and _NATIVE_OUT_OF_MEMORY.search(first):
            error = f"ran out of memory ({task.limits.describe_memory()}): {error}"
        else:
            (out_dir / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
    if expired:
        status, error = "failed", _time_limit_message(task, out_dir)
    if error is not None:
        error = error.replace(str(out_dir), f"runs/{task.key}")
    if not isinstance(result, dict):
        result = _read_result(out_dir)
    return status, error, result


# How native libraries (Arrow, BLAS, the C++ runtime) say that an allocation or a thread failed.
_NATIVE_OUT_OF_MEMORY = re.compile(r"Cannot allocate memory|Resource temporarily unavailable|bad_alloc|"
                                   r"out of memory|Failed to launch worker thread", re.IGNORECASE)


def _load_before_memory_limit(task: RunTask) -> None:
    """Load what every run needs (numpy with its BLAS buffers, pandas and pyarrow, the runner)
    before the memory limit is set. The limit then bounds what the run itself allocates, the same
    on a fresh worker as on one that ran before (loading them takes ~300 MB of address space), and
    no library meets the limit half-initialised: OpenBLAS, unable to allocate its buffers, prints
    to stderr and aborts the whole worker process."""
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))       # OpenBLAS allocates its buffers at the first call
    import pandas  # noqa: F401
    import pyarrow.csv  # noqa: F401

    load_runner(task.runner)


def _time_limit_message(task: RunTask, out_dir: Path) -> str:
    message = f"stopped at the time limit ({task.limits.describe_timeout()})"
    if (out_dir / "result.json").is_file():
        message += f"; its last parameters are in runs/{task.key}/result.json"
    return message


def execute(task: RunTask) -> dict:
    """Run ``task`` here; returns the report the coordinator records (see the module docstring).

    With ``task.partial_dir`` (a local worker, same file system) the run writes straight into
    that folder, which only the coordinator then renames into place; otherwise it writes to a
    temporary folder whose files travel back in the report. A run with a time or memory limit
    that is handed to a thread (a Dask worker) runs in a child process, where the limits hold."""
    import shutil

    from workbench.sweep.leaderboard import flatten_metrics
    from workbench.sweep.store import utc_now

    started_at, clock = utc_now(), time.perf_counter()
    files, pid = None, os.getpid()
    if _needs_own_process(task):
        status, error, result, files, pid = _run_in_child_process(task)
    elif task.partial_dir:
        out_dir = Path(task.partial_dir)
        shutil.rmtree(out_dir, ignore_errors=True)     # what a crashed earlier attempt left
        out_dir.mkdir(parents=True)
        with _native_stderr_to(out_dir / NATIVE_STDERR if task.limits.max_memory else None):
            status, error, result = _run_in(task, out_dir)
    else:
        with tempfile.TemporaryDirectory(prefix=f"workbench-run-{task.key}-") as tmp:
            status, error, result = _run_in(task, Path(tmp))
            files = _collect(Path(tmp))
    return {"key": task.key, "status": status, "error": error,
            "metrics": flatten_metrics(result) if result else None,
            "started_at": started_at, "finished_at": utc_now(), "host": socket.gethostname(),
            "pid": pid, "elapsed_s": round(time.perf_counter() - clock, 6), "files": files}


# A limited run handed to a thread (a Dask worker) runs in a child process instead: the time
# limit's alarm works in a process's main thread only, and the memory limit (RLIMIT_AS) holds for
# a whole process, which a Dask worker shares with other runs. Dask's worker processes are
# daemonic, and multiprocessing gives daemonic processes no children: hence a plain subprocess.
CHILD_START_S = 15.0    # what a child may take to start (its imports) before its own alarm is set
_CHILD_TASK, _CHILD_OUTCOME, _CHILD_STDERR, _CHILD_RUN = "task.pickle", "outcome.pickle", "stderr.txt", "run"
_CHILD_BOOT = ("import sys, json; sys.path[:0] = json.loads(sys.argv[2]); "
               "from workbench.sweep.worker import child_main; child_main(sys.argv[1])")


def _needs_own_process(task: RunTask) -> bool:
    import threading

    limited = task.limits.timeout is not None or task.limits.max_memory is not None
    return limited and threading.current_thread() is not threading.main_thread()


def _run_in_child_process(task: RunTask) -> tuple[str, str | None, dict | None, dict[str, bytes], int]:
    """(status, error, result, files, pid) of ``task`` run in a child process, where its limits
    hold as in a local worker. A child still alive ``GRACE_S + CHILD_START_S`` after its time
    limit (stuck in native code, where the alarm cannot reach it) is killed; a child that dies
    is the run's failure, with the reason."""
    import json
    import pickle
    import subprocess
    import sys

    from workbench.pipeline.limits import GRACE_S

    with tempfile.TemporaryDirectory(prefix=f"workbench-run-{task.key}-") as tmp:
        folder = Path(tmp)
        out_dir = folder / _CHILD_RUN
        out_dir.mkdir()
        # Our own object to our own child, in a folder only this user can read: never user input.
        (folder / _CHILD_TASK).write_bytes(pickle.dumps(task))
        deadline = None if task.limits.timeout is None else task.limits.timeout + GRACE_S + CHILD_START_S
        killed_at_limit = False
        with open(folder / _CHILD_STDERR, "wb") as stderr:
            child = subprocess.Popen([sys.executable, "-c", _CHILD_BOOT, tmp, json.dumps([p for p in sys.path if p])],
                                     stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                     env={**os.environ, **RUN_PROCESS_ENV})
            try:
                child.wait(deadline)
            except subprocess.TimeoutExpired:
                killed_at_limit = True
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        status, error, result = _child_outcome(task, folder, child.returncode, killed_at_limit)
        if (folder / _CHILD_STDERR).stat().st_size and not (out_dir / NATIVE_STDERR).exists():
            os.replace(folder / _CHILD_STDERR, out_dir / NATIVE_STDERR)
        return status, error, result, _collect(out_dir), child.pid


def _child_outcome(task: RunTask, folder: Path, returncode: int, killed_at_limit: bool):
    import pickle

    out_dir = folder / _CHILD_RUN
    if killed_at_limit:
        return "failed", _time_limit_message(task, out_dir), _read_result(out_dir)
    try:
        return pickle.loads((folder / _CHILD_OUTCOME).read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError):
        return "failed", _death_message(task, returncode), _read_result(out_dir)


def _death_message(task: RunTask, returncode: int) -> str:
    import signal

    how = f"exited with status {returncode}"
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    message = f"the process running it {how} before it reported"
    if task.limits.max_memory:
        # Under an address-space limit a process dies when a native library cannot allocate, and
        # the kernel's OOM killer ends it with SIGKILL.
        message = f"ran out of memory ({task.limits.describe_memory()}): {message}"
    return message


def child_main(folder: str) -> None:
    """The child process's side of ``_run_in_child_process``: run the task in ``folder`` on this
    process's main thread and leave its outcome there."""
    import pickle

    _die_with_parent()
    root = Path(folder)
    task = pickle.loads((root / _CHILD_TASK).read_bytes())
    if task.runner == DEFAULT_RUNNER:
        # What a warm worker's thread has loaded already, loaded before the run's clock starts.
        import workbench.config
        import workbench.pipeline.fit  # noqa: F401  (loaded, not used: see above)
    load_runner(task.runner)
    outcome = _run_in(task, root / _CHILD_RUN)
    staged = root / (_CHILD_OUTCOME + ".partial")
    staged.write_bytes(pickle.dumps(outcome))
    os.replace(staged, root / _CHILD_OUTCOME)


@contextlib.contextmanager
def _native_stderr_to(path: Path | None):
    """Send this process's stderr (file descriptor 2, where native libraries write: OpenBLAS
    failing to allocate under a memory limit) to ``path`` while a run goes on, so the sweep's
    console shows the run's one-line reason instead; the file is kept only when not empty."""
    if path is None:
        yield
        return
    import sys

    with contextlib.suppress(Exception):
        sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()


def init_local_worker(coordinator_pid: int) -> None:
    """Initializer of a local worker process: single-threaded BLAS, Ctrl-C left to the
    coordinator, and death with the coordinator (so a ``kill -9`` leaves no orphans)."""
    import signal
    import threading

    os.environ.update(SINGLE_THREAD_ENV)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != coordinator_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != coordinator_pid:
                os._exit(1)

    threading.Thread(target=watch, name="coordinator-watch", daemon=True).start()


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent dies (PR_SET_PDEATHSIG)."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass   # the watch thread still ends an orphan within half a second
