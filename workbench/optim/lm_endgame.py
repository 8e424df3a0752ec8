"""The end of a least-squares fit: Gauss-Newton steps, accelerated and judged by the gradient.

Close to the solution, Levenberg–Marquardt takes plain Gauss-Newton steps. Two things then
limit it. On problems with large residuals Gauss-Newton converges only linearly (ENSO,
Thurber, MGH09: the error shrinks by ~0.6 per step, fifty steps for full accuracy). And
the sum of squares cannot resolve relative changes much below 1e-15, so the ratio test
stops accepting steps long before the parameters have all their digits.

So the endgame
- treats Gauss-Newton as a fixed-point iteration x <- x + p(x) and accelerates it with
  Anderson mixing (Walker & Ni 2011) over the last ``DEPTH`` steps: with X and F the
  differences of the recent points and of their steps (in the Marquardt-scaled
  coordinates), gamma = argmin |p_k - F gamma| and the candidate is
  x_k + p_k - (X + F) gamma; if it is not accepted, the plain step p_k is tried instead;
- accepts a step when it lowers ||r||² measurably, or, below the resolution of ||r||²,
  when ||r||² rises by no more than rounding and the reduction Gauss-Newton still
  predicts (cos² of the angle between r and the range of J, from the exact Jacobian)
  goes down;
- stops when the largest relative Gauss-Newton step is at most xtol (converged), or when
  the plain step is not accepted (returns None: the caller decides).
"""

from __future__ import annotations

import numpy as np

from workbench.optim.base import CONVERGED, MAX_STEPS, max_steps_message, Monitor, safe_norm, steps
from workbench.optim.lm_step import EPS, Factorization, FitState, fresh_factorization
from workbench.optim.options import Options

RESOLVABLE = 1e3 * EPS  # a relative drop of ||r||² larger than this is real progress
# Below resolution a Gauss-Newton step changes ||r||² by rounding only (which, when residuals
# are small next to the data, can be far above RESOLVABLE); a larger rise means the linear
# model broke down.
SLACK = 1e-8
DEPTH = 3  # Anderson mixing over the last DEPTH steps


class Endgame:
    """Runs the endgame from ``st`` (updated in place); ``steps`` counts accepted steps."""

    def __init__(self, objective, st: FitState, options: Options, monitor: Monitor):
        self.objective, self.st, self.options, self.monitor = objective, st, options, monitor
        self.xtol = options.get("xtol")
        self.steps = 0
        self._points: list[np.ndarray] = []  # recent accepted points and their Gauss-Newton steps
        self._steps: list[np.ndarray] = []

    def run(self, f: Factorization | None) -> tuple[str, str] | None:
        """A verdict (converged, stopped), or None when a plain Gauss-Newton step fails."""
        st = self.st
        f = f or fresh_factorization(st.jac, st.r, st.fnorm)
        while True:
            step = f.step(f.gauss_newton)
            if st.fnorm == 0.0:
                return CONVERGED, f"the residuals are exactly zero after {steps(st.nit)}"
            relative = float((np.abs(step) / np.maximum(np.abs(st.x), 1e-10)).max())
            if relative <= self.xtol:
                return CONVERGED, (f"largest relative Gauss-Newton step {relative:.3g} at or below "
                                   f"xtol {self.xtol:g} after {steps(st.nit)}")
            if st.nit >= self.options.max_steps:
                return MAX_STEPS, max_steps_message(self.options.max_steps)
            moved = self._advance(f, step)
            if moved is None:
                return None
            f = moved
            self.steps += 1
            if self.monitor.record(st.nit, st.x, st.loss, st.grad_norm()):
                return self.monitor.stop_status, self.monitor.stop_message

    def _advance(self, f: Factorization, step: np.ndarray) -> Factorization | None:
        """Move to the Anderson candidate or, failing that, along the plain step."""
        self._points = self._points[-DEPTH:] + [self.st.x]
        self._steps = self._steps[-DEPTH:] + [step]
        candidate = self._anderson(f.diag)
        if candidate is not None:
            moved = self._try(f, candidate - self.st.x)
            if moved is not None:
                return moved
            self._points, self._steps = self._points[-1:], self._steps[-1:]
        return self._try(f, step)

    def _anderson(self, diag: np.ndarray) -> np.ndarray | None:
        """The Anderson-mixed next point, or None without enough history."""
        if len(self._points) < 2:
            return None
        points, steps = np.array(self._points), np.array(self._steps)
        d_points, d_steps = points[1:] - points[:-1], steps[1:] - steps[:-1]
        scaled = d_steps * diag
        gamma = _solve_small((scaled @ scaled.T).tolist(), (scaled @ (steps[-1] * diag)).tolist())
        if gamma is None:
            return None
        candidate = points[-1] + steps[-1] - np.asarray(gamma) @ (d_points + d_steps)
        return candidate if np.isfinite(candidate).all() else None

    def _try(self, f: Factorization, step: np.ndarray) -> Factorization | None:
        st = self.st
        x_trial = st.x + step
        r_trial, jac_trial = self.objective.residuals_and_jacobian(x_trial)
        fnorm_trial = safe_norm(r_trial)
        change = (fnorm_trial * fnorm_trial) / (st.fnorm * st.fnorm) - 1.0
        if not change <= SLACK or not np.isfinite(jac_trial).all():  # also catches NaN
            return None
        f_trial = fresh_factorization(jac_trial, r_trial, fnorm_trial)
        if change >= -RESOLVABLE and not f_trial.predicted < f.predicted:
            return None
        st.move(x_trial, r_trial, jac_trial, fnorm_trial)
        return f_trial


def _solve_small(gram: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Solve the (at most DEPTH x DEPTH) normal equations by Cholesky, lightly regularized.

    Plain Python: for a 3 x 3 system this is several times faster than numpy's solvers, and
    precision hardly matters since the result only proposes a candidate that is then tested.
    """
    k = len(rhs)
    ridge = 1e-12 * max(gram[i][i] for i in range(k))
    chol = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            total = gram[i][j] + (ridge if i == j else 0.0) - sum(chol[i][t] * chol[j][t] for t in range(j))
            if i == j:
                if not total > 0.0:
                    return None
                chol[i][i] = total ** 0.5
            else:
                chol[i][j] = total / chol[j][j]
    y = [0.0] * k
    for i in range(k):
        y[i] = (rhs[i] - sum(chol[i][t] * y[t] for t in range(i))) / chol[i][i]
    x = [0.0] * k
    for i in reversed(range(k)):
        x[i] = (y[i] - sum(chol[t][i] * x[t] for t in range(i + 1, k))) / chol[i][i]
    return x
