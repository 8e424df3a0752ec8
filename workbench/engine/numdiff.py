"""Numerical derivatives that know how wrong they may be.

A numerical derivative is evidence only when its own error is smaller than what it is compared
with. ``numeric_derivative(phi, f0, slope, scale)`` estimates φ'(0) of a function of one number
t ↦ φ(t) and returns the estimate together with an estimate of its error, so that a caller can
say "agrees", "disagrees" or "inconclusive" (``judge``) instead of trusting a number that is
mostly rounding noise.

Why the step is not simply ε^(1/3)·max(1, |x|). A central difference D(h) has a truncation error
≈ h²·φ'''/6 and a rounding error ≈ ε·|φ|/h, and the usual rule balances the two on the scale of
x. That assumes φ varies on the scale of x. A degree-5 polynomial over day numbers 0..900 does
not: its highest coefficient moves the prediction by 900⁵ ≈ 6·10¹⁴ per unit, so a "small" step of
6·10⁻⁶ moves the loss by 10¹⁹ and the difference of two such numbers is all rounding. So each
direction gets its **natural length** L: the distance over which φ changes by about its own size
F = max(1, |φ(0)|), judged from the slope (F/|φ'|) and the curvature (√(F/|φ''|), measured by a
second difference), and never longer than the variable's own scale.

Why a table and not one step. Ridders' method (Numerical Recipes §5.7) takes central differences
at h₀ = L/10, h₀/2, h₀/4, ... and extrapolates them to h → 0 in a Richardson table (Neville's
scheme; each column removes one more power of h²). The difference between neighbouring entries
is an honest estimate of the error of the best one, and the table stops growing when rounding
starts to spoil it. The error reported is the larger of that and the rounding floor ε·|φ|/h of the
differences used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

EPS = float(np.finfo(np.float64).eps)
FIRST_STEP = 0.1        # Ridders' table starts at L·FIRST_STEP
SHRINK = 2.0            # and halves the step at each level
LEVELS = 8
RETRIES = 2         # shorter lengths tried when the first cannot resolve the derivative
AGREE_ERRORS = 3.0      # within tolerance + 3 error estimates: agrees
DISAGREE_ERRORS = 10.0  # beyond tolerance + 10 error estimates: disagrees (in between: inconclusive)

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"


@dataclass(frozen=True)
class NumericDerivative:
    """φ'(0) estimated numerically: ``value`` ± ``error``; ``central`` at the step ``eps``·``length``."""

    value: float
    error: float
    central: float
    length: float


def natural_length(phi: Callable[[float], float], f0: float, slope: float, scale: float,
                   rounds: int = 8) -> float:
    """The distance over which t ↦ φ(t) changes by about F = max(1, |φ(0)|) (see the module docstring).

    ``slope`` is the exact φ'(0) if known (0 otherwise); ``scale`` bounds the result from above.
    The length is accepted when, at Ridders' first step (FIRST_STEP·L), φ changes by no more than
    its share of F and its second difference is no larger than F/L²; otherwise it shrinks (a
    saturating curve can look flat up close and jump a little further out).
    """
    size = max(1.0, abs(f0)) if np.isfinite(f0) else 1.0
    length = float(scale)
    if np.isfinite(slope) and slope != 0.0:
        length = min(length, size / abs(slope))
    for _ in range(rounds):
        h = length * FIRST_STEP
        with np.errstate(all="ignore"):
            ahead, behind = phi(h), phi(-h)
        if not (np.isfinite(ahead) and np.isfinite(behind)):
            length /= 10.0        # the probe left the function's domain: look closer
            continue
        change = max(abs(ahead - f0), abs(behind - f0))
        curvature = abs(ahead + behind - 2.0 * f0) / (h * h)
        if curvature * length * length > 2.0 * size:
            length = float(np.sqrt(size / curvature))
        elif change > 2.0 * FIRST_STEP * size:      # a jump the curvature does not show (odd in t)
            length *= max(0.1, FIRST_STEP * size / change)
        else:
            break
    return float(length)


def _central(phi: Callable[[float], float], h: float) -> tuple[float, float]:
    """D(h) and its rounding floor ε·(|φ(h)| + |φ(−h)|)/h."""
    with np.errstate(all="ignore"):
        ahead, behind = phi(h), phi(-h)
        return (ahead - behind) / (2.0 * h), 2.0 * EPS * (abs(ahead) + abs(behind)) / h


def ridders(phi: Callable[[float], float], h0: float, levels: int = LEVELS) -> tuple[float, float]:
    """Ridders' extrapolated φ'(0) and its error estimate, from central differences at h0, h0/2, ..."""
    best, best_error = np.nan, np.inf
    previous: list[float] = []
    h = h0
    for _ in range(levels):
        value, floor = _central(phi, h)
        h /= SHRINK
        if not np.isfinite(value):     # out of the domain at this step: start the table afresh
            previous = []
            continue
        row, factor = [value], SHRINK ** 2
        for j, older in enumerate(previous):
            row.append((factor * row[j] - older) / (factor - 1.0))
            factor *= SHRINK ** 2
            error = max(abs(row[j + 1] - row[j]), abs(row[j + 1] - older), floor)
            if error <= best_error:
                best, best_error = row[j + 1], error
        if not previous and best_error == np.inf:
            best = value                # one level only: a value without an error estimate yet
        if previous and len(row) > 1 and abs(row[-1] - previous[-1]) >= 2.0 * best_error:
            break                      # higher orders got worse: rounding has taken over
        previous = row
    return float(best), float(best_error)


def _resolved(value: float, error: float, length: float, size: float, relative: float) -> bool:
    """The error is a small part of the value, or negligible on the function's own scale."""
    return bool(np.isfinite(error) and (error <= relative * abs(value) or error * length <= 1e-10 * size))


def numeric_derivative(phi: Callable[[float], float], f0: float, slope: float = 0.0, scale: float = 1.0,
                       eps: float = EPS ** (1.0 / 3.0)) -> NumericDerivative:
    """φ'(0) with its error, from steps chosen on φ's natural length (see the module docstring).

    When the table does not resolve the derivative sharply on that length (a fast, small
    oscillation, a pole nearby), it is built again on lengths 100 and 10⁴ times shorter, until two
    resolved estimates agree. The estimate returned is the resolved one with the smallest error,
    whose error is at least its distance to the nearest other resolved estimate.
    """
    size = max(1.0, abs(f0)) if np.isfinite(f0) else 1.0
    length = natural_length(phi, f0, slope, scale)
    attempts: list[tuple[float, float, float]] = []     # (value, error, length)
    resolved: list[tuple[float, float, float]] = []
    for _ in range(RETRIES + 1):
        value, error = ridders(phi, FIRST_STEP * length)
        attempts.append((value, error, length))
        if not attempts[1:] and _resolved(value, error, length, size, 1e-8):
            break                    # the usual case: sharp on the first length
        if _resolved(value, error, length, size, 0.1):
            if any(abs(value - v) <= 3.0 * (error + e) for v, e, _ in resolved):
                resolved.append((value, error, length))
                break
            resolved.append((value, error, length))
        length /= 100.0
    if not resolved:
        value, error, length = min(attempts, key=lambda a: a[1] if np.isfinite(a[1]) else np.inf)
    else:
        value, error, length = min(resolved, key=lambda a: a[1])
        others = [abs(v - value) for v, e, l in resolved if l != length]
        error = max(error, min(others)) if others else error
    central, _ = _central(phi, eps * attempts[0][2])
    return NumericDerivative(float(value), float(error), float(central), float(length))


def judge(analytic: float, numeric: float, error: float, atol: float, rtol: float) -> str:
    """``analytic`` against ``numeric`` ± ``error``: "agrees", "disagrees" or "inconclusive".

    Agreement within the tolerance (atol + rtol·|numeric|) plus three error estimates counts only
    when the estimate resolves its value (its error is at most half of it: a derivative that
    is zero to within the noise, as at an optimum, is not confirmed by noise); a difference beyond
    ten error estimates is a disagreement; anything else the numbers cannot decide.
    """
    if not np.isfinite(analytic):
        return DISAGREES
    if not (np.isfinite(numeric) and np.isfinite(error)):
        return INCONCLUSIVE
    tol = atol + rtol * abs(numeric)
    gap = abs(analytic - numeric)
    if gap <= tol + AGREE_ERRORS * error:
        resolved = error <= 0.5 * abs(numeric)
        return AGREES if resolved else INCONCLUSIVE
    return DISAGREES if gap > tol + DISAGREE_ERRORS * error else INCONCLUSIVE
