"""Fit benchmark: our Levenberg–Marquardt on every NIST StRD problem vs a finite-difference baseline.

Prints, per problem and starting point: our time per fit (optimizer only, and the whole
``run_fit`` without plots/reports), iterations, the minimum LRE over parameters; and the same for
scipy.optimize.least_squares(method="lm") with finite differences (MINPACK) when scipy is
installed, else for a plain numpy LM with forward differences written below. Then the end-to-end
times: ``workbench fit configs/example.yaml`` (start, fit, all plots and reports) and
``workbench --help``.

Run: python benchmarks/fit_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from nist_problems import NIST_DIR, config_dict, load_problem, lre, problem_names  # noqa: E402
from workbench.config import parse_config  # noqa: E402
from workbench.formula import NUMPY_OPS, parse_formula  # noqa: E402
from workbench.optim import minimize  # noqa: E402
from workbench.pipeline.fit import optimizer_options, run_fit  # noqa: E402
from workbench.pipeline.prepare import prepare  # noqa: E402


def best_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def numpy_fd_lm(residual, x0, max_iter=2000, tol=1e-15):
    """A plain Levenberg–Marquardt with forward-difference Jacobians (the baseline)."""
    x = np.asarray(x0, float)
    r = residual(x)
    lam, nit = 1e-3, 0
    for nit in range(1, max_iter + 1):
        h = 1.49e-8 * np.maximum(np.abs(x), 1.0)
        J = np.column_stack([(residual(x + h[k] * np.eye(len(x))[k]) - r) / h[k] for k in range(len(x))])
        g, A = J.T @ r, J.T @ J
        while True:
            step = np.linalg.solve(A + lam * np.diag(np.diag(A)), -g)
            r_new = residual(x + step)
            if np.all(np.isfinite(r_new)) and r_new @ r_new < r @ r:
                lam = max(lam / 10, 1e-12)
                break
            lam *= 10
            if lam > 1e16:
                return x, nit
        done = abs(r @ r - r_new @ r_new) <= tol * (r @ r)
        x, r = x + step, r_new
        if done:
            break
    return x, nit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        from scipy.optimize import least_squares
    except ImportError:
        least_squares = None
    baseline_name = "scipy MINPACK lm (FD)" if least_squares else "numpy FD-LM"
    print(f"{'problem':<18}{'ours ms':>9}{'run_fit ms':>11}{'iter':>6}{'LRE':>6}   "
          f"{'base ms':>9}{'iter':>6}{'LRE':>6}   ({baseline_name})")
    ours_t, base_t, ours_ok, base_ok = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in problem_names():
            problem = load_problem(name)
            formula = parse_formula(f"{problem['y_column']} ~ {problem['formula']}")
            data = np.genfromtxt(NIST_DIR / f"{name}.csv", delimiter=",", names=True)
            env = {c: np.asarray(data[c], float) for c in data.dtype.names}
            y = env[problem["y_column"]]
            for start in ("start1", "start2"):
                raw = config_dict(problem, start, str(NIST_DIR / f"{name}.csv"))
                config = parse_config(raw, base_dir=Path(tmp), source=name, default_name=name)
                prepared = prepare(config)
                options = optimizer_options(prepared)
                with np.errstate(all="ignore"):   # far starts overflow on the way, as run_fit allows
                    t_opt, opt = best_time(lambda: minimize(prepared.objective, prepared.x0, options), args.repeat)
                t_fit, _ = best_time(lambda: run_fit(config, Path(tmp) / name, reports=False), 1)
                fitted = dict(zip((p.name for p in prepared.free), opt.x))   # formula order
                ours = min(lre(fitted[p], c) for p, c in zip(problem["params"], problem["certified_values"]))

                def residual(b, names=problem["params"]):
                    with np.errstate(all="ignore"):
                        return formula.evaluate({**env, **dict(zip(names, b))}, NUMPY_OPS) - y
                x0 = np.array(problem[start], float)
                if least_squares:
                    t_base, sol = best_time(lambda: least_squares(residual, x0, method="lm", xtol=1e-15,
                                                                  ftol=1e-15, gtol=1e-15, max_nfev=100000),
                                            args.repeat)
                    base_x, base_it = sol.x, sol.nfev
                else:
                    t_base, (base_x, base_it) = best_time(lambda: numpy_fd_lm(residual, x0), args.repeat)
                base = min(lre(v, c) for v, c in zip(base_x, problem["certified_values"]))
                ours_t.append(t_opt)
                base_t.append(t_base)
                ours_ok += ours >= 6
                base_ok += base >= 6
                print(f"{name + ' ' + start[-1]:<18}{t_opt * 1e3:>9.2f}{t_fit * 1e3:>11.1f}{opt.nit:>6}{ours:>6.1f}   "
                      f"{t_base * 1e3:>9.2f}{base_it:>6}{base:>6.1f}")
    print(f"\nmedian fit time: ours {statistics.median(ours_t) * 1e3:.2f} ms, baseline "
          f"{statistics.median(base_t) * 1e3:.2f} ms, ratio ours/baseline "
          f"{statistics.median(ours_t) / statistics.median(base_t):.2f}")
    print(f"LRE >= 6 on all parameters: ours {ours_ok}/{len(ours_t)}, baseline {base_ok}/{len(base_t)}"
          f"  (baseline iterations column counts function evaluations for scipy)")
    end_to_end()


def end_to_end() -> None:
    exe = [sys.executable, "-m", "workbench"]
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for label, argv in (("workbench --help", ["--help"]),
                            ("workbench fit configs/example.yaml", ["fit", "configs/example.yaml", "--out", tmp, "-q"]),
                            ("  … without reports", ["fit", "configs/example.yaml", "--out", tmp, "-q", "--no-reports"])):
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run(exe + argv, cwd=ROOT, check=True, capture_output=True)
                runs.append(time.perf_counter() - start)
            timings[label] = min(runs)
    for label, seconds in timings.items():
        print(f"{label:<42} {seconds:.3f} s")


if __name__ == "__main__":
    main()
