"""Step 3: an order for the backward sweep, without recursion (reference solution)."""


def topological_order(root):
    """Every node reachable from ``root`` (through ``.parents``) after all of its inputs, ``root``
    last; the same order on every run; no recursion, so a chain of 100,000 nodes is fine."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents))
    return order


def backward(root):
    """The chain rule along that order, output first."""
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        for parent, partial in zip(node.parents, node.partials):
            parent.grad += node.grad * partial
