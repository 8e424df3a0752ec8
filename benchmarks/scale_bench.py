"""Scale benchmark: the whole ``workbench fit --no-reports`` against a pandas + scipy/numpy script
on the same CSV, from 1e3 rows up to ``--max-rows``, each in its own process.

Prints per workload and size: wall time and peak memory (the child's ru_maxrss) of both, their
ratios, and the growth exponent of our time (log-log slope from 1e5 rows up). Workloads:
``decay`` (y ~ a*exp(-b*x)+c vs scipy's curve_fit), ``linear20`` (20 inputs vs numpy lstsq),
``logistic20`` (vs scikit-learn's LogisticRegression, skipped without it).

    python benchmarks/scale_bench.py --max-rows 1e6 [--workloads decay,linear20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REFERENCES = {
    "decay": ("import pandas as pd, numpy as np\nfrom scipy.optimize import curve_fit\n"
              "d = pd.read_csv({csv!r})\n"
              "f = lambda x, a, b, c: a * np.exp(-b * x) + c\n"
              "p, cov = curve_fit(f, d['x'].to_numpy(), d['y'].to_numpy(), p0=[1.0, 0.1, 0.0])\n"
              "r = d['y'].to_numpy() - f(d['x'].to_numpy(), *p)\n"
              "pd.DataFrame({{'prediction': f(d['x'].to_numpy(), *p), 'residual': r}}).to_csv({out!r})\n"),
    "linear20": ("import pandas as pd, numpy as np\nd = pd.read_csv({csv!r})\n"
                 "X = np.column_stack([d[f'x{{i}}'].to_numpy() for i in range(20)] + [np.ones(len(d))])\n"
                 "coef, *_ = np.linalg.lstsq(X, d['y'].to_numpy(), rcond=None)\n"
                 "pd.DataFrame({{'prediction': X @ coef}}).to_csv({out!r})\n"),
    "logistic20": ("import pandas as pd, numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
                   "d = pd.read_csv({csv!r})\nX = d[[f'x{{i}}' for i in range(20)]].to_numpy()\n"
                   "m = LogisticRegression(C=1e6, max_iter=1000).fit(X, d['y'].to_numpy())\n"
                   "pd.DataFrame({{'prediction': m.predict_proba(X)[:, 1]}}).to_csv({out!r})\n"),
}
CONFIGS = {
    "decay": 'name: b\ndata: {{path: {csv}}}\nmodel: {{formula: "y ~ a * exp(-b * x) + c"}}\n'
             "params: {{a: 1.0, b: 0.1, c: 0.0}}\noutput: {{plots: false}}\n",
    "linear20": "name: b\ndata: {{path: {csv}}}\nmodel: {{type: linear, inputs: [{inputs}], target: y}}\n"
                "output: {{plots: false}}\n",
    "logistic20": "name: b\ndata: {{path: {csv}}}\nmodel: {{type: logistic, inputs: [{inputs}], target: y}}\n"
                  "loss: cross_entropy\noutput: {{plots: false}}\n",
}


def write_data(workload: str, rows: int, path: Path) -> None:
    """The benchmark's CSV, written in blocks so that 1e7 rows do not need the table in memory."""
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        if workload == "decay":
            handle.write("x,y\n")
        else:
            handle.write(",".join(f"x{i}" for i in range(20)) + ",y\n")
        for start in range(0, rows, 500_000):
            n = min(500_000, rows - start)
            if workload == "decay":
                x = rng.uniform(0, 5, n)
                block = np.column_stack([x, 3 * np.exp(-0.7 * x) + 0.5 + rng.normal(0, 0.05, n)])
            else:
                inputs = rng.normal(size=(n, 20))
                eta = inputs @ np.linspace(-1, 1, 20) + 0.3
                y = eta + rng.normal(0, 0.1, n) if workload == "linear20" else \
                    (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
                block = np.column_stack([inputs, y])
            np.savetxt(handle, block, delimiter=",", fmt="%.6g")


def run_child(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak memory in MB, exit code) of one child process."""
    started = time.perf_counter()
    pid = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).pid
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def measure(workload: str, rows: int, folder: Path) -> dict:
    csv = folder / f"{workload}-{rows}.csv"
    if not csv.exists():
        write_data(workload, rows, csv)
    inputs = ", ".join(f"x{i}" for i in range(20))
    config = folder / f"{workload}.yaml"
    config.write_text(CONFIGS[workload].format(csv=csv, inputs=inputs))
    script = folder / f"{workload}_ref.py"
    script.write_text(REFERENCES[workload].format(csv=str(csv), out=str(folder / "ref_pred.csv")))
    ours = run_child([sys.executable, "-m", "workbench", "fit", str(config), "--no-reports", "-q",
                      "--out", str(folder / "out")], folder)
    reference = run_child([sys.executable, str(script)], folder)
    return {"rows": rows, "ours": ours, "reference": reference}


def slope(points: list[tuple[int, float]]) -> float | None:
    points = [(r, t) for r, t in points if r >= 100_000 and t > 0]
    if len(points) < 2:
        return None
    logs = np.log([[r, t] for r, t in points])
    return float(np.polyfit(logs[:, 0], logs[:, 1], 1)[0])


PARQUET_CONFIG = """name: big
data: {{path: {pattern}}}
model: {{formula: "y ~ a * exp(-b * x) + c"}}
params: {{a: 1.0, b: 0.1, c: 0.0}}
output: {{plots: false, predictions: parquet}}
"""
CLUSTER_SCRIPT = """import sys
from distributed import LocalCluster
from workbench.cli import main

if __name__ == "__main__":       # worker processes import this file: start the cluster once
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit="6GB") as cluster:
        code = 0
        try:
            main(sys.argv[1:] + ["--scheduler", cluster.scheduler_address])
        except SystemExit as stop:
            code = stop.code
    sys.exit(code)
"""


def write_parquet_parts(rows: int, folder: Path, files: int = 10) -> str:
    """The decay data as ``files`` Parquet files of equal size (row groups of 1e6), never whole in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    per_file = -(-rows // files)
    for i in range(files):
        n_file = min(per_file, rows - i * per_file)
        schema = pa.schema([("x", pa.float64()), ("y", pa.float64())])
        with pq.ParquetWriter(folder / f"part-{i:03d}.parquet", schema) as out:
            for start in range(0, n_file, 1_000_000):
                n = min(1_000_000, n_file - start)
                x = rng.uniform(0, 5, n)
                out.write_table(pa.table({"x": x, "y": 3 * np.exp(-0.7 * x) + 0.5 + rng.normal(0, 0.05, n)}))
    return str(folder / "part-*.parquet")


def parquet_run(rows: int, folder: Path) -> None:
    """The decay fit of ``rows`` rows in Parquet files, chunked on this machine and through a
    LocalCluster of 2 worker processes (the client's peak memory; workers read their own files)."""
    folder.mkdir(parents=True, exist_ok=True)
    pattern = write_parquet_parts(rows, folder)
    config = folder / "big.yaml"
    config.write_text(PARQUET_CONFIG.format(pattern=pattern))
    (folder / "cluster.py").write_text(CLUSTER_SCRIPT)
    fit = ["fit", str(config), "--no-reports", "-q"]
    for label, argv in (("chunked", [sys.executable, "-m", "workbench", *fit, "--out", str(folder / "out1")]),
                        ("cluster", [sys.executable, str(folder / "cluster.py"), *fit, "--out", str(folder / "out2")])):
        seconds, peak, code = run_child(argv, folder)
        print(f"{label:>8} {rows:>10} rows: {seconds:8.1f} s, peak {peak:7.0f} MB, exit {code}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=float, default=1e6)
    parser.add_argument("--workloads", default="decay,linear20,logistic20")
    parser.add_argument("--folder", default=None, help="where the CSVs go (default: a temporary folder)")
    parser.add_argument("--parquet-rows", type=float, default=None,
                        help="instead: the decay fit of this many rows in 10 Parquet files, local and on a "
                             "LocalCluster")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="scale_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.parquet_rows:
        parquet_run(int(args.parquet_rows), folder)
        return
    sizes = [10 ** k for k in range(3, 8) if 10 ** k <= args.max_rows]
    for workload in args.workloads.split(","):
        if workload == "logistic20":
            try:
                import sklearn  # noqa: F401
            except ImportError:
                print("logistic20: skipped (scikit-learn is not installed)")
                continue
        print(f"\n{workload}\n{'rows':>10} {'ours s':>8} {'ref s':>8} {'ratio':>6} {'ours MB':>8} {'ref MB':>8} "
              f"{'ratio':>6}  exit")
        times = []
        for rows in sizes:
            m = measure(workload, rows, folder)
            (t, mem, code), (rt, rmem, rcode) = m["ours"], m["reference"]
            times.append((rows, t))
            print(f"{rows:>10} {t:8.2f} {rt:8.2f} {t / rt:6.2f} {mem:8.0f} {rmem:8.0f} {mem / rmem:6.2f}  "
                  f"{code}/{rcode}", flush=True)
        exponent = slope(times)
        print(f"growth exponent from 1e5 rows: {exponent:.2f}" if exponent is not None else
              "growth exponent: needs two sizes from 1e5 rows")


if __name__ == "__main__":
    main()
