"""The sweep lock: one invocation of a sweep at a time.

The lock is an ``fcntl.flock`` on ``<output>/sweep.lock``. The kernel releases a flock when its
holder dies, however it dies (``kill -9`` included), so a lock can never be left stale by a
dead process on this host; the file's content (pid, host, start time) only tells the second
invocation who holds it. When the lock is free but the file still names a previous holder, that
holder's fate is reported (``previous_holder``) and the file is rewritten.

The lock file is never deleted: deleting it would let a waiting process lock the old, unlinked
file while a third creates and locks a new one, and both would think they hold the lock.
Where ``fcntl`` is missing (Windows), an ``O_EXCL`` lock file is used instead and a file naming
a pid that no longer exists on this host is taken over as stale.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from workbench.atomic import pid_alive
from workbench.errors import LockedError

LOCK_NAME = "sweep.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def describe_holder(info: dict) -> str:
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since {info.get('started_at', '?')}")


class SweepLock:
    """Hold with ``acquire``/``release`` or as a context manager; raises ``LockedError`` if taken."""

    def __init__(self, folder: Path, *, started_at: str | None = None):
        from workbench.sweep.store import utc_now

        self.path = Path(folder) / LOCK_NAME
        self.info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": started_at or utc_now()}
        self.previous_holder: dict | None = None
        self._fd: int | None = None

    def read_holder(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
            return json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "SweepLock":
        if fcntl is None:  # pragma: no cover - Windows
            return self._acquire_exclusive_file()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.read_holder()
            raise LockedError(f"the sweep is already running: {describe_holder(holder)} holds "
                              f"{self.path}") from None
        previous = self.read_holder()
        if previous:
            self.previous_holder = previous
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(self.info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def _acquire_exclusive_file(self) -> "SweepLock":  # pragma: no cover - Windows
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self.read_holder()
                same_host = holder.get("host") == self.info["host"]
                if same_host and not pid_alive(int(holder.get("pid", 0))):
                    self.previous_holder = holder
                    os.unlink(self.path)
                    continue
                raise LockedError(f"the sweep is already running: {describe_holder(holder)} holds "
                                  f"{self.path}") from None
            os.write(fd, (json.dumps(self.info) + "\n").encode())
            self._fd = fd
            return self
        raise LockedError(f"could not take the lock {self.path}")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if fcntl is None:  # pragma: no cover - Windows
            os.close(fd)
            os.unlink(self.path)
            return
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def dead_holder(self) -> dict | None:
        """Without taking the lock: the holder the lock file names if that holder is gone (the
        file is not locked but still names it, as after ``kill -9``); None otherwise."""
        if not self.path.is_file():
            return None
        if fcntl is None:  # pragma: no cover - Windows
            holder = self.read_holder()
            alive = holder.get("host") != self.info["host"] or pid_alive(int(holder.get("pid", 0)))
            return holder if holder and not alive else None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            holder = self.read_holder()
            fcntl.flock(fd, fcntl.LOCK_UN)
            return holder or None
        finally:
            os.close(fd)

    def __enter__(self) -> "SweepLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
