"""The primitives under test, each with its numpy reference and the domain its arguments come from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from workbench import engine as ad


@dataclass(frozen=True)
class Domain:
    """Where a primitive's argument is drawn from. ``grid`` values are k/10 + grid: two domains
    with different offsets never tie, and none is 0 or ±1 (kinks of abs, relu, clip...)."""

    lo: float
    hi: float
    grid: float | None = None
    signed: bool = False          # ±[lo, hi]: away from zero on both sides

    def strategy(self) -> st.SearchStrategy:
        if self.grid is not None:
            return st.integers(int(self.lo * 10), int(self.hi * 10)).map(lambda k: k / 10 + self.grid)
        values = st.floats(self.lo, self.hi)
        return st.tuples(values, st.sampled_from([-1.0, 1.0])).map(lambda p: p[0] * p[1]) if self.signed else values

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        if self.grid is not None:
            return rng.permutation(np.arange(int(self.lo * 10), int(self.hi * 10) + 1))[: int(np.prod(shape))] \
                .reshape(shape) / 10 + self.grid
        x = rng.uniform(self.lo, self.hi, shape)
        return x * rng.choice([-1.0, 1.0], shape) if self.signed else x


REAL = Domain(-3, 3)
POSITIVE = Domain(0.1, 5)
UNIT = Domain(-0.9, 0.9)
GRID_A = Domain(-3, 3, grid=0.03)
GRID_B = Domain(-3, 3, grid=0.07)
AWAY_FROM_ZERO = Domain(0.3, 3, signed=True)

UNARY = {
    "neg": (ad.neg, np.negative, REAL), "exp": (ad.exp, np.exp, REAL), "log": (ad.log, np.log, POSITIVE),
    "log1p": (ad.log1p, np.log1p, Domain(-0.5, 3)), "expm1": (ad.expm1, np.expm1, REAL),
    "sqrt": (ad.sqrt, np.sqrt, POSITIVE), "square": (ad.square, np.square, REAL),
    "abs": (ad.abs, np.abs, GRID_A), "sin": (ad.sin, np.sin, REAL), "cos": (ad.cos, np.cos, REAL),
    "tan": (ad.tan, np.tan, Domain(-1.2, 1.2)), "arcsin": (ad.arcsin, np.arcsin, UNIT),
    "arccos": (ad.arccos, np.arccos, UNIT), "arctan": (ad.arctan, np.arctan, REAL),
    "sinh": (ad.sinh, np.sinh, REAL), "cosh": (ad.cosh, np.cosh, REAL), "tanh": (ad.tanh, np.tanh, REAL),
    "sigmoid": (ad.sigmoid, lambda x: 1 / (1 + np.exp(-x)), Domain(-6, 6)),
    "relu": (ad.relu, lambda x: np.maximum(x, 0), GRID_A),
    "softplus": (ad.softplus, lambda x: np.log1p(np.exp(x)), Domain(-6, 6)),
    "clip": (lambda x: ad.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1, 1), GRID_A),
}

BINARY = {
    "add": (ad.add, np.add, REAL, REAL), "sub": (ad.sub, np.subtract, REAL, REAL),
    "mul": (ad.mul, np.multiply, REAL, REAL), "div": (ad.div, np.divide, REAL, AWAY_FROM_ZERO),
    "pow": (ad.pow, np.power, Domain(0.2, 3), Domain(-2, 2)),
    "arctan2": (ad.arctan2, np.arctan2, GRID_A, GRID_B),
    "maximum": (ad.maximum, np.maximum, GRID_A, GRID_B), "minimum": (ad.minimum, np.minimum, GRID_A, GRID_B),
}

REDUCTIONS = {
    "sum": (ad.sum, np.sum), "mean": (ad.mean, np.mean), "max": (ad.max, np.max), "min": (ad.min, np.min),
    "prod": (ad.prod, np.prod),
    "logsumexp": (ad.logsumexp, lambda x, axis=None, keepdims=False:
                  np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
    "var": (ad.var, np.var), "std": (ad.std, np.std),
}
