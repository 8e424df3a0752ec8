"""The backward pass: ``Tensor.backward`` and ``backprop`` on top of the one loop in ``pullback.py``.

``pullback.py`` flattens the graph into steps in topological order and pulls adjoints back
through them (order, accumulation, release: Fang et al., 2024, part three). This file adds what a
user's call needs around that loop: the seed (∂y/∂y = 1, or a given cotangent for a non-scalar
output), the refusal of a graph already released, the ``stop_at`` tensors whose adjoints the
function transforms ask for, and handing gradients out as arrays the caller may change.

With ``create_graph=True`` the rules run on tensors with recording switched on, so the gradient is
itself a differentiable function of the inputs: that is all higher derivatives need.
"""

from __future__ import annotations

import gc
from itertools import repeat
from operator import is_not

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.mode import MODE
from workbench.engine.pullback import flatten, flatten_made, pullback
from workbench.engine.tensor import Tensor


_FLOAT64, _array = np.float64, np.array   # (read once per gradient handed out)


def topological_order(root: Tensor, stops: frozenset[int] = frozenset()) -> list[Tensor]:
    """Tensors reachable from ``root`` through recorded nodes, ``root`` first, leaves last.

    The order ``pullback`` runs its steps in (``flatten``'s forward order, reversed). The search
    does not look through the tensors whose ids are in ``stops``.
    """
    return flatten(root, stops)[1][::-1]


def _seed(output: Tensor, grad, create_graph: bool):
    if grad is None:
        if output.data.size != 1:
            raise EngineError(
                f"backward: output has shape {output.shape}; a non-scalar output needs a seed "
                f"gradient of the same shape (backward(grad=...))")
        grad = np.array(1.0) if output.data.ndim == 0 else np.ones(output.data.shape)
    else:
        if create_graph and isinstance(grad, Tensor):
            # a seed that is itself a function of the inputs keeps its graph: the gradient of a
            # vjp must see how the cotangent moves (checkpoint's recomputation relies on it)
            if grad.shape != output.shape:
                raise EngineError(f"backward: seed gradient has shape {grad.shape}, output has shape "
                                  f"{output.shape}")
            return grad
        # a copy: the caller's array must not become (or alias) a leaf's .grad
        grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
        if grad.shape != output.shape:
            raise EngineError(f"backward: seed gradient has shape {grad.shape}, output has shape {output.shape}")
    return Tensor(grad) if create_graph else grad


def owned_gradients(adjoints):
    """The adjoints as arrays the caller may change in place.

    The backward pass shares arrays freely: ``add`` hands one adjoint to both operands, ``sum``
    returns a read-only broadcast view. A gradient given to the user is copied when it is such a
    view or was already given to another tensor, so ``a.grad *= 2`` never changes ``b.grad``.
    """
    given: set[int] = set()
    owned = []
    keep = owned.append
    for adjoint in adjoints:
        if (kind := adjoint.__class__) is float or kind is _FLOAT64:   # a summed share: a fresh 0-d array is owned
            keep(_array(adjoint))
            continue
        if not isinstance(adjoint, Tensor):
            array = np.asarray(adjoint, dtype=np.float64)
            flags = array.flags
            if not (flags.owndata and flags.writeable) or id(array) in given:
                array = array.copy()
            given.add(id(array))
            adjoint = array
        keep(adjoint)
    return owned


def _sweep(output: Tensor, grad, retain_graph: bool, create_graph: bool, stop_at: tuple,
           made: list | None = None):
    """Flatten the graph below ``output`` and pull the seed back: (tensors, slots, adjoints, stops),
    ``stops`` the ids of ``stop_at``, which the search does not look through. ``made``: what a
    transform recorded while ``output`` was computed (``flatten_made``); when it serves, no search
    runs, tensors, slots and stops are None and the adjoints are by the slots of ``made``."""
    if output.__class__ is not Tensor or not output.requires_grad:
        shape = f" (shape {output.shape})" if isinstance(output, Tensor) else ""
        raise EngineError(f"backward: this tensor{shape} does not require a gradient (no input with "
                          "requires_grad=True reached it, or it was computed under no_grad)")
    MODE.begun += 1   # (a transform whose f runs this sweep no longer trusts its list: transforms.py)
    if output._prim is not None and output._args is None:
        raise EngineError(f"backward: the graph of this {output._prim.name} result (shape {output.shape}) "
                          f"was already released by an earlier backward pass; pass retain_graph=True to "
                          f"the first one")
    # The cycle collector is paused for the sweep: flatten and pullback make several small tuples per
    # operation, and each of them counts towards a collection that would walk the whole graph, still
    # alive and free of cycles, to find nothing (~8% of a 2000-operation chain). Whatever the sweep
    # drops is freed by reference counting as before; the collector resumes after it.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        flat = None if made is None else flatten_made(output, made, create_graph=create_graph,
                                                      release=not retain_graph)
        if flat is not None:
            steps, n_slots = flat
            tensors = slots = stops = None
            adjoints = [None] * n_slots
            adjoints[output._slot] = _seed(output, grad, create_graph)
            leaves = len(stop_at)   # the stand-ins, at the first slots: no step consumes them
        else:
            stops = frozenset(map(id, stop_at)) if stop_at else frozenset()
            steps, tensors, slots = flatten(output, stops, create_graph=create_graph, release=not retain_graph)
            adjoints = [None] * len(tensors)
            adjoints[slots[id(output)]] = _seed(output, grad, create_graph)
            leaves = 0
        saved_mode = MODE.recording
        MODE.recording = create_graph
        try:
            pullback(steps, adjoints, leaves=leaves)
        finally:
            MODE.recording = saved_mode
    finally:
        if collecting:
            gc.enable()
    return tensors, slots, adjoints, stops


def _released(tensor: Tensor) -> EngineError:
    return EngineError(f"backward: part of the graph ({tensor._prim.name}) was already released; "
                       f"pass retain_graph=True to the earlier backward pass")


def backprop(output: Tensor, grad=None, *, retain_graph: bool = False, create_graph: bool = False,
             stop_at: tuple[Tensor, ...] = ()) -> dict[int, tuple[Tensor, object]]:
    """Run the backward pass from ``output``; return the adjoints of the leaves and of ``stop_at``.

    The result maps ``id(tensor)`` to ``(tensor, adjoint)``, nearest the output first; the adjoint
    is a numpy array, or a tensor with ``create_graph``. Tensors in ``stop_at`` collect their
    adjoint and are not looked through.
    """
    tensors, _, adjoints, stops = _sweep(output, grad, retain_graph, create_graph, stop_at)
    collected: dict[int, tuple[Tensor, object]] = {}
    for slot in range(len(tensors) - 1, -1, -1):
        adjoint = adjoints[slot]
        if adjoint is not None:
            tensor = tensors[slot]
            if tensor._prim is not None and id(tensor) not in stops:
                raise _released(tensor)
            collected[id(tensor)] = (tensor, adjoint)
    return collected


def adjoints_of(output: Tensor, wrt: list[Tensor], grad=None, *, retain_graph: bool = False,
                create_graph: bool = False, made: list | None = None) -> list:
    """The adjoints ∂output/∂t for the tensors ``t`` in ``wrt`` (None where unreached); the search
    does not look through them. What the function transforms ask for; they pass ``made``, what f
    recorded, with ``wrt`` (the stand-ins) at its first slots, so the graph needs no search."""
    tensors, slots, adjoints, stops = _sweep(output, grad, retain_graph, create_graph, wrt, made)
    if tensors is None:   # by the recording's slots: every step ran or was unreached, so only the
        return adjoints[:len(wrt)]   # stand-ins' slots can hold an adjoint
    found = []
    for tensor in wrt:
        slot = slots.get(id(tensor))
        found.append(None if slot is None else adjoints[slot])
    # an adjoint left anywhere else stopped at a node an earlier pass released (counted in C first:
    # the search through every slot runs only then)
    if sum(map(is_not, adjoints, repeat(None))) > sum(map(is_not, found, repeat(None))):
        for tensor, adjoint in zip(tensors, adjoints):
            if adjoint is not None and tensor._prim is not None and id(tensor) not in stops:
                raise _released(tensor)
    return found


def backward(output: Tensor, grad=None, *, retain_graph: bool = False, create_graph: bool = False) -> None:
    """``Tensor.backward``: add d(output)/d(leaf) to ``leaf.grad`` for every leaf reached.

    A leaf holding one number (shape ()) gets a Python float, any other an array it may change.

    With ``create_graph`` the graph is kept (the new gradient graph refers to it).
    """
    collected = backprop(output, grad, retain_graph=retain_graph or create_graph,
                         create_graph=create_graph)
    leaves = [leaf for leaf, _ in collected.values()]
    for leaf, adjoint in zip(leaves, owned_gradients([a for _, a in collected.values()])):
        if leaf.data.ndim == 0 and adjoint.__class__ is np.ndarray:
            adjoint = float(adjoint)   # a number's gradient is a number: 138.83381924, not array(138.83...)
        leaf.grad = adjoint if leaf.grad is None else leaf.grad + adjoint
