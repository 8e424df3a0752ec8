"""Levenberg–Marquardt on a residual vector with its exact Jacobian: minimizes 0.5 * ||r(x)||².

The method is Moré's trust-region form of MINPACK's ``lmder`` (Moré 1978, "The
Levenberg-Marquardt algorithm: implementation and theory"), with each step computed from
the SVD of the scaled Jacobian (``lm_step``), followed by a Gauss-Newton endgame
(``lm_endgame``):

- Marquardt scaling: D = the Jacobian's column norms, kept as the running maximum, so
  the iteration is invariant to how parameters are scaled.
- The trust radius grows or shrinks with the ratio of actual to predicted reduction.
- Restarts: when a run ends on MINPACK's ftol or xtol test (which a radius shrunk far
  from the solution can trigger early), the scaling and radius are reset at the best point
  and the run repeats, up to ``restarts`` times while that still improves the fit.
- Once LM takes plain Gauss-Newton steps that its model predicts well (or once it has
  converged), the endgame takes over; if the endgame's plain step fails before LM itself
  had converged, LM resumes. The endgame runs only when ftol <= 1e-12: it pursues digits
  the sum of squares cannot show, which a looser ftol says are not wanted.

Convergence (all relative): the endgame's largest relative Gauss-Newton step at or below
xtol; or, when rounding hides further progress, MINPACK's tests: ftol on the actual and
predicted reduction of ||r||² (or the reduction Gauss-Newton predicts), xtol on the trust
radius against ||D x||; gtol on the largest cosine between r and a column of J. Trial
points with non-finite residuals are rejected (the radius shrinks); a non-finite Jacobian
at an accepted point is divergence.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.optim.base import (CONVERGED, DIVERGED, MAX_STEPS, STALLED, diverged_message,
                                 max_steps_message, Monitor, OptimizeResult, safe_norm, steps)
from workbench.optim.lm_endgame import RESOLVABLE, Endgame
from workbench.optim.lm_step import (EPS, Factorization, FitState, column_norms, factorize, lm_parameter,
                                     norm, update_radius)
from workbench.optim.options import Options

FACTOR = 1.0  # initial radius = FACTOR * ||D x0||: a first step may change x by ~100% (scaled)
HANDOVER = "handover"  # internal verdict: LM is in the Gauss-Newton regime, start the endgame
HANDOVER_PREDICTED = 1e-2  # ... once Gauss-Newton predicts at most this relative reduction
# The endgame pursues digits the sum of squares cannot show; a looser ftol asks for less.
ENDGAME_FTOL = 1e-12

Verdict = tuple[str, str]


def run_lm(objective, x0: np.ndarray, options: Options, monitor: Monitor) -> OptimizeResult:
    """Minimize 0.5 * ||objective.residuals(x)||² from ``x0``; see the module docstring."""
    st = FitState(x0.copy(), *objective.residuals_and_jacobian(x0.copy()))
    counts = lambda: (objective.nfev, objective.njev)  # noqa: E731
    if not st.ok:
        message = diverged_message(0, "residual vector or Jacobian")
        return monitor.result(st.x, st.loss, DIVERGED, message, 0, *counts(), diverged_at=0)
    monitor.record(0, st.x, st.loss, st.grad_norm())
    status, message, restarts = _fit(objective, st, options, monitor)
    if restarts and status == CONVERGED:
        message += f" ({restarts} restart{'s' if restarts > 1 else ''} from the best point)"
    if status == DIVERGED:
        return monitor.result(st.x, st.loss, DIVERGED, message, st.nit, *counts(), diverged_at=st.nit + 1)
    if status not in (CONVERGED, MAX_STEPS, STALLED):
        return monitor.stopped_result(st.x, st.loss, st.nit, *counts())
    return monitor.result(st.x, st.loss, status, message, st.nit, *counts())


def _fit(objective, st: FitState, options: Options, monitor: Monitor) -> tuple[str, str, int]:
    """LM runs (with restarts) and the endgame; returns (status, message, restarts used)."""
    endgame_wanted = options.get("ftol") <= ENDGAME_FTOL
    restarts_used, early_handover = 0, endgame_wanted
    while True:
        (status, message), runs, last = _descend_with_restarts(objective, st, options, monitor, early_handover)
        restarts_used += runs
        if status not in (CONVERGED, HANDOVER) or not endgame_wanted:
            return status, message, restarts_used
        endgame = Endgame(objective, st, options, monitor)
        verdict = endgame.run(last)
        if verdict is not None:
            return (*verdict, restarts_used)
        if status == HANDOVER:
            early_handover = False  # let LM converge by itself, then try the endgame once more
            continue
        if endgame.steps:
            message += f"; then {steps(endgame.steps)} of Gauss-Newton reached the rounding floor"
        return CONVERGED, message, restarts_used


def _descend_with_restarts(objective, st: FitState, options: Options, monitor: Monitor,
                           early_handover: bool) -> tuple[Verdict, int, Factorization | None]:
    """LM runs until one ends without a restartable verdict; also returns the factorization
    of J at the final point when the last run computed it there."""
    restarts, runs = options.get("restarts"), 0
    while True:
        before = st.fnorm
        run = _Run(objective, st, options, early_handover)
        verdict = run.descend(monitor)
        improved = st.fnorm * st.fnorm < before * before * (1.0 - RESOLVABLE)
        if not run.restartable or runs >= restarts or (runs > 0 and not improved):
            # A restart that found nothing better is not worth a mention: count the ones that helped.
            helped = runs - 1 if runs > 0 and not improved else runs
            return verdict, helped, (run.f if run.f_nit == st.nit else None)
        runs += 1


class _Run:
    """One trust-region run: scaling D, radius delta, damping par, and the current SVD."""

    def __init__(self, objective, st: FitState, options: Options, early_handover: bool):
        self.objective, self.st, self.options = objective, st, options
        self.ftol, self.xtol, self.gtol = options.get("ftol"), options.get("xtol"), options.get("gtol")
        self.early_handover = early_handover
        self.diag: np.ndarray | None = None
        self.delta = self.par = self.xnorm = 0.0
        self.first = True
        self.with_jacobian = True  # fetch J with the trial residuals (pays off after a success)
        self.good_gauss_newton = 0  # consecutive accepted undamped steps the model predicted well
        self.restartable = False
        self.f: Factorization | None = None
        self.f_nit = -1  # the step count at which self.f was computed

    def descend(self, monitor: Monitor) -> Verdict:
        """Iterate until a verdict; ``st`` always holds the best point."""
        limit = 10 * self.options.max_steps + 100
        while True:
            verdict = self.factorize()
            while verdict is None:
                if self.st.nit >= self.options.max_steps or self.objective.nfev > limit:
                    return MAX_STEPS, max_steps_message(self.options.max_steps)
                accepted, verdict = self.trial()
                stop = accepted and monitor.record(self.st.nit, self.st.x, self.st.loss, self.st.grad_norm())
                if verdict is None and stop:
                    verdict = monitor.stop_status, monitor.stop_message
                if accepted:
                    break
            if verdict is not None:
                return verdict

    def factorize(self) -> Verdict | None:
        """Scale and factor J at the current point; a verdict if no step is needed."""
        st = self.st
        if st.fnorm == 0.0:
            return CONVERGED, f"the residuals are exactly zero after {steps(st.nit)}"
        colnorm = column_norms(st.jac)
        cosine = _max_cosine(st, colnorm)
        if cosine <= max(self.gtol, EPS):
            return CONVERGED, (f"largest cosine between the residuals and a Jacobian column "
                               f"{cosine:.3g} at or below gtol {self.gtol:g} after {steps(st.nit)}")
        if self.diag is not None:
            self.diag = np.maximum(self.diag, colnorm)
        else:
            self.diag = colnorm if colnorm.min() > 0 else np.where(colnorm > 0, colnorm, 1.0)
        self.f, self.f_nit = factorize(st.jac, st.r, st.fnorm, self.diag), st.nit
        if self.f.predicted <= self.ftol:
            return CONVERGED, (f"Gauss-Newton predicts a relative reduction of the sum of squares of "
                               f"{self.f.predicted:.3g}, at or below ftol {self.ftol:g}, after {steps(st.nit)}")
        if self.early_handover and self.good_gauss_newton >= 2 and self.f.predicted <= HANDOVER_PREDICTED:
            return HANDOVER, ""
        self.xnorm = norm(self.diag * st.x)
        if self.first:
            self.delta = FACTOR * self.xnorm or FACTOR
        return None

    def trial(self) -> tuple[bool, Verdict | None]:
        """Try one damped step; returns (accepted, verdict)."""
        st = self.st
        self.par, w = lm_parameter(self.f, self.delta, self.par)
        undamped = self.par == 0.0
        if self.first:
            self.delta, self.first = min(self.delta, norm(w)), False
        x_trial = st.x + self.f.step(w)
        if self.with_jacobian:
            r_trial, jac_trial = self.objective.residuals_and_jacobian(x_trial)
        else:
            r_trial, jac_trial = self.objective.residuals(x_trial), None
        fnorm_trial = safe_norm(r_trial)
        upd = update_radius(st.fnorm, fnorm_trial, self.f, w, self.par, self.delta)
        self.delta, self.par = upd.delta, upd.par
        accepted = self.with_jacobian = upd.ratio >= 1e-4
        if accepted:
            if jac_trial is None:
                r_trial, jac_trial = self.objective.residuals_and_jacobian(x_trial)
            if not np.isfinite(jac_trial).all():
                return False, (DIVERGED, diverged_message(st.nit + 1, "Jacobian"))
            st.move(x_trial, r_trial, jac_trial, fnorm_trial)
            self.xnorm = norm(self.diag * st.x)
            self.good_gauss_newton = self.good_gauss_newton + 1 if undamped and upd.ratio >= 0.25 else 0
        elif undamped and upd.prered <= RESOLVABLE and math.isfinite(fnorm_trial):
            return False, (CONVERGED, f"the sum of squares no longer decreases measurably (Gauss-Newton "
                                      f"predicts {upd.prered:.3g} relative) after {steps(st.nit)}")
        return accepted, self._minpack_tests(upd, fnorm_trial)

    def _minpack_tests(self, upd, fnorm_trial: float) -> Verdict | None:
        nit, ftol, xtol = self.st.nit, self.ftol, self.xtol
        verdict = None
        if abs(upd.actred) <= ftol and upd.prered <= ftol and 0.5 * upd.ratio <= 1.0:
            verdict = CONVERGED, (f"relative reduction of the sum of squares {max(abs(upd.actred), upd.prered):.3g}"
                                  f" at or below ftol {ftol:g} after {steps(nit)}")
        elif upd.delta <= xtol * self.xnorm:
            verdict = CONVERGED, (f"trust radius {upd.delta / max(self.xnorm, EPS):.3g} (relative to the "
                                  f"scaled parameters) at or below xtol {xtol:g} after {steps(nit)}")
        elif upd.delta <= EPS * self.xnorm or (abs(upd.actred) <= EPS and upd.prered <= EPS):
            verdict = CONVERGED, f"no further reduction is possible at machine precision after {steps(nit)}"
        if verdict is not None and not math.isfinite(fnorm_trial):
            return STALLED, (f"the trust region shrank to nothing around step {nit}: every nearby trial "
                             f"point gave non-finite residuals")
        self.restartable = verdict is not None
        return verdict


def _max_cosine(st: FitState, colnorm: np.ndarray) -> float:
    """max_j |J_j' r| / (||J_j|| ||r||): 0 exactly at a stationary point."""
    g = np.abs(st.grad)
    if colnorm.min() > 0:
        return float((g / colnorm).max()) / st.fnorm
    nonzero = colnorm > 0
    if not nonzero.any():
        return 0.0
    return float((g[nonzero] / colnorm[nonzero]).max()) / st.fnorm
