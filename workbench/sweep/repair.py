"""``workbench runs --repair``: rebuild a lost or damaged run store from the run folders.

Each finished run folder (``runs/<key>/``) holds its record (``run.json``) and its resolved
config (``config.yaml``), which is all a store row needs. A damaged store is never deleted: it
is renamed aside (``runs.sqlite.damaged-<time>``) before a new one is made. The sweep's metric,
name and file come back from ``summary.json``, so ``workbench runs`` shows the same columns as
before. Runs that never finished have no folder and are simply run again by the next
``workbench sweep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from workbench.errors import InputError
from workbench.sweep.folder import STORE_FILES
from workbench.sweep.lock import SweepLock
from workbench.sweep.rundir import RUNS_DIR, read_record
from workbench.sweep.store import STORE_NAME, RunStore, check_store


@dataclass
class Repair:
    store: Path
    moved_aside: list[Path]
    adopted: int
    skipped: list[str]          # run folders that could not be read, with the reason


def _set_aside(out_dir: Path) -> list[Path]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    moved = []
    for name in STORE_FILES:
        path = out_dir / name
        if path.exists():
            target = out_dir / f"{name}.damaged-{stamp}"
            path.rename(target)
            moved.append(target)
    return moved


def _config_of(folder: Path) -> dict:
    from workbench.config import load_yaml_file

    try:
        config = load_yaml_file(folder / "config.yaml", noun="run config")
    except InputError as err:
        raise ValueError(str(err)) from None
    if not isinstance(config, dict):
        raise ValueError("config.yaml is not a mapping")
    return config


def repair_store(out_dir: Path) -> Repair:
    """Rebuild ``out_dir``'s store (holding the sweep's lock); a usable store is left as it is."""
    out_dir = Path(out_dir)
    runs = out_dir / RUNS_DIR
    store_path = out_dir / STORE_NAME
    if not store_path.exists() and not runs.is_dir():
        raise InputError(f"not a sweep output folder: it has neither {STORE_NAME} nor {RUNS_DIR}/", where=str(out_dir))
    with SweepLock(out_dir):
        if store_path.exists():
            try:
                check_store(store_path)
            except InputError:
                pass
            else:
                raise InputError(f"the run store {STORE_NAME} is readable: nothing to repair", where=str(out_dir))
        moved = _set_aside(out_dir)
        adopted, skipped = 0, []
        folders = sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")) if runs.is_dir() else []
        with RunStore(store_path) as store:
            for seq, folder in enumerate(folders):
                record = read_record(folder)
                if record is None or record.get("status") not in ("done", "failed"):
                    skipped.append(f"{folder.name}: no readable run.json")
                    continue
                try:
                    config = _config_of(folder)
                except (OSError, ValueError) as err:
                    skipped.append(f"{folder.name}: config.yaml: {err}")
                    continue
                store.adopt(seq, record, config)
                adopted += 1
            _restore_meta(store, out_dir)
    return Repair(store_path, moved, adopted, skipped)


# What the store's meta table says about the sweep, from summary.json (written atomically, so
# intact when the store is not): the metric ``workbench runs`` shows, the sweep's name and file.
_META_FROM_SUMMARY = (("metric", "metric"), ("sweep_name", "name"), ("sweep_file", "sweep_file"))


def _restore_meta(store: RunStore, out_dir: Path) -> None:
    import json

    from workbench.sweep.outputs import SUMMARY

    try:
        summary = json.loads((out_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(summary, dict):
        return
    for meta, key in _META_FROM_SUMMARY:
        if isinstance(summary.get(key), str) and summary[key]:
            store.set_meta(meta, summary[key])
