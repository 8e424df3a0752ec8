"""Step 1: a scalar reverse-mode engine in about 30 lines (reference solution)."""

import math


class Value:
    """A number that remembers how it was made: its inputs and the local partial derivatives."""

    def __init__(self, data, parents=(), partials=()):
        self.data, self.grad = float(data), 0.0
        self.parents, self.partials = parents, partials      # tuples, in argument order

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def log(self):
        return Value(math.log(self.data), (self,), (1.0 / self.data,))

    def sin(self):
        return Value(math.sin(self.data), (self,), (math.cos(self.data),))

    def backward(self):
        """Adjoints of everything below self: each node after all of its users, then the chain rule."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:                                       # depth first, without recursion
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in reversed(node.parents))
        self.grad = 1.0
        for node in reversed(order):                       # the output first
            for parent, partial in zip(node.parents, node.partials):
                parent.grad += node.grad * partial         # add: a value used twice gets both

    # ---- the exercise: exp, powers by a number, division, relu ----------------------------------
    def exp(self):
        out = math.exp(self.data)
        return Value(out, (self,), (out,))

    def __pow__(self, exponent: float):
        return Value(self.data ** exponent, (self,), (exponent * self.data ** (exponent - 1),))

    def __truediv__(self, other):
        return self * (other ** -1.0 if isinstance(other, Value) else 1.0 / other)

    def __rtruediv__(self, other):
        return other * self ** -1.0

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))
