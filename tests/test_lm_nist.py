"""NIST StRD nonlinear regression: lm reaches the certified values from both NIST starts.

Every model is written out by hand from its JSON ``formula`` as a numpy function of the
parameters ``b`` and the input columns ``x``. The exact Jacobian comes from complex-step
differentiation, J[:, k] = imag(f(b + i h e_k)) / h with h = 1e-30 (no subtraction, so no
cancellation: exact to rounding for these analytic models); all k are evaluated at once
by broadcasting ``b`` as an (n, n) complex matrix.

Accuracy is NIST's log relative error, LRE = -log10(|estimate - certified| / |certified|),
capped at 11. Run this file as a script for the per-problem report (steps, evaluations,
time, min LRE) and a timing comparison with scipy's MINPACK (``least_squares(method='lm')``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from workbench.optim import Options, minimize

NIST_DIR = Path(__file__).resolve().parents[1] / "data" / "nist"
PI = np.pi

MODELS = {
    "BoxBOD": lambda b, x: b[0] * (1 - np.exp(-b[1] * x[0])),
    "Chwirut2": lambda b, x: np.exp(-b[0] * x[0]) / (b[1] + b[2] * x[0]),
    "DanWood": lambda b, x: b[0] * x[0] ** b[1],
    "ENSO": lambda b, x: (b[0] + b[1] * np.cos(2 * PI * x[0] / 12) + b[2] * np.sin(2 * PI * x[0] / 12)
                          + b[4] * np.cos(2 * PI * x[0] / b[3]) + b[5] * np.sin(2 * PI * x[0] / b[3])
                          + b[7] * np.cos(2 * PI * x[0] / b[6]) + b[8] * np.sin(2 * PI * x[0] / b[6])),
    "Kirby2": lambda b, x: (b[0] + b[1] * x[0] + b[2] * x[0] ** 2) / (1 + b[3] * x[0] + b[4] * x[0] ** 2),
    "Lanczos3": lambda b, x: (b[0] * np.exp(-b[1] * x[0]) + b[2] * np.exp(-b[3] * x[0])
                              + b[4] * np.exp(-b[5] * x[0])),
    "MGH09": lambda b, x: b[0] * (x[0] ** 2 + x[0] * b[1]) / (x[0] ** 2 + x[0] * b[2] + b[3]),
    "MGH17": lambda b, x: b[0] + b[1] * np.exp(-x[0] * b[3]) + b[2] * np.exp(-x[0] * b[4]),
    "Misra1a": lambda b, x: b[0] * (1 - np.exp(-b[1] * x[0])),
    "Nelson": lambda b, x: b[0] - b[1] * x[0] * np.exp(-b[2] * x[1]),
    "Rat43": lambda b, x: b[0] / (1 + np.exp(b[1] - b[2] * x[0])) ** (1 / b[3]),
    "Roszman1": lambda b, x: b[0] - b[1] * x[0] - np.arctan(b[2] / (x[0] - b[3])) / PI,
    "Thurber": lambda b, x: ((b[0] + b[1] * x[0] + b[2] * x[0] ** 2 + b[3] * x[0] ** 3)
                             / (1 + b[4] * x[0] + b[5] * x[0] ** 2 + b[6] * x[0] ** 3)),
}
CASES = [(name, start) for name in MODELS for start in ("start1", "start2")]


class NistProblem:
    """A NIST dataset as a least-squares objective: r = f(b, x) - y, exact Jacobian."""

    def __init__(self, name: str):
        self.spec = json.loads((NIST_DIR / f"{name}.json").read_text())
        header = (NIST_DIR / f"{name}.csv").read_text().splitlines()[0].split(",")
        table = np.loadtxt(NIST_DIR / f"{name}.csv", delimiter=",", skiprows=1, ndmin=2)
        self.x = tuple(table[:, header.index(c)] for c in self.spec["x_columns"])
        self.x_columns = tuple(col[:, None] for col in self.x)  # broadcast against n perturbations
        self.y = table[:, header.index(self.spec["y_column"])]
        self.model = MODELS[name]
        self.n_params = len(self.spec["params"])
        self.n_rows = self.y.size

    def residuals(self, b: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.model(b, self.x) - self.y

    def residuals_and_jacobian(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = 1e-30
        perturbed = b[:, None] + 1j * h * np.eye(b.size)  # column k is b + i h e_k
        with np.errstate(all="ignore"):
            values = self.model(perturbed, self.x_columns)  # (m, n)
        return values[:, 0].real - self.y, values.imag / h

    def value_and_grad(self, b: np.ndarray, batch=None) -> tuple[float, np.ndarray]:
        r, jac = self.residuals_and_jacobian(b)
        return 0.5 * float(r @ r), jac.T @ r

    def start(self, which: str) -> np.ndarray:
        return np.array(self.spec[which], dtype=float)

    def certified(self) -> np.ndarray:
        return np.array(self.spec["certified_values"], dtype=float)


def lre(estimate: np.ndarray, certified: np.ndarray) -> np.ndarray:
    """NIST's log relative error per parameter, capped at 11 (0 for non-finite estimates)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = -np.log10(np.abs(estimate - certified) / np.abs(certified))
    return np.minimum(np.nan_to_num(digits, nan=0.0, posinf=11.0), 11.0)


@pytest.fixture(scope="module")
def problems() -> dict[str, NistProblem]:
    return {name: NistProblem(name) for name in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_hand_written_model_reproduces_certified_rss(problems, name):
    problem = problems[name]
    r = problem.residuals(problem.certified())
    assert float(r @ r) == pytest.approx(problem.spec["certified_rss"], rel=1e-9)


@pytest.mark.parametrize("name", ["Rat43", "Nelson", "Roszman1"])
def test_complex_step_jacobian_agrees_with_central_differences(problems, name):
    problem = problems[name]
    b = problem.start("start2")
    r, jac = problem.residuals_and_jacobian(b)
    np.testing.assert_allclose(r, problem.residuals(b), rtol=1e-12, atol=1e-12)
    for k in range(b.size):
        step = 1e-6 * max(abs(b[k]), 1.0)
        e = np.zeros_like(b)
        e[k] = step
        central = (problem.residuals(b + e) - problem.residuals(b - e)) / (2 * step)
        np.testing.assert_allclose(jac[:, k], central, rtol=1e-5, atol=1e-8 * np.abs(jac).max())


@pytest.mark.parametrize("name,start", CASES)
def test_lm_matches_certified_values_to_six_digits(problems, name, start):
    problem = problems[name]
    result = minimize(problem, problem.start(start), Options())
    digits = lre(result.x, problem.certified())
    assert result.success, result.message
    assert digits.min() >= 6.0, f"{name} {start}: LRE per parameter {np.round(digits, 1)}"
    rss = 2.0 * result.fun
    assert rss == pytest.approx(problem.spec["certified_rss"], rel=1e-9)
    assert result.history[-1]["loss"] == pytest.approx(result.fun)


def _best_time(fit, repeats: int = 7) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        best = min(best, time.perf_counter() - start)
    return best


def report() -> None:
    """Print steps, evaluations, time and min LRE per problem, and scipy's time on each."""
    from scipy.optimize import least_squares

    ours, theirs = [], []
    print(f"{'problem':9} {'start':6} {'steps':>5} {'nfev':>5} {'njev':>5} {'ms':>7} {'LRE':>5}"
          f" | {'scipy ms':>8} {'scipy LRE':>9}")
    for name, start in CASES:
        problem = NistProblem(name)
        x0 = problem.start(start)
        result = minimize(problem, x0, Options())
        seconds = _best_time(lambda: minimize(problem, x0, Options()))
        reference = least_squares(problem.residuals, x0, method="lm")
        scipy_seconds = _best_time(lambda: least_squares(problem.residuals, x0, method="lm"))
        ours.append(seconds)
        theirs.append(scipy_seconds)
        print(f"{name:9} {start:6} {result.nit:5d} {result.nfev:5d} {result.njev:5d} {seconds * 1e3:7.2f}"
              f" {lre(result.x, problem.certified()).min():5.1f} | {scipy_seconds * 1e3:8.2f}"
              f" {lre(reference.x, problem.certified()).min():9.1f}")
    print(f"median time: ours {np.median(ours) * 1e3:.2f} ms, scipy lm (finite differences) "
          f"{np.median(theirs) * 1e3:.2f} ms; total ours {np.sum(ours) * 1e3:.1f} ms")


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    report()
