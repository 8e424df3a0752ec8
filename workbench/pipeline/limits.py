"""What may stop a fit from outside: Ctrl-C or SIGTERM, a time limit, a memory limit.

A fit stops *gently* when it can: a signal or the time limit sets a flag that the fit's per-step
callback reads, the optimizer returns the current point, and the fit writes it with the status
``interrupted`` or ``timeout``. When a step does not end (a huge step, a hung computation), a
second Ctrl-C, or the time limit plus a grace period, stops it *hard* with an exception.

The memory limit is the process's address space (``RLIMIT_AS``), set to what the process uses
when the limit is applied plus ``max_memory``: an allocation beyond it raises ``MemoryError``
instead of taking the machine down. Signals and timers work in a process's main thread only,
and the address space is the whole process's: a sweep runs a limited run that a Dask worker
hands to a thread in a child process (``workbench.sweep.worker``). A platform that has neither
the timer nor ``RLIMIT_AS`` refuses the limit when it is read (exit 2), never ignores it.
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from workbench.errors import InputError

GRACE_S = 5.0                   # after the time limit, how long a step may take to end by itself
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


@dataclass(frozen=True)
class RunLimits:
    timeout: float | None = None        # seconds of wall time
    max_memory: int | None = None       # bytes the run may allocate

    def describe_timeout(self) -> str:
        return "no timeout" if self.timeout is None else f"timeout {self.timeout:g} s"

    def describe_memory(self) -> str:
        return f"max_memory {format_bytes(self.max_memory or 0)}"


# Address space that numpy, pandas and pyarrow with their native buffers and threads take (measured
# ~320 MB); a memory limit below it is likely to fail runs however small they are.
NATIVE_LIBRARIES_BYTES = 300 << 20


def low_memory_warning(limits: RunLimits) -> str | None:
    """A warning when ``max_memory`` is below what the numerical libraries take by themselves."""
    if limits.max_memory is None or limits.max_memory >= NATIVE_LIBRARIES_BYTES:
        return None
    return (f"{limits.describe_memory()} is below what loading numpy and pandas takes (about "
            f"{format_bytes(NATIVE_LIBRARIES_BYTES)} of address space, which native libraries reserve for their "
            f"buffers and threads): runs are likely to fail with 'ran out of memory'")


class TimeLimitReached(BaseException):
    """The time limit passed and the run did not stop by itself (a BaseException, so that no
    ``except Exception`` in the fit swallows it)."""


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def parse_bytes(value: Any, where: str) -> int:
    """``2GB``, ``512 MB``, ``1.5g`` or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value)) if isinstance(value, str) else None
    if match and match.group(2).lower() in _UNITS and float(match.group(1)) > 0:
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise InputError(f"expected a size such as 2GB or 512MB, got {value!r}", where=where)


def parse_seconds(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    raise InputError(f"expected a positive number of seconds, got {value!r}", where=where)


def parse_limits(raw: Mapping, source: str) -> RunLimits:
    """``timeout:`` and ``max_memory:`` from a mapping (a sweep file), each optional."""
    timeout = raw.get("timeout")
    memory = raw.get("max_memory")
    if timeout is not None and not hasattr(signal, "setitimer"):
        raise InputError("this platform has no interval timer (SIGALRM) to stop a run at a time limit",
                         where=f"{source}: timeout")
    if memory is not None and not _can_limit_memory():
        raise InputError("this platform cannot limit a process's address space (RLIMIT_AS)",
                         where=f"{source}: max_memory")
    return RunLimits(None if timeout is None else parse_seconds(timeout, f"{source}: timeout"),
                     None if memory is None else parse_bytes(memory, f"{source}: max_memory"))


def _can_limit_memory() -> bool:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return False
    return hasattr(resource, "RLIMIT_AS")


class StopFlag:
    """Set by a signal or the timer; read by the fit at each step."""

    def __init__(self) -> None:
        self.reason: str | None = None      # "interrupted" | "timeout"
        self.signal_name: str | None = None

    def __bool__(self) -> bool:
        return self.reason is not None


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def catch_signals(flag: StopFlag) -> Iterator[None]:
    """SIGINT and SIGTERM set ``flag`` (the fit stops at the end of its step); a second one
    raises ``KeyboardInterrupt`` at once."""
    if not _in_main_thread():
        yield
        return

    def on_signal(signum, frame) -> None:
        if flag.reason == "interrupted":
            raise KeyboardInterrupt(signal.Signals(signum).name)
        flag.reason, flag.signal_name = "interrupted", signal.Signals(signum).name

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def time_limit(seconds: float | None, flag: StopFlag | None = None, grace: float = GRACE_S) -> Iterator[None]:
    """After ``seconds``, set ``flag`` (when given) and raise ``TimeLimitReached`` ``grace``
    seconds later if the run is still going; without a flag, or with no grace, raise at once
    (the flag then still records that the limit, not something else, ended the run)."""
    if seconds is None or not _in_main_thread():
        yield
        return

    def on_alarm(signum, frame) -> None:
        if flag is not None and not flag:
            flag.reason = "timeout"
            if grace > 0:
                signal.setitimer(signal.ITIMER_REAL, grace)
                return
        raise TimeLimitReached(f"the time limit of {seconds:g} s was reached")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space_in_use() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextlib.contextmanager
def memory_limit(max_memory: int | None) -> Iterator[None]:
    """Cap this process's address space at its current size plus ``max_memory``."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        resource = None
    if max_memory is None or resource is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = _address_space_in_use() + max_memory
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
