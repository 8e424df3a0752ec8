"""Atomic file output: write to a temporary file in the same folder, then rename over the target.

A reader (a manager opening the report, cron picking up ``summary.json``) therefore sees either
the old file or the complete new one, never half of one, even if the process is killed mid-write.
``os.replace`` is atomic on POSIX and Windows when source and target are on the same file system,
which is why the temporary file lives beside the target rather than in /tmp.

Every write here that fails for the machine's reasons (a full disk, a read-only or unwritable
location, a folder that cannot be created) raises ``OutputError`` naming the file the caller
asked for, never the temporary one: exit 74 and one line, the same for every command. A path
that names a file where a folder is needed is the user's input, not the machine: ``InputError``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from workbench.errors import InputError, OutputError

_NOT_A_FOLDER = (errno.ENOTDIR, errno.EEXIST)     # a file stands where the path needs a folder


def ensure_dir(path: Path, what: str = "output folder") -> Path:
    """Create ``path`` (and parents) or say plainly why it cannot be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno in _NOT_A_FOLDER:
            raise InputError(f"cannot create the {what} {str(path)!r}: {err.strerror or err}") from None
        raise OutputError.from_os_error(path, err) from None
    if not os.access(path, os.W_OK):
        raise OutputError(path, f"the {what} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    Any ``OSError`` on the way (creating, writing, renaming) removes the temporary file and
    becomes ``OutputError`` naming ``target``."""
    target = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise OutputError.from_os_error(target, err) from None
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); a report is meant to be shared, so give it the
        # permissions an ordinary new file would get under the user's umask.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except OSError as err:
        _discard(tmp)
        raise OutputError.from_os_error(target, err) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json(target: Path, payload) -> Path:
    return write_text(target, json.dumps(payload, indent=2, allow_nan=False, default=_jsonable) + "\n")


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# Whole folders: a set of files that belong together (a fit's outputs) is written into a fresh
# folder beside its target and swapped in when complete, so a reader never sees half of the new
# set beside half of the old. A staging folder is named ``.<target>.wb-new-<pid>-<token>`` and a
# replaced one ``.<target>.wb-old-<pid>-<token>``: recognisable, so that a later run removes
# those a dead process left, and only those.

_RENAME_EXCHANGE = 2


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_folder(target: Path) -> Path:
    """Create and return a fresh, empty staging folder beside ``target``."""
    import secrets

    target = Path(target)
    path = target.parent / f".{target.name}.wb-new-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        path.mkdir()
    except OSError as err:
        raise OutputError.from_os_error(target, err) from None
    return path


def leftovers(target: Path) -> list[Path]:
    """Staging and replaced folders of ``target`` left by dead processes (or by this one)."""
    import re

    target = Path(target)
    pattern = re.compile(re.escape(f".{target.name}.wb-") + r"(?:new|old)-(\d+)-[0-9a-f]+")
    found = []
    if target.parent.is_dir():
        for path in target.parent.iterdir():
            match = pattern.fullmatch(path.name)
            if match and path.is_dir() and (int(match.group(1)) == os.getpid() or not pid_alive(int(match.group(1)))):
                found.append(path)
    return sorted(found)


def remove_leftovers(target: Path) -> None:
    import shutil

    for path in leftovers(target):
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):     # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_folder(staging: Path, target: Path) -> None:
    """Put the complete ``staging`` folder in ``target``'s place and delete the old one."""
    import shutil

    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)    # it now holds the old set
        return
    old = staging.with_name(staging.name.replace(".wb-new-", ".wb-old-"))
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old, target)      # the previous set goes back: a failed swap leaves it as it was
        raise
    shutil.rmtree(old, ignore_errors=True)
