"""Honest sweep state (issue 13 item 4): summary.json follows the runs and tells a dead sweep
from a running one; a run that did not converge is never best; whole sections can be swept and
keys that do not apply are left out with a note; labels name the parameter."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep_runners import SLEEP_ENV, make_sweep, markers, quiet_run, store_rows  # noqa: F401 (fixture)
from workbench.cli import main
from workbench.sweep.leaderboard import best_record
from workbench.sweep.store import RunRecord

TESTS = Path(__file__).resolve().parent
LRS = "optimizer.lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.02, 0.03]"


def _done(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_after_kill_9_runs_marks_the_summary_interrupted_with_the_true_counts(tmp_path, markers, capsys):
    path = make_sweep(tmp_path, LRS)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               **{SLEEP_ENV: "0.4"})
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "sweep", str(path), "--workers", "2", "--runner",
                             "sweep_runners:sleepy", "-q"], cwd=tmp_path, env=env)
    out = tmp_path / "out"
    deadline = time.monotonic() + 60
    while _done(out / "runs.sqlite") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((out / "summary.json").read_text())["state"] == "running"     # what the dead sweep left
    rows = store_rows(out)
    done = sum(r["status"] == "done" for r in rows.values())
    failed = sum(r["status"] == "failed" for r in rows.values())

    with pytest.raises(SystemExit) as exited:
        main(["runs", str(out)])
    text = capsys.readouterr().out
    assert exited.value.code == 0
    assert text.splitlines()[0].startswith("state: interrupted (the sweep (pid ")
    assert f"{done} done, {failed} failed, {12 - done - failed} pending" in text.splitlines()[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["state"] == "interrupted"
    assert summary["counts"] == {"pending": 12 - done - failed, "running": 0, "done": done, "failed": failed}
    assert "ended without finishing" in summary["notes"][0]


def test_summary_is_rewritten_as_runs_finish(tmp_path, markers, monkeypatch):
    from workbench.sweep import orchestrator

    written = []
    real = orchestrator.write_summary

    def spy(state):
        written.append(state.counts()["done"])
        return real(state)

    monkeypatch.setattr(orchestrator, "SUMMARY_EVERY_S", 0.0)
    monkeypatch.setattr(orchestrator, "write_summary", spy)
    quiet_run(make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1, 1.0, 10.0]"), workers=1)
    assert written[:5] == [0, 1, 2, 3, 4]           # the start, then once per finished run


def _record(key: str, seq: int, loss: float, converged: bool) -> RunRecord:
    return RunRecord(key=key, seq=seq, config_path="c.yaml", overrides={}, config={}, status="done",
                     metrics={"loss": loss, "converged": converged})


def test_a_run_that_did_not_converge_is_never_best_while_a_converged_one_exists():
    records = [_record("gave-up-low", 0, 0.1, False), _record("converged", 1, 5.0, True),
               _record("converged-worse", 2, 9.0, True)]
    assert best_record(records, "loss", "min").key == "converged"
    assert best_record(records[:1], "loss", "min").key == "gave-up-low"      # no converged run: still ranked


def test_a_sweep_switches_whole_sections(tmp_path):
    from workbench.sweep.plan import plan_sweep

    path = make_sweep(tmp_path, "optimizer.name: [lbfgs]\nloss: [{name: mse}, {name: huber, delta: 1.0}]")
    plan = plan_sweep(path)
    assert [m.overrides["loss"] for m in plan.members] == [{"name": "mse"}, {"name": "huber", "delta": 1.0}]
    assert [m.raw["loss"] for m in plan.members] == [{"name": "mse"}, {"name": "huber", "delta": 1.0}]


def test_keys_that_apply_only_to_some_choices_are_left_out_of_the_others_with_a_note(tmp_path, capsys):
    from workbench.sweep.plan import plan_sweep

    path = make_sweep(tmp_path, "optimizer.name: [lbfgs]\nloss.name: [mse, huber]\nloss.delta: [0.5, 1.0]")
    plan = plan_sweep(path)
    assert [{k: v for k, v in m.overrides.items() if k != "optimizer.name"} for m in plan.members] == [
        {"loss.name": "mse"}, {"loss.name": "huber", "loss.delta": 0.5}, {"loss.name": "huber", "loss.delta": 1.0}]
    assert plan.expansion.duplicates == 1
    assert any(note.startswith("loss.delta is left out where loss.name is mse") for note in plan.expansion.notes)
    with pytest.raises(SystemExit) as exited:
        main(["sweep", str(path), "--dry-run"])
    text = capsys.readouterr().out
    assert exited.value.code == 0 and "note: loss.delta is left out where loss.name is mse" in text


def test_labels_name_the_parameter(tmp_path, markers):
    path = make_sweep(tmp_path, "params.a.init: [1, 2]\nparams.b.init: [0.5]\noptimizer.lr: [0.01]")
    quiet_run(path)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["label"] == 'params.a.init=1, params.b.init=0.5, optimizer.lr=0.01'
    assert summary["state"] == "finished" and summary["best"]["converged"] is True


def test_a_running_or_cleanly_ended_sweep_is_not_taken_for_a_dead_one(tmp_path):
    from workbench.sweep.lock import SweepLock
    from workbench.sweep.status import mark_interrupted

    with SweepLock(tmp_path):
        assert SweepLock(tmp_path).dead_holder() is None      # held: alive, whoever holds it
    assert SweepLock(tmp_path).dead_holder() is None          # released cleanly: the file names nobody
    (tmp_path / "sweep.lock").write_text('{"pid": 999999999, "host": "h", "started_at": "t"}\n')
    assert SweepLock(tmp_path).dead_holder()["pid"] == 999999999
    assert mark_interrupted(tmp_path) is None                 # no store: not a sweep's folder, nothing written
    assert not (tmp_path / "summary.json").exists()
