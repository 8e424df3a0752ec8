"""The run store: one SQLite database per sweep (``<output>/runs.sqlite``), one row per run.

Only the coordinating process writes to it, so parallel workers never contend for it; readers
(``workbench runs``, a dashboard) can read while a sweep runs because the database is in WAL
mode. Every change is its own transaction, so a process killed at any moment leaves the store
as it was after the last completed change. With ``synchronous=NORMAL`` a committed change
survives the process being killed (only a power cut can lose the last few).

The store is also the folder's marker: a folder is a sweep's when it holds a store whose ``meta``
table carries this schema version. A store that SQLite cannot read, or whose schema is another,
is refused (``InputError``, exit 2, naming the file and the fix) and never written to; a failure
to write a usable store mid-sweep (disk full, read-only) is an ``InfrastructureError`` (exit 74).

A run's status moves pending -> running -> done | failed. Rows left ``running`` by a process
that died are put back to pending by ``recover_interrupted`` (the caller holds the sweep's
lock, so no live process can own them).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from workbench.errors import InfrastructureError, InputError

STORE_NAME = "runs.sqlite"
SCHEMA_VERSION = "1"
STATUSES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key         TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    config_path TEXT NOT NULL,
    overrides   TEXT NOT NULL,
    config      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT,
    finished_at TEXT,
    host        TEXT,
    pid         INTEGER,
    elapsed_s   REAL,
    metrics     TEXT,
    result_dir  TEXT,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
"""
_COLUMNS = ("key", "seq", "config_path", "overrides", "config", "status", "attempts", "started_at",
            "finished_at", "host", "pid", "elapsed_s", "metrics", "result_dir", "error")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    key: str
    seq: int
    config_path: str
    overrides: dict
    config: dict
    status: str
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    host: str | None = None
    pid: int | None = None
    elapsed_s: float | None = None
    metrics: dict | None = None
    result_dir: str | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "RunRecord":
        values = dict(zip(_COLUMNS, row))
        for name in ("overrides", "config", "metrics"):
            if values[name] is not None:
                values[name] = json.loads(values[name])
        return cls(**values)


@dataclass
class Finished:
    """What a worker reports back about one run."""

    status: str                     # done | failed
    started_at: str
    finished_at: str
    host: str
    pid: int
    elapsed_s: float
    metrics: dict | None = None
    error: str | None = None
    result_dir: str | None = None


REPAIR_HINT = "move it aside, or run `workbench runs --repair {folder}`, which does so and rebuilds the store from the run folders"


def unusable(path: Path, problem: str) -> InputError:
    return InputError(f"{problem}; " + REPAIR_HINT.format(folder=path.parent), where=str(path))


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    """Why the database is not a run store of this version (None when it is one)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"runs", "meta"} <= tables:
        return "not a workbench run store (it has no runs and meta tables)"
    version = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    if version is None or version[0] != SCHEMA_VERSION:
        found = "none" if version is None else repr(version[0])
        return f"a run store of schema version {found}, not {SCHEMA_VERSION!r}"
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    missing = [c for c in _COLUMNS if c not in columns]
    if missing:
        return f"a run store without the column(s) {', '.join(missing)}"
    return None


def check_store(path: Path) -> None:
    """``InputError`` (exit 2, with the fix) unless ``path`` is a readable run store of this
    schema; an empty file (a store whose creation was cut short) passes. Nothing is written."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        return
    if not path.is_file():
        raise unusable(path, "not a regular file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            problem = _schema_problem(conn)
            if problem is None and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                problem = "the database is damaged"
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        problem = f"not a readable SQLite database ({err})"
    if problem is not None:
        raise unusable(path, problem)


class RunStore:
    """The SQLite store at ``path``; use as a context manager or call ``close``.

    An existing file is checked first (``check_store``) and never changed when unusable."""

    def __init__(self, path: Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(f"no run store ({STORE_NAME}) here: not a sweep output folder",
                             where=str(self.path.parent))
        if self.path.exists():
            check_store(self.path)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout = 30000")
            if create:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self.conn.executescript(_SCHEMA)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as err:
            raise self.failure(err) from None

    def failure(self, err: sqlite3.Error) -> InfrastructureError:
        return InfrastructureError(f"cannot write the run store {self.path}: {err}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, sql: str, params: Sequence = ()) -> int:
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                return self.conn.execute(sql, params).rowcount
        except sqlite3.OperationalError as err:
            raise self.failure(err) from None

    def set_meta(self, name: str, value: str) -> None:
        self._write("INSERT INTO meta VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (name, value))

    def get_meta(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def sync(self, members: Iterable) -> int:
        """Add the runs not stored yet as pending; refresh the order of the others.

        ``members`` have ``key``, ``config_path``, ``overrides`` and ``raw``. Returns the
        number of runs added.
        """
        added = 0
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                stored = {row[0] for row in self.conn.execute("SELECT key FROM runs")}
                for seq, m in enumerate(members):
                    if m.key in stored:
                        self.conn.execute("UPDATE runs SET seq = ?, overrides = ? WHERE key = ?",
                                          (seq, json.dumps(m.overrides), m.key))
                        continue
                    self.conn.execute(
                        "INSERT INTO runs (key, seq, config_path, overrides, config, status) "
                        "VALUES (?, ?, ?, ?, ?, 'pending')",
                        (m.key, seq, str(m.config_path), json.dumps(m.overrides), json.dumps(m.raw, default=str)))
                    added += 1
        except sqlite3.OperationalError as err:
            raise self.failure(err) from None
        return added

    def recover_interrupted(self) -> int:
        """Put runs left ``running`` by a dead coordinator back to pending; returns how many."""
        return self._write("UPDATE runs SET status = 'pending' WHERE status = 'running'")

    def mark_running(self, key: str, host: str) -> None:
        self._write("UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?, "
                    "finished_at = NULL, host = ?, error = NULL WHERE key = ?", (utc_now(), host, key))

    def mark_pending(self, keys: Iterable[str]) -> None:
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany("UPDATE runs SET status = 'pending' WHERE key = ? AND status = 'running'",
                                      [(k,) for k in keys])
        except sqlite3.OperationalError as err:
            raise self.failure(err) from None

    def adopt(self, seq: int, record: dict, config: dict) -> None:
        """Add a finished run rebuilt from its folder's ``run.json`` (``workbench runs --repair``)."""
        fin = record
        self._write(
            "INSERT OR REPLACE INTO runs (key, seq, config_path, overrides, config, status, attempts, started_at, "
            "finished_at, host, pid, elapsed_s, metrics, result_dir, error) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fin["key"], seq, fin.get("config_path") or "", json.dumps(fin.get("overrides") or {}),
             json.dumps(config, default=str), fin["status"], fin.get("started_at"), fin.get("finished_at"),
             fin.get("host"), fin.get("pid"), fin.get("elapsed_s"),
             None if fin.get("metrics") is None else json.dumps(fin["metrics"]), fin.get("result_dir"),
             fin.get("error")))

    def mark_finished(self, key: str, fin: Finished) -> None:
        if fin.status not in ("done", "failed"):
            raise ValueError(f"a finished run is done or failed, not {fin.status!r}")
        self._write(
            "UPDATE runs SET status = ?, started_at = ?, finished_at = ?, host = ?, pid = ?, elapsed_s = ?, "
            "metrics = ?, error = ?, result_dir = ? WHERE key = ?",
            (fin.status, fin.started_at, fin.finished_at, fin.host, fin.pid, fin.elapsed_s,
             None if fin.metrics is None else json.dumps(fin.metrics), fin.error, fin.result_dir, key))

    def records(self, keys: Sequence[str] | None = None, status: str | None = None) -> list[RunRecord]:
        """Runs in the order they were made, optionally only ``keys`` and/or one ``status``."""
        sql, params = f"SELECT {', '.join(_COLUMNS)} FROM runs", []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        rows = [RunRecord.from_row(r) for r in self.conn.execute(sql + " ORDER BY seq, key", params)]
        if keys is not None:
            wanted = set(keys)
            rows = [r for r in rows if r.key in wanted]
        return rows

    def find(self, prefix: str) -> RunRecord:
        """The one run whose key starts with ``prefix``."""
        rows = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE key LIKE ? ESCAPE '\\' "
                                 f"ORDER BY seq LIMIT 6", (_like_prefix(prefix),)).fetchall()
        if not rows:
            raise InputError(f"no run with a key starting {prefix!r}", where=str(self.path))
        if len(rows) > 1:
            keys = ", ".join(r[0] for r in rows[:5])
            raise InputError(f"{prefix!r} matches several runs ({keys}{', ...' if len(rows) > 5 else ''}): "
                             f"give more of the key", where=str(self.path))
        return RunRecord.from_row(rows[0])

    def record(self, key: str) -> RunRecord:
        row = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE key = ?", (key,)).fetchone()
        return RunRecord.from_row(row)

    def counts(self, keys: Sequence[str] | None = None) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for record in self.records(keys):
            counts[record.status] += 1
        return counts


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
