"""A sweep member's ``timeout:`` and ``max_memory:`` hold on a Dask cluster too: a limited run that
a worker thread receives runs in a child process of the worker, where the alarm and the address
space limit work as in a local worker; runs without limits stay in the worker's thread."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from sweep_runners import make_sweep, quiet_run, store_rows

from workbench.pipeline.limits import RunLimits
from workbench.sweep.worker import RunTask, execute

pytest.importorskip("distributed")

SLOW_AND_FAST = "optimizer.max_steps: [50, 2000000]\noptimizer.lr: [0.001]"   # gd: ~0.1 ms a step


def _rows_by_steps(out: Path) -> dict:
    return {r["overrides"]["optimizer.max_steps"]: r for r in store_rows(out).values()}


def _run_pid(out: Path, key: str) -> int:
    return json.loads((out / "runs" / key / "run.json").read_text())["pid"]


def _comparable(metrics: dict) -> dict:
    return {name: value for name, value in metrics.items() if "elapsed" not in name}


def test_a_real_fit_past_its_timeout_fails_with_the_reason_and_the_quick_one_matches_an_unlimited_run(
        tmp_path, cluster):
    limited_dir, free_dir = tmp_path / "limited", tmp_path / "free"
    limited_dir.mkdir(), free_dir.mkdir()
    limited = make_sweep(limited_dir, SLOW_AND_FAST, "timeout: 2\n")
    free = make_sweep(free_dir, "optimizer.max_steps: [50]\noptimizer.lr: [0.001]")

    report = quiet_run(limited, runner="workbench.sweep.worker:fit_runner", scheduler=cluster.scheduler_address)
    unlimited = quiet_run(free, runner="workbench.sweep.worker:fit_runner", scheduler=cluster.scheduler_address)

    assert report.exit_status == 1 and unlimited.exit_status == 0
    rows = _rows_by_steps(limited_dir / "out")
    slow, quick = rows[2000000], rows[50]
    assert slow["status"] == "failed"
    assert slow["error"].startswith("stopped at the time limit (timeout 2 s)")
    assert quick["status"] == "done" and quick["metrics"]["iterations"] == 50
    free_row = _rows_by_steps(free_dir / "out")[50]
    assert _comparable(quick["metrics"]) == _comparable(free_row["metrics"])
    worker_pids = {nanny.pid for nanny in cluster.workers.values()}
    key_of = {r["overrides"]["optimizer.max_steps"]: k for k, r in store_rows(limited_dir / "out").items()}
    assert _run_pid(limited_dir / "out", key_of[50]) not in worker_pids      # a child of a worker ran it
    (free_key,) = store_rows(free_dir / "out")
    assert _run_pid(free_dir / "out", free_key) in worker_pids               # no limit: the worker's thread


def test_a_member_over_its_memory_limit_ends_out_of_memory_and_the_others_succeed(tmp_path, cluster):
    path = make_sweep(tmp_path, "optimizer.max_steps: [10, 99, 20]", "max_memory: 1GB\n")
    report = quiet_run(path, runner="sweep_runners:hungry", scheduler=cluster.scheduler_address)
    assert report.exit_status == 1
    rows = _rows_by_steps(tmp_path / "out")
    assert rows[99]["status"] == "failed" and rows[99]["error"] == "ran out of memory (max_memory 1 GB)"
    assert rows[10]["status"] == rows[20]["status"] == "done"
    assert rows[10]["metrics"]["loss"] == pytest.approx(2.0)     # sweep_runners.score at the default lr 1.0


def test_a_member_that_never_ends_is_stopped_on_the_cluster(tmp_path, cluster):
    path = make_sweep(tmp_path, "optimizer.max_steps: [10, 98]", "timeout: 1\n")
    report = quiet_run(path, runner="sweep_runners:hungry", scheduler=cluster.scheduler_address)
    rows = _rows_by_steps(tmp_path / "out")
    assert report.exit_status == 1
    assert rows[98]["status"] == "failed" and rows[98]["error"] == "stopped at the time limit (timeout 1 s)"
    assert rows[10]["status"] == "done"


def killed_by_signal(task: RunTask, out_dir: Path) -> dict:
    """A run whose process the kernel kills, as the OOM killer does."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def _execute_in_a_thread(task: RunTask) -> dict:
    reports = []
    thread = threading.Thread(target=lambda: reports.append(execute(task)))
    thread.start()
    thread.join()
    return reports[0]


def _task(tmp_path: Path, runner: str, limits: RunLimits, steps: int = 10) -> RunTask:
    return RunTask(key="k1", raw={}, base_dir=str(tmp_path), source="t.yaml", name="t",
                   overrides={"optimizer.max_steps": steps}, runner=runner, limits=limits)


def test_a_child_killed_by_a_signal_is_a_failed_run_with_the_reason(tmp_path):
    report = _execute_in_a_thread(_task(tmp_path, "test_sweep_dask_limits:killed_by_signal",
                                        RunLimits(timeout=60, max_memory=2 << 30)))
    assert report["status"] == "failed"
    assert report["error"] == "ran out of memory (max_memory 2 GB): the process running it was killed by SIGKILL " \
                              "before it reported"
    assert report["pid"] != os.getpid() and report["metrics"] is None


def test_a_child_that_exits_is_a_failed_run_naming_its_status(tmp_path):
    report = _execute_in_a_thread(_task(tmp_path, "sweep_runners:scored", RunLimits(timeout=60), steps=666))
    assert report["status"] == "failed"
    assert report["error"] == "the process running it exited with status 9 before it reported"
    assert "result.json" in report["files"]        # what the run wrote before it died comes back


def test_a_limited_run_in_a_thread_reports_like_the_run_in_the_thread_itself(tmp_path):
    in_child = _execute_in_a_thread(_task(tmp_path, "sweep_runners:scored", RunLimits(timeout=60), steps=13))
    in_thread = _execute_in_a_thread(_task(tmp_path, "sweep_runners:scored", RunLimits(), steps=13))
    assert in_child["pid"] != os.getpid() and in_thread["pid"] == os.getpid()
    for field in ("status", "error", "metrics", "files"):
        assert in_child[field] == in_thread[field], field
    assert in_child["error"] == "the fit diverged at step 13: the loss became NaN"


def test_a_limit_the_platform_cannot_honour_is_refused_naming_the_key(monkeypatch):
    import sys

    from workbench.errors import InputError
    from workbench.pipeline.limits import parse_limits

    monkeypatch.delattr(signal, "setitimer")
    with pytest.raises(InputError, match=r"^sweep.yaml: timeout: this platform has no interval timer") as err:
        parse_limits({"timeout": 5}, "sweep.yaml")
    assert err.value.exit_code == 2
    monkeypatch.setitem(sys.modules, "resource", None)
    with pytest.raises(InputError, match=r"^sweep.yaml: max_memory: this platform cannot limit"):
        parse_limits({"max_memory": "1GB"}, "sweep.yaml")
    assert parse_limits({}, "sweep.yaml") == RunLimits()
