"""Seeing the graph step by step: ``trace(y)`` replays both sweeps of reverse mode in words.

Fang et al. (2024) teach reverse mode with a verbose mode that prints every node as it is
evaluated and every chain-rule step as it is taken. ``trace`` does the same for a recorded graph:

* the forward sweep: each node in topological order (inputs before the operations that use them),
  leaves named by ``Tensor.name`` or x1, x2, ..., operations v1, v2, ..., with its operation, its
  inputs and its value;
* the backward sweep: in reverse topological order, each chain-rule step
  ``x̄1 += v̄2 · ∂v2/∂x1 = 1 · 5 = 5``: the incoming adjoint v̄2 = ∂y/∂v2, the local partial and
  their product, which is added to the input's adjoint.

Why it reruns the rules instead of reading ``.grad``: the backward pass keeps no intermediate
adjoints (it frees each once used), and a trace must not disturb the user's graph or gradients.
So the sweep here calls the same vjp rules on the values the nodes kept, releases nothing, and
writes no ``.grad``. The product shown is what the rule returns for the actual adjoint, i.e. the
number the backward pass adds, so the trace's final adjoints are the engine's gradient exactly.
The local partial of a scalar node is the rule's answer for ḡ = 1. For arrays a Jacobian is too
big to print, so the step shows the vector-Jacobian product's result instead.

``graph_view`` and ``sweep_adjoints`` are shared with ``dot.py``, which draws the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from workbench.engine.backward import topological_order
from workbench.engine.pullback import flatten, pullback
from workbench.engine.errors import EngineError
from workbench.engine.recording import data_of
from workbench.engine.text import (adjoint_symbol, aligned, describe_options, factor, format_number,
                                   scalar_or_array, summarize, tangent_symbol)
from workbench.engine.tensor import Tensor

__all__ = ["trace", "Trace", "ForwardStep", "BackwardStep", "TangentStep", "GraphView", "graph_view",
           "sweep_adjoints", "local_partials", "summarize", "format_number", "describe_options"]


# ---- the graph as a list of named tensors ------------------------------------------------------

@dataclass(eq=False)
class GraphView:
    """The tensors of a scalar output's graph in forward order, each with a stable name."""

    output: Tensor
    order: list[Tensor]          # leaves first (by first use), then operations, inputs before users
    names: dict[int, str]        # id(tensor) -> its name in traces and pictures

    def name(self, tensor: Tensor) -> str:
        return self.names[id(tensor)]

    def is_node(self, value) -> bool:
        """True for tensors that belong to the graph (they require a gradient and were reached)."""
        return isinstance(value, Tensor) and id(value) in self.names


def _unique(name: str, used: set[str]) -> str:
    candidate, k = name, 2
    while candidate in used:
        candidate, k = f"{name}#{k}", k + 1
    used.add(candidate)
    return candidate


def graph_view(y: Tensor, who: str) -> GraphView:
    """Order and name the graph of the scalar ``y``; refuse what cannot be traced, naming ``who``."""
    if not isinstance(y, Tensor):
        raise EngineError(f"{who}: expected a Tensor, got {type(y).__name__}")
    if y.data.size != 1:
        raise EngineError(f"{who}: the output must be a scalar, got shape {y.shape}; reduce it first "
                          f"(for example with ad.sum)")
    if not y.requires_grad:
        raise EngineError(f"{who}: this tensor has no graph (no input with requires_grad=True reached "
                          f"it, or it was computed under no_grad)")
    forward_order = topological_order(y)[::-1]
    for tensor in forward_order:
        if not tensor.is_leaf and tensor._node.released:
            raise EngineError(f"{who}: the graph ({tensor._node.prim.name}, shape {tensor.shape}) was "
                              f"released by a backward pass; call {who} before backward, or pass "
                              f"retain_graph=True to it")
    leaves = [t for t in forward_order if t.is_leaf]
    operations = [t for t in forward_order if not t.is_leaf]
    used: set[str] = set()
    names: dict[int, str] = {}
    for tensor in leaves + operations:   # the user's names first, so generated ones step around them
        if tensor.name:
            names[id(tensor)] = _unique(str(tensor.name), used)
    counters = {"x": 0, "v": 0}
    for tensor in leaves + operations:
        if not tensor.name:
            prefix = "x" if tensor.is_leaf else "v"
            counters[prefix] += 1
            while f"{prefix}{counters[prefix]}" in used:
                counters[prefix] += 1
            names[id(tensor)] = _unique(f"{prefix}{counters[prefix]}", used)
    return GraphView(y, leaves + operations, names)


# ---- the backward sweep, shared by trace and dot -----------------------------------------------

EdgeHook = Callable[[Tensor, int, Tensor, np.ndarray, np.ndarray, tuple | None], None]


class _Watcher:
    """A ``pullback`` hook: keeps every node's adjoint and reports each chain-rule step."""

    def __init__(self, tensors: list[Tensor], on_edge: EdgeHook | None):
        self.tensors, self.on_edge = tensors, on_edge
        self.adjoints: dict[int, np.ndarray] = {}

    def cotangent(self, step, g):
        if g is not None:   # complete: every user of this node has added its share
            self.adjoints[id(self.tensors[step[0]])] = np.asarray(g, dtype=np.float64)
        return g

    def shares(self, step, g, shares, added) -> None:
        if self.on_edge is None:
            return
        tensor = self.tensors[step[0]]
        for (position, slot, shape), share, fitted in zip(step[5], shares, added):
            broadcast_from = None if np.shape(share) == shape else np.shape(share)
            self.on_edge(tensor, position, self.tensors[slot], np.asarray(g, dtype=np.float64),
                         np.asarray(fitted, dtype=np.float64), broadcast_from)

    def failed(self, step, error) -> bool:
        return False


def sweep_adjoints(view: GraphView, on_edge: EdgeHook | None = None) -> dict[int, np.ndarray]:
    """Every node's adjoint ∂y/∂node, keyed by id; nothing is released, no ``.grad`` is written.

    It is the backward pass's own loop (``pullback``) with a hook that watches it.
    ``on_edge(node_tensor, position, input_tensor, incoming, contribution, broadcast_shape)`` is
    called for each chain-rule step, in the order the backward pass takes them; ``broadcast_shape``
    is the share's shape when it had to be summed back to the input's shape, else None.
    """
    steps, tensors, _ = flatten(view.output)
    adjoints: list = [None] * len(tensors)
    adjoints[-1] = np.ones_like(view.output.data)
    watcher = _Watcher(tensors, on_edge)
    pullback(steps, adjoints, watcher)
    for tensor, adjoint in zip(tensors, adjoints):   # the leaves: nobody handed their adjoint on
        if adjoint is not None:
            watcher.adjoints[id(tensor)] = np.asarray(adjoint, dtype=np.float64)
    return watcher.adjoints


def local_partials(tensor: Tensor) -> dict[int, float]:
    """∂tensor/∂input for each scalar input of a scalar node: its vjp rules at ḡ = 1."""
    node = tensor._node
    if tensor.data.size != 1 or node is None:
        return {}
    has_rule = node.prim.has_rule
    wanted = [(i, None, a.data.shape) for i, a in enumerate(node.args) if isinstance(a, Tensor)
              and a.requires_grad and a.data.size == 1 and (has_rule is None or i in has_rule)]
    if not wanted:
        return {}
    shares = node.prim.shares(np.ones_like(tensor.data), tensor.data, node.inputs, node.kw, wanted)
    return {i: float(np.asarray(data_of(share), dtype=np.float64).reshape(-1)[0])
            for (i, _, _), share in zip(wanted, shares)}


# ---- the trace --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ForwardStep:
    """One node of the forward sweep: ``v3 = add(v1, v2) = 10.693147180559945``."""

    name: str
    op: str                       # the primitive's name, or "input" for a leaf
    inputs: tuple[str, ...]       # graph inputs by name; constants written out
    options: str                  # keyword options such as "axis=0", or ""
    value: np.ndarray

    @property
    def expression(self) -> str:
        if self.op == "input":
            return "input"
        return f"{self.op}({', '.join(self.inputs + ((self.options,) if self.options else ()))})"

    def parts(self) -> tuple[str, str]:
        return f"{self.name} = {self.expression}", summarize(self.value)

    def __str__(self) -> str:
        return " = ".join(self.parts())


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One chain-rule step: ``x̄1 += v̄2 · ∂v2/∂x1 = 1 · 5 = 5``."""

    source: str                   # the node whose adjoint flows back (v2)
    target: str                   # its input receiving a share (x1)
    op: str                       # the source's primitive
    position: int                 # which argument of the source the target is (0-based)
    incoming: np.ndarray          # the source's adjoint v̄2 = ∂y/∂v2
    partial: float | None         # ∂v2/∂x1 when both are scalars (the rule at ḡ = 1), else None
    contribution: np.ndarray      # what is added to the target's adjoint
    total: np.ndarray             # the target's adjoint after the addition
    accumulated: bool             # the target already had a share: a value used more than once
    broadcast_from: tuple | None  # the share's shape before it was summed back to the target's

    def parts(self) -> tuple[str, str]:
        left = (f"{adjoint_symbol(self.target)} += {adjoint_symbol(self.source)} · "
                f"∂{self.source}/∂{self.target}")
        if self.partial is not None:
            right = (f"{factor(self.incoming)} · {factor(self.partial)} = "
                     f"{summarize(self.contribution)}")
        else:
            right = f"{self.op}.vjp({summarize(self.incoming)}) = {summarize(self.contribution)}"
            if self.broadcast_from is not None:
                right += f" (summed from shape {self.broadcast_from}: broadcasting)"
        if self.accumulated:
            right += f"   so {adjoint_symbol(self.target)} = {summarize(self.total)}"
        return left, right

    def __str__(self) -> str:
        return " = ".join(self.parts())


@dataclass(frozen=True, eq=False)
class TangentStep:
    """One node of forward mode: ``dv3/dx1 = (1)(0.5) + (1)(5) = 5.5``.

    ``terms`` pairs each graph input's local partial ∂v/∂input with that input's tangent, for a
    scalar node of scalar inputs (None otherwise: a Jacobian is too big to print, so the step
    shows the jvp rule's result instead).
    """

    name: str
    wrt: str
    op: str                                        # the primitive's name, or "input" for a leaf
    terms: tuple[tuple[float, float], ...] | None
    tangent: float | np.ndarray                    # v̇ = ∂v/∂wrt

    def parts(self) -> tuple[str, str]:
        left = f"d{self.name}/d{self.wrt}"
        if self.op == "input":
            return left, "1   (the seed)" if self.name == self.wrt else "0   (another input)"
        if self.terms is not None:
            products = " + ".join(f"({summarize(p)})({summarize(t)})" for p, t in self.terms)
            return left, f"{products} = {summarize(self.tangent)}"
        return left, f"{self.op}.jvp = {summarize(self.tangent)}"

    def __str__(self) -> str:
        return " = ".join(self.parts())


@dataclass(eq=False)
class Trace:
    """The sweeps of one mode on one graph, as data (the step lists) and as text (``str``).

    Reverse mode (the default): ``forward_steps`` then ``backward_steps``, and ``adjoints`` (∂y/∂v
    for every node, by name). Forward mode: ``forward_steps`` then ``tangent_steps``, and
    ``tangents`` (∂v/∂wrt for every node, by name). One-number values are Python floats.
    """

    output: str
    forward_steps: list[ForwardStep]
    backward_steps: list[BackwardStep]
    adjoints: dict[str, float | np.ndarray] = field(default_factory=dict)
    leaves: tuple[str, ...] = ()
    mode: str = "reverse"
    wrt: str | None = None
    tangent_steps: list[TangentStep] = field(default_factory=list)
    tangents: dict[str, float | np.ndarray] = field(default_factory=dict)

    @property
    def value(self) -> float:
        """The output's value."""
        return float(np.reshape(self.forward_steps[-1].value, ()))

    @property
    def grads(self) -> dict[str, float | np.ndarray]:
        """∂y/∂leaf for every leaf, by name (reverse mode): a float for a scalar leaf, else an array."""
        return {name: self.adjoints[name] for name in self.leaves}

    def __str__(self) -> str:
        out = self.output
        lines = ["forward sweep: evaluate each node once, inputs first, and keep its value"]
        lines += aligned([s.parts() for s in self.forward_steps])
        results = [f"{out} = {summarize(self.forward_steps[-1].value)}"]
        if self.mode == "forward":
            x = self.wrt
            lines.append(f"tangent sweep (forward mode): the tangent {tangent_symbol('v')} = dv/d{x} of each "
                         f"node, inputs first: Σ ∂v/∂input · d(input)/d{x}")
            lines += aligned([s.parts() for s in self.tangent_steps])
            results.append(f"∂{out}/∂{x} = {summarize(self.tangents[out])}")
        else:
            lines.append(f"backward sweep: the adjoint v̄ = ∂{out}/∂v of each node, from the output back "
                         f"to the inputs (reverse topological order)")
            lines.append(f"  {adjoint_symbol(out)} = 1   (the seed: ∂{out}/∂{out})")
            lines += aligned([s.parts() for s in self.backward_steps])
            results += [f"∂{out}/∂{name} = {summarize(self.adjoints[name])}" for name in self.leaves
                        if name != out]
        lines.append("result: " + ", ".join(results))
        return "\n".join(lines)


def _written(view: GraphView, arg) -> str:
    """An argument as the trace writes it: a graph node by name, a constant by its value."""
    if view.is_node(arg):
        return view.name(arg)
    if isinstance(arg, Tensor) and arg.name:
        return f"{arg.name}={summarize(arg.data)}"
    return summarize(arg)


def _forward_step(view: GraphView, tensor: Tensor) -> ForwardStep:
    node = tensor._node
    if node is None:
        return ForwardStep(view.name(tensor), "input", (), "", tensor.data)
    inputs = tuple(_written(view, a) for a in node.args)
    return ForwardStep(view.name(tensor), node.prim.name, inputs, describe_options(node.kw), tensor.data)


def trace(y: Tensor, print_: bool = False, *, mode: str = "reverse", wrt: Tensor | str | None = None) -> Trace:
    """The sweeps of the recorded graph of the scalar ``y``, step by step.

    ``mode="reverse"`` (the default): the forward sweep and the backward sweep of reverse mode,
    every chain-rule step ``x̄1 += v̄2 · ∂v2/∂x1``. ``mode="forward"``: the forward sweep and,
    beside it, forward mode's tangents with respect to the leaf ``wrt`` (a tensor or its name),
    ``dv3/dx1 = (1)(0.5) + (1)(5) = 5.5`` as the paper's verbose mode prints them.

    Nothing is modified: the graph stays usable for ``y.backward()`` and no ``.grad`` is written.
    With ``print_=True`` the trace is also printed.
    """
    if mode not in ("reverse", "forward"):
        raise EngineError(f"trace: mode must be 'reverse' or 'forward', got {mode!r}")
    view = graph_view(y, "trace")
    forward_steps = [_forward_step(view, t) for t in view.order]
    leaves = tuple(view.name(t) for t in view.order if t.is_leaf)
    if mode == "forward":
        x = _leaf_named(view, wrt)
        tangent_steps, tangents = _tangent_sweep(view, x)
        result = Trace(view.name(y), forward_steps, [], {}, leaves, "forward", view.name(x),
                       tangent_steps, tangents)
    else:
        result = _reverse(view, forward_steps, leaves)
    if print_:
        print(result)
    return result


def _reverse(view: GraphView, forward_steps: list[ForwardStep], leaves: tuple[str, ...]) -> Trace:
    backward_steps: list[BackwardStep] = []
    running: dict[int, np.ndarray] = {}
    partials: dict[int, dict[int, float]] = {}

    def record(tensor, position, arg, incoming, share, broadcast_from) -> None:
        if id(tensor) not in partials:
            partials[id(tensor)] = local_partials(tensor)
        previous = running.get(id(arg))
        running[id(arg)] = share if previous is None else previous + share
        backward_steps.append(BackwardStep(
            view.name(tensor), view.name(arg), tensor._node.prim.name, position,
            scalar_or_array(incoming), partials[id(tensor)].get(position), scalar_or_array(share),
            scalar_or_array(running[id(arg)]), previous is not None, broadcast_from))

    adjoints = sweep_adjoints(view, record)
    by_name = {view.name(t): scalar_or_array(adjoints.get(id(t), np.zeros_like(t.data))) for t in view.order}
    return Trace(view.name(view.output), forward_steps, backward_steps, by_name, leaves)


def _leaf_named(view: GraphView, wrt) -> Tensor:
    leaves = [t for t in view.order if t.is_leaf]
    for leaf in leaves:
        if leaf is wrt or (isinstance(wrt, str) and view.name(leaf) == wrt):
            return leaf
    names = ", ".join(view.name(t) for t in leaves)
    raise EngineError(f"trace: mode='forward' needs wrt=, one of the graph's inputs ({names}) or its "
                      f"name; got {wrt!r}")


def _tangent_sweep(view: GraphView, x: Tensor) -> tuple[list[TangentStep], dict]:
    """Forward mode by the primitives' jvp rules: every node's tangent ∂v/∂x, inputs first."""
    from workbench.engine.forward import tangent_of

    wrt = view.name(x)
    tangents: dict[int, np.ndarray] = {}
    steps = []
    for tensor in view.order:
        node = tensor._node
        if node is None:
            tangents[id(tensor)] = np.ones_like(tensor.data) if tensor is x else np.zeros_like(tensor.data)
            steps.append(TangentStep(view.name(tensor), wrt, "input", None, scalar_or_array(tangents[id(tensor)])))
            continue
        incoming = [tangents[id(a)][None] if view.is_node(a) else None for a in node.args]
        tangent = np.asarray(tangent_of(node.prim, incoming, tensor.data, node.inputs, node.kw)[0])
        tangents[id(tensor)] = tangent
        steps.append(TangentStep(view.name(tensor), wrt, node.prim.name, _terms(view, tensor, tangents),
                                 scalar_or_array(tangent)))
    return steps, {view.name(t): scalar_or_array(tangents[id(t)]) for t in view.order}


def _terms(view: GraphView, tensor: Tensor, tangents: dict) -> tuple | None:
    """(∂v/∂input, input's tangent) for each graph input of a scalar node, or None."""
    partials = local_partials(tensor)
    positions = [i for i, a in enumerate(tensor._node.args) if view.is_node(a)]
    if not positions or any(i not in partials for i in positions):
        return None
    return tuple((partials[i], float(tangents[id(tensor._node.args[i])].reshape(()))) for i in positions)
