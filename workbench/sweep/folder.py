"""Which folder a sweep may write into, and what it may delete there.

A sweep output folder is recognised by its run store (``runs.sqlite``, with the workbench's
schema version in it). A sweep writes only into a new or empty folder or into such a folder,
and ``--restart`` and every cleanup delete only what a sweep writes: the store, the files named
in ``OWNED_FILES``, and in each run folder that holds its own ``run.json`` record the files that
record lists. Anything else is left alone (a run folder holding a user's file is kept, with a
note), and a folder that is not a sweep's is refused whole (exit 2, naming it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from workbench.errors import InputError
from workbench.sweep.lock import LOCK_NAME
from workbench.sweep.outputs import OUTPUT_NAMES
from workbench.sweep.rundir import RUNS_DIR, foreign_files, read_record
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


def forget_runs(out_dir: Path) -> list[str]:
    """``--restart``: delete the store, the outputs and, in each run folder, the files the sweep
    wrote; nothing else (the caller has checked the folder and holds the lock, which is kept).
    Returns a note for each run folder kept because it holds files of someone else's."""
    check_output_folder(out_dir)
    for name in STORE_FILES + OWNED_FILES:
        (out_dir / name).unlink(missing_ok=True)
    runs = out_dir / RUNS_DIR
    notes = []
    if runs.is_dir():
        for folder in sorted(runs.iterdir()):
            if is_leftover(folder):
                shutil.rmtree(folder)
            elif folder.is_dir() and is_run_folder(folder):
                kept = _empty_run_folder(folder)
                if kept:
                    shown = ", ".join(kept[:3]) + (", ..." if len(kept) > 3 else "")
                    notes.append(f"{RUNS_DIR}/{folder.name} was kept: it holds files the sweep did not write "
                                 f"({shown}); the sweep's own files in it were deleted")
        if not any(runs.iterdir()):
            runs.rmdir()
    return notes


def _empty_run_folder(folder: Path) -> list[str]:
    """Delete the sweep's files in ``folder`` (and the folders they leave empty); the folder itself
    goes when nothing else is left. Returns what was left (relative names)."""
    foreign = {p.relative_to(folder).as_posix() for p in foreign_files(folder)}
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in foreign:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
    return sorted(foreign)
