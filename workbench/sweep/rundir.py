"""A run's folder, ``<output>/runs/<key>/``, written only by the coordinator.

A run's files are written to ``runs/.<key>.partial/`` (by a local worker itself, or here from
the bytes a remote worker sent back), completed with the resolved ``config.yaml`` and a
``run.json`` record, and the finished folder is then renamed into place, so ``runs/<key>/`` is
either absent or complete. ``run.json`` is what lets a resumed sweep adopt a run whose folder
was complete when the coordinator died but whose row in the store had not been updated yet:
such a run is recorded, not repeated.

``run.json`` also lists every file the sweep wrote into the folder (``files``). Whatever else a
user puts there is theirs: a rerun of the run carries it into the new folder, and ``--restart``
deletes only the listed files (``sweep_files``), keeping the folder when anything else is in it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath

from workbench.sweep.store import Finished

RUNS_DIR = "runs"
RECORD_NAME = "run.json"


def run_dir(out_dir: Path, key: str) -> Path:
    return out_dir / RUNS_DIR / key


def relative_run_dir(key: str) -> str:
    return f"{RUNS_DIR}/{key}"


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"a run sent back a file outside its folder: {name!r}")
    return path


def partial_dir(out_dir: Path, key: str) -> Path:
    return out_dir / RUNS_DIR / f".{key}.partial"


def write_run_dir(out_dir: Path, key: str, report: dict, config_yaml: str, overrides: dict,
                  config_path: str = "") -> Finished:
    """Complete ``runs/<key>/`` from the worker's ``report`` and return what the store records.

    ``report["files"]`` is None when the worker wrote into the partial folder itself."""
    final = run_dir(out_dir, key)
    partial = partial_dir(out_dir, key)
    if report.get("files") is not None or not partial.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    for name, data in (report.get("files") or {}).items():
        target = partial.joinpath(*_safe_relative(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (partial / "config.yaml").write_text(config_yaml, encoding="utf-8")
    written = sorted(p.relative_to(partial).as_posix() for p in partial.rglob("*") if p.is_file())
    finished = Finished(status=report["status"], started_at=report["started_at"],
                        finished_at=report["finished_at"], host=report["host"], pid=report["pid"],
                        elapsed_s=report["elapsed_s"], metrics=report.get("metrics"),
                        error=report.get("error"), result_dir=relative_run_dir(key))
    record = {"key": key, "overrides": overrides, "config_path": config_path, **finished.__dict__,
              "files": written + [RECORD_NAME]}
    (partial / RECORD_NAME).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    old = final.parent / f".{key}.old"
    if final.exists():
        _carry_foreign_files(final, partial)
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return finished


SWEEP_WRITES = ("config.yaml", RECORD_NAME, "error.txt")    # beside the fit's own files


def sweep_files(folder: Path) -> set[str]:
    """The files (relative, POSIX) the sweep wrote into the run folder ``folder``: those its
    ``run.json`` lists, or, for a folder from before the list, the fit's manifest and the
    sweep's own files."""
    record = read_record(folder)
    if record is not None and isinstance(record.get("files"), list):
        return {str(name) for name in record["files"]} | {RECORD_NAME}
    from workbench.pipeline.outputs import manifest_files

    return manifest_files(folder) | set(SWEEP_WRITES)


def foreign_files(folder: Path) -> list[Path]:
    """Files in ``folder`` that the sweep did not write (a user's notes, say)."""
    ours = sweep_files(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() not in ours)


def _carry_foreign_files(final: Path, partial: Path) -> None:
    """Move a user's files from the run's previous folder into the new one, which replaces it."""
    for path in foreign_files(final):
        target = partial / path.relative_to(final)
        if target.exists():                 # the new run wrote a file of that name: keep both
            target = target.with_name(target.name + ".yours")
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)


def read_record(folder: Path) -> dict | None:
    """The ``run.json`` of a complete run folder, if it is one (its key is the folder's name)."""
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("key") == folder.name else None


def finished_of(record: dict) -> Finished:
    fields = Finished.__dataclass_fields__
    return Finished(**{k: v for k, v in record.items() if k in fields})


def read_finished(out_dir: Path, key: str) -> Finished | None:
    """The record of a complete, successful run folder for ``key``, if there is one."""
    record = read_record(run_dir(out_dir, key))
    if record is None or record.get("status") != "done":
        return None
    return finished_of(record)
