"""Reductions: sum, max, min, prod, logsumexp (primitives) and mean, var, std, softmax,
log_softmax (built from them).

A reduction maps many numbers to fewer, so its vector-Jacobian product spreads the adjoint back
over the reduced axes. ``_keepdims(g, shape, axis)`` first puts the reduced axes back as size-1
axes, after which numpy broadcasting does the spreading:

    sum:        x̄ = broadcast(ḡ)
    max / min:  x̄ = broadcast(ḡ) · [x = y] / (number of ties)      (ties share equally)
    prod:       x̄ = broadcast(ḡ) · ∏_{j≠i} x_j                      (exact even with zeros)
    logsumexp:  x̄ = broadcast(ḡ) · exp(x − y) = ḡ · softmax(x)

Why logsumexp is a primitive and not exp-sum-log: computed naively, exp(1000) overflows; the
primitive subtracts the maximum first, y = m + ln Σ exp(x − m), and its derivative is the softmax,
whose entries are all in [0, 1]. log_softmax = x − logsumexp(x) inherits that stability.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.engine.recording import data_of
from workbench.engine.prims_math import exp, log, sqrt, square
from workbench.engine.registry import Check, primitive, register
from workbench.engine.tensor import Tensor


def reduction_method(fn):
    """``x.sum(0)``, ``x.max(axis=1, keepdims=True)``: a reduction as a Tensor method."""
    def method(self, axis=None, keepdims=False):
        return fn(self, axis=axis, keepdims=keepdims)
    method.__name__ = getattr(fn, "__name__", None) or fn.name
    return method


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else 0 for a in axis)


def _keepdims(g, shape: tuple, axis, keepdims: bool):
    """Reshape a reduced adjoint so it broadcasts against the input again."""
    if keepdims:
        return g
    kept = tuple(1 if i in _axes(axis, len(shape)) else n for i, n in enumerate(shape))
    if not isinstance(g, Tensor):   # plain arrays (the usual backward pass): no trip through apply
        return np.reshape(g, kept)
    from workbench.engine.prims_shape import reshape

    return reshape(g, kept)


_COPY_LIMIT = 1 << 14   # elements; see _spread


def _spread(g, x, axis, keepdims):
    shape = x.shape if x.__class__ is np.ndarray else np.shape(data_of(x))   # np.shape: ~0.3 µs more
    if isinstance(g, Tensor):
        from workbench.engine.prims_shape import broadcast_to

        return broadcast_to(_keepdims(g, shape, axis, keepdims), shape)
    if axis is not None:   # (a full reduction's ḡ is one number: it broadcasts as it is)
        g = _keepdims(g, shape, axis, keepdims)
    # Plain arrays: a small adjoint is copied out, cheaper than np.broadcast_to's ~3 µs of setup;
    # a large one stays a read-only view, so no memory is written for it.
    if (x.size if x.__class__ is np.ndarray else math.prod(shape)) > _COPY_LIMIT:
        return np.broadcast_to(g, shape)
    spread = np.empty(shape)
    spread[...] = g
    return spread


def _np_sum(x, axis=None, keepdims=False):
    return np.add.reduce(x, axis=axis, keepdims=keepdims)   # np.sum's own call, minus ~1.5 µs of wrapper


sum = primitive("sum", _np_sum,
                lambda g, y, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims),
                lambda t, y, x, axis=None, keepdims=False: sum(t, axis=axis, keepdims=keepdims),
                linear=True, math="y = Σ x  |  x̄ = ḡ spread back over the summed axes",
                method=reduction_method, check=Check(reduction=True, reference=np.sum))


def _extremum_vjp(g, y, x, axis=None, keepdims=False):
    xd, yd = data_of(x), data_of(y)
    hit = xd == _keepdims(yd, xd.shape, axis, keepdims)
    share = hit / np.sum(hit, axis=axis, keepdims=True)
    return _spread(g, x, axis, keepdims) * share


def _extremum_jvp(t, y, x, axis=None, keepdims=False):
    xd, yd = data_of(x), data_of(y)
    hit = xd == _keepdims(yd, xd.shape, axis, keepdims)
    share = hit / np.sum(hit, axis=axis, keepdims=True)
    return sum(t * share, axis=axis, keepdims=keepdims)


max = primitive("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
                _extremum_vjp, _extremum_jvp, math="y = max x  |  x̄ = ḡ·[x = y] / number of ties",
                method=reduction_method, check=Check(reduction=True, reference=np.max))
min = primitive("min", lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims),
                _extremum_vjp, _extremum_jvp, math="y = min x  |  x̄ = ḡ·[x = y] / number of ties",
                method=reduction_method, check=Check(reduction=True, reference=np.min))


def _products_of_others(x, axis):
    """∏_{j≠i} x_j over the reduced axes, for every i, from prefix and suffix products.

    No division, so zeros are exact. The reduced axes are moved to the end and merged into one,
    where the exclusive products are two cumulative products.
    """
    x = np.asarray(data_of(x), dtype=float)
    axes = _axes(axis, x.ndim)
    if not axes:
        return np.ones_like(x)
    ends = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, ends)
    merged = moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))
    ones = np.ones(merged.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, merged[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, merged[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((before * after).reshape(moved.shape), ends, axes)


def _recorded_products_of_others(x, axis):
    """The same products as engine operations, so that they have derivatives in turn.

    Row i of an n×n copy of the group has x_i replaced by 1; its product is ∏_{j≠i} x_j. That is
    n² work per group of n reduced values, paid only when higher derivatives are recorded
    (``create_graph``), and exact with zeros, unlike y / x_i.
    """
    from workbench.engine.prims_math import where
    from workbench.engine.prims_shape import expand_dims, reshape, transpose

    shape = np.shape(data_of(x))
    axes = _axes(axis, len(shape))
    if not axes:
        return x * 0.0 + 1.0
    order = tuple(a for a in range(len(shape)) if a not in axes) + axes
    moved = transpose(x, axes=order)
    kept = tuple(shape[a] for a in order[: len(shape) - len(axes)])
    n = int(np.prod([shape[a] for a in axes]))
    group = expand_dims(reshape(moved, kept + (n,)), -2)              # (..., 1, n)
    others = prod(where(np.eye(n, dtype=bool), 1.0, group), axis=-1)  # (..., n)
    return transpose(reshape(others, np.shape(data_of(moved))), axes=tuple(np.argsort(order)))


def _prod_vjp(g, y, x, axis=None, keepdims=False):
    others = _recorded_products_of_others(x, axis) if isinstance(x, Tensor) else _products_of_others(x, axis)
    return _spread(g, x, axis, keepdims) * others


prod = primitive("prod", lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims),
                 _prod_vjp,
                 lambda t, y, x, axis=None, keepdims=False: sum(t * _products_of_others(x, axis), axis=axis, keepdims=keepdims),
                 math="y = ∏ x  |  x̄ᵢ = ḡ·∏_{j≠i} xⱼ (no division: exact with zeros)",
                 method=reduction_method, check=Check(reduction=True, reference=np.prod))
# prod: y = ∏ x, x̄_i = ḡ·∏_{j≠i} x_j, exact with zeros; recorded as engine operations when the
# backward pass is itself recorded, so second derivatives are exact too.


def _logsumexp_forward(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    y = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return y if keepdims else np.squeeze(y, axis=axis)


def _softmax_from(y, x, axis, keepdims):
    return exp(x - _keepdims(y, np.shape(data_of(x)), axis, keepdims))


logsumexp = primitive("logsumexp", _logsumexp_forward,
                      lambda g, y, x, axis=None, keepdims=False:
                          _spread(g, x, axis, keepdims) * _softmax_from(y, x, axis, keepdims),
                      lambda t, y, x, axis=None, keepdims=False:
                          sum(t * _softmax_from(y, x, axis, keepdims), axis=axis, keepdims=keepdims),
                      math="y = ln Σ eˣ (max subtracted first)  |  x̄ = ḡ·softmax(x)",
                      method=reduction_method,
                      check=Check(reduction=True, reference=lambda x, axis=None, keepdims=False:
                                  np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))))


def _count(x, axis) -> int:
    shape = np.shape(data_of(x))
    return int(np.prod([shape[a] for a in _axes(axis, len(shape))])) if shape else 1


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean: Σx / n over ``axis``."""
    return sum(x, axis=axis, keepdims=keepdims) / _count(x, axis)


def var(x, axis=None, keepdims=False, ddof: int = 0):
    """Variance: Σ(x − x̄)² / (n − ddof), computed two-pass for accuracy."""
    centred = x - mean(x, axis=axis, keepdims=True)
    return sum(square(centred), axis=axis, keepdims=keepdims) / (_count(x, axis) - ddof)


def std(x, axis=None, keepdims=False, ddof: int = 0):
    """Standard deviation √var. Its derivative is undefined (0/0) where all values are equal."""
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


register(mean, math="Σ x / n  (composed: the chain rule differentiates it)", method=reduction_method,
         check=Check(reduction=True, reference=np.mean))
register(var, math="Σ(x − mean)² / (n − ddof)  (composed, two-pass)", check=Check(reduction=True, reference=np.var))
register(std, math="√var  (composed; 0/0 where all values are equal)", check=Check(reduction=True, reference=np.std))


def log_softmax(x, axis=-1):
    """x − logsumexp(x): stable for any finite input."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """exp(log_softmax(x)): entries in [0, 1] that sum to 1 along ``axis``."""
    return exp(log_softmax(x, axis=axis))


register(log_softmax, math="x − logsumexp(x)  (composed; stable for any finite x)")
register(softmax, math="exp(log_softmax(x))  (composed; entries in [0, 1] summing to 1)")


del log
