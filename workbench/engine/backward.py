"""The backward pass: reverse topological order, adjoint accumulation, releasing memory.

Reverse mode in three steps (Fang et al., 2024, part three):

1. Order. Every node must be processed after all the nodes that use its value, so that its
   adjoint is complete when its rule runs. A depth-first search gives a post-order (inputs before
   outputs); reversed, it is an order from the output back to the leaves. The search keeps its own
   stack instead of recursing, so a chain of 100,000 operations needs no deep Python recursion.
2. Propagate. Start with ∂L/∂L = seed; for each node, hand its adjoint ḡ to each input's
   vector-Jacobian product, undo broadcasting (``unbroadcast``) and *add* the result to that input's
   adjoint: a value used twice receives the sum of both contributions (the multivariate chain rule).
3. Release. An adjoint is dropped as soon as its node has been processed, and, unless
   ``retain_graph=True``, each node forgets its inputs after use so that intermediate arrays can be
   freed. A second backward through a released graph is an error rather than a silent zero.

With ``create_graph=True`` the rules run on tensors with recording switched on, so the gradient is
itself a differentiable function of the inputs: that is all higher derivatives need.
"""

from __future__ import annotations

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.mode import MODE
from workbench.engine.prims_shape import unbroadcast
from workbench.engine.tensor import Tensor


def topological_order(root: Tensor, stops: frozenset[int] = frozenset()) -> list[Tensor]:
    """Tensors reachable from ``root`` through recorded nodes, ``root`` first, leaves last.

    The search does not look through the tensors whose ids are in ``stops``.
    """
    post: list[Tensor] = []
    seen: set[int] = set()
    # A tensor is pushed once to be expanded; a 1-tuple (tensor,) is pushed after it to say "all
    # its inputs are done, emit it", so no pair is allocated for the far more common first push.
    stack: list = [root]
    push, pop = stack.append, stack.pop
    while stack:
        tensor = pop()
        if tensor.__class__ is tuple:
            post.append(tensor[0])
            continue
        key = id(tensor)
        if key in seen:
            continue
        seen.add(key)
        node = tensor._node
        if node is None or node.args is None or key in stops:
            post.append(tensor)
            continue
        push((tensor,))
        for arg in reversed(node.args):
            if isinstance(arg, Tensor) and arg.requires_grad and id(arg) not in seen:
                push(arg)
    post.reverse()
    return post


def _seed(output: Tensor, grad, create_graph: bool):
    if grad is None:
        if output.data.size != 1:
            raise EngineError(
                f"backward: output has shape {output.shape}; a non-scalar output needs a seed "
                f"gradient of the same shape (backward(grad=...))")
        grad = np.ones_like(output.data)
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
    for adjoint in adjoints:
        if not isinstance(adjoint, Tensor):
            array = np.asarray(adjoint, dtype=np.float64)
            if not (array.flags.owndata and array.flags.writeable) or id(array) in given:
                array = array.copy()
            given.add(id(array))
            adjoint = array
        owned.append(adjoint)
    return owned


def _propagate(node, ans, g, adjoints: dict, create_graph: bool) -> None:
    """Hand ``g`` to the vjp rule of each input that wants a gradient; add the result to its adjoint."""
    prim, args, kw = node.prim, node.args, node.kw
    # the rules see numpy arrays (kept by the node), or tensors when the pass is itself recorded
    inputs = args if create_graph else node.inputs
    if prim.vjp_all is not None:
        wanted = [isinstance(a, Tensor) and a.requires_grad for a in args]
        if any(wanted):
            for arg, share, want in zip(args, prim.vjp_all(g, ans, *inputs, **kw), wanted):
                if want:
                    _accumulate(adjoints, arg, share)
        return
    rules = prim.vjp or ()
    for i, arg in enumerate(args):
        if isinstance(arg, Tensor) and arg.requires_grad and i < len(rules) and rules[i] is not None:
            # calling without ** when there are no options saves building a dict per rule
            _accumulate(adjoints, arg, rules[i](g, ans, *inputs, **kw) if kw else rules[i](g, ans, *inputs))


def _accumulate(adjoints: dict, arg: Tensor, share) -> None:
    """x̄ += share, first summed over the axes broadcasting added (a value used twice gets both)."""
    shape = arg.data.shape
    try:
        fits = share.shape == shape
    except AttributeError:   # a Python number from a rule
        fits = False
    if not fits:
        share = unbroadcast(share, shape)
    key = id(arg)
    previous = adjoints.get(key)
    # never +=: a rule may return ``g`` itself, which other adjoints share
    adjoints[key] = share if previous is None else previous + share


def backprop(output: Tensor, grad=None, *, retain_graph: bool = False, create_graph: bool = False,
             stop_at: tuple[Tensor, ...] = ()) -> dict[int, tuple[Tensor, object]]:
    """Run the backward pass from ``output``; return the adjoints of the leaves and of ``stop_at``.

    The result maps ``id(tensor)`` to ``(tensor, adjoint)``; the adjoint is a numpy array, or a
    tensor with ``create_graph``. Tensors in ``stop_at`` collect their adjoint and are not
    looked through.
    """
    if not isinstance(output, Tensor) or not output.requires_grad:
        shape = f" (shape {output.shape})" if isinstance(output, Tensor) else ""
        raise EngineError(f"backward: this tensor{shape} does not require a gradient (no input with "
                          "requires_grad=True reached it, or it was computed under no_grad)")
    if output._node is not None and output._node.args is None:
        raise EngineError(f"backward: the graph of this {output._node.prim.name} result (shape {output.shape}) "
                          f"was already released by an earlier backward pass; pass retain_graph=True to "
                          f"the first one")
    stops = frozenset(id(t) for t in stop_at)
    adjoints: dict[int, object] = {id(output): _seed(output, grad, create_graph)}
    collected: dict[int, tuple[Tensor, object]] = {}
    order = topological_order(output, stops)
    saved_mode = MODE.recording
    MODE.recording = create_graph
    try:
        for tensor in order:
            g = adjoints.pop(id(tensor), None)
            if g is None:
                continue
            node = tensor._node
            if node is None or id(tensor) in stops:
                collected[id(tensor)] = (tensor, g)
                continue
            if node.args is None:
                raise EngineError(f"backward: part of the graph ({node.prim.name}) was already released; "
                                  f"pass retain_graph=True to the earlier backward pass")
            _propagate(node, tensor if create_graph else tensor.data, g, adjoints, create_graph)
            if not retain_graph:
                node.args = node.inputs = None   # Node.release(), written out: once per node
    finally:
        MODE.recording = saved_mode
    return collected


def backward(output: Tensor, grad=None, *, retain_graph: bool = False, create_graph: bool = False) -> None:
    """``Tensor.backward``: add d(output)/d(leaf) to ``leaf.grad`` for every leaf reached.

    With ``create_graph`` the graph is kept (the new gradient graph refers to it).
    """
    collected = backprop(output, grad, retain_graph=retain_graph or create_graph,
                         create_graph=create_graph)
    leaves = [leaf for leaf, _ in collected.values()]
    for leaf, adjoint in zip(leaves, owned_gradients([a for _, a in collected.values()])):
        leaf.grad = adjoint if leaf.grad is None else leaf.grad + adjoint
