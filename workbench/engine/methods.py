"""Operators and methods of ``Tensor``, attached here once the primitives exist.

``tensor.py`` cannot import the primitives (they import it), so the arithmetic operators and the
method forms (``x.exp()``, ``x.sum(axis=0)``) are installed by this module when the engine package
is imported. Each is a one-line call of a primitive; the math lives with the primitive.
"""

from __future__ import annotations

from workbench.engine import prims_math as m
from workbench.engine import prims_reduce as r
from workbench.engine import prims_shape as s
from workbench.engine.graph import NO_OPTIONS, apply
from workbench.engine.tensor import Tensor

def _binary(prim, swap: bool = False):
    if swap:
        def op(self, other):
            return apply(prim, (other, self), NO_OPTIONS)
    else:
        def op(self, other):
            return apply(prim, (self, other), NO_OPTIONS)
    op.__name__ = f"__{'r' if swap else ''}{prim.name}__"
    return op


def _reshape(self, *shape):
    return s.reshape(self, shape=shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def _transpose(self, *axes):
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return s.transpose(self, axes=tuple(axes) if axes else None)


def _getitem(self, index):
    return s.getitem(self, index=s.normalize_index(index))


def _reduction(fn):
    def method(self, axis=None, keepdims=False):
        return fn(self, axis=axis, keepdims=keepdims)
    method.__name__ = fn.__name__ if hasattr(fn, "__name__") else fn.name
    return method


def install() -> None:
    """Attach the operators and methods to ``Tensor``."""
    for dunder, prim in (("add", m.add), ("sub", m.sub), ("mul", m.mul), ("truediv", m.div),
                         ("pow", m.pow), ("matmul", s.matmul)):
        setattr(Tensor, f"__{dunder}__", _binary(prim))
        setattr(Tensor, f"__r{dunder}__", _binary(prim, swap=True))
    Tensor.__neg__ = lambda self: apply(m.neg, (self,), NO_OPTIONS)
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = lambda self: apply(m.abs, (self,), NO_OPTIONS)
    Tensor.__getitem__ = _getitem
    Tensor.T = property(lambda self: s.transpose(self))
    for name in ("exp", "log", "log1p", "expm1", "sqrt", "square", "abs", "sin", "cos", "tan",
                 "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "relu", "softplus"):
        prim = getattr(m, name)
        setattr(Tensor, name, (lambda p: lambda self: apply(p, (self,), NO_OPTIONS))(prim))
    for fn in (r.sum, r.max, r.min, r.prod, r.mean, r.logsumexp):
        setattr(Tensor, fn.__name__ if hasattr(fn, "__name__") else fn.name, _reduction(fn))
    Tensor.var = lambda self, axis=None, keepdims=False, ddof=0: r.var(self, axis, keepdims, ddof)
    Tensor.std = lambda self, axis=None, keepdims=False, ddof=0: r.std(self, axis, keepdims, ddof)
    Tensor.softmax = lambda self, axis=-1: r.softmax(self, axis)
    Tensor.log_softmax = lambda self, axis=-1: r.log_softmax(self, axis)
    Tensor.clip = lambda self, lo=None, hi=None: m.clip(self, lo, hi)
    Tensor.reshape = _reshape
    Tensor.transpose = _transpose
    Tensor.dot = lambda self, other: s.dot(self, other)
    Tensor.broadcast_to = lambda self, shape: s.broadcast_to(self, shape=tuple(shape))
    Tensor.squeeze = lambda self, axis=None: s.squeeze(self, axis)
    Tensor.expand_dims = lambda self, axis: s.expand_dims(self, axis)
