"""Which folder a sweep may write into, and what it may delete there.

A sweep output folder is recognised by its run store (``runs.sqlite``, with the workbench's
schema version in it). A sweep writes only into a new or empty folder or into such a folder,
and ``--restart`` and every cleanup delete only what a sweep writes: the store, the files named
in ``OWNED_FILES``, and run folders that hold their own ``run.json`` record. Anything else is
left alone, and a folder that is not a sweep's is refused whole (exit 2, naming it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from workbench.errors import InputError
from workbench.sweep.lock import LOCK_NAME
from workbench.sweep.outputs import OUTPUT_NAMES
from workbench.sweep.rundir import RUNS_DIR, read_record
from workbench.sweep.store import STORE_NAME, check_store

STORE_FILES = (STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm", STORE_NAME + "-journal")
OWNED_FILES = OUTPUT_NAMES


def check_output_folder(out_dir: Path) -> None:
    """``InputError`` unless ``out_dir`` is absent, empty (but for a lock), or a sweep's own folder
    with a usable store."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise InputError("is a file, not a folder: choose another --out", where=str(out_dir))
    store = out_dir / STORE_NAME
    if store.exists():
        check_store(store)
        return
    others = sorted(p.name for p in out_dir.iterdir() if p.name != LOCK_NAME)
    runs = out_dir / RUNS_DIR
    if runs.is_dir() and any(is_run_folder(p) for p in runs.iterdir()):
        raise InputError(f"the run store {STORE_NAME} is missing but the run folders are here: run "
                         f"`workbench runs --repair {out_dir}` to rebuild it", where=str(out_dir))
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise InputError(f"not a sweep output folder (it has no {STORE_NAME}) and not empty (it holds {shown}); "
                         f"a sweep writes only into a new or empty folder or its own: choose another --out",
                         where=str(out_dir))


def is_run_folder(folder: Path) -> bool:
    """A run folder the sweep wrote: it holds a ``run.json`` naming its own key."""
    return read_record(folder) is not None


def is_leftover(path: Path) -> bool:
    """A half-written run folder a killed coordinator or worker left: ``.<key>.partial`` / ``.old``."""
    return path.is_dir() and path.name.startswith(".") and path.name.endswith((".partial", ".old"))


def clean_leftovers(out_dir: Path) -> None:
    """Remove half-written run folders (the caller holds the lock)."""
    runs = out_dir / RUNS_DIR
    if runs.is_dir():
        for leftover in runs.iterdir():
            if is_leftover(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def forget_runs(out_dir: Path) -> None:
    """``--restart``: delete the store, the outputs and the run folders the sweep wrote; nothing
    else (the caller has checked the folder and holds the lock, which is kept)."""
    check_output_folder(out_dir)
    for name in STORE_FILES + OWNED_FILES:
        (out_dir / name).unlink(missing_ok=True)
    runs = out_dir / RUNS_DIR
    if runs.is_dir():
        for folder in runs.iterdir():
            if is_leftover(folder) or (folder.is_dir() and is_run_folder(folder)):
                shutil.rmtree(folder)
        if not any(runs.iterdir()):
            runs.rmdir()
