"""`workbench sweep` and `workbench runs` as a user runs them: kill -9 and resume, the lock, exit
statuses, every bad input, real fits end to end, and the run listing."""

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

from sweep_runners import SLEEP_ENV, executions, make_sweep, markers, store_rows  # noqa: F401 (fixture)
from workbench.cli import main
from workbench.sweep.lock import SweepLock

TESTS = Path(__file__).resolve().parent


def sweep_cmd(*args: str, cwd: Path, timeout: float = 120, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_env(extra_env))


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    env.update(extra or {})
    return env


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    """``workbench ARGS`` in this process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def _done_count(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


LRS = "optimizer.lr: [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.02, 0.03]"


def test_sigkill_part_way_then_resume_runs_every_run_exactly_once(tmp_path, markers):
    path = make_sweep(tmp_path, LRS)
    args = ["sweep", str(path), "--workers", "2", "--runner", "sweep_runners:sleepy", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *args], cwd=tmp_path, env=_env({SLEEP_ENV: "0.4"}))
    store = tmp_path / "out" / "runs.sqlite"
    deadline = time.monotonic() + 60
    while _done_count(store) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = store_rows(tmp_path / "out")
    done_before = {k for k, r in before.items() if r["status"] == "done"}
    assert 3 <= len(done_before) < 12, "the kill should land part-way"
    assert any(r["status"] == "running" for r in before.values())
    executed = sum(executions(markers).values())
    time.sleep(1.0)                                    # longer than a run: an orphaned worker would finish one
    assert sum(executions(markers).values()) == executed, "workers outlived the killed coordinator"

    resumed = sweep_cmd(*args, cwd=tmp_path, extra_env={SLEEP_ENV: "0.05"})
    assert resumed.returncode == 0, resumed.stderr
    after = store_rows(tmp_path / "out")
    counts = executions(markers)
    assert len(after) == 12 and {r["status"] for r in after.values()} == {"done"}
    for key in done_before:                            # finished before the kill: never run again
        assert counts[key] == 1 and after[key]["attempts"] == 1
    assert all(counts[key] >= 1 for key in after)
    folders = sorted(p.name for p in (tmp_path / "out" / "runs").iterdir())
    assert folders == sorted(after)                    # one complete folder per run, no leftovers
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["done"] == 12 and summary["exit_status"] == 0


def test_second_invocation_while_locked_exits_75_naming_the_holder(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]")
    (tmp_path / "out").mkdir()
    with SweepLock(tmp_path / "out"):
        proc = sweep_cmd("sweep", str(path), "--runner", "sweep_runners:scored", cwd=tmp_path)
    assert proc.returncode == 75
    assert proc.stderr.startswith(f"error: the sweep is already running: pid {os.getpid()} on host ")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "runs.sqlite").exists() and not executions(markers)


def test_a_failing_run_sets_exit_status_1_and_the_others_are_kept(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.max_steps: [100, 13, 200]")
    status, out, err = in_process(capsys, "sweep", str(path), "--workers", "2", "--runner", "sweep_runners:scored")
    assert status == 1, err
    assert "3 runs, 2 done, 1 failed" in out
    assert "failed (optimizer.max_steps=13): the fit diverged at step 13" in err
    assert len(executions(markers)) == 3


@pytest.mark.parametrize("space, extra, message", [
    ("optimizer.lrr: [0.1]", "", "sweep.yaml: space.optimizer.lrr: unknown key (did you mean 'lr'?)"),
    ("{}", "", "sweep.yaml: space: empty space"),
    ("optimizer.lr: [0.1]", "strategy: random\n", "sweep.yaml: trials: strategy random needs trials"),
    ("optimizer.lr: {log_uniform: [1.0e-4, 0.1]}", "", "sweep.yaml: space.optimizer.lr: a grid needs a list"),
    ("optimizer.lr: [0.1, -1]", "", "decay.yaml [optimizer.lr=-1]: optimizer.lr: "),
    ("optimizer.name: [lm, adamm]", "", "'adamm'"),
])
def test_bad_input_exits_2_with_one_line_before_any_run(tmp_path, capsys, markers, space, extra, message):
    path = make_sweep(tmp_path, space, extra)
    status, out, err = in_process(capsys, "sweep", str(path), "--runner", "sweep_runners:scored")
    assert status == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists() and not executions(markers)


def test_a_base_config_that_does_not_validate_is_bad_input(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.1]")
    (tmp_path / "decay.yaml").write_text((tmp_path / "decay.yaml").read_text().replace("loss: mse", "loss: msee"))
    status, _, err = in_process(capsys, "sweep", str(path))
    assert status == 2 and "decay.yaml" in err and "loss" in err and "msee" in err
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_keys_and_overrides_and_writes_nothing(tmp_path, capsys):
    path = make_sweep(tmp_path, "optimizer.name: [lm, lbfgs]\noptimizer.max_steps: [50, 500]")
    status, out, _ = in_process(capsys, "sweep", str(path), "--dry-run")
    lines = out.strip().splitlines()
    assert status == 0 and lines[0].startswith("t: 4 runs (grid; ranked by loss, min) -> ")
    assert len(lines) == 5 and all(len(line.split()[0]) == 16 and line.split()[1] == "new" for line in lines[1:])
    assert 'optimizer.name="lbfgs", optimizer.max_steps=500' in lines[4]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """A small sweep of real fits (lm and lbfgs, two step budgets), run once for the tests below."""
    folder = tmp_path_factory.mktemp("real")
    path = make_sweep(folder, "optimizer.name: [lm, lbfgs]\noptimizer.max_steps: [3, 500]")
    proc = sweep_cmd("sweep", str(path), "--workers", "2", cwd=folder)
    return folder, proc


def test_real_fits_end_to_end_with_a_best_config_that_fits_from_anywhere(real_sweep):
    folder, proc = real_sweep
    assert proc.returncode == 0, proc.stderr
    out = folder / "out"
    header, *rows = (out / "leaderboard.csv").read_text().splitlines()
    column = header.split(",").index
    ranked = [(row.split(",")[column("converged")] != "true", float(row.split(",")[column("loss")])) for row in rows]
    # converged runs first, each group by loss: a run stopped short ranks below one that converged
    # even when rounding left its loss lower in the last digits
    assert len(rows) == 4 and ranked == sorted(ranked)
    best_key = rows[0].split(",")[1]
    run = out / "runs" / best_key
    assert (run / "result.json").is_file() and (run / "history.csv").is_file()
    assert not list(run.glob("*.png")), "per-run plots are off unless run_reports is set"
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    refit = sweep_cmd("fit", str(out / "best.yaml"), "--out", "refit", "--no-reports", "-q", cwd=elsewhere)
    assert refit.returncode == 0, refit.stderr
    result = json.loads((elsewhere / "refit" / "result.json").read_text())
    assert result["loss"] == pytest.approx(ranked[0][1], rel=1e-6)


def test_runs_lists_the_store_and_shows_one_run_by_key_prefix(real_sweep, capsys):
    folder, _ = real_sweep
    out = folder / "out"
    status, text, _ = in_process(capsys, "runs", str(out))
    lines = text.strip().splitlines()
    assert status == 0 and lines[0].split()[:3] == ["key", "status", "loss"] and len(lines) == 5
    assert all(line.split()[1] == "done" for line in lines[1:])
    status, text, _ = in_process(capsys, "runs", str(out), "--status", "failed")
    assert (status, text.strip()) == (0, "no runs")
    key = lines[1].split()[0]
    status, text, _ = in_process(capsys, "runs", "show", key[:6], str(out))
    assert status == 0 and f"key       {key}" in text and "metrics" in text and "formula:" in text
    status, _, err = in_process(capsys, "runs", "show", "", str(out))
    assert status == 2 and "matches several runs" in err
    status, _, err = in_process(capsys, "runs", str(folder))
    assert status == 2 and "not a sweep output folder" in err
