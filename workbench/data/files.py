"""Opening a data file safely: only regular files, within size limits checked before reading.

A FIFO or a device named as the data file would block or stream forever, and a small Excel
workbook can expand to gigabytes of XML; so ``read_bytes`` refuses anything but a regular file
(a symlink is followed only to a regular file) and any file larger than ``limits.file_mb``, and
``check_workbook`` reads the zip's central directory (a few kilobytes) and refuses a workbook
whose parts would expand beyond ``limits.unzipped_mb``, before any XML is parsed. Both limits
are in megabytes and set in the config under ``data.limits``.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Mapping

from workbench.errors import InputError

__all__ = ["DEFAULT_LIMITS", "read_bytes", "check_regular_file", "file_digest", "check_workbook", "limit"]

DEFAULT_LIMITS = {"file_mb": 4096, "unzipped_mb": 256}
_MB = 1024 * 1024
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def limit(limits: Mapping, name: str) -> float:
    return float(limits.get(name) if limits.get(name) is not None else DEFAULT_LIMITS[name])


def _kind(mode: int) -> str:
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: Path, limits: Mapping, where: str) -> bytes:
    """The file's bytes, after checking it is a regular file within ``limits.file_mb``."""
    check_regular_file(path, limits, where)
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, opening must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(f"{path} is not a regular file: only files can be read", where=f"{where}.path")
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", where=f"{where}.path") from None


def file_digest(path: Path, where: str) -> str:
    """SHA-256 of a (checked) file's bytes, read in blocks: big columnar files are never held whole."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", where=f"{where}.path") from None
    return digest.hexdigest()


def check_regular_file(path: Path, limits: Mapping, where: str) -> None:
    """``InputError`` unless ``path`` is a regular file (a symlink to one will do) within ``limits.file_mb``."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{path} is a symbolic link to a missing file", where=f"{where}.path") from None
        raise InputError(f"file not found: {path}", where=f"{where}.path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", where=f"{where}.path") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is a folder, not a data file", where=f"{where}.path")
    if not stat.S_ISREG(info.st_mode):
        link = " (through a symbolic link)" if path.is_symlink() else ""
        raise InputError(f"{path} is {_kind(info.st_mode)}{link}, not a regular file: only files can be read",
                         where=f"{where}.path")
    _check_size(path, info.st_size, limits, where)


def _check_size(path: Path, size: int, limits: Mapping, where: str) -> None:
    most = limit(limits, "file_mb")
    if size > most * _MB:
        raise InputError(f"{path.name} is {size / _MB:,.0f} MB, above the limit of {most:g} MB; raise "
                         f"{where}.limits.file_mb to read it", where=f"{where}.path")


def check_workbook(data: bytes, path: Path, limits: Mapping, where: str) -> None:
    """Refuse a workbook that is not a zip archive, or whose parts expand beyond ``limits.unzipped_mb``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise InputError(f"cannot read {path.name} as an Excel workbook: it is not a valid zip archive "
                         f"({exc})", where=f"{where}.path") from None
    most = limit(limits, "unzipped_mb")
    if expanded > most * _MB:
        raise InputError(f"{path.name} expands to {expanded / _MB:,.0f} MB of XML when opened, above the "
                         f"limit of {most:g} MB; raise {where}.limits.unzipped_mb to read it, or save the "
                         f"sheet as CSV", where=f"{where}.path")
