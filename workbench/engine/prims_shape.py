"""Shape primitives, indexing and matrix products.

Shape operations only move numbers around, so their derivatives move the adjoint back:

    reshape:       x̄ = reshape(ḡ, x.shape)
    transpose:     x̄ = transpose(ḡ, inverse permutation)
    broadcast_to:  x̄ = unbroadcast(ḡ, x.shape)            (sum over the copied axes)
    x[idx]:        x̄ = zeros, then ḡ scatter-added at idx (repeated indices add up)
    concatenate:   x̄_k = the k-th slice of ḡ
    a @ b:         ā = ḡ @ bᵀ,   b̄ = aᵀ @ ḡ               (vectors promoted as numpy does)

``unbroadcast`` is the one helper every binary operation's backward pass relies on: numpy
broadcasting copies an operand along new or size-1 axes, and the derivative of copying is
summing, so the adjoint is summed back to the operand's shape.
"""

from __future__ import annotations

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.graph import Primitive, passes
from workbench.engine.recording import data_of
from workbench.engine.prims_reduce import sum
from workbench.engine.registry import primitive, register


def unbroadcast(g, shape: tuple):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    plain = type(g) is np.ndarray
    gshape = g.shape if plain else np.shape(data_of(g))
    if gshape == shape:
        return g
    if plain and not shape:   # a scalar parameter's share: the commonest case in a model fit
        return np.add.reduce(g, axis=None)
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if plain:   # the usual backward pass: the same sum, minus two trips through apply and np.sum
        return (np.add.reduce(g, axis=axes, keepdims=True) if axes else g).reshape(shape)
    if axes:
        g = sum(g, axis=axes, keepdims=True)
    return reshape(g, shape)


identity = Primitive("identity", lambda x: x,              # y = x, x̄ = ḡ
                     passes,
                     lambda t, y, x: t, elementwise=True, linear=True)


def _np_reshape(x, shape):
    return np.reshape(x, shape)


reshape = primitive("reshape", _np_reshape,
                    lambda g, y, x, shape: reshape(g, np.shape(data_of(x))),
                    lambda t, y, x, shape: reshape(t, np.shape(data_of(y))), linear=True,
                    math="y = reshape(x)  |  x̄ = reshape(ḡ, x.shape)", method=False, check=None)


def _np_transpose(x, axes=None):
    return np.transpose(x, axes)


def _inverse(axes, ndim):
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


transpose = primitive("transpose", _np_transpose,
                      lambda g, y, x, axes=None: transpose(g, axes=_inverse(axes, np.ndim(data_of(x)))),
                      lambda t, y, x, axes=None: transpose(t, axes=axes), linear=True,
                      math="y = xᵀ (any permutation)  |  x̄ = transpose(ḡ, inverse permutation)", method=False, check=None)


def _np_broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


broadcast_to = primitive("broadcast_to", _np_broadcast_to,
                         lambda g, y, x, shape: unbroadcast(g, np.shape(data_of(x))),
                         lambda t, y, x, shape: broadcast_to(t, shape), linear=True,
                         math="y = x copied to a shape  |  x̄ = ḡ summed over the copies", method=False, check=None)


register(unbroadcast, math="ḡ summed over the axes broadcasting added (the helper every binary rule relies on)",
         method=False)


def expand_dims(x, axis):
    """Insert a size-1 axis (a reshape, so its derivative is a reshape too)."""
    return reshape(x, np.expand_dims(np.empty(np.shape(data_of(x)), dtype=bool), axis).shape)


def squeeze(x, axis=None):
    """Remove size-1 axes (a reshape)."""
    return reshape(x, np.squeeze(np.empty(np.shape(data_of(x)), dtype=bool), axis).shape)


register(expand_dims, math="a reshape adding a size-1 axis  (composed)")
register(squeeze, math="a reshape removing size-1 axes  (composed)")


def _has_array_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


def _scatter_add_forward(g, index, shape):
    out = np.zeros(shape)
    if _has_array_index(index):
        np.add.at(out, index, g)      # repeated indices must add up, so no fancy assignment
    else:
        out[index] += g
    return out


scatter_add = Primitive("scatter_add", _scatter_add_forward,   # y = 0 with g added at index
                        lambda gg, y, g, index, shape: getitem(gg, index=index),
                        lambda t, y, g, index, shape: scatter_add(t, index=index, shape=shape),
                        linear=True)


def _getitem_forward(x, index):
    return x[index]


getitem = primitive("getitem", _getitem_forward,
                    lambda g, y, x, index: scatter_add(g, index=index, shape=np.shape(data_of(x))),
                    lambda t, y, x, index: getitem(t, index=index), linear=True,
                    math="y = x[i]  |  x̄ = zeros with ḡ added at i (repeats add up)", method=False, check=None)


def normalize_index(index):
    """Indices made of tensors become arrays (an index has no derivative)."""
    if isinstance(index, tuple):
        return tuple(data_of(i) for i in index)
    return data_of(index)


def _concatenate_forward(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _concatenate_vjp_all(g, y, *xs, axis=0):
    bounds = np.cumsum([np.shape(data_of(x))[axis] for x in xs])[:-1]
    ndim = np.ndim(data_of(y))
    pieces, start = [], 0
    for stop in list(bounds) + [np.shape(data_of(y))[axis]]:
        index = tuple(slice(None) if d != axis % ndim else slice(start, stop) for d in range(ndim))
        pieces.append(getitem(g, index=index))
        start = stop
    return tuple(pieces)


def _concatenate_jvp(ts, y, *xs, axis=0):
    return concatenate_(*ts, axis=axis)


concatenate_ = Primitive("concatenate", _concatenate_forward, vjp_all=_concatenate_vjp_all,
                         jvp_all=_concatenate_jvp, linear=True)   # x̄_k = ḡ's k-th block


def concatenate(tensors, axis: int = 0):
    """Join a sequence of tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise EngineError("concatenate: needs at least one tensor")
    return concatenate_(*tensors, axis=axis)


register(concatenate, math="y = [a, b, ...] along an axis  |  x̄ₖ = ḡ's k-th block", method=False)


def stack(tensors, axis: int = 0):
    """Join a sequence of same-shaped tensors along a new axis."""
    tensors = list(tensors)
    if not tensors:
        raise EngineError("stack: needs at least one tensor")
    shapes = {np.shape(data_of(t)) for t in tensors}
    if len(shapes) > 1:
        raise EngineError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return concatenate_(*[expand_dims(t, axis) for t in tensors], axis=axis)


register(stack, math="concatenate along a new axis  (composed)", method=False)


def _swap_last(x):
    nd = np.ndim(data_of(x))
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return transpose(x, axes=axes)


def _matmul_vjp_a(g, y, a, b):
    a_nd, b_nd = np.ndim(data_of(a)), np.ndim(data_of(b))
    if b_nd == 1:
        return g * b if a_nd == 1 else expand_dims(g, -1) * b      # outer(ḡ, b)
    if a_nd == 1:
        return reshape(matmul(b, expand_dims(g, -1)), np.shape(data_of(b))[:-1])
    return matmul(g, _swap_last(b))


def _matmul_vjp_b(g, y, a, b):
    a_nd, b_nd = np.ndim(data_of(a)), np.ndim(data_of(b))
    if a_nd == 1:
        return g * a if b_nd == 1 else expand_dims(a, -1) * expand_dims(g, -2)   # outer(a, ḡ)
    if b_nd == 1:
        return reshape(matmul(_swap_last(a), expand_dims(g, -1)), np.shape(data_of(a))[:-2] + (-1,))
    return matmul(_swap_last(a), g)


def _np_matmul(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise EngineError(f"matmul: operands must be at least 1-D, got shapes {np.shape(a)} and {np.shape(b)}")
    return np.matmul(a, b)


matmul = primitive("matmul", _np_matmul,
                   (_matmul_vjp_a, _matmul_vjp_b),
                   (lambda t, y, a, b: matmul(t, b), lambda t, y, a, b: matmul(a, t)), reads="inputs",
                   math="y = a @ b  |  ā = ḡ·bᵀ,  b̄ = aᵀ·ḡ (vectors promoted as numpy does)", method=False,
                   arity=2, check=None)


def dot(a, b):
    """Inner product of vectors, or matrix product for 1-D and 2-D operands (as numpy.dot)."""
    if np.ndim(data_of(a)) > 2 or np.ndim(data_of(b)) > 2:
        raise EngineError(f"dot: only 1-D and 2-D operands, got shapes {np.shape(data_of(a))} and "
                          f"{np.shape(data_of(b))}; use matmul for batches")
    return matmul(a, b)


register(dot, math="matmul for 1-D and 2-D operands, as numpy.dot", arity=2)
