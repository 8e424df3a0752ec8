"""Step 5: memory, freeing what the backward pass no longer needs (reference solution)."""

from step3 import topological_order


class GraphReleased(Exception):
    """A second backward pass through a graph the first one released."""


def backward(root, retain_graph=False):
    """The chain rule from ``root``; unless ``retain_graph``, every node forgets its inputs once
    it has handed its adjoint on, so intermediate values can be freed."""
    if root.parents is None:
        raise GraphReleased("the graph was released by an earlier backward pass; pass retain_graph=True")
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        for parent, partial in zip(node.parents, node.partials):
            parent.grad += node.grad * partial
        if not retain_graph and node.parents:
            node.parents = node.partials = None
