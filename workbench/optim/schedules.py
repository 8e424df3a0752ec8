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
from typing import Any, Callable, Mapping

from workbench.errors import InputError, did_you_mean

Schedule = Callable[[int], float]

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
    if key in ("step_size", "total_steps", "warmup_steps"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"expected a whole number of steps >= 1, got {value!r}", where=where)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", where=where)
    if key == "gamma" and not 0.0 < value <= 1.0:
        raise InputError(f"gamma must be in (0, 1], got {value!r}", where=where)
    if key == "min_lr" and value < 0.0:
        raise InputError(f"min_lr must be at least 0, got {value!r}", where=where)
    return float(value)
