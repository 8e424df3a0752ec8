"""Step 2: forward mode with dual numbers (reference solution)."""

import math


class Dual:
    """A value and its tangent ∂value/∂x, carried together: x + ẋε with ε² = 0."""

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = float(value), float(tangent)

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    def __sub__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value - other.value, self.tangent - other.tangent)

    # ---- the exercise: the product rule and two functions ----------------------------------------
    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    def log(self):
        return Dual(math.log(self.value), self.tangent / self.value)

    def sin(self):
        return Dual(math.sin(self.value), math.cos(self.value) * self.tangent)


def paper_function(x1, x2):
    return x1.log() + x1 * x2 - x2.sin()
