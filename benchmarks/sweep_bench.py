"""Sweep benchmark: a 64-run sweep of small fits, on 1 and 2 local workers and on a Dask cluster.

Prints a table: the wall time of the bare fits (each member's ``run_fit`` in this process, the
way a sweep calls it: no plots, no reports), of the same sweep on 1 and on 2 local workers
(whole ``run_sweep``: store, run folders, leaderboard, report), and on a 2-worker Dask
``LocalCluster``. From these: the speed-up of 2 workers over 1 (target >= 1.7x on a machine
with 2 free cores), and the overhead per run beyond the fit itself, (1-worker wall - bare fits)
/ runs (target <= 50 ms); it includes starting the worker process and writing every output.

Timings are the best of ``--repeat`` sweeps. On a shared machine the speed-up is capped by the
cores other work leaves free, so the script also prints that ceiling, measured the same way on
plain arithmetic.

Run: python benchmarks/sweep_bench.py [--rows 3000] [--repeat 2] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})  # as in a worker

import numpy as np  # noqa: E402

CONFIG = """
    name: bench
    data:
      path: decay.csv
    model:
      formula: "y ~ a * exp(-b * x) + c"
    params:
      a: 1.0
      b: {init: 0.1, min: 0}
      c: 0.0
    loss: mse
    optimizer:
      name: lm
      max_steps: 500
    seed: 0
"""
SWEEP = """
    name: bench
    base: bench.yaml
    strategy: grid
    space:
      optimizer.name: [lm, lbfgs]
      params.b.init: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5]
      params.a.init: [0.5, 1.0, 2.0, 4.0]
    metric: loss
"""


def make_inputs(folder: Path, rows: int) -> Path:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 8, rows)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, rows)
    np.savetxt(folder / "decay.csv", np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.6f")
    (folder / "bench.yaml").write_text(textwrap.dedent(CONFIG).lstrip())
    path = folder / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP).lstrip())
    return path


def bare_fits(plan, folder: Path) -> float:
    """Every member fitted in this process as a sweep worker would: the fits' own time."""
    from workbench.sweep.worker import fit_runner

    tasks = [_task(m) for m in plan.members]
    fit_runner(tasks[0], Path(tempfile.mkdtemp(dir=folder)))        # warm-up: imports, caches
    started = time.perf_counter()
    for task in tasks:
        fit_runner(task, Path(tempfile.mkdtemp(dir=folder)))
    return time.perf_counter() - started


def _task(member):
    from workbench.sweep.worker import RunTask

    return RunTask(key=member.key, raw=member.raw, base_dir=str(member.base_dir), source="bench",
                   name=member.name, overrides=member.overrides)


def timed_sweep(path: Path, out: Path, repeat: int = 1, **options) -> tuple[float, object]:
    """Best wall time of ``repeat`` complete sweeps (each with --restart, so every run executes)."""
    from workbench.sweep.orchestrator import run_sweep
    from workbench.sweep.plan import plan_sweep

    best, report = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        report = run_sweep(plan_sweep(path, out), restart=True, quiet=True, **options)
        best = min(best, time.perf_counter() - started)
    return best, report


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_parallelism() -> float:
    """Speed-up of two spawned processes over one on pure Python arithmetic: the ceiling for
    any 2-worker speed-up on this machine at this moment (other load lowers it)."""
    import multiprocessing

    n, serial, parallel = 3_000_000, float("inf"), float("inf")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [10, 10])
        for _ in range(3):
            started = time.perf_counter()
            _burn(n), _burn(n)
            serial = min(serial, time.perf_counter() - started)
            started = time.perf_counter()
            pool.map(_burn, [n, n])
            parallel = min(parallel, time.perf_counter() - started)
    return serial / parallel


def dask_sweep(path: Path, out: Path) -> tuple[float, float, object] | None:
    try:
        import distributed
    except ImportError:
        return None
    started = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        startup = time.perf_counter() - started
        wall, report = timed_sweep(path, out, scheduler=cluster.scheduler_address)   # one sweep
    return startup, wall, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="rows of data per fit (sets the fit's cost)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster run")
    parser.add_argument("--repeat", type=int, default=2, help="sweeps per setting; the best time counts")
    args = parser.parse_args()
    import jinja2  # noqa: F401  (imported once here, so neither sweep below pays for it alone)
    import matplotlib.figure  # noqa: F401

    from workbench.sweep.plan import plan_sweep

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        folder = Path(tmp)
        path = make_inputs(folder, args.rows)
        plan = plan_sweep(path, folder / "out")
        runs = len(plan.members)
        bare = min(bare_fits(plan, folder) for _ in range(args.repeat))
        one, report1 = timed_sweep(path, folder / "out1", args.repeat, workers=1)
        two, report2 = timed_sweep(path, folder / "out2", args.repeat, workers=2)
        ceiling = machine_parallelism()
        dask = None if args.no_dask else dask_sweep(path, folder / "out3")
        for report in (report1, report2) + ((dask[2],) if dask else ()):
            assert report.counts["done"] == runs, report.counts
    print(f"sweep benchmark: {runs} runs (decay formula, {args.rows} rows, lm and lbfgs), "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'':34}{'wall s':>9}{'per run ms':>12}")
    rows = [("bare fits, in-process", bare), ("sweep, 1 local worker", one), ("sweep, 2 local workers", two)]
    if dask:
        rows.append((f"sweep, Dask LocalCluster 2x1 (+{dask[0]:.1f} s start)", dask[1]))
    for label, seconds in rows:
        print(f"{label:34}{seconds:9.2f}{1000 * seconds / runs:12.1f}")
    print(f"speed-up, 2 workers over 1:       {one / two:5.2f}x   (target >= 1.7x; this machine's ceiling "
          f"now: {ceiling:.2f}x)")
    print(f"overhead per run beyond the fit:  {1000 * (one - bare) / runs:5.1f} ms (target <= 50 ms)")
    if dask:
        print(f"Dask 2 workers vs local 2 workers: {dask[1] / two:5.2f}x the wall time")


if __name__ == "__main__":
    main()
