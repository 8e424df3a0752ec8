"""The search space of a sweep and its expansion into points.

A space maps dotted config keys to a *dimension*: a list of values (``Choice``) or a
distribution (``Uniform``, ``LogUniform``, ``IntUniform``). A grid takes the product of the
lists; a random search draws ``trials`` points with a seeded ``random.Random``, so the same
seed always yields the same points on every platform and Python version (numpy's generators
are not needed here and would tie the result to numpy's stream).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Union

from workbench.errors import InputError, did_you_mean

DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")


@dataclass(frozen=True)
class Choice:
    values: tuple

    def draw(self, rng: random.Random) -> Any:
        return self.values[rng.randrange(len(self.values))]


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return _readable(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return _readable(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class IntUniform:
    low: int
    high: int

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)


Dimension = Union[Choice, Uniform, LogUniform, IntUniform]


def _readable(value: float) -> float:
    """Six significant digits: plenty for a hyper-parameter, and short in a leaderboard."""
    return float(f"{value:.6g}")


def _bounds(kind: str, spec: Any, where: str, *, integer: bool = False) -> tuple:
    numbers = (int,) if integer else (int, float)
    if (not isinstance(spec, (list, tuple)) or len(spec) != 2
            or not all(isinstance(v, numbers) and not isinstance(v, bool) for v in spec)):
        kind_of = "integers" if integer else "numbers"
        raise InputError(f"{kind} needs two {kind_of} [low, high], got {spec!r}", where=where)
    low, high = spec
    if not (low <= high if integer else low < high) or not all(math.isfinite(v) for v in spec):
        raise InputError(f"{kind} needs low < high, got [{low}, {high}]", where=where)
    if kind == "log_uniform" and low <= 0:
        raise InputError(f"log_uniform needs positive bounds, got [{low}, {high}]", where=where)
    return low, high


def parse_dimension(value: Any, where: str) -> Dimension:
    """A list of values, or a one-key mapping naming a distribution."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise InputError("no values to try: the list is empty", where=where)
        return Choice(tuple(value))
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InputError(f"expected a list of values or one of {{{', '.join(DISTRIBUTIONS)}: ...}}, "
                         f"got {value!r}", where=where)
    (kind, spec), = value.items()
    if kind == "choice":
        return parse_dimension(list(spec) if isinstance(spec, (list, tuple)) else spec, where)
    if kind == "uniform":
        return Uniform(*map(float, _bounds(kind, spec, where)))
    if kind == "log_uniform":
        return LogUniform(*map(float, _bounds(kind, spec, where)))
    if kind == "int_uniform":
        return IntUniform(*_bounds(kind, spec, where, integer=True))
    raise InputError(f"unknown distribution {kind!r}{did_you_mean(kind, DISTRIBUTIONS)}; "
                     f"use one of {', '.join(DISTRIBUTIONS)}", where=where)


def check_grid(space: Mapping[str, Dimension], where: str = "space") -> None:
    """A grid takes lists of values only."""
    for key, dim in space.items():
        if not isinstance(dim, Choice):
            raise InputError(f"a grid needs a list of values, not a {type(dim).__name__} distribution "
                             f"(use strategy: random, or list the values)", where=f"{where}.{key}")


def grid_size(space: Mapping[str, Dimension]) -> int:
    """How many points the grid has, counted without making them."""
    return math.prod(len(dim.values) for dim in space.values())


def iter_grid_points(space: Mapping[str, Dimension], where: str = "space") -> Iterator[dict]:
    """Every combination of the listed values, one at a time; the last key varies fastest."""
    check_grid(space, where)
    keys = list(space)
    for combo in itertools.product(*(space[k].values for k in keys)):
        yield dict(zip(keys, combo))


def grid_points(space: Mapping[str, Dimension], where: str = "space") -> list[dict]:
    return list(iter_grid_points(space, where))


def iter_random_points(space: Mapping[str, Dimension], trials: int, seed: int) -> Iterator[dict]:
    """``trials`` points drawn independently, key by key in the order given, one at a time."""
    rng = random.Random(seed)
    for _ in range(trials):
        yield {key: dim.draw(rng) for key, dim in space.items()}


def random_points(space: Mapping[str, Dimension], trials: int, seed: int) -> list[dict]:
    return list(iter_random_points(space, trials, seed))
