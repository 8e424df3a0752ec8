"""A picture of the graph: ``to_dot(y)`` writes the graph of a scalar output as Graphviz DOT text.

One box per operation and one ellipse per leaf, each labelled with its name (the same names as
``trace``: ``Tensor.name``, or x1, x2, ... for leaves and v1, v2, ... for operations), the
operation, the shape, a value summary and the adjoint ∂y/∂node. Constants that enter an operation
(numbers, tensors that need no gradient) are drawn as grey plain-text nodes, so every argument
of every operation is visible. Edges run from inputs to the operation that uses them, in argument
order, labelled with the argument's position when an operation has more than one.

Why the adjoints are computed here rather than read from ``.grad``: ``.grad`` exists only for
leaves and only after a backward pass, while a picture is most useful with the adjoint of every
node. ``trace.sweep_adjoints`` runs the vjp rules on the kept values without releasing anything,
so ``to_dot`` works before or after ``y.backward(retain_graph=True)`` and changes nothing.

Why nothing here depends on ``id()`` or on dict order from outside: node identifiers are given in
forward order, so the same graph always gives the same text, which golden tests and reports need.
Render it with ``dot -Tsvg graph.dot -o graph.svg``.
"""

from __future__ import annotations

import numpy as np

from workbench.engine.tensor import Tensor
from workbench.engine.trace import (GraphView, describe_options, graph_view, summarize,
                                    sweep_adjoints)

DIGITS = 6   # significant digits in a picture: a label must stay narrow


def quote(text: str) -> str:
    """A DOT string literal: backslashes and quotes escaped, newlines as DOT's ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _shape_text(value) -> str:
    shape = np.shape(value)
    return "scalar" if shape == () else "shape " + "×".join(str(n) for n in shape)


def _label(view: GraphView, tensor: Tensor, adjoint, values: bool, grads: bool) -> str:
    name = view.name(tensor)
    node = tensor._node
    if node is None:
        lines = [name]
    else:
        options = describe_options(node.kw)
        lines = [f"{name} = {node.prim.name}" + (f" ({options})" if options else "")]
    lines.append(_shape_text(tensor.data))
    if values:
        lines.append("value " + summarize(tensor.data, DIGITS))
    if grads:
        lines.append("grad " + summarize(adjoint, DIGITS))
    return "\n".join(lines)


def _constant_label(value) -> str:
    if isinstance(value, Tensor):
        text = summarize(value.data, DIGITS)
        return f"{value.name} = {text}" if value.name else text
    if isinstance(value, (int, float, np.ndarray, np.generic)):
        return summarize(value, DIGITS)
    return str(value)


def to_dot(y: Tensor, values: bool = True, grads: bool = True) -> str:
    """Graphviz DOT text for the recorded graph of the scalar ``y``; nothing is modified.

    ``values`` and ``grads`` choose whether labels show value summaries and adjoints ∂y/∂node.
    """
    view = graph_view(y, "to_dot")
    adjoints = sweep_adjoints(view) if grads else {}
    ids = {id(t): f"n{k}" for k, t in enumerate(view.order)}
    lines = ["digraph engine {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for tensor in view.order:
        adjoint = adjoints.get(id(tensor), np.zeros_like(tensor.data))
        label = quote(_label(view, tensor, adjoint, values, grads))
        shape = "ellipse" if tensor.is_leaf else "box"
        extra = ", peripheries=2" if tensor is y else ""
        lines.append(f"  {ids[id(tensor)]} [label={label}, shape={shape}{extra}];")
    constants = 0
    for tensor in view.order:
        node = tensor._node
        if node is None:
            continue
        several = len(node.args) > 1
        for position, arg in enumerate(node.args):
            if view.is_node(arg):
                source = ids[id(arg)]
            else:
                source = f"c{constants}"
                constants += 1
                lines.append(f"  {source} [label={quote(_constant_label(arg))}, shape=plaintext, "
                             f'fontcolor="gray35"];')
            label = f' [label="{position + 1}"]' if several else ""
            lines.append(f"  {source} -> {ids[id(tensor)]}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"
