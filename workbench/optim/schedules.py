"""Learning-rate schedules: ``make_schedule(spec, lr, max_steps)`` returns ``step -> lr``.

``spec`` is a name or a mapping with ``name`` and that schedule's keys (the config's
``optimizer.schedule``). Steps count updates from 0. With ``T = total_steps`` (default
``max_steps``), ``W = warmup_steps`` and ``lr`` the base rate:

- ``constant``: lr
- ``step``: lr * gamma ** (k // step_size)
- ``exponential``: lr * gamma ** k
- ``cosine``: min_lr + (lr - min_lr) * (1 + cos(pi * min(k, T) / T)) / 2
- ``warmup``: lr * (k + 1) / W for k < W, then lr
- ``warmup_cosine``: the warmup, then the cosine over the remaining T - W steps
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from workbench.errors import InputError, did_you_mean

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class ScheduleKey:
    """One key a schedule may take: whole steps or a number, its range and its meaning."""

    name: str
    kind: str                      # int | number
    help: str
    low: float
    high: float | None = None
    low_open: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.kind == "int":
            return f"a whole number of steps >= {self.low:g}"
        if self.high is not None:
            return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return f"a number {'>' if self.low_open else '>='} {self.low:g}"


# The one table of schedule keys; the config schema derives its optimizer.schedule rows from it.
SCHEDULE_KEY_SPECS: dict[str, ScheduleKey] = {spec.name: spec for spec in (
    ScheduleKey("step_size", "int", "Steps between decays. Default: a third of max_steps.", 1),
    ScheduleKey("gamma", "number", "Decay factor per step (exponential) or per step_size steps (step). "
                "Default: 0.1 (step), 0.995 (exponential).", 0.0, 1.0, low_open=True),
    ScheduleKey("warmup_steps", "int", "Steps of linear warm-up. Default: a twentieth of max_steps.", 1),
    ScheduleKey("min_lr", "number", "Learning rate at the end of the cosine.", 0.0),
    ScheduleKey("total_steps", "int", "Length of the cosine, warm-up included; must exceed warmup_steps. "
                "Default: max_steps.", 1),
)}

# Each schedule's keys and their defaults; a default of None is computed from max_steps.
SCHEDULE_KEYS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"step_size": None, "gamma": 0.1},
    "exponential": {"gamma": 0.995},
    "cosine": {"min_lr": 0.0, "total_steps": None},
    "warmup": {"warmup_steps": None},
    "warmup_cosine": {"warmup_steps": None, "min_lr": 0.0, "total_steps": None},
}


def make_schedule(spec: str | Mapping[str, Any] | None, lr: float, max_steps: int,
                  where: str = "optimizer.schedule") -> Schedule:
    """The learning rate for each step; ``InputError`` naming ``where.key`` for a bad spec."""
    name, params = _parse(spec, max_steps, where)
    if name == "constant":
        return lambda k: lr
    if name == "step":
        size, gamma = params["step_size"], params["gamma"]
        return lambda k: lr * gamma ** (k // size)
    if name == "exponential":
        gamma = params["gamma"]
        return lambda k: lr * gamma ** k
    if name == "warmup":
        warm = params["warmup_steps"]
        return lambda k: lr * (k + 1) / warm if k < warm else lr
    warm = params.get("warmup_steps", 0)
    cosine = _cosine(lr, params["min_lr"], params["total_steps"] - warm)
    return lambda k: lr * (k + 1) / warm if k < warm else cosine(k - warm)


def _cosine(lr: float, min_lr: float, span: int) -> Schedule:
    return lambda k: min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(k, span) / span))


def _parse(spec: str | Mapping[str, Any] | None, max_steps: int,
           where: str) -> tuple[str, dict[str, Any]]:
    if spec is None:
        return "constant", {}
    if not isinstance(spec, (str, Mapping)):
        raise InputError(f"expected a schedule name or a mapping, got {spec!r}", where=where)
    raw: dict[str, Any] = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = raw.pop("name", None)
    if name not in SCHEDULE_KEYS:
        raise InputError(f"unknown schedule {name!r}{did_you_mean(name, SCHEDULE_KEYS)}; "
                         f"choose one of {', '.join(SCHEDULE_KEYS)}", where=f"{where}.name")
    allowed = SCHEDULE_KEYS[name]
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f" ({name!r} takes {', '.join(allowed) or 'no keys'})"
            raise InputError(f"unknown key {key!r}{hint}", where=f"{where}.{key}")
    params = {**allowed, **raw}
    derived = {"step_size": max(1, max_steps // 3), "total_steps": max_steps,
               "warmup_steps": max(1, max_steps // 20)}
    for key, value in params.items():
        params[key] = derived[key] if value is None else _checked(key, value, f"{where}.{key}")
    if "total_steps" in params and params["total_steps"] <= params.get("warmup_steps", 0):
        raise InputError(f"total_steps ({params['total_steps']}) must exceed warmup_steps "
                         f"({params['warmup_steps']})", where=f"{where}.total_steps")
    return name, params


def _checked(key: str, value: Any, where: str) -> float | int:
    spec = SCHEDULE_KEY_SPECS[key]
    if isinstance(value, str) and spec.kind == "number":  # YAML reads 1e-3 (no dot) as text
        try:
            value = float(value)
        except ValueError:
            pass
    whole = isinstance(value, int) or (spec.kind == "number" and isinstance(value, float))
    if isinstance(value, bool) or not whole or not math.isfinite(value) or not spec.holds(value):
        raise InputError(f"expected {spec.describe()}, got {value!r}", where=where)
    return value if spec.kind == "int" else float(value)
