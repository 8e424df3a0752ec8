"""Sweeps on a Dask cluster: a 2-worker LocalCluster runs every run and the results come back to
the coordinator's store; an unreachable scheduler or a missing dask is bad input (exit 2)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time

import pytest

from sweep_runners import executions, make_sweep, markers, quiet_run, store_rows  # noqa: F401 (fixture)
from workbench.errors import InputError
from workbench.sweep.orchestrator import run_sweep
from workbench.sweep.plan import plan_sweep


def test_dask_local_cluster_runs_every_run_and_results_come_back(tmp_path, markers):
    distributed = pytest.importorskip("distributed")
    path = make_sweep(tmp_path, "optimizer.max_steps: [100, 13]\noptimizer.lr: [0.01, 0.1, 1.0]")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        report = quiet_run(path, scheduler=cluster.scheduler_address)
        worker_pids = {nanny.pid for nanny in cluster.workers.values()}
    assert report.counts == {"pending": 0, "running": 0, "done": 3, "failed": 3}
    assert report.exit_status == 1
    rows = store_rows(tmp_path / "out")
    assert all(r["attempts"] == 1 for r in rows.values())
    assert set(executions(markers).values()) == {1} and len(executions(markers)) == 6
    pids = {json.loads((tmp_path / "out" / "runs" / k / "run.json").read_text())["pid"] for k in rows}
    assert pids <= worker_pids and os.getpid() not in pids      # ran on the cluster's workers
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["executor"].startswith("dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_is_bad_input_within_the_timeout(tmp_path):
    pytest.importorskip("distributed")
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]")
    started = time.monotonic()
    with pytest.raises(InputError, match=r"--scheduler: cannot reach the Dask scheduler at tcp://127.0.0.1:\d+ "
                                         r"\(.*2 s\)") as err:
        run_sweep(plan_sweep(path), scheduler=f"tcp://127.0.0.1:{_free_port()}", connect_timeout=2, quiet=True)
    assert err.value.exit_code == 2
    assert time.monotonic() - started < 6
    assert not (tmp_path / "out").exists()


def test_scheduler_without_dask_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]")
    with pytest.raises(InputError, match=r"pip install 'workbench\[cluster\]'") as err:
        run_sweep(plan_sweep(path), scheduler="tcp://127.0.0.1:8786", quiet=True)
    assert err.value.exit_code == 2
