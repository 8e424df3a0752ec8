"""A line search that returns a step satisfying the strong Wolfe conditions.

Nocedal & Wright, Numerical Optimization (2nd ed.), Algorithm 3.5 (bracketing) and
Algorithm 3.6 (zoom, with the cubic interpolation of eq. 3.59). For phi(a) = f(x + a d):

    sufficient decrease:  phi(a) <= phi(0) + c1 * a * phi'(0)
    curvature (strong):   |phi'(a)| <= c2 * |phi'(0)|

A trial whose value is not finite is treated as "too long": it closes the bracket, so
the search backs off instead of failing.

Near a minimum the loss stops resolving decreases: every trial lands within rounding of
phi(0) (``ROUNDING_EPSILONS`` machine epsilons of it), so the sufficient-decrease test fails on
rounding alone. Two rules end such a search quickly (Hager & Zhang, "approximate Wolfe",
SIAM J. Optim. 16, 2005):

    accept a trial within rounding of phi(0) whose slope meets the strong curvature condition
      (the derivative, which is still accurate there, says the step reached the line's minimum);
    give up (``flat`` = True) after ``FLAT_TRIALS`` trials that were all within rounding of phi(0)
      and none of which met that condition: no step along this line can be seen to help.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

# phi(a) -> (value, gradient at x + a d, directional derivative)
LineFunction = Callable[[float], tuple[float, np.ndarray, float]]

# A value within this many machine epsilons (relative) of phi(0) cannot be told apart from it.
ROUNDING_EPSILONS = 4.0
# A search whose first this-many trials were all within rounding of phi(0) gives up.
FLAT_TRIALS = 3


@dataclass
class LineSearchResult:
    """The accepted step ``alpha`` with f and its gradient there; ``success`` False if none."""

    alpha: float
    value: float
    grad: np.ndarray | None
    slope: float
    success: bool
    evaluations: int
    flat: bool = False  # failed because every trial was within rounding of the start


@dataclass
class _Point:
    alpha: float
    value: float
    slope: float
    grad: np.ndarray | None = None


def strong_wolfe(phi: LineFunction, value0: float, slope0: float, alpha0: float = 1.0,
                 c1: float = 1e-4, c2: float = 0.9, max_evaluations: int = 30,
                 alpha_max: float = 1e10) -> LineSearchResult:
    """Find a step meeting the strong Wolfe conditions along a descent direction (slope0 < 0)."""
    start = _Point(0.0, value0, slope0)
    search = _Search(phi, start, c1, c2, max_evaluations)
    previous, alpha = start, alpha0
    while search.evaluations < max_evaluations:
        trial = search.evaluate(alpha)
        if search.approximately_wolfe(trial):
            return search.accept(trial)
        if search.all_flat():
            return search.fail()
        if not search.sufficient(trial) or (previous.alpha > 0 and trial.value >= previous.value):
            return search.zoom(previous, trial)
        if search.curvature(trial):
            return search.accept(trial)
        if trial.slope >= 0:
            return search.zoom(trial, previous)
        previous, alpha = trial, min(2.0 * alpha, alpha_max)
        if previous.alpha >= alpha_max:
            break
    return search.fail()


class _Search:
    """Evaluation bookkeeping and the zoom phase (Algorithm 3.6)."""

    def __init__(self, phi: LineFunction, start: _Point, c1: float, c2: float, max_evaluations: int):
        self.phi, self.start, self.c1, self.c2 = phi, start, c1, c2
        self.max_evaluations = max_evaluations
        self.evaluations = 0
        self.flat_trials = 0
        self.rounding = ROUNDING_EPSILONS * np.finfo(float).eps * abs(start.value)

    def evaluate(self, alpha: float) -> _Point:
        self.evaluations += 1
        value, grad, slope = self.phi(alpha)
        if not (math.isfinite(value) and math.isfinite(slope)):
            return _Point(alpha, math.inf, math.nan, None)
        if abs(value - self.start.value) <= self.rounding:
            self.flat_trials += 1
        return _Point(alpha, value, slope, grad)

    def sufficient(self, p: _Point) -> bool:
        return p.value <= self.start.value + self.c1 * p.alpha * self.start.slope

    def curvature(self, p: _Point) -> bool:
        return abs(p.slope) <= -self.c2 * self.start.slope

    def approximately_wolfe(self, p: _Point) -> bool:
        """Sufficient decrease failed by rounding alone, and the curvature condition holds."""
        return (not self.sufficient(p) and p.value <= self.start.value + self.rounding
                and self.curvature(p))

    def all_flat(self) -> bool:
        return self.flat_trials == self.evaluations >= FLAT_TRIALS

    def zoom(self, lo: _Point, hi: _Point) -> LineSearchResult:
        """Shrink [lo, hi] (lo: best sufficient-decrease point so far) until a Wolfe point."""
        while self.evaluations < self.max_evaluations:
            width = abs(hi.alpha - lo.alpha)
            if width <= 1e-16 * max(lo.alpha, hi.alpha):
                break
            trial = self.evaluate(_interpolate(lo, hi))
            if self.approximately_wolfe(trial):
                return self.accept(trial)
            if self.all_flat():
                break
            if not self.sufficient(trial) or trial.value >= lo.value:
                hi = trial
                continue
            if self.curvature(trial):
                return self.accept(trial)
            if trial.slope * (hi.alpha - lo.alpha) >= 0:
                hi = lo
            lo = trial
        return self.fail()

    def accept(self, p: _Point) -> LineSearchResult:
        return LineSearchResult(p.alpha, p.value, p.grad, p.slope, True, self.evaluations)

    def fail(self) -> LineSearchResult:
        return LineSearchResult(0.0, self.start.value, None, self.start.slope, False, self.evaluations,
                                flat=self.all_flat())


def _interpolate(lo: _Point, hi: _Point) -> float:
    """Minimizer of the cubic through both ends (N&W eq. 3.59), kept away from the ends."""
    a, b = lo.alpha, hi.alpha
    left, right = min(a, b), max(a, b)
    margin = 0.1 * (right - left)
    candidate = math.nan
    if math.isfinite(hi.value) and math.isfinite(hi.slope):
        d1 = lo.slope + hi.slope - 3.0 * (lo.value - hi.value) / (a - b)
        disc = d1 * d1 - lo.slope * hi.slope
        if disc >= 0:
            d2 = math.copysign(math.sqrt(disc), b - a)
            denom = hi.slope - lo.slope + 2.0 * d2
            if denom != 0:
                candidate = b - (b - a) * (hi.slope + d2 - d1) / denom
    if not (left + margin <= candidate <= right - margin):
        candidate = 0.5 * (a + b)
    return candidate
