"""Recording operations: primitives, graph nodes, and ``apply``.

This is the first half of reverse mode (Fang et al., 2024, parts one and two): when an operation
runs on tensors that require a gradient, we evaluate it, keep the value, and record a ``Node``
that links the result to its inputs. The backward pass (``backward.py``) later walks these links
in reverse.

A ``Primitive`` bundles an operation's three rules in one place:

* ``forward(*arrays, **kw)``: the value, computed with numpy;
* ``vjp[i](g, ans, *inputs, **kw)``: the vector-Jacobian product for input ``i``: given the
  adjoint ``g`` = ∂L/∂ans, return ∂L/∂input_i = gᵀ·∂ans/∂input_i;
* ``jvp[i](t, ans, *inputs, **kw)``: the Jacobian-vector product for input ``i``: given the
  tangent ``t`` of input i, its contribution ∂ans/∂input_i·t to the tangent of ``ans``.

The rules are written with operators and engine functions, so the same line works on plain numpy
arrays (the fast, usual case) and on tensors (``create_graph=True``, when the backward pass is
itself recorded to get higher derivatives).

Why parents are a tuple in argument order (never a set): the backward pass and every trace or
picture of the graph must come out the same on every run.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.mode import MODE
from workbench.engine.tensor import Tensor

_new_tensor = object.__new__


class Node:
    """How a tensor was made: the primitive, its arguments (tensors or constants), its options.

    ``args`` becomes ``None`` once a backward pass has released the graph: that drops the
    references to the inputs, so intermediate values can be freed.
    """

    __slots__ = ("prim", "args", "kw")

    def __init__(self, prim: "Primitive", args: tuple, kw: dict):
        self.prim = prim
        self.args = args
        self.kw = kw

    @property
    def released(self) -> bool:
        return self.args is None


class Primitive:
    """An operation with its forward rule and its derivative rules side by side."""

    __slots__ = ("name", "forward", "vjp", "jvp", "vjp_all", "jvp_all", "elementwise", "linear",
                 "doc")

    def __init__(self, name: str, forward: Callable, vjp=None, jvp=None, *, vjp_all=None,
                 jvp_all=None, elementwise: bool = False, linear: bool = False, doc: str | None = None):
        self.name = name
        self.forward = forward
        self.vjp = vjp if vjp is None or isinstance(vjp, tuple) else (vjp,)
        self.jvp = jvp if jvp is None or isinstance(jvp, tuple) else (jvp,)
        self.vjp_all = vjp_all    # one call giving every input's adjoint (shared work)
        self.jvp_all = jvp_all    # one call giving the output tangent from all input tangents
        self.elementwise = elementwise
        self.linear = linear
        self.doc = doc

    def __call__(self, *args, **kw):
        return apply(self, args, kw)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def apply(prim: Primitive, args: tuple, kw: dict):
    """Run ``prim`` on ``args``; record a node when any argument is a tensor needing a gradient.

    With no tensor among the arguments, the plain numpy result is returned: that is what lets
    the derivative rules run unchanged on arrays during an ordinary backward pass.
    """
    arrays = []
    record = False
    any_tensor = False
    for a in args:
        if isinstance(a, Tensor):
            any_tensor = True
            arrays.append(a.data)
            if a.requires_grad:
                record = True
        else:
            arrays.append(a)
    try:
        out = prim.forward(*arrays, **kw)
    except EngineError:
        raise
    except (ValueError, IndexError, TypeError) as err:
        raise EngineError(_describe_failure(prim, arrays, kw, err)) from None
    if not any_tensor:
        return out
    if type(out) is not np.ndarray or out.dtype != np.float64:
        out = np.asarray(out, dtype=np.float64)
    result = _new_tensor(Tensor)
    result.data = out
    result.grad = None
    result._tangent = None
    result.name = None
    if record and MODE.recording:
        result.requires_grad = True
        result._node = Node(prim, args, kw)
    else:
        result.requires_grad = False
        result._node = None
    if MODE.forward:
        from workbench.engine.forward import propagate_tangent

        propagate_tangent(prim, args, kw, result)
    return result


def _describe_failure(prim: Primitive, arrays: list, kw: dict, err: Exception) -> str:
    shapes = ", ".join(str(np.shape(a)) for a in arrays if not callable(a))
    options = "".join(f", {k}={v!r}" for k, v in kw.items() if not callable(v))
    return f"{prim.name}: cannot apply to shapes {shapes}{options}: {err}"


def data_of(value):
    """The numpy value of a tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value
