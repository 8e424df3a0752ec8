"""The state and linear algebra of a Levenberg–Marquardt step, via the SVD of the scaled Jacobian.

With D the Marquardt scaling and J D^-1 = U diag(s) V', the damped step p solving
min ||J p + r||² + lam ||D p||² is p = D^-1 V w with w = s c / (s² + lam), c = -U' r.
Working from the SVD never forms J'J (which would square the condition number), and
each trial value of lam then costs O(n), so Moré's iteration for lam is cheap and exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.optim.base import safe_norm

EPS = float(np.finfo(float).eps)
TINY = float(np.finfo(float).tiny)


class FitState:
    """The current (best) point of a least-squares fit: x, r, J, ||r|| and the step count."""

    def __init__(self, x: np.ndarray, r: np.ndarray, jac: np.ndarray):
        self.x, self.r, self.jac = x, r, jac
        self.fnorm = safe_norm(r)
        self.nit = 0
        self.ok = math.isfinite(self.fnorm) and bool(np.isfinite(jac).all())
        self._grad: np.ndarray | None = None

    @property
    def loss(self) -> float:
        return 0.5 * self.fnorm * self.fnorm

    @property
    def grad(self) -> np.ndarray:
        """J' r, the gradient of 0.5 * ||r||² (computed once per point)."""
        if self._grad is None:
            self._grad = self.jac.T @ self.r
        return self._grad

    def grad_norm(self) -> float:
        return norm(self.grad)

    def move(self, x: np.ndarray, r: np.ndarray, jac: np.ndarray, fnorm: float) -> None:
        self.x, self.r, self.jac, self.fnorm = x, r, jac, fnorm
        self._grad = None
        self.nit += 1


@dataclass
class Factorization:
    """The SVD of J D^-1 at one point, with its Gauss-Newton (lam = 0) step."""

    diag: np.ndarray
    s: np.ndarray
    vt: np.ndarray
    c: np.ndarray
    gauss_newton: np.ndarray  # w for lam = 0 (pseudo-inverse: negligible s are dropped)
    full_rank: bool
    predicted: float  # ||J p_GN||² / ||r||²: the relative reduction Gauss-Newton predicts

    def step(self, w: np.ndarray) -> np.ndarray:
        """The parameter step p = D^-1 V w."""
        return (self.vt.T @ w) / self.diag


def factorize(jac: np.ndarray, r: np.ndarray, fnorm: float, diag: np.ndarray) -> Factorization:
    """Factor J D^-1 (D = ``diag``) and compute the Gauss-Newton step for residuals ``r``."""
    u, s, vt = np.linalg.svd(jac / diag, full_matrices=False)
    c = -(u.T @ r)
    full_rank = bool(s[-1] > s[0] * EPS * s.size)
    if full_rank:
        gauss_newton, c_kept = c / s, c
    else:  # pseudo-inverse: directions with negligible singular values get no step
        kept = s > s[0] * EPS * s.size
        gauss_newton = np.where(kept, c / np.where(kept, s, 1.0), 0.0)
        c_kept = c[kept]
    predicted = float(c_kept @ c_kept) / (fnorm * fnorm) if fnorm > 0 else 0.0
    return Factorization(diag, s, vt, c, gauss_newton, full_rank, predicted)


def fresh_factorization(jac: np.ndarray, r: np.ndarray, fnorm: float) -> Factorization:
    """Factor J scaled by its own column norms."""
    colnorm = column_norms(jac)
    return factorize(jac, r, fnorm, colnorm if colnorm.all() else np.where(colnorm > 0, colnorm, 1.0))


def column_norms(jac: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->j", jac, jac))


def norm(v: np.ndarray) -> float:
    return math.sqrt(float(v @ v))





def lm_parameter(f: Factorization, delta: float, par: float) -> tuple[float, np.ndarray]:
    """The damping lam with ||w(lam)|| within 10% of ``delta``, and that w.

    lam = 0 (Gauss-Newton) when that step fits in the radius; otherwise Moré's
    safeguarded Newton iteration on 1/||w(lam)|| = 1/delta (MINPACK's lmpar), started
    from the previous ``par``.
    """
    s, gn = f.s, f.gauss_newton
    gn_norm = norm(gn)
    fp = gn_norm - delta
    if fp <= 0.1 * delta:
        return 0.0, gn
    # parl: the Newton step from lam = 0 (a lower bound at full rank); paru = ||J'r|| / delta.
    safe_s = np.where(s > 0, s, 1.0)
    parl = fp / delta * gn_norm ** 2 / float(((gn / safe_s) ** 2).sum()) if f.full_rank else 0.0
    sc = s * f.c
    gnorm = norm(sc)
    paru = gnorm / delta or TINY / min(delta, 0.1)
    par = min(max(par, parl), paru)
    if par == 0.0:
        par = gnorm / gn_norm
    s2 = s * s
    previous_fp = math.inf
    for iteration in range(10):
        if par == 0.0:
            par = max(TINY, 0.001 * paru)
        w = sc / (s2 + par)
        w_norm = norm(w)
        fp = w_norm - delta
        if abs(fp) <= 0.1 * delta or (parl == 0.0 and fp <= previous_fp < 0.0) or iteration == 9:
            break
        correction = fp / delta * w_norm ** 2 / float((w * w / (s2 + par)).sum())
        if fp > 0:
            parl = max(parl, par)
        else:
            paru = min(paru, par)
        par = max(parl, par + correction)
        previous_fp = fp
    return par, w


@dataclass
class RadiusUpdate:
    """The outcome of MINPACK's ratio test for one trial step."""

    ratio: float
    actred: float  # actual relative reduction of ||r||²
    prered: float  # predicted relative reduction
    delta: float
    par: float


def update_radius(fnorm: float, fnorm_trial: float, f: Factorization, w: np.ndarray, par: float,
                  delta: float) -> RadiusUpdate:
    """Compare actual and predicted reduction; shrink or grow the radius as lmder does."""
    pnorm = norm(w)
    actred = 1.0 - (fnorm_trial / fnorm) ** 2 if 0.1 * fnorm_trial < fnorm else -1.0
    t1 = norm(f.s * w) / fnorm  # ||J p|| / ||r||, since J p = U diag(s) w
    t2 = math.sqrt(par) * pnorm / fnorm
    prered = t1 * t1 + 2.0 * t2 * t2
    dirder = -(t1 * t1 + t2 * t2)
    ratio = actred / prered if prered != 0.0 else 0.0
    if ratio <= 0.25:
        temp = 0.5 if actred >= 0 else 0.5 * dirder / (dirder + 0.5 * actred)
        if 0.1 * fnorm_trial >= fnorm or temp < 0.1:
            temp = 0.1
        delta, par = temp * min(delta, pnorm / 0.1), par / temp
    elif par == 0.0 or ratio >= 0.75:
        delta, par = pnorm / 0.5, 0.5 * par
    return RadiusUpdate(ratio, actred, prered, delta, par)
