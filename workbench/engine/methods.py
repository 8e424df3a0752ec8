"""Operators and methods of ``Tensor``, attached here once the primitives exist.

``tensor.py`` cannot import the primitives (they import it), so the arithmetic operators and the
method forms (``x.exp()``, ``x.sum(axis=0)``) are installed by this module when the engine package
is imported. The methods come from the registry (``registry.py``: every registration with
``method``), so a new primitive is a method without a line here; only the operators and the
methods whose arguments need reshaping (``reshape``, ``transpose``, ``x[i]``) are written out.
"""

from __future__ import annotations

from workbench.engine import prims_math as m
from workbench.engine import prims_shape as s
from workbench.engine.graph import Primitive
from workbench.engine.recording import _two_arguments, apply, apply_one
from workbench.engine.registry import REGISTRY
from workbench.engine.tensor import Tensor

def _binary(prim, swap: bool = False):
    """``x * y`` and ``2.0 * x``: ``apply`` written out for two arguments (``recording.py``)."""
    op = _two_arguments(prim, swapped=swap)
    op.__name__ = f"__{'r' if swap else ''}{prim.name}__"
    return op


def _reshape(self, *shape):
    return s.reshape(self, shape=shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)


def _transpose(self, *axes):
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return s.transpose(self, axes=tuple(axes) if axes else None)


def _getitem(self, index):
    return s.getitem(self, index=s.normalize_index(index))


def _method(function):
    """``x.name(...)`` for ``name(x, ...)``; a primitive of the tensor alone goes to ``apply_one``."""
    if isinstance(function, Primitive):
        def method(self, *args, **kw):
            return apply(function, (self, *args), kw) if args or kw else apply_one(function, self)
        method.__name__ = function.name
        return method

    def method(self, *args, **kw):
        return function(self, *args, **kw)
    method.__name__ = function.__name__
    return method


def install() -> None:
    """Attach the operators and methods to ``Tensor``."""
    for dunder, prim in (("add", m.add), ("sub", m.sub), ("mul", m.mul), ("truediv", m.div),
                         ("pow", m.pow), ("matmul", s.matmul)):
        setattr(Tensor, f"__{dunder}__", _binary(prim))
        setattr(Tensor, f"__r{dunder}__", _binary(prim, swap=True))
    Tensor.__neg__ = lambda self: apply_one(m.neg, self)
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = lambda self: apply_one(m.abs, self)
    Tensor.__getitem__ = _getitem
    Tensor.T = property(lambda self: s.transpose(self))
    for entry in REGISTRY.values():   # x.exp(), x.sum(0), x.var(ddof=1): one per registration
        if entry.method is True:
            setattr(Tensor, entry.name, _method(entry.function))
        elif callable(entry.method):
            setattr(Tensor, entry.name, entry.method(entry.function))
    Tensor.reshape = _reshape
    Tensor.transpose = _transpose
    Tensor.broadcast_to = lambda self, shape: s.broadcast_to(self, shape=tuple(shape))
