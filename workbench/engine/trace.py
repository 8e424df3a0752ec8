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

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from workbench.engine.backward import topological_order
from workbench.engine.pullback import flatten, pullback
from workbench.engine.errors import EngineError
from workbench.engine.graph import data_of
from workbench.engine.tensor import Tensor

ARRAY_HEAD = 2   # elements shown before the "…" in an array summary (the last one follows it)


# ---- how numbers and names are written --------------------------------------------------------

def format_number(x: float, digits: int | None = None) -> str:
    """A float as a reader wants it: 5 rather than 5.0; all digits unless ``digits`` is given."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    if digits is None:
        return repr(x)
    text = f"{x:.{digits}g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def summarize(value, digits: int | None = None) -> str:
    """A number in full, or an array as its shape and a few values: ``array(37,) [80.57, 84.25, … 1.4e3]``."""
    array = np.asarray(data_of(value), dtype=np.float64)
    if array.ndim == 0:
        return format_number(array, digits)
    flat = array.ravel()
    short = 4 if digits is None else digits
    if flat.size <= ARRAY_HEAD + 1:
        shown = ", ".join(format_number(v, short) for v in flat)
    else:
        head = ", ".join(format_number(v, short) for v in flat[:ARRAY_HEAD])
        shown = f"{head}, … {format_number(flat[-1], short)}"
    dims = ", ".join(str(n) for n in array.shape) + ("," if array.ndim == 1 else "")
    return f"array({dims}) [{shown}]"


def _factor(value) -> str:
    """A number inside a product: negative ones in parentheses, so ``1 · (-1)`` reads right."""
    text = summarize(value)
    return f"({text})" if text.startswith("-") else text


def adjoint_symbol(name: str) -> str:
    """v3 -> v̄3 (the bar of the adjoint ∂y/∂v3); names longer than a letter and digits -> adj(name)."""
    if re.fullmatch(r"[A-Za-z][0-9_]*", name):
        return name[0] + "\u0304" + name[1:]
    return f"adj({name})"


def _index_text(index) -> str:
    """An index as it is written in Python: ``1:3``, ``..., 0``, ``[0 2 2]``."""
    if isinstance(index, tuple):
        return ", ".join(_index_text(part) for part in index) if index else "()"
    if isinstance(index, slice):
        bounds = ["" if b is None else str(b) for b in (index.start, index.stop, index.step)]
        return ":".join(bounds[:2] if index.step is None else bounds)
    if index is Ellipsis:
        return "..."
    if index is None:
        return "newaxis"
    if isinstance(index, (list, np.ndarray)):
        return np.array2string(np.asarray(index), threshold=6, edgeitems=2, separator=" ")
    return str(index)


def describe_options(kw: dict) -> str:
    """The keyword options of an operation, e.g. ``axis=0, keepdims=True`` (functions by name)."""
    parts = []
    for key, value in kw.items():
        if key == "index":
            parts.append(f"[{_index_text(value)}]")
            continue
        if value is None:
            continue
        if callable(value):
            value = getattr(value, "__name__", type(value).__name__)
        elif isinstance(value, np.ndarray):
            value = summarize(value)
        parts.append(f"{key}={value}")
    return ", ".join(parts)


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
        if tensor._node is not None and tensor._node.args is None:
            raise EngineError(f"{who}: the graph ({tensor._node.prim.name}, shape {tensor.shape}) was "
                              f"released by a backward pass; call {who} before backward, or pass "
                              f"retain_graph=True to it")
    leaves = [t for t in forward_order if t._node is None]
    operations = [t for t in forward_order if t._node is not None]
    used: set[str] = set()
    names: dict[int, str] = {}
    for tensor in leaves + operations:   # the user's names first, so generated ones step around them
        if tensor.name:
            names[id(tensor)] = _unique(str(tensor.name), used)
    counters = {"x": 0, "v": 0}
    for tensor in leaves + operations:
        if not tensor.name:
            prefix = "x" if tensor._node is None else "v"
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
            right = (f"{_factor(self.incoming)} · {_factor(self.partial)} = "
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


@dataclass(eq=False)
class Trace:
    """Both sweeps of reverse mode on one graph, as data (the step lists) and as text (``str``)."""

    output: str
    forward_steps: list[ForwardStep]
    backward_steps: list[BackwardStep]
    adjoints: dict[str, np.ndarray] = field(default_factory=dict)   # ∂y/∂node for every node
    leaves: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        """The output's value."""
        return float(self.forward_steps[-1].value.reshape(()))

    @property
    def grads(self) -> dict[str, float | np.ndarray]:
        """∂y/∂leaf for every leaf, by name: a float for a scalar leaf, else an array."""
        found = {}
        for name in self.leaves:
            g = self.adjoints[name]
            found[name] = float(g.reshape(())) if g.ndim == 0 else g
        return found

    def __str__(self) -> str:
        out = self.output
        lines = ["forward sweep: evaluate each node once, inputs first, and keep its value"]
        lines += _aligned([s.parts() for s in self.forward_steps])
        lines.append(f"backward sweep: the adjoint v̄ = ∂{out}/∂v of each node, from the output back "
                     f"to the inputs (reverse topological order)")
        lines.append(f"  {adjoint_symbol(out)} = 1   (the seed: ∂{out}/∂{out})")
        lines += _aligned([s.parts() for s in self.backward_steps])
        results = [f"{out} = {summarize(self.forward_steps[-1].value)}"]
        results += [f"∂{out}/∂{name} = {summarize(self.adjoints[name])}" for name in self.leaves
                    if name != out]
        lines.append("result: " + ", ".join(results))
        return "\n".join(lines)


def _width(text: str) -> int:
    """Columns on screen: a combining bar (the ¯ of x̄) takes none."""
    return sum(not unicodedata.combining(c) for c in text)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max((_width(left) for left, _ in rows), default=0)
    return [f"  {left}{' ' * (width - _width(left))} = {right}" for left, right in rows]


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


def trace(y: Tensor, print_: bool = False) -> Trace:
    """The forward and backward sweeps of reverse mode on the recorded graph of the scalar ``y``.

    Nothing is modified: the graph stays usable for ``y.backward()`` and no ``.grad`` is written.
    With ``print_=True`` the trace is also printed.
    """
    view = graph_view(y, "trace")
    forward_steps = [_forward_step(view, t) for t in view.order]
    backward_steps: list[BackwardStep] = []
    running: dict[int, np.ndarray] = {}
    partials: dict[int, dict[int, float]] = {}

    def record(tensor, position, arg, incoming, share, broadcast_from) -> None:
        if id(tensor) not in partials:
            partials[id(tensor)] = local_partials(tensor)
        previous = running.get(id(arg))
        running[id(arg)] = share if previous is None else previous + share
        backward_steps.append(BackwardStep(
            view.name(tensor), view.name(arg), tensor._node.prim.name, position, incoming,
            partials[id(tensor)].get(position), share, running[id(arg)], previous is not None,
            broadcast_from))

    adjoints = sweep_adjoints(view, record)
    by_name = {view.name(t): adjoints.get(id(t), np.zeros_like(t.data)) for t in view.order}
    leaves = tuple(view.name(t) for t in view.order if t._node is None)
    result = Trace(view.name(y), forward_steps, backward_steps, by_name, leaves)
    if print_:
        print(result)
    return result
