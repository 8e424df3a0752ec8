"""Bounds and scaling: every optimizer sees unbounded variables of order one.

``ParameterTransform`` maps the optimizer's variables ``u`` to the user's parameters ``x``
(lmfit/MINUIT style, with a per-parameter scale ``s``):

- no bound:        x = s * u
- lower bound lo:  x = lo + s * (sqrt(u**2 + 1) - 1)
- upper bound hi:  x = hi - s * (sqrt(u**2 + 1) - 1)
- both bounds:     x = lo + (hi - lo) * (sin(u) + 1) / 2

``s`` is ``|x0|`` (``|x0 - bound|`` if larger, 1 when both are zero), so a parameter of
size 1e-7 next to one of size 1e3 both look like O(1) numbers to the optimizer. With
``scale=False`` (used for lm, whose Jacobian-column scaling already makes its iterates
invariant to this scaling) s is 1 for parameters without bounds, so that without any
bounds the transform is the identity. Gradients
and Jacobian columns are multiplied by ``dx/du`` (chain rule). Results are clipped to the
bounds, so rounding can never step outside them. A start exactly on a bound is moved
inside by a tiny angle, because the transform's slope is zero there and a gradient
method would never leave the bound.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workbench.errors import InputError

# How far (in u) a start lying exactly on a bound is moved inside.
_OFF_BOUND = 1e-2


class ParameterTransform:
    """Maps optimizer variables ``u`` to parameters ``x`` and back, honouring bounds."""

    def __init__(self, x0: np.ndarray, lower: Sequence[float] | None = None,
                 upper: Sequence[float] | None = None, names: Sequence[str] | None = None,
                 scale: bool = True):
        x0 = np.asarray(x0, dtype=float)
        n = x0.size
        self.lower = _bound_array(lower, -np.inf, n, "lower", names)
        self.upper = _bound_array(upper, np.inf, n, "upper", names)
        _check_start(x0, self.lower, self.upper, names)
        has_lo, has_hi = np.isfinite(self.lower), np.isfinite(self.upper)
        self.bounded = bool(has_lo.any() or has_hi.any())
        self.identity = not self.bounded and not scale
        size = np.abs(x0) if scale else np.ones(n)
        if self.bounded:
            self.free = ~has_lo & ~has_hi
            self.both = has_lo & has_hi
            self.lower_only = has_lo & ~has_hi
            self.upper_only = has_hi & ~has_lo
            gap = np.where(has_lo, np.abs(x0 - self.lower), np.where(has_hi, np.abs(self.upper - x0), 0.0))
            # A one-sided bound keeps its scale even when free parameters are not scaled: it sets
            # where sqrt(u² + 1) - 1 bends from quadratic to linear.
            size = np.where(self.free, size, np.maximum(np.abs(x0), gap))
            self._half_width = np.where(self.both, (self.upper - self.lower) / 2, 0.0)
            self._anchor = np.where(self.lower_only, self.lower, np.where(self.upper_only, self.upper, 0.0))
            self._sign = np.where(self.upper_only, -1.0, 1.0)
        self.scale = np.where(size > 0, size, 1.0)

    def to_external(self, u: np.ndarray) -> np.ndarray:
        """The user's parameters for optimizer variables ``u``."""
        if self.identity:
            return u
        if not self.bounded:
            return u * self.scale
        one_sided = u * u / (np.sqrt(u * u + 1.0) + 1.0)  # sqrt(u²+1) - 1 without cancellation
        x = np.where(self.free, u * self.scale,
                     self._anchor + self._sign * self.scale * one_sided)
        x = np.where(self.both, self.lower + self._half_width * (np.sin(u) + 1.0), x)
        return np.clip(x, self.lower, self.upper)

    def derivative(self, u: np.ndarray) -> np.ndarray:
        """dx/du for each parameter (the transform is elementwise, so its Jacobian is diagonal)."""
        if not self.bounded:
            return self.scale
        d = np.where(self.free, self.scale, self._sign * self.scale * u / np.sqrt(u * u + 1.0))
        return np.where(self.both, self._half_width * np.cos(u), d)

    def to_internal(self, x: np.ndarray) -> np.ndarray:
        """Optimizer variables for parameters ``x`` inside the bounds (inverse of to_external)."""
        x = np.asarray(x, dtype=float)
        u = x / self.scale
        if not self.bounded:
            return u
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.where(self.lower_only, x - self.lower, self.upper - x) / self.scale
            one_sided = np.sqrt(dist * (dist + 2.0))  # solves sqrt(u²+1) - 1 = dist
            one_sided = np.where(one_sided > 0, one_sided, _OFF_BOUND)
            ratio = np.clip((x - self.lower) / np.where(self.both, 2 * self._half_width, 1.0) * 2 - 1, -1, 1)
            angle = np.clip(np.arcsin(ratio), -np.pi / 2 + _OFF_BOUND, np.pi / 2 - _OFF_BOUND)
        u = np.where(self.free, u, one_sided)
        return np.where(self.both, np.where(self.upper > self.lower, angle, 0.0), u)

    def wrap(self, objective) -> "TransformedObjective":
        """The objective as a function of ``u`` (same protocol, chain rule applied)."""
        return TransformedObjective(objective, self)


class TransformedObjective:
    """An objective seen through a ``ParameterTransform``; counts evaluations."""

    def __init__(self, objective, transform: ParameterTransform):
        self.objective = objective
        self.transform = transform
        self.n_params = transform.scale.size
        self.n_rows = getattr(objective, "n_rows", None)
        self.nfev = 0
        self.njev = 0

    def value_and_grad(self, u: np.ndarray, batch: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        x = self.transform.to_external(u)
        if batch is None:
            value, grad = self.objective.value_and_grad(x)
        else:
            value, grad = self.objective.value_and_grad(x, batch)
        self.nfev += 1
        self.njev += 1
        return float(value), np.asarray(grad, dtype=float) * self.transform.derivative(u)

    def residuals(self, u: np.ndarray) -> np.ndarray:
        self.nfev += 1
        x = self.transform.to_external(u)
        if hasattr(self.objective, "residuals"):
            return np.asarray(self.objective.residuals(x), dtype=float)
        return np.asarray(self.objective.residuals_and_jacobian(x)[0], dtype=float)

    def residuals_and_jacobian(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.nfev += 1
        self.njev += 1
        r, jac = self.objective.residuals_and_jacobian(self.transform.to_external(u))
        if self.transform.identity:
            return np.asarray(r, dtype=float), np.asarray(jac, dtype=float)
        return np.asarray(r, dtype=float), np.asarray(jac, dtype=float) * self.transform.derivative(u)


def _label(i: int, names: Sequence[str] | None) -> str:
    return f"parameters.{names[i]}" if names else f"parameter {i}"


def _bound_array(bound, fill: float, n: int, which: str, names) -> np.ndarray:
    if bound is None:
        return np.full(n, fill)
    arr = np.asarray([fill if b is None else b for b in bound], dtype=float)
    if arr.shape != (n,):
        raise InputError(f"{which} bounds have {arr.size} entries for {n} parameters", where=f"{which} bounds")
    bad = np.isnan(arr)
    if bad.any():
        raise InputError(f"{which} bound is NaN", where=_label(int(np.argmax(bad)), names))
    return arr


def _check_start(x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, names) -> None:
    if np.isfinite(x0).all() and (lower <= x0).all() and (x0 <= upper).all():
        return
    for i in range(x0.size):
        if not np.isfinite(x0[i]):
            raise InputError(f"start value {x0[i]} is not finite", where=_label(i, names))
        if lower[i] > upper[i]:
            raise InputError(f"lower bound {lower[i]:g} exceeds upper bound {upper[i]:g}",
                             where=_label(i, names))
        if not lower[i] <= x0[i] <= upper[i]:
            raise InputError(f"start value {x0[i]:g} lies outside the bounds [{lower[i]:g}, {upper[i]:g}]",
                             where=_label(i, names))
