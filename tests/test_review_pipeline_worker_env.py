"""A limited run that a Dask worker's thread receives runs in a child process; that process gets
the environment a local worker runs in: BLAS on one thread (each run one core, as N local workers
do not fight over the machine's cores) and headless plots."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from workbench.pipeline.limits import RunLimits
from workbench.sweep.worker import RunTask, execute

BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS")


def environment(task: RunTask, out_dir: Path) -> dict:
    """A runner that writes what its process's environment says of threads and plots."""
    seen = {name: os.environ.get(name) for name in (*BLAS_THREADS, "MPLBACKEND")}
    (out_dir / "environment.json").write_text(json.dumps(seen))
    return {"loss": 0.0}


def test_a_limited_run_in_a_workers_thread_runs_single_threaded_like_a_local_worker(tmp_path, monkeypatch):
    for name in BLAS_THREADS:                 # a Dask worker's own environment need not set them
        monkeypatch.delenv(name, raising=False)
    task = RunTask(key="k1", raw={}, base_dir=str(tmp_path), source="t.yaml", name="t",
                   runner=f"{__name__}:environment", limits=RunLimits(timeout=60))
    reports = []
    thread = threading.Thread(target=lambda: reports.append(execute(task)))   # as a Dask worker runs it
    thread.start()
    thread.join()

    report = reports[0]
    assert report["status"] == "done", report["error"]
    assert report["pid"] != os.getpid()       # it ran in a child process
    assert json.loads(report["files"]["environment.json"]) == {**{name: "1" for name in BLAS_THREADS},
                                                               "MPLBACKEND": "Agg"}
