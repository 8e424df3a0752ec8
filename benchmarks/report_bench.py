"""Report benchmark: a fit with every report vs an analyst's pandas + scipy + matplotlib script.

Both run as fresh processes on the same data (``configs/example.yaml``'s sales data, or a
generated CSV with ``--rows``), so interpreter start and imports count on both sides:

* ours: ``workbench fit CONFIG --out TMP`` (fit, result tables, three PNGs, report.html,
  report.pdf, results.xlsx), and the same with ``--no-reports`` to show what rendering costs;
* theirs: read the CSV with pandas, ``scipy.optimize.curve_fit`` the same formula, draw two
  plots (data with fitted curve; residuals) with matplotlib and save them as PNG.

Prints the median wall time and CPU time of each and the ratios (the target is at most 2x). On a
shared machine the wall times swing with the load; the CPU times show what each side costs.

Run: python benchmarks/report_bench.py [--repeat 3] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

ANALYST_SCRIPT = textwrap.dedent("""
    import sys
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from scipy.optimize import curve_fit

    data_path, out = sys.argv[1], sys.argv[2]
    df = pd.read_csv(data_path)
    model = lambda price, a, b, c: a * price ** b + c
    popt, pcov = curve_fit(model, df["price"], df["units"], p0=[5000, -1, 100])
    stderr = np.sqrt(np.diag(pcov))
    pred = model(df["price"], *popt)
    print(dict(zip("abc", popt)), stderr)

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(df["price"], df["units"], s=10, color="#444", label="data")
    grid = np.linspace(df["price"].min(), df["price"].max(), 300)
    ax.plot(grid, model(grid, *popt), label="fit")
    ax.set(xlabel="price", ylabel="units")
    ax.legend()
    fig.savefig(out + "/fit.png", dpi=150)

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(pred, df["units"] - pred, s=10)
    ax.axhline(0, color="gray")
    ax.set(xlabel="fitted", ylabel="residual")
    fig.savefig(out + "/residuals.png", dpi=150)
""")


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run: the CPU time barely moves when other jobs share the
    machine, the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def generated_config(folder: Path, rows: int) -> Path:
    rng = np.random.default_rng(0)
    price = rng.uniform(2, 12, rows)
    units = 5000 * price ** -1.3 + 150 + rng.normal(0, 20, rows)
    np.savetxt(folder / "sales.csv", np.column_stack([price, units]), delimiter=",", header="price,units",
               comments="", fmt="%.6g")
    config = folder / "sales.yaml"
    config.write_text(textwrap.dedent("""
        name: sales
        data: {path: sales.csv}
        model: {formula: "units ~ a * price**b + c"}
        params: {a: 5000, b: -1, c: 100}
        optimizer: {name: lm, max_steps: 1000}
    """))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=0, help="generate this many rows (default: the example data)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.rows:
            config, data = generated_config(tmp, args.rows), tmp / "sales.csv"
        else:
            config, data = ROOT / "configs" / "example.yaml", ROOT / "data" / "example_sales.csv"
        script = tmp / "analyst.py"
        script.write_text(ANALYST_SCRIPT)
        (tmp / "theirs").mkdir()
        workbench = [sys.executable, "-m", "workbench", "fit", str(config), "--quiet"]
        runs = {"workbench fit (all reports)": workbench + ["--out", str(tmp / "ours")],
                "workbench fit --no-reports": workbench + ["--out", str(tmp / "bare"), "--no-reports"],
                "pandas + curve_fit + 2 plots": [sys.executable, str(script), str(data), str(tmp / "theirs")]}
        times = {name: [] for name in runs}
        for _ in range(args.repeat):                    # interleaved, so load changes hit all alike
            for name, cmd in runs.items():
                times[name].append(timed(cmd, ROOT))
    wall = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    reference = "pandas + curve_fit + 2 plots"
    rows = args.rows or "example (60)"
    print(f"rows: {rows}, median of {args.repeat} runs, each a fresh process; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    for name in runs:
        print(f"  {name:<30} {wall[name]:6.2f} s wall ({wall[name] / wall[reference]:4.2f}x)   "
              f"{cpu[name]:6.2f} s CPU ({cpu[name] / cpu[reference]:4.2f}x)")
    for label, figures in (("wall", wall), ("CPU", cpu)):
        ratio = figures["workbench fit (all reports)"] / figures[reference]
        print(f"ratio by {label} time (all reports / script): {ratio:.2f}x  (target <= 2x: "
              f"{'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
