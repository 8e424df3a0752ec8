"""The one backward loop: a graph flattened into steps, and adjoints pulled back through them.

Reverse mode needs three things (Fang et al., 2024, part three), and this file is all of them:

1. **Order.** A node may hand on its adjoint only once it is complete, after every node that uses
   it has added its share. ``flatten`` walks the graph depth first from the output, with its own
   stack (no recursion, so a chain of 100,000 operations is fine), and emits each tensor after
   all of its inputs: a forward order. Each tensor gets a *slot*, its index in that order, and
   each recorded operation becomes a *step*:

       (out, ans, prim, kw, inputs, wanted, node)

   ``out`` is the slot of the step's result and ``ans`` its value; ``inputs`` are the values its
   rules read; ``wanted`` lists ``(position, slot, shape)`` for each input that wants an adjoint;
   ``node`` is the step's tensor, which is its own node (``tensor.py``), when the step should
   forget its inputs once used (no ``retain_graph``); None otherwise.
   Inside a function transform no search is needed: ``flatten_made`` makes the same steps from
   the list of results f recorded, whose order of creation is already a forward order.
2. **Propagate.** ``pullback`` takes the steps from the last to the first (a reverse topological
   order), hands each step's adjoint ḡ to its primitive's vjp rules (``Primitive.shares``) and
   adds every share to its input's adjoint (``accumulate``): a value used twice gets both.
3. **Release.** An adjoint is dropped once handed on, and a step is dropped once run, so that
   intermediate arrays can be freed while the sweep goes on.

The same loop serves every consumer: ``Tensor.backward`` and ``backprop`` (``backward.py``), a
tape's replay (``tape.py`` makes steps from its flat lists, one per recorded operation), the
step-by-step ``trace`` and the picture (``trace.py``: a hook sees each step's shares), and
``check_nodes`` (``gradcheck.py``: a hook hands each step a random cotangent instead and checks
what comes back). Hooks observe or replace; they never copy the loop.
"""

from __future__ import annotations

from numpy import add, array, ndarray

from workbench.engine.graph import passes
from workbench.engine.prims_shape import unbroadcast
from workbench.engine.tensor import Tensor

_sum_all = add.reduce   # numpy's pairwise sum, called directly: a scalar's share, once per step


def fitted(share, shape: tuple):
    """``share`` summed back over the axes broadcasting added, so it has ``shape``."""
    try:
        if share.shape == shape:   # (a float64 from a rule that summed already has shape ())
            return share
    except AttributeError:   # a Python number from a rule
        pass
    # a scalar parameter's share of a vector: the commonest case in a model fit, summed here
    # without unbroadcast's general bookkeeping
    return _sum_all(share, None) if not shape and share.__class__ is ndarray else unbroadcast(share, shape)


class Waiting:
    """A scalar leaf's first share of a vector, not yet summed (``pullback``'s ``leaves``).

    Anything added to it sums it first, so the adjoint comes out as an eager sum would give it:
    ``sum(first) + later``, the same operands in the same order."""

    __slots__ = ("share",)

    def __add__(self, other):
        return _sum_all(self.share, None) + other


_BATCHED = 4096   # elements: a longer share is summed at once, not kept waiting for the others


def _sum_waiting(adjoints: list, leaves: int) -> None:
    """Replace each ``Waiting`` adjoint among the first ``leaves`` by its sum. Shares of one length
    are copied as the rows of one array and summed along them in one numpy call, which runs
    numpy's pairwise sum on each row exactly as on that row alone (the same bits, tested): two
    numpy calls in all, where summing one by one costs one per share."""
    slots = [slot for slot in range(leaves) if adjoints[slot].__class__ is Waiting]   # (some were added to)
    if len(slots) > 1:
        try:
            stacked = array([adjoints[slot].share for slot in slots])
        except ValueError:   # shares of different lengths
            stacked = None
        if stacked is not None and stacked.ndim == 2:
            for slot, total in zip(slots, _sum_all(stacked, 1).tolist()):   # (Python floats: no numpy
                adjoints[slot] = total                                         # scalar made per sum)
            return
    for slot in slots:
        adjoints[slot] = _sum_all(adjoints[slot].share, None)


def accumulate(adjoints: list, slot: int, share, shape: tuple):
    """adjoints[slot] += share, first fitted to ``shape``; returns the share as added. Never in
    place: a rule may return ``g`` itself, which other adjoints share."""
    share = fitted(share, shape)
    previous = adjoints[slot]
    adjoints[slot] = share if previous is None else previous + share
    return share


def flatten(root: Tensor, stops: frozenset = frozenset(), *, create_graph: bool = False,
            release: bool = False) -> tuple[list, list, dict]:
    """(steps, tensors, slots): the graph below ``root`` in forward order, ``tensors[slot]`` by
    slot and ``slots[id(tensor)]`` the other way.

    The search does not look through tensors whose ids are in ``stops``, nor through a node
    already released; such tensors, and leaves, get a slot but no step. With ``create_graph``
    the steps carry the tensors themselves (so the rules record); otherwise their numpy values.
    """
    tensors: list[Tensor] = []
    steps: list[tuple] = []
    # id -> slot, set when a tensor is emitted. It is also the "seen" mark: a tensor pushed twice
    # is expanded at its later (upper) push and emitted before its earlier push is popped
    slot_of: dict[int, int] = {}
    emit, add_step = tensors.append, steps.append
    # A tensor is pushed once to be expanded; a 1-tuple (tensor,) is pushed after it to say "all
    # its inputs have slots, emit it", so no pair is allocated for the far commoner first push.
    stack: list = [root]
    push, pop = stack.append, stack.pop
    while stack:
        tensor = pop()
        if tensor.__class__ is tuple:
            tensor = tensor[0]
            slot = len(tensors)
            slot_of[id(tensor)] = slot
            emit(tensor)
            args, has_rule = tensor._args, tensor._prim.has_rule
            if len(args) == 1:   # the commonest nodes first: one or two arguments, written out
                arg = args[0]
                wanted = ((0, slot_of[id(arg)], arg.data.shape),) if has_rule is None or 0 in has_rule else ()
            elif len(args) == 2 and (has_rule is None or len(has_rule) == 2):
                a, b = args
                if a.__class__ is Tensor and a.requires_grad:
                    first = (0, slot_of[id(a)], a.data.shape)
                    wanted = ((first, (1, slot_of[id(b)], b.data.shape))
                              if b.__class__ is Tensor and b.requires_grad else (first,))
                else:
                    wanted = ((1, slot_of[id(b)], b.data.shape),)
            else:
                wanted = tuple((position, slot_of[id(arg)], arg.data.shape)
                               for position, arg in enumerate(args)
                               if arg.__class__ is Tensor and arg.requires_grad
                               and (has_rule is None or position in has_rule))
            if create_graph:
                add_step((slot, tensor, tensor._prim, tensor._kw, args, wanted, tensor if release else None))
            else:
                add_step((slot, tensor.data, tensor._prim, tensor._kw, tensor._inputs, wanted,
                          tensor if release else None))
            continue
        key = id(tensor)
        if key in slot_of:
            continue
        if tensor._prim is None or tensor._args is None or key in stops:
            slot_of[key] = len(tensors)
            emit(tensor)
            continue
        push((tensor,))
        for arg in reversed(tensor._args):
            if arg.__class__ is Tensor and arg.requires_grad and id(arg) not in slot_of:
                push(arg)
    return steps, tensors, slot_of


def flatten_made(root: Tensor, made: list, *, create_graph: bool = False, release: bool = False):
    """``flatten``'s steps from ``made``, what a transform saw recorded while it ran f
    (``MODE.made``): (steps, number of slots), or None when the search must run after all.

    ``made`` holds None at the slots of the transform's stand-ins, then a weak reference to each
    tensor f recorded, at its slot, in order of creation: a forward order. Each node noted, as it
    was recorded, the slots of the inputs that want an adjoint (``Node.wanted``), so this is one
    pass that packs steps: no search, no slot lookups. A tensor f dropped is skipped (nothing
    depends on it); one ``root`` does not depend on gets a step that never receives an adjoint,
    so ``pullback`` skips it and leaves its node alone. None when ``root`` was not recorded here,
    or when a node's input was recorded elsewhere (another transform, or before f ran): ``flatten``
    searches. (A transform or backward pass run inside f could re-slot or release what the list
    holds: the transform then hands no list, ``transforms._differentiate``.)
    """
    if root._rec is not made:
        return None
    steps: list[tuple] = []
    add_step = steps.append
    for ref in made:
        if ref is None or (tensor := ref()) is None:   # a stand-in's slot, or a tensor f dropped
            continue
        if (wanted := tensor._wanted) is None:
            return None
        if create_graph:
            add_step((tensor._slot, tensor, tensor._prim, tensor._kw, tensor._args, wanted,
                      tensor if release else None))
        else:
            add_step((tensor._slot, tensor.data, tensor._prim, tensor._kw, tensor._inputs, wanted,
                      tensor if release else None))
    return steps, len(made)


def _general_step(step: tuple, g, adjoints: list, hook) -> None:
    """A step the loop does not write out (options, one rule for all inputs, or a hook): the
    primitive's ``shares``, each added by ``accumulate``; a hook sees them, or a failure."""
    _, ans, prim, kw, inputs, wanted, _ = step
    try:
        shares = prim.shares(g, ans, inputs, kw, wanted)
        added = [accumulate(adjoints, slot, share, shape) for (_, slot, shape), share in zip(wanted, shares)]
    except Exception as err:
        if hook is None or not hook.failed(step, err):
            raise
        return
    if hook is not None:
        hook.shares(step, g, shares, added)


def pullback(steps: list, adjoints: list, hook=None, leaves: int = 0) -> None:
    """Run ``steps`` from the last to the first, pulling each step's adjoint back to its inputs.

    ``adjoints`` is a list by slot, holding the seed at the output's slot; on return it holds the
    adjoint of every slot no step consumed (leaves, stops). ``steps`` is emptied as it is run.
    ``hook``, when given, has ``cotangent(step, g) -> g`` (the adjoint the step's rules receive:
    return ``g`` to observe, anything else to replace it, None to skip the step),
    ``shares(step, g, shares, added)`` (the rules' shares, and the same summed back to the
    inputs' shapes as they were added, in the order of ``step[5]``) and
    ``failed(step, error) -> bool`` (True: the error is recorded and the sweep goes on).

    ``leaves``: the slots below it belong to tensors no step consumes (a transform's stand-ins, a
    tape's arguments). A scalar there gets its first share of a vector unsummed (``Waiting``), and
    ``_sum_waiting`` sums them all at the end with one numpy sum, each bit for bit as alone: a
    model's scalar parameters each cost numpy a sum of the data, and one call per sum is most of it.
    """
    pop = steps.pop
    while steps:
        out, ans, prim, kw, inputs, wanted, node = step = pop()
        g = adjoints[out] if hook is None else hook.cotangent(step, adjoints[out])
        if g is None:
            continue
        adjoints[out] = None    # handed on: the sweep keeps only the adjoints still to be used
        if node is not None:
            node._args = node._inputs = None   # released: its inputs' arrays may be freed
        if hook is None and not kw and (rules := prim.vjps) is not None:   # accumulate, written out
            arity = len(inputs)   # the rules' arguments spelled out, not *inputs: a cheaper call
            for position, slot, shape in wanted:
                if (rule := rules[position]) is passes:   # x̄ = ḡ (a sum's terms): handed on without a call
                    share = g
                else:
                    share = rule(g, ans, inputs[0], inputs[1]) if arity == 2 else rule(g, ans, inputs[0]) if arity == 1 else rule(g, ans, *inputs)
                if share.__class__ is not ndarray or share.shape != shape:   # summed back to its input's shape
                    if slot < leaves and not shape and share.__class__ is ndarray and adjoints[slot] is None \
                            and share.size <= _BATCHED:   # a scalar leaf's first share: it waits
                        adjoints[slot] = waits = Waiting()
                        waits.share = share
                        continue
                    share = _sum_all(share, None) if not shape and share.__class__ is ndarray else fitted(share, shape)
                previous = adjoints[slot]
                adjoints[slot] = share if previous is None else previous + share
        elif wanted:
            _general_step(step, g, adjoints, hook)
    if leaves:
        _sum_waiting(adjoints, leaves)
