"""Recorded tapes: replay a fixed computation without rebuilding its graph.

An optimizer evaluates the same function thousands of times, and for a small model (a formula
with a handful of parameters over a few dozen rows) most of the cost of the ordinary path is not
arithmetic but building Python objects: a ``Tensor`` per operation (its own graph node), a list of
steps per backward pass. ``record(f, *example_args)`` runs ``f`` once through the ordinary path,
then flattens the graph it built into a tape: a list of steps, each naming its primitive, the
slots its inputs come from (an argument, a constant, or an earlier step) and its options. Replaying
the tape (``forward``, ``value_and_grad``, ``vjp``, ``jacobian_forward``) runs the same forward,
vjp and jvp rules over plain numpy arrays in flat lists, in the same order, so the numbers are
identical to the ordinary path's, bit for bit.

Store versus rebuild. The ordinary path rebuilds the graph on every call, which is what lets
``f`` branch on its inputs' values: each call records whatever actually ran. A tape stores one
graph and trusts it. It is valid only while the sequence of operations that ``f`` performs does
not depend on the values of its arguments. The engine watches for that while it records, and a
tape that saw any of these refuses to replay (``tape.frozen`` says what it saw; ``verify`` is False):

* a comparison of values that depend on the arguments (``x > 0``, the mask of ``ad.where`` or the
  test of an ``if``): it gives a plain boolean array, which a replay would keep as it was;
* ``.item()``, ``float()``, ``.numpy()`` or ``detach()`` of such a value: a Python number or a
  constant, the same on every replay.

What it cannot see: reading ``.data`` directly, or work under ``no_grad()`` on the arguments;
``tape.verify(*args)`` compares a replay with the ordinary path for a spot check. Rules whose
derivative depends on the value (``relu``, ``abs``, ``maximum``, ``clip``) are fine: their masks
are recomputed from the replayed values. Shapes are part of a tape (reductions and reshapes bake
them in), so a replay with an argument of another shape is refused with an ``EngineError``.

The backward sweep of a replay is ``pullback.py``'s loop: the forward sweep hands it one step per
recorded operation whose rules run, just as ``flatten`` does for a graph.
"""

from __future__ import annotations

import math
from functools import partial
from operator import itemgetter
from typing import Callable, Sequence

import numpy as np

from workbench.engine.backward import owned_gradients, topological_order
from workbench.engine.errors import EngineError
from workbench.engine.forward import tangent_of
from workbench.engine.mode import MODE, enable_grad
from workbench.engine.pullback import pullback
from workbench.engine.tensor import Tensor, as_float_array

_ndarray = np.ndarray
_float64 = np.float64


class _Step:
    """One recorded primitive application: where its inputs live and how to run its rules."""

    __slots__ = ("prim", "kw", "slots", "out", "call", "fetch", "unary", "cast", "wanted", "frees",
                 "stand_ins")

    def __init__(self, prim, kw: dict, slots: tuple[int, ...], out: int):
        self.prim, self.kw, self.slots, self.out = prim, kw, slots, out
        # Options are bound once here (partial) so a replay never builds a keyword dict.
        self.call = partial(prim.forward, **kw) if kw else prim.forward
        # itemgetter fetches every input from the value list in one C call (one slot: the value).
        self.fetch = itemgetter(*slots)
        self.unary = len(slots) == 1
        self.cast = True           # does the forward rule hand back something other than a float64 array?
        self.wanted: list = []     # (position, input slot, input shape) for inputs needing adjoints
        self.frees: tuple = ()     # (slot, placeholder) to drop once this step has run
        # what the backward step keeps in place of values the forward sweep drops (see _plan_frees):
        # None, or (placeholder of the output or None, (placeholder of each input or None, ...))
        self.stand_ins = None


class Tape:
    """A recorded computation; see the module docstring for when a tape is valid."""

    def __init__(self, n_args: int, arg_shapes: list, argnums: tuple[int, ...], single: bool,
                 constants: list, steps: list[_Step], output: int, n_slots: int):
        self.n_args = n_args
        self.arg_shapes = arg_shapes
        self.argnums = argnums
        self._single = single
        self._constants = constants      # values of the slots n_args .. n_args+len(constants)-1
        self.steps = steps
        self.output = output
        self._n_slots = n_slots
        # flat tuples: the replay loop unpacks them instead of reading four attributes per step
        self._forward_plan = [(s.call, s.fetch, s.unary, s.cast, s.frees) for s in steps]
        # with a backward step for each step whose rules run: (out, prim, kw, wanted, stand-ins)
        self._recording_plan = [(s.call, s.fetch, s.unary, s.cast, s.frees,
                                 (s.out, s.prim, s.kw, s.wanted, s.stand_ins) if s.wanted else None)
                                for s in steps]
        self.function: Callable | None = None
        # what made the recorded run depend on its arguments' values (see record); a tape that
        # noted anything refuses to replay, since a replay would keep the recorded decisions
        self.frozen: tuple[str, ...] = ()
        # forward mode's seeds: the differentiated arguments' blocks of one identity matrix
        n = sum(math.prod(arg_shapes[i]) for i in argnums)
        eye, start, self._basis = np.eye(n), 0, []
        for i in argnums:
            size = math.prod(arg_shapes[i])
            self._basis.append(eye[:, start:start + size].reshape((n,) + arg_shapes[i]))
            start += size

    # ---- replay -----------------------------------------------------------------------------
    def _values(self, args: tuple, trail: list | None = None) -> list:
        """The forward sweep: every slot's value, arguments first, then constants, then steps.

        With ``trail``, each step whose rules will run appends its backward step (as
        ``pullback.flatten`` makes them for a graph), so the backward sweep is ``pullback``'s.
        """
        if len(args) != self.n_args:
            raise EngineError(f"tape: recorded with {self.n_args} arguments, called with {len(args)}")
        if self.frozen:
            raise EngineError(f"tape: refusing to replay: {self.frozen[0]}")
        values = []
        for i, (arg, shape) in enumerate(zip(args, self.arg_shapes)):
            if type(arg) is not _ndarray or arg.dtype != _float64:
                arg = as_float_array(arg, "tape")
            if arg.shape != shape:
                raise EngineError(f"tape: argument {i} has shape {arg.shape} but the tape was recorded "
                                  f"with shape {shape}; record a new tape for new shapes")
            values.append(arg)
        values += self._constants
        append = values.append
        if trail is None:
            for call, fetch, unary, cast, frees in self._forward_plan:
                out = call(fetch(values)) if unary else call(*fetch(values))
                if cast:   # as graph.apply does: numpy hands back scalars for 0-d results
                    out = np.asarray(out, dtype=_float64)
                append(out)
                for slot, placeholder in frees:   # values no later rule reads (see _plan_frees)
                    values[slot] = placeholder
            return values
        keep = trail.append
        for call, fetch, unary, cast, frees, backward in self._recording_plan:
            inputs = (fetch(values),) if unary else fetch(values)
            out = call(*inputs)
            if cast:
                out = np.asarray(out, dtype=_float64)
            append(out)
            if backward is not None:
                slot, prim, kw, wanted, stand_ins = backward
                if stand_ins is None:
                    keep((slot, out, prim, kw, inputs, wanted, None))
                else:
                    keep((slot, out if stand_ins[0] is None else stand_ins[0], prim, kw,
                          tuple(v if p is None else p for v, p in zip(inputs, stand_ins[1])), wanted, None))
            for slot, placeholder in frees:
                values[slot] = placeholder
        return values

    def _pullback(self, trail: list, seed) -> list:
        """The backward sweep from ``seed``, by ``pullback``: adjoints of the differentiated arguments."""
        adjoints = [None] * self._n_slots
        adjoints[self.output] = seed
        pullback(trail, adjoints, leaves=self.n_args)   # the arguments' slots come first; no step makes them
        # copies where the sweep shared an array (as Tensor.backward gives them): safe to change in place
        return owned_gradients([np.zeros(self.arg_shapes[i]) if adjoints[i] is None else adjoints[i]
                                for i in self.argnums])

    def _shaped(self, grads: list):
        return grads[0] if self._single else tuple(grads)

    def forward(self, *args) -> np.ndarray:
        """f(*args), replayed."""
        return self._values(args)[self.output]

    def value_and_grad(self, *args):
        """(f(*args), ∂f/∂args[argnums]) for a scalar f: one forward and one backward sweep."""
        trail: list = []
        out = self._values(args, trail)[self.output]
        if out.size != 1:
            raise EngineError(f"tape.value_and_grad: f must return a scalar, got shape {out.shape}; "
                              f"use tape.vjp or tape.jacobian_forward")
        seed = np.array(1.0) if out.ndim == 0 else np.ones(out.shape)
        return float(out.reshape(())), self._shaped(self._pullback(trail, seed))

    def vjp(self, *args):
        """(f(*args), pullback): ``pullback(seed)`` gives seedᵀ·∂f/∂args[argnums], as often as wanted."""
        trail: list = []
        out = self._values(args, trail)[self.output]

        def pull(seed):
            seed = as_float_array(seed, "tape.vjp")
            if seed.shape != out.shape:
                raise EngineError(f"tape.vjp: seed has shape {seed.shape}, output has shape {out.shape}")
            return self._shaped(self._pullback(list(trail), seed))   # a copy: pullback empties it
        return out, pull

    def jacobian_forward(self, *args):
        """(f(*args), ∂f/∂args[argnums]) in ONE forward sweep carrying every direction at once.

        Each Jacobian has shape f.shape + arg.shape, as ``ad.jacobian`` gives. This is the
        residual Jacobian of a row-wise model with respect to a handful of parameters.
        """
        values = self._values(args)
        tangents: list = [None] * self._n_slots
        for i, basis in zip(self.argnums, self._basis):
            tangents[i] = basis
        for step in self.steps:
            incoming = [tangents[slot] for slot in step.slots]
            if any(t is not None for t in incoming):
                inputs = [values[slot] for slot in step.slots]
                tangents[step.out] = tangent_of(step.prim, incoming, values[step.out], inputs, step.kw)
        out = values[self.output]
        tangent = tangents[self.output]
        n = len(self._basis[0]) if self._basis else 0
        full = np.zeros(out.shape + (n,)) if tangent is None else np.moveaxis(np.asarray(tangent), 0, -1)
        jacobians, start = [], 0
        for i in self.argnums:
            size = math.prod(self.arg_shapes[i])
            jacobians.append(np.array(full[..., start:start + size].reshape(out.shape + self.arg_shapes[i])))
            start += size
        return out, self._shaped(jacobians)

    def verify(self, *args, rtol: float = 1e-12) -> bool:
        """True when a replay at ``args`` matches the ordinary path (value and gradient or Jacobian)."""
        from workbench.engine.transforms import jacobian, value_and_grad

        if self.function is None:
            raise EngineError("tape.verify: this tape does not know its function")
        if self.frozen:
            return False
        out = self.forward(*args)
        fresh = self.function(*args)
        if not np.allclose(out, fresh.data if isinstance(fresh, Tensor) else fresh, rtol=rtol, atol=0):
            return False
        if out.size == 1:
            mine = self.value_and_grad(*args)[1]
            theirs = value_and_grad(self.function, self.argnums if not self._single else self.argnums[0])(*args)[1]
        else:
            mine = self.jacobian_forward(*args)[1]
            theirs = tuple(jacobian(self.function, i)(*args) for i in self.argnums)
            theirs = theirs[0] if self._single else theirs
        pairs = zip(mine, theirs) if not self._single else [(mine, theirs)]
        return all(np.allclose(a, b, rtol=rtol, atol=0) for a, b in pairs)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.prim.name] = counts.get(step.prim.name, 0) + 1
        ops = ", ".join(f"{name}×{n}" for name, n in counts.items())
        return f"<Tape: {self.n_args} arguments, {len(self.steps)} steps ({ops})>"


def record(f: Callable, *example_args, argnums: int | Sequence[int] = 0) -> Tape:
    """Run ``f(*example_args)`` once and keep the sequence of primitives it applied as a ``Tape``.

    Every argument becomes a replaceable input of the tape; gradients and Jacobians are taken with
    respect to ``args[argnums]`` only, and no vjp rule runs for the other inputs.
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    n_args = len(example_args)
    for i in nums:
        if not -n_args <= i < n_args:
            raise EngineError(f"record: argnums {i} is out of range for {n_args} arguments")
    nums = tuple(i % n_args for i in nums)
    stand_ins = [Tensor(as_float_array(a, f"record: argument {i}"), requires_grad=True)
                 for i, a in enumerate(example_args)]
    saved_watch, MODE.watch = MODE.watch, []
    try:
        with enable_grad():
            out = f(*stand_ins)
    finally:
        noted, MODE.watch = MODE.watch, saved_watch
    tape = _flatten(out, stand_ins, nums, single)
    tape.function = f
    tape.frozen = tuple(noted)
    return tape


def _flatten(out, stand_ins: list, argnums: tuple[int, ...], single: bool) -> Tape:
    """Turn the graph below ``out`` into a tape: slots for arguments, constants, then steps."""
    n_args = len(stand_ins)
    slot_of = {id(t): i for i, t in enumerate(stand_ins)}
    constants: list = []
    if not isinstance(out, Tensor) or not out.requires_grad:
        constants.append(as_float_array(out.data if isinstance(out, Tensor) else out, "record"))
        return Tape(n_args, [s.shape for s in stand_ins], argnums, single, constants, [], n_args, n_args + 1)
    order = [t for t in reversed(topological_order(out)) if not t.is_leaf]
    # A tensor computed by a recorded step, or an argument, is a slot of its own; anything else
    # the graph holds (numbers, arrays, tensors that need no gradient) is a constant.
    for t in order:
        for arg in t._node.args:
            key = id(arg)
            if key not in slot_of and not (isinstance(arg, Tensor) and not arg.is_leaf):
                slot_of[key] = n_args + len(constants)
                constants.append(arg.data if isinstance(arg, Tensor) else arg)
    first_step = n_args + len(constants)
    carries = [i in argnums for i in range(n_args)] + [False] * len(constants)
    steps = []
    for index, t in enumerate(order):
        slot_of[id(t)] = first_step + index
        node = t._node
        step = _Step(node.prim, node.kw, tuple(slot_of[id(a)] for a in node.args), first_step + index)
        _connect(step, node.args, carries)
        raw = step.call(*node.inputs)
        step.cast = type(raw) is not np.ndarray or raw.dtype != np.float64
        carries.append(bool(step.wanted))
        steps.append(step)
    _plan_frees(steps, slot_of[id(out)], argnums, {first_step + i: t.data.shape for i, t in enumerate(order)})
    return Tape(n_args, [s.shape for s in stand_ins], argnums, single, constants, steps,
                slot_of[id(out)], first_step + len(steps))


FREE_AT_SIZE = 1 << 14   # elements: smaller values cost little to keep and a step to drop


def _plan_frees(steps: list[_Step], output: int, argnums: tuple[int, ...], shapes: dict[int, tuple]) -> None:
    """Drop each large value as soon as the forward sweep has used it, unless a rule reads it.

    A graph keeps every intermediate value until its backward pass, because it cannot know what
    comes next; a tape knows the whole computation. Keeping values a hand-written gradient would
    have freed costs more than memory: every new array is fresh memory the machine must map and
    bring into cache. ``Primitive.reads`` says which values a rule reads (a linear one reads only
    shapes); a dropped value is replaced by a placeholder of the same shape, which takes no memory
    and is all NaN, so a rule that broke its word would give NaN rather than a quiet wrong number.
    """
    kept = {output}
    last_use: dict[int, int] = {}
    moves = set(argnums)   # slots that change with a differentiated argument: their steps' rules run
    for index, step in enumerate(steps):
        for slot in step.slots:
            last_use[slot] = index
        if not moves.intersection(step.slots):
            continue
        moves.add(step.out)
        if not step.prim.linear:
            if step.prim.reads in ("all", "inputs"):
                kept.update(step.slots)
            if step.prim.reads in ("all", "output"):
                kept.add(step.out)
    frees: dict[int, list] = {}
    for slot, index in last_use.items():
        if slot in shapes and slot not in kept and math.prod(shapes[slot]) >= FREE_AT_SIZE:
            frees.setdefault(index, []).append((slot, np.broadcast_to(np.nan, shapes[slot])))
    for index, dropped in frees.items():
        steps[index].frees = tuple(dropped)
    placeholders = {slot: placeholder for dropped in frees.values() for slot, placeholder in dropped}
    for step in steps:   # a backward step must not hold on to what the forward sweep drops
        if step.wanted and placeholders.keys() & {step.out, *step.slots}:
            step.stand_ins = (placeholders.get(step.out), tuple(placeholders.get(slot) for slot in step.slots))


def _connect(step: _Step, args: tuple, carries: list) -> None:
    """Note which of the step's inputs need an adjoint (they lead back to a differentiated argument)."""
    has_rule = step.prim.has_rule
    step.wanted = [(i, slot, args[i].data.shape) for i, slot in enumerate(step.slots)
                   if carries[slot] and (has_rule is None or i in has_rule)]
