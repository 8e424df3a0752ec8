"""Checkpointing: trade memory for time by recomputing a segment during backward.

Reverse mode keeps every intermediate value of the forward pass, because the backward rules need
them (``exp``'s rule needs eˣ, ``mul``'s needs both factors). For a long chain over large arrays
that is most of the memory. ``checkpoint(f)(*args)`` runs ``f`` *without* keeping its
intermediates: the graph records a single node holding only f's inputs. When the backward pass
reaches that node it runs ``f`` again, this time recording, and backpropagates through the
fresh copy. Peak memory drops from "all intermediates of f" to "f's inputs and output", at the
price of one more forward evaluation of f.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable

from workbench.engine.backward import backprop
from workbench.engine.errors import EngineError
from workbench.engine.graph import Primitive
from workbench.engine.mode import enable_grad, no_grad
from workbench.engine.tensor import Tensor


def _run_forward(*arrays, fn):
    with no_grad():
        out = fn(*[Tensor(a) for a in arrays])
    if not isinstance(out, Tensor):
        raise EngineError("checkpoint: the function must return a single tensor")
    return out.data


def _recompute_vjp(g, ans, *inputs, fn):
    """Run fn again with recording on and backpropagate ḡ through the fresh graph."""
    differentiable = isinstance(g, Tensor)
    stand_ins = []
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            from workbench.engine.prims_shape import identity

            stand_ins.append(identity(x))
        else:
            data = x.data if isinstance(x, Tensor) else x
            stand_ins.append(Tensor(data, requires_grad=True))
    with enable_grad():
        out = fn(*stand_ins)
    if not out.requires_grad:
        return tuple(0.0 * s.data for s in stand_ins)
    collected = backprop(out, g, create_graph=differentiable, retain_graph=differentiable,
                         stop_at=tuple(stand_ins))
    return tuple(collected.get(id(s), (None, 0.0 * s.data))[1] for s in stand_ins)


def _recompute_jvp(tangents, ans, *inputs, fn):
    """Forward mode needs no stored intermediates: push the tangents through f run once more."""
    from workbench.engine.forward import jvp

    arrays = tuple(x.data if isinstance(x, Tensor) else x for x in inputs)
    return jvp(fn, arrays, tuple(tangents))[1]


_checkpointed = Primitive("checkpoint", _run_forward, vjp_all=_recompute_vjp, jvp_all=_recompute_jvp)


def checkpoint(f: Callable) -> Callable:
    """Wrap ``f`` (tensors in, one tensor out) so its intermediates are recomputed, not stored."""
    @wraps(f)
    def run(*args):
        return _checkpointed(*args, fn=f)
    return run
