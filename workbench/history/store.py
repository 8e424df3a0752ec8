"""The refit history: one SQLite file holding one row per fit, appended by every nightly run.

Many fits may append at once (cron jobs of several models, a sweep recording its best run):
the file is in WAL mode, each append is one ``BEGIN IMMEDIATE`` transaction, and a writer that
finds the file busy waits (``busy_timeout``) instead of failing, so no row is lost. Creating the
tables is part of the same transaction, so two fits creating one new history at once are safe.

The file is also checked before anything is written to it (``check_history``): its first bytes
must be SQLite's, its ``meta`` table must say it is a workbench history of this schema version
and its ``fits`` table must have the expected columns. Anything else (a corrupt file, another
program's database, a sweep's run store) is refused with ``InputError`` (exit 2) naming the
file, and the file is left byte for byte as it was. A location where the history cannot be
created or written is ``OutputError`` (exit 74), found before a fit runs (``ensure_writable``).
An empty file, or an SQLite database without
any table (what a concurrent fit creating the history has committed so far), counts as a new one.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from workbench.errors import InfrastructureError, InputError, OutputError

KIND = "workbench refit history"
SCHEMA_VERSION = "1"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 60_000

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS fits (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        time              TEXT NOT NULL,
        name              TEXT NOT NULL,
        source            TEXT NOT NULL,
        label             TEXT,
        host              TEXT,
        data_path         TEXT,
        data_sha256       TEXT,
        params            TEXT NOT NULL,
        stderr            TEXT NOT NULL,
        metrics           TEXT NOT NULL,
        loss              REAL,
        converged         INTEGER NOT NULL,
        status            TEXT NOT NULL,
        workbench_version TEXT NOT NULL,
        drift             INTEGER NOT NULL,
        drift_detail      TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS fits_by_name ON fits (name, id)",
)
COLUMNS = ("id", "time", "name", "source", "label", "host", "data_path", "data_sha256", "params", "stderr",
           "metrics", "loss", "converged", "status", "workbench_version", "drift", "drift_detail")
_JSON_COLUMNS = ("params", "stderr", "metrics", "drift_detail")


def utc_now() -> str:
    """The time a fit is recorded: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class FitRow:
    """One recorded fit. ``params`` and ``stderr`` map each parameter's name to its value (a
    standard error may be None); ``drift_detail`` is the fit's ``drift`` list from result.json."""

    time: str
    name: str
    params: dict
    stderr: dict
    metrics: dict
    converged: bool
    status: str
    workbench_version: str
    source: str = "fit"
    label: str | None = None
    host: str | None = None
    data_path: str | None = None
    data_sha256: str | None = None
    loss: float | None = None
    drift: bool = False
    drift_detail: list = field(default_factory=list)
    id: int | None = None

    @classmethod
    def from_row(cls, row) -> "FitRow":
        values = dict(zip(COLUMNS, row))
        for name in _JSON_COLUMNS:
            values[name] = json.loads(values[name])
        values["converged"] = bool(values["converged"])
        values["drift"] = bool(values["drift"])
        return cls(**values)


def _refuse(path: Path, problem: str) -> InputError:
    return InputError(f"{problem}; it was left unchanged: name another file, or move this one aside",
                      where=str(path))


def _schema_problem(conn: sqlite3.Connection) -> str | None:
    """Why the open database is not a history of this schema (None when it is one)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"meta", "fits"} <= tables:
        return "not a workbench refit history (an SQLite database without its meta and fits tables)"
    meta = dict(conn.execute("SELECT name, value FROM meta WHERE name IN ('kind', 'schema_version')"))
    if meta.get("kind") != KIND:
        return f"not a workbench refit history (its meta table says kind {meta.get('kind')!r})"
    if meta.get("schema_version") != SCHEMA_VERSION:
        return (f"a refit history of schema version {meta.get('schema_version')!r}, which this workbench "
                f"(schema {SCHEMA_VERSION!r}) does not read")
    present = {row[1] for row in conn.execute("PRAGMA table_info(fits)")}
    missing = [c for c in COLUMNS if c not in present]
    if missing:
        return f"a refit history whose fits table lacks the column(s) {', '.join(missing)}"
    return None


def check_history(path: Path) -> bool:
    """``InputError`` unless ``path`` is a usable history or absent; True when it holds one.

    Nothing is written: the header is read as bytes and the database is opened read-only."""
    path = Path(path)
    if not path.exists():
        return False
    if not path.is_file():
        raise _refuse(path, "not a regular file")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as err:
        raise InputError(f"cannot read the history: {err.strerror or err}", where=str(path)) from None
    if not header:
        return False                          # empty: a history whose creation was cut short
    if header != SQLITE_HEADER:
        raise _refuse(path, "not a workbench refit history (not an SQLite database)")
    companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    absent = [c for c in companions if not c.exists()]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                return False                  # no tables yet: another fit is creating this history now
            problem = _schema_problem(conn)
            if problem is None and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                problem = "a damaged refit history (SQLite's quick_check fails)"
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        problem = f"not a readable SQLite database ({err})"
    if problem is not None:
        _remove_new_companions(absent)
        raise _refuse(path, problem)
    return True


def _remove_new_companions(created: list[Path]) -> None:
    """Remove the empty -wal and the -shm that opening a refused file made beside it."""
    for companion in created:
        with contextlib.suppress(OSError):
            if companion.name.endswith("-shm") or companion.stat().st_size == 0:
                companion.unlink()


def _finite(value):
    """JSON has no NaN or infinity; those are stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(mapping) -> str:
    if isinstance(mapping, dict):
        mapping = {str(k): _finite(v) for k, v in mapping.items()}
    return json.dumps(mapping, allow_nan=False, default=float)


def _connect_for_writing(path: Path) -> sqlite3.Connection:
    """A connection that may write ``path`` (its folder created); ``OutputError`` (exit 74) when
    the location cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError.from_os_error(path, err) from None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as err:
        raise OutputError(path, f"cannot open or create the history ({err})") from None
    return conn


def _begin_with_tables(conn: sqlite3.Connection, path: Path) -> None:
    """Start a write transaction in which the history's tables exist (created in it if new)."""
    conn.execute("BEGIN IMMEDIATE")
    for statement in _TABLES:
        conn.execute(statement)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('kind', ?)", (KIND,))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    problem = _schema_problem(conn)
    if problem is not None:               # another program wrote the file after our check
        conn.execute("ROLLBACK")
        raise _refuse(path, problem)


def ensure_writable(path: Path) -> None:
    """Before a fit: make sure it can be appended to ``path`` afterwards, creating the history
    (empty) when there is none. A corrupt or foreign file is ``InputError`` (exit 2, untouched);
    a location that cannot be written is ``OutputError`` (exit 74) — both before any work."""
    path = Path(path)
    check_history(path)
    conn = _connect_for_writing(path)
    try:
        _begin_with_tables(conn, path)
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise OutputError(path, f"cannot write the history ({err})") from None
    finally:
        conn.close()


def append(path: Path, row: FitRow) -> int:
    """Append ``row`` to the history at ``path`` (created, with its folder, if missing); its id."""
    path = Path(path)
    check_history(path)
    conn = _connect_for_writing(path)
    try:
        _begin_with_tables(conn, path)
        cursor = conn.execute(
            f"INSERT INTO fits ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * (len(COLUMNS) - 1))})",
            (row.time, row.name, row.source, row.label, row.host, row.data_path, row.data_sha256,
             _json(row.params), _json(row.stderr), _json(row.metrics), _finite(row.loss), int(row.converged),
             row.status, row.workbench_version, int(row.drift), _json(row.drift_detail)))
        conn.execute("COMMIT")
        return int(cursor.lastrowid)
    except sqlite3.Error as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise InfrastructureError(f"cannot append to the history {path}: {err}") from None
    finally:
        conn.close()


def read_rows(path: Path, name: str | None = None, *, converged_only: bool = False, source: str | None = None,
              last: int | None = None) -> list[FitRow]:
    """The recorded fits (oldest first), optionally only those named ``name``, converged, from
    ``source``, and only the ``last`` few. An absent history holds none."""
    path = Path(path)
    if not check_history(path):
        return []
    clauses, values = [], []
    if name is not None:
        clauses.append("name = ?")
        values.append(name)
    if converged_only:
        clauses.append("converged = 1")
    if source is not None:
        clauses.append("source = ?")
        values.append(source)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    limit = f" LIMIT {int(last)}" if last is not None else ""
    query = f"SELECT {', '.join(COLUMNS)} FROM fits{where} ORDER BY id DESC{limit}"
    try:
        # Not mode=ro: the file is known to be a history now, and the last connection to close
        # folds the WAL back into it and removes the -wal and -shm files beside it.
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            rows = [FitRow.from_row(r) for r in conn.execute(query, values)]
        finally:
            conn.close()
    except (sqlite3.DatabaseError, ValueError) as err:
        raise _refuse(path, f"a damaged refit history ({err})") from None
    return rows[::-1]
