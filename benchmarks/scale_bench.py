"""Scale benchmark: the whole ``workbench fit --no-reports`` against a reference script on the
same CSV, from 1e3 rows up to ``--max-rows``, ours and the reference in the same run, each in its
own process.

Prints per workload and size: wall time and peak memory (the child's ru_maxrss) of both, their
ratios, the final loss of both where the reference reports one (so a reader sees that the same
work was done), and per workload the growth exponent of our time and of the reference's (log-log
slope from 1e5 rows up: 1.0 is linear in the rows). Workloads:

* ``decay``: y ~ a*exp(-b*x)+c against scipy's curve_fit;
* ``linear20``: 20 inputs against numpy's lstsq;
* ``logistic20``: 20 inputs, cross-entropy, against scikit-learn's LogisticRegression (C=1e6,
  i.e. unpenalized; skipped without scikit-learn);
* ``mlp``: 10 inputs → 32 tanh units → 1, mean squared error, Adam with learning rate 0.01 for
  100 full-batch steps against the same network, loss, optimizer, rate and steps in torch
  (float64, inputs and target standardized as our MLP does). torch is never a dependency: its
  script runs under ``--torch-python`` (default ``/tmp/torchvenv/bin/python``, made with
  ``python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy pandas``); the
  row is skipped, with the reason printed, when that interpreter cannot import torch and pandas.
  Same work, not the same numbers: the starting weights differ, and our Adam steps on parameters
  divided by their starting size (``optim/transform.py``), so the final losses are close, not equal.

    python benchmarks/scale_bench.py --max-rows 1e6 [--workloads decay,linear20,logistic20,mlp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MLP_INPUTS, MLP_HIDDEN, MLP_LR, MLP_STEPS = 10, 32, 0.01, 100
INPUTS = {"decay": 1, "linear20": 20, "logistic20": 20, "mlp": MLP_INPUTS}
DEFAULT_TORCH_PYTHON = "/tmp/torchvenv/bin/python"

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
    # Row-major inputs: pandas hands back a column-major block, on which torch's matmuls are 2-3x slower.
    "mlp": ("import json, numpy as np, pandas as pd, torch\ntorch.manual_seed(0)\n"
            f"d = pd.read_csv({{csv!r}})\nX = torch.from_numpy(np.ascontiguousarray("
            f"d[[f'x{{{{i}}}}' for i in range({MLP_INPUTS})]].to_numpy()))\ny = torch.tensor(d['y'].to_numpy())\n"
            "X = (X - X.mean(0)) / X.std(0, unbiased=False)\ny_mean, y_sd = y.mean(), y.std(unbiased=False)\n"
            f"net = torch.nn.Sequential(torch.nn.Linear({MLP_INPUTS}, {MLP_HIDDEN}), torch.nn.Tanh(), "
            f"torch.nn.Linear({MLP_HIDDEN}, 1)).double()\n"
            f"opt = torch.optim.Adam(net.parameters(), lr={MLP_LR})\n"
            "predict = lambda: net(X)[:, 0] * y_sd + y_mean\n"
            f"for step in range({MLP_STEPS}):\n"
            "    opt.zero_grad()\n    loss = torch.mean((predict() - y) ** 2)\n    loss.backward()\n    opt.step()\n"
            "with torch.no_grad():\n    p = predict()\n    final = float(torch.mean((p - y) ** 2))\n"
            "pd.DataFrame({{'prediction': p.numpy()}}).to_csv({out!r})\n"
            f"json.dump({{{{'loss': final, 'steps': {MLP_STEPS}}}}}, open({{loss_file!r}}, 'w'))\n"),
}
CONFIGS = {
    "decay": 'name: b\ndata: {{path: {csv}}}\nmodel: {{formula: "y ~ a * exp(-b * x) + c"}}\n'
             "params: {{a: 1.0, b: 0.1, c: 0.0}}\noutput: {{plots: false}}\n",
    "linear20": "name: b\ndata: {{path: {csv}}}\nmodel: {{type: linear, inputs: [{inputs}], target: y}}\n"
                "output: {{plots: false}}\n",
    "logistic20": "name: b\ndata: {{path: {csv}}}\nmodel: {{type: logistic, inputs: [{inputs}], target: y}}\n"
                  "loss: cross_entropy\noutput: {{plots: false}}\n",
    "mlp": "name: b\ndata: {{path: {csv}}}\n"
           f"model: {{{{type: mlp, inputs: [{{inputs}}], hidden: [{MLP_HIDDEN}], activation: tanh, target: y}}}}\n"
           f"loss: mse\noptimizer: {{{{name: adam, lr: {MLP_LR}, max_steps: {MLP_STEPS}}}}}\nseed: 0\n"
           "output: {{plots: false}}\n",
}


def data_block(workload: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` rows of the workload's inputs and target (the last column)."""
    if workload == "decay":
        x = rng.uniform(0, 5, n)
        return np.column_stack([x, 3 * np.exp(-0.7 * x) + 0.5 + rng.normal(0, 0.05, n)])
    inputs = rng.normal(size=(n, INPUTS[workload]))
    eta = inputs @ np.linspace(-1, 1, INPUTS[workload]) + 0.3
    if workload == "linear20":
        y = eta + rng.normal(0, 0.1, n)
    elif workload == "logistic20":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:     # mlp: a smooth nonlinear surface a small network can learn
        y = np.tanh(eta) + 0.3 * np.sin(inputs[:, 0] * inputs[:, 1]) + rng.normal(0, 0.1, n)
    return np.column_stack([inputs, y])


def write_data(workload: str, rows: int, path: Path) -> None:
    """The benchmark's CSV, written in blocks so that 1e7 rows do not need the table in memory."""
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        names = ["x"] if workload == "decay" else [f"x{i}" for i in range(INPUTS[workload])]
        handle.write(",".join(names) + ",y\n")
        for start in range(0, rows, 500_000):
            np.savetxt(handle, data_block(workload, rng, min(500_000, rows - start)), delimiter=",", fmt="%.6g")


def run_child(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak memory in MB, exit code) of one child process; a failure's last line
    of stderr is printed (stderr goes to a file: an unread pipe would block a talkative child)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        pid = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors).pid
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines() or ["(nothing on stderr)"]
            print(f"  {' '.join(argv[1:3])} exited {code}: {lines[-1]}", flush=True)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, code


def torch_problem(python: str) -> str | None:
    """Why ``python`` cannot run the torch reference (None when it can)."""
    try:
        done = subprocess.run([python, "-c", "import torch, pandas"], check=False, capture_output=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{python} cannot be run ({err})"
    if done.returncode != 0:
        return f"{python} cannot import torch and pandas (--torch-python names one that can)"
    return None


def read_loss(path: Path, key: str = "loss") -> float | None:
    try:
        return float(json.loads(path.read_text())[key])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measure(workload: str, rows: int, folder: Path, torch_python: str) -> dict:
    csv = folder / f"{workload}-{rows}.csv"
    if not csv.exists():
        write_data(workload, rows, csv)
    inputs = ", ".join(f"x{i}" for i in range(INPUTS[workload]))
    config = folder / f"{workload}.yaml"
    config.write_text(CONFIGS[workload].format(csv=csv, inputs=inputs))
    script, loss_file, out = folder / f"{workload}_ref.py", folder / "ref_loss.json", folder / "out"
    loss_file.unlink(missing_ok=True)
    (out / "result.json").unlink(missing_ok=True)     # a failed run must not show the last run's loss
    script.write_text(REFERENCES[workload].format(csv=str(csv), out=str(folder / "ref_pred.csv"),
                                                  loss_file=str(loss_file)))
    ours = run_child([sys.executable, "-m", "workbench", "fit", str(config), "--no-reports", "-q",
                      "--out", str(out)], folder)
    reference = run_child([torch_python if workload == "mlp" else sys.executable, str(script)], folder)
    return {"rows": rows, "ours": ours, "reference": reference, "ours_loss": read_loss(out / "result.json"),
            "ours_steps": read_loss(out / "result.json", "iterations"),
            "ours_evaluations": read_loss(out / "result.json", "function_evaluations"),
            "reference_loss": read_loss(loss_file)}


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


def skip_reason(workload: str, torch_python: str) -> str | None:
    """Why a workload's reference cannot run here (None when it can)."""
    if workload == "logistic20":
        try:
            import sklearn  # noqa: F401
        except ImportError:
            return "scikit-learn is not installed"
    if workload == "mlp":
        return torch_problem(torch_python)
    return None


def print_row(m: dict) -> None:
    (t, mem, code), (rt, rmem, rcode) = m["ours"], m["reference"]
    print(f"{m['rows']:>10} {t:8.2f} {rt:8.2f} {t / rt:6.2f} {mem:8.0f} {rmem:8.0f} {mem / rmem:6.2f}  "
          f"{code}/{rcode}", flush=True)
    if m["reference_loss"] is not None:
        steps = "" if m["ours_steps"] is None else \
            f" ({m['ours_steps']:.0f} steps, {m['ours_evaluations']:.0f} evaluations)"
        ours = "none" if m["ours_loss"] is None else f"{m['ours_loss']:.6g}"
        print(f"{'':>10} final loss: ours {ours}{steps}, reference {m['reference_loss']:.6g}", flush=True)


def run_workload(workload: str, sizes: list[int], folder: Path, torch_python: str) -> None:
    print(f"\n{workload}\n{'rows':>10} {'ours s':>8} {'ref s':>8} {'ratio':>6} {'ours MB':>8} {'ref MB':>8} "
          f"{'ratio':>6}  exit")
    ours, reference = [], []
    for rows in sizes:
        m = measure(workload, rows, folder, torch_python)
        print_row(m)
        ours.append((rows, m["ours"][0]))
        reference.append((rows, m["reference"][0]))
    exponents = slope(ours), slope(reference)
    if None in exponents:
        print("growth exponent: needs two sizes from 1e5 rows")
    else:
        print(f"growth exponent from 1e5 rows: ours {exponents[0]:.2f}, reference {exponents[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=float, default=1e6)
    parser.add_argument("--workloads", default="decay,linear20,logistic20,mlp")
    parser.add_argument("--folder", default=None, help="where the CSVs go (default: a temporary folder)")
    parser.add_argument("--torch-python", default=DEFAULT_TORCH_PYTHON,
                        help="a python that can import torch and pandas, for the mlp reference")
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
        if workload not in CONFIGS:
            parser.error(f"unknown workload {workload!r}; choose from {', '.join(CONFIGS)}")
        reason = skip_reason(workload, args.torch_python)
        if reason:
            print(f"\n{workload}: skipped ({reason})")
            continue
        run_workload(workload, sizes, folder, args.torch_python)


if __name__ == "__main__":
    main()
