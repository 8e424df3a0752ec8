"""The primitives under test, each with its numpy reference and the domain its arguments come from.

They are read from the engine's registry (``workbench/engine/registry.py``): a primitive registered
with a ``check`` is tested here without a line in this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from workbench.engine.registry import REGISTRY


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

NAMED_DOMAINS = {"real": REAL, "positive": POSITIVE, "unit": UNIT, "grid_a": GRID_A, "grid_b": GRID_B,
                 "away_from_zero": AWAY_FROM_ZERO}


def _domain(spec) -> Domain:
    return NAMED_DOMAINS[spec] if isinstance(spec, str) else Domain(*spec)


def _specs():
    """UNARY, BINARY, REDUCTIONS from the engine's registry: each registration with a ``check``."""
    unary, binary, reductions = {}, {}, {}
    for entry in REGISTRY.values():
        check = entry.check
        if check is None:
            continue
        function = check.call or entry.function
        reference = check.reference or getattr(entry.function, "forward", None)
        if check.reduction:
            reductions[entry.name] = (function, reference)
        elif len(check.domains) == 1:
            unary[entry.name] = (function, reference, _domain(check.domains[0]))
        else:
            binary[entry.name] = (function, reference, *map(_domain, check.domains))
    return unary, binary, reductions


UNARY, BINARY, REDUCTIONS = _specs()
