"""The run store, the sweep lock, run folders and the leaderboard, each on its own."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from workbench.errors import EXIT_LOCKED, InputError, LockedError
from workbench.sweep.leaderboard import best_record, flatten_metrics, leaderboard_csv, rank
from workbench.sweep.lock import SweepLock
from workbench.sweep.rundir import read_finished, write_run_dir
from workbench.sweep.store import Finished, RunRecord, RunStore


@dataclass
class FakeMember:
    key: str
    config_path: str = "decay.yaml"
    overrides: dict = None
    raw: dict = None


def _members(*keys):
    return [FakeMember(k, overrides={"optimizer.lr": i / 10}, raw={"name": k}) for i, k in enumerate(keys)]


def _finished(status="done", **metrics):
    return Finished(status=status, started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:01+00:00",
                    host="h", pid=1, elapsed_s=1.0, metrics=metrics or None,
                    error="boom" if status == "failed" else None, result_dir="runs/x")


def test_store_adds_runs_once_as_pending_in_order(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        assert store.sync(_members("aaa", "bbb")) == 2
        assert store.sync(_members("aaa", "bbb", "ccc")) == 1
        records = store.records()
    assert [r.key for r in records] == ["aaa", "bbb", "ccc"]
    assert {r.status for r in records} == {"pending"}
    assert records[1].overrides == {"optimizer.lr": 0.1} and records[1].config == {"name": "bbb"}


def test_store_uses_wal_and_survives_reopening(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.sync(_members("aaa"))
        store.mark_running("aaa", "host1")
        store.mark_finished("aaa", _finished(loss=0.5))
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with RunStore(path, create=False) as store:
        (record,) = store.records()
    assert (record.status, record.attempts, record.metrics, record.host) == ("done", 1, {"loss": 0.5}, "h")


def test_runs_left_running_are_put_back_to_pending_and_finished_ones_kept(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.sync(_members("aaa", "bbb", "ccc"))
        for key in ("aaa", "bbb"):
            store.mark_running(key, "h")
        store.mark_finished("aaa", _finished(loss=1.0))
        assert store.recover_interrupted() == 1
        assert store.counts() == {"pending": 2, "running": 0, "done": 1, "failed": 0}
        store.mark_running("bbb", "h")
        assert store.records(status="running")[0].attempts == 2


def test_failed_run_keeps_its_error(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.sync(_members("aaa"))
        store.mark_finished("aaa", _finished("failed"))
        assert store.records(status="failed")[0].error == "boom"
        with pytest.raises(ValueError):
            store.mark_finished("aaa", _finished("running"))


def test_find_by_unique_prefix(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.sync(_members("abc123", "abd456", "x_y"))
        assert store.find("abc").key == "abc123"
        with pytest.raises(InputError, match="matches several runs"):
            store.find("ab")
        with pytest.raises(InputError, match="no run with a key starting 'zz'"):
            store.find("zz")
        with pytest.raises(InputError, match="no run"):
            store.find("x%")                      # LIKE wildcards are taken literally


def test_opening_a_folder_without_a_store_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="not a sweep output folder"):
        RunStore(tmp_path / "runs.sqlite", create=False)
    assert not (tmp_path / "runs.sqlite").exists()


def test_second_lock_is_refused_naming_the_holder(tmp_path):
    with SweepLock(tmp_path):
        with pytest.raises(LockedError) as err:
            SweepLock(tmp_path).acquire()
    assert err.value.exit_code == EXIT_LOCKED == 75
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in str(err.value)
    with SweepLock(tmp_path) as again:       # released: free again, nobody reported as stale
        assert again.previous_holder is None


def test_lock_of_a_killed_process_is_free_and_reported_as_stale(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from workbench.sweep.lock import SweepLock
        SweepLock({str(tmp_path)!r}).acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {proc.pid} "):
            SweepLock(tmp_path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lock = SweepLock(tmp_path).acquire()
    try:
        assert lock.previous_holder["pid"] == proc.pid
        assert json.loads((tmp_path / "sweep.lock").read_text())["pid"] == os.getpid()
    finally:
        lock.release()


def _record(key, status, seq, **metrics):
    return RunRecord(key=key, seq=seq, config_path="c.yaml", overrides={"optimizer.lr": seq}, config={},
                     status=status, metrics=metrics or None, error="boom" if status == "failed" else None)


RECORDS = [_record("pending1", "pending", 0), _record("bad", "failed", 1, loss=0.01),
           _record("worse", "done", 2, loss=3.0, r2=0.5), _record("best", "done", 3, loss=1.0, r2=0.9),
           _record("nometric", "done", 4, r2=0.1), _record("tie", "done", 5, loss=1.0, r2=0.7)]


def test_rank_puts_finished_runs_best_first_then_failed_then_pending():
    assert [r.key for r in rank(RECORDS, "loss", "min")] == ["best", "tie", "worse", "nometric", "bad", "pending1"]
    assert [r.key for r in rank(RECORDS, "r2", "max")][:4] == ["best", "tie", "worse", "nometric"]
    assert best_record(RECORDS, "loss", "min").key == "best"
    assert best_record([RECORDS[0], RECORDS[1]], "loss", "min") is None


def test_leaderboard_csv_lists_every_run_best_first_with_overrides_and_metrics():
    text = leaderboard_csv(RECORDS, ["optimizer.lr"], "loss", "min", show_config=False)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["key"] for r in rows] == ["best", "tie", "worse", "nometric", "bad", "pending1"]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["optimizer.lr"] == "3" and rows[0]["loss"] == "1.0" and rows[0]["r2"] == "0.9"
    assert rows[4]["status"] == "failed" and rows[4]["error"] == "boom"
    assert list(rows[0])[:5] == ["rank", "key", "status", "optimizer.lr", "loss"]


def test_flatten_metrics_takes_top_level_fit_and_validation_numbers():
    result = {"loss": 0.5, "val_loss": 0.7, "converged": True, "iterations": 12, "elapsed_s": 0.1,
              "metrics": {"n": 30, "r2": 0.99, "rmse": 0.1}, "validation_metrics": {"n": 8, "r2": 0.95},
              "params": {"a": 1.0}}
    assert flatten_metrics(result) == {"loss": 0.5, "val_loss": 0.7, "iterations": 12, "elapsed_s": 0.1,
                                       "converged": True, "r2": 0.99, "rmse": 0.1, "val_r2": 0.95}


def _report(status="done"):
    return {"status": status, "started_at": "s", "finished_at": "f", "host": "h", "pid": 5, "elapsed_s": 0.2,
            "metrics": {"loss": 1.5}, "error": None if status == "done" else "bad",
            "files": {"result.json": b"{}", "sub/history.csv": b"step,loss\n0,1\n"}}


def test_run_folder_is_written_whole_and_read_back_for_adoption(tmp_path):
    finished = write_run_dir(tmp_path, "k1", _report(), "name: x\n", {"optimizer.lr": 0.1})
    folder = tmp_path / "runs" / "k1"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "config.yaml", "result.json", "run.json", "sub/history.csv"]
    assert finished.result_dir == "runs/k1"
    assert read_finished(tmp_path, "k1") == finished
    assert not list((tmp_path / "runs").glob(".*"))
    write_run_dir(tmp_path, "k2", _report("failed"), "name: x\n", {})
    assert read_finished(tmp_path, "k2") is None           # a failed run is retried, not adopted
    assert read_finished(tmp_path, "absent") is None


def test_run_folder_refuses_files_outside_it(tmp_path):
    report = dict(_report(), files={"../escape.txt": b"x"})
    with pytest.raises(ValueError, match="outside its folder"):
        write_run_dir(tmp_path, "k1", report, "", {})
    assert not (tmp_path / "escape.txt").exists()


def test_ties_on_the_metric_go_to_the_converged_then_the_faster_run():
    records = [_record("slow", "done", 0, loss=1.0, converged=True, elapsed_s=2.0),
               _record("unconverged", "done", 1, loss=1.0, converged=False, elapsed_s=0.1),
               _record("fast", "done", 2, loss=1.0, converged=True, elapsed_s=0.5)]
    assert [r.key for r in rank(records, "loss", "min")] == ["fast", "slow", "unconverged"]
