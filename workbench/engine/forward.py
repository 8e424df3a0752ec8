"""Forward mode: Jacobian-vector products in one forward sweep (dual numbers).

Reverse mode computes one *row* of the Jacobian per backward pass (how one output depends on all
inputs); forward mode computes one *column* per forward sweep (how all outputs move along one
input direction). Each value x carries a tangent ẋ alongside it, a dual number x + ẋε with ε² = 0,
and every primitive pushes tangents through with its ``jvp`` rule: ẏ = Σᵢ ∂y/∂xᵢ · ẋᵢ.

So forward mode is cheaper when there are few inputs and many outputs: the Jacobian of a model's
residuals (one per data row) with respect to a handful of parameters needs one sweep per
parameter, never one per row. We go further and push all directions at once: a tangent may carry
a leading axis of k directions, shape (k, *x.shape). Elementwise rules broadcast over it for free
(we only line the tangent's axes up with the output's); other rules run once per direction.

Tangents are plain numpy arrays: forward mode here gives first derivatives, and combined with the
recorded backward pass (forward-over-reverse) Hessian-vector products.
"""

from __future__ import annotations

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.mode import MODE
from workbench.engine.tensor import Tensor, as_float_array


def _aligned(tangent: np.ndarray, out_ndim: int) -> np.ndarray:
    """View a (k, *shape) tangent as (k, 1, ..., *shape) so it broadcasts like its value."""
    missing = out_ndim - (tangent.ndim - 1)
    if missing <= 0:
        return tangent
    return tangent.reshape(tangent.shape[:1] + (1,) * missing + tangent.shape[1:])


def propagate_tangent(prim, args: tuple, kw: dict, result: Tensor) -> None:
    """Set ``result._tangent`` from the tangents of ``args`` (called by ``graph.apply``)."""
    tangents = [a._tangent if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in tangents):
        return
    inputs = tuple(a.data if isinstance(a, Tensor) else a for a in args)
    result._tangent = tangent_of(prim, tangents, result.data, inputs, kw)


def tangent_of(prim, tangents: list, ans: np.ndarray, inputs: tuple, kw: dict) -> np.ndarray:
    """The (k, *ans.shape) tangent of ``prim``'s output from its inputs' tangents (None: constant).

    The rules come from ``Primitive.tangent_terms``, which hides whether they were given per input
    or as one call. Elementwise rules take all k directions at once (the tangent's leading axis
    broadcasts); the others run once per direction.
    """
    k = next(t for t in tangents if t is not None).shape[0]
    if prim.jvp_all is not None:   # one call for all inputs: it wants a tangent for every one
        tangents = [t if t is not None else np.zeros((k,) + np.shape(x)) for t, x in zip(tangents, inputs)]
    if prim.elementwise and prim.jvp_all is None:
        out = _total(prim.tangent_terms([None if t is None else _aligned(t, ans.ndim) for t in tangents],
                                        ans, inputs, kw))
        if out is None:
            out = np.zeros((k,) + ans.shape)
    else:
        out = np.stack([_direction(prim, [None if t is None else t[j] for t in tangents], ans, inputs, kw)
                        for j in range(k)])
    if np.shape(out) != (k,) + ans.shape:   # np.broadcast_to costs microseconds: only when needed
        out = np.broadcast_to(out, (k,) + ans.shape)
    return out


def _total(terms: list):
    """The sum of the inputs' terms, started from the first (no zeros to add to), or None."""
    out = None
    for _, term in terms:
        out = term if out is None else out + term
    return out


def _direction(prim, tangents: list, ans: np.ndarray, inputs: tuple, kw: dict) -> np.ndarray:
    out = _total(prim.tangent_terms(tangents, ans, inputs, kw))
    return np.zeros(ans.shape) if out is None else np.broadcast_to(out, ans.shape)


def push_forward(f, primals: tuple, tangents: tuple):
    """Evaluate ``f`` on tensors carrying (k, *shape) tangents; return the output tensor."""
    from workbench.engine.prims_shape import identity

    xs = []
    for p, t in zip(primals, tangents):
        if isinstance(p, Tensor) and p.requires_grad:
            carrier = identity(p)   # stays part of the caller's graph
        else:
            carrier = Tensor(p.data if isinstance(p, Tensor) else p)
        carrier._tangent = t
        xs.append(carrier)
    MODE.forward += 1
    try:
        return f(*xs)
    finally:
        MODE.forward -= 1


def jvp(f, primals, tangents):
    """``(f(*primals), J·tangents)`` in one forward sweep.

    ``primals`` and ``tangents`` are tuples of arrays of equal shapes (a single array is taken as
    a 1-tuple). Returns numpy arrays: the value and its directional derivative.
    """
    primals = primals if isinstance(primals, (tuple, list)) else (primals,)
    tangents = tangents if isinstance(tangents, (tuple, list)) else (tangents,)
    if len(primals) != len(tangents):
        raise EngineError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    batched = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        p_arr, t_arr = as_float_array(p, "jvp"), as_float_array(t, "jvp")
        if p_arr.shape != t_arr.shape:
            raise EngineError(f"jvp: primal {i} has shape {p_arr.shape} but its tangent has shape {t_arr.shape}")
        batched.append(t_arr[None])
    out = push_forward(f, tuple(primals), tuple(batched))
    if not isinstance(out, Tensor):
        value = as_float_array(out, "jvp")
        return value, np.zeros_like(value)
    tangent = out._tangent[0] if out._tangent is not None else np.zeros_like(out.data)
    return out.data, np.array(tangent)


def forward_jacobian(f, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), ∂f/∂x) by one forward sweep carrying all n = x.size basis directions at once.

    The Jacobian has shape f(x).shape + x.shape.
    """
    x = as_float_array(x, "jacobian")
    n = x.size
    basis = np.eye(n).reshape((n,) + x.shape)
    out = push_forward(f, (x,), (basis,))
    if not isinstance(out, Tensor):
        value = as_float_array(out, "jacobian")
        return value, np.zeros(value.shape + x.shape)
    tangent = out._tangent if out._tangent is not None else np.zeros((n,) + out.shape)
    jac = np.moveaxis(np.asarray(tangent), 0, -1).reshape(out.shape + x.shape)
    return out.data, jac


def forward_jacobians(f, primals) -> tuple[np.ndarray, list[np.ndarray]]:
    """(f(*primals), [∂f/∂primal_i ...]) in ONE forward sweep carrying all directions at once.

    With n = Σ primal_i.size directions, each Jacobian has shape f.shape + primal_i.shape. This is
    how a model's residual Jacobian with respect to a handful of parameters costs one sweep.
    """
    arrays = [as_float_array(p, "jacobian") for p in primals]
    sizes = [a.size for a in arrays]
    n = int(np.sum(sizes))
    eye = np.eye(n)
    tangents, start = [], 0
    for a, size in zip(arrays, sizes):
        tangents.append(eye[:, start:start + size].reshape((n,) + a.shape))
        start += size
    out = push_forward(f, tuple(arrays), tuple(tangents))
    if not isinstance(out, Tensor):
        value = as_float_array(out, "jacobian")
        return value, [np.zeros(value.shape + a.shape) for a in arrays]
    tangent = out._tangent if out._tangent is not None else np.zeros((n,) + out.shape)
    full = np.moveaxis(np.asarray(tangent), 0, -1)          # f.shape + (n,)
    jacs, start = [], 0
    for a, size in zip(arrays, sizes):
        jacs.append(full[..., start:start + size].reshape(out.shape + a.shape))
        start += size
    return out.data, jacs
