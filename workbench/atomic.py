"""Atomic file output: write to a temporary file in the same folder, then rename over the target.

A reader (a manager opening the report, cron picking up ``summary.json``) therefore sees either
the old file or the complete new one, never half of one, even if the process is killed mid-write.
``os.replace`` is atomic on POSIX and Windows when source and target are on the same file system,
which is why the temporary file lives beside the target rather than in /tmp.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from workbench.errors import InputError


def ensure_dir(path: Path, what: str = "output folder") -> Path:
    """Create ``path`` (and parents) or say plainly why it cannot be written."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the {what} {str(path)!r}: {err.strerror or err}") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"the {what} {str(path)!r} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); a report is meant to be shared, so give it the
        # permissions an ordinary new file would get under the user's umask.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
