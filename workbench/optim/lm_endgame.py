"""The end of a least-squares fit: undamped Gauss-Newton steps, accelerated and judged by the gradient.

Close to the solution, Levenberg–Marquardt takes plain Gauss-Newton steps. Two things then
limit it. On problems with large residuals Gauss-Newton converges only linearly, and the
error shrinks by a nearly constant factor lam per step (ENSO, Thurber: lam ~ 0.6, a
hundred steps for full accuracy). And the sum of squares cannot resolve relative changes
much below 1e-15, so the ratio test stops accepting steps long before the parameters have
all their digits.

So the endgame
- accepts a step when it lowers ||r||² measurably, or, below the resolution of ||r||²,
  when ||r||² rises by no more than rounding and the reduction Gauss-Newton still
  predicts (cos² of the angle between r and the range of J, computed from the exact
  Jacobian) goes down;
- extrapolates (Aitken): when two successive estimates of lam = p_k·p_(k-1) / |p_(k-1)|²
  agree, it tries the step p_k / (1 - lam), the sum of the remaining geometric series, and
  falls back to p_k if that is not accepted;
- stops when the largest relative Gauss-Newton step is at most xtol (converged), or when
  the plain step is not accepted (returns None: the caller decides).
"""

from __future__ import annotations

import numpy as np

from workbench.optim.base import CONVERGED, MAX_STEPS, Monitor, max_steps_message, safe_norm
from workbench.optim.lm_step import EPS, Factorization, FitState, fresh_factorization
from workbench.optim.options import Options

RESOLVABLE = 1e3 * EPS  # a relative drop of ||r||² larger than this is real progress
# Below resolution a Gauss-Newton step changes ||r||² by rounding only (which, when residuals
# are small next to the data, can be far above RESOLVABLE); a larger rise means the linear
# model broke down.
SLACK = 1e-8
# Extrapolate only when |lam| is at least MIN_RATE (else plain steps converge fast anyway)
# and two successive estimates agree within AGREE (relative): one mode then dominates.
MIN_RATE = 0.02
AGREE = 0.25


class Endgame:
    """Runs the endgame from ``st`` (updated in place); ``steps`` counts accepted steps."""

    def __init__(self, objective, st: FitState, options: Options, monitor: Monitor):
        self.objective, self.st, self.options, self.monitor = objective, st, options, monitor
        self.xtol = options.get("xtol")
        self.steps = 0
        self._last_step: np.ndarray | None = None
        self._last_rate: float | None = None

    def run(self, f: Factorization | None) -> tuple[str, str] | None:
        """A verdict (converged, stopped), or None when a plain Gauss-Newton step fails."""
        st = self.st
        f = f or fresh_factorization(st.jac, st.r, st.fnorm)
        while True:
            step = f.step(f.gauss_newton)
            if st.fnorm == 0.0:
                return CONVERGED, f"the residuals are exactly zero after {st.nit} steps"
            relative = float(np.max(np.abs(step) / np.maximum(np.abs(st.x), 1e-10)))
            if relative <= self.xtol:
                return CONVERGED, (f"largest relative Gauss-Newton step {relative:.3g} at or below "
                                   f"xtol {self.xtol:g} after {st.nit} steps")
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
        """Move to the extrapolated or the plain step, whichever is accepted first."""
        rate = self._rate(step)
        if rate is not None:
            moved = self._try(f, step / (1.0 - rate))
            if moved is not None:
                self._last_step = self._last_rate = None  # need fresh estimates after a jump
                return moved
        moved = self._try(f, step)
        self._last_step = step
        return moved

    def _rate(self, step: np.ndarray) -> float | None:
        """lam when the last two estimates agree within 10% (and it is worth extrapolating)."""
        if self._last_step is None:
            return None
        rate = float(step @ self._last_step) / float(self._last_step @ self._last_step)
        previous, self._last_rate = self._last_rate, rate
        if previous is None or not MIN_RATE <= abs(rate) <= 0.95 or abs(rate - previous) > AGREE * abs(rate):
            return None
        return rate

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
