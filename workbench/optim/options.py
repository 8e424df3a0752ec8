"""The optimizer settings: ``Options``, one field per key of the YAML ``optimizer`` section.

Every field is optional. ``None`` means "the chosen optimizer's own default" (see
``DEFAULTS``), so one ``Options`` can be reused across a sweep over optimizer names.
Validation raises ``InputError`` naming the dotted config key, e.g. ``optimizer.lr``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from workbench.errors import InputError, did_you_mean

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
OPTIMIZER_NAMES = FIRST_ORDER + ("lbfgs", "lm")

# Per-optimizer defaults for the fields left as None. The tolerances are relative
# (see each optimizer's module docstring for the exact test).
DEFAULTS: dict[str, dict[str, Any]] = {
    "gd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.1, "eps": 1e-10},
    "rmsprop": {"lr": 0.01, "beta2": 0.99, "eps": 1e-8},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
    "lbfgs": {"ftol": 1e-15, "xtol": 1e-12, "gtol": 1e-10, "history_size": 10, "restarts": 2},
    "lm": {"ftol": 1e-15, "xtol": 1e-12, "gtol": 1e-15, "restarts": 2},
}
FIRST_ORDER_TOLERANCES = {"ftol": 0.0, "xtol": 0.0, "gtol": 1e-8, "weight_decay": 0.0}
for _name in FIRST_ORDER:
    DEFAULTS[_name] = {**FIRST_ORDER_TOLERANCES, **DEFAULTS[_name]}

_COMMON = {"name", "max_steps", "ftol", "xtol", "gtol", "time_limit", "patience"}
_FIRST_ORDER_KEYS = _COMMON | {"lr", "batch_size", "weight_decay", "schedule", "seed"}
APPLICABLE: dict[str, set[str]] = {
    "gd": _FIRST_ORDER_KEYS,
    "momentum": _FIRST_ORDER_KEYS | {"momentum"},
    "nesterov": _FIRST_ORDER_KEYS | {"momentum"},
    "adagrad": _FIRST_ORDER_KEYS | {"eps"},
    "rmsprop": _FIRST_ORDER_KEYS | {"beta2", "eps"},
    "adam": _FIRST_ORDER_KEYS | {"beta1", "beta2", "eps"},
    "adamw": _FIRST_ORDER_KEYS | {"beta1", "beta2", "eps"},
    "lbfgs": _COMMON | {"history_size", "restarts"},
    "lm": _COMMON | {"restarts"},
}


@dataclass
class Options:
    """Optimizer settings; field names are the YAML config's ``optimizer`` keys."""

    name: str = "lm"
    lr: float | None = None
    max_steps: int = 1000
    batch_size: int | None = None
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    weight_decay: float | None = None
    schedule: dict | str | None = None
    ftol: float | None = None
    xtol: float | None = None
    gtol: float | None = None
    time_limit: float | None = None
    patience: int | None = None
    history_size: int | None = None
    restarts: int | None = None
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "optimizer") -> "Options":
        """Build validated options from a config mapping; unknown keys are an ``InputError``."""
        known = [f.name for f in fields(cls)]
        for key in raw:
            if key not in known:
                raise InputError(f"unknown optimizer option {key!r}{did_you_mean(key, known)}",
                                 where=f"{where}.{key}")
        options = cls(**{key: _number_from_text(key, value) for key, value in raw.items()})
        options.validate(where)
        return options

    def get(self, key: str) -> Any:
        """The value of ``key``, or the chosen optimizer's default when it is unset."""
        value = getattr(self, key)
        return DEFAULTS[self.name].get(key) if value is None else value

    def unused(self) -> list[str]:
        """Keys set to a non-default value that the chosen optimizer ignores (for warnings)."""
        default = Options()
        return [f.name for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)
                and f.name not in APPLICABLE[self.name]]

    def validate(self, where: str = "optimizer") -> None:
        """Raise ``InputError`` (naming ``where.key``) for the first unusable value."""
        if self.name not in OPTIMIZER_NAMES:
            raise InputError(f"unknown optimizer {self.name!r}{did_you_mean(self.name, OPTIMIZER_NAMES)}; "
                             f"choose one of {', '.join(OPTIMIZER_NAMES)}", where=f"{where}.name")
        _check_int(self.max_steps, f"{where}.max_steps", minimum=0)
        _check_int(self.seed, f"{where}.seed", minimum=None)
        for key in ("batch_size", "patience", "history_size"):
            _check_int(getattr(self, key), f"{where}.{key}", minimum=1)
        _check_int(self.restarts, f"{where}.restarts", minimum=0)
        for key in ("lr", "eps", "time_limit"):
            _check_float(getattr(self, key), f"{where}.{key}", low=0.0, low_open=True)
        for key in ("ftol", "xtol", "gtol", "weight_decay"):
            _check_float(getattr(self, key), f"{where}.{key}", low=0.0)
        for key in ("momentum", "beta1", "beta2"):
            _check_float(getattr(self, key), f"{where}.{key}", low=0.0, high=1.0)
        if self.batch_size is not None and self.name not in FIRST_ORDER:
            raise InputError(f"minibatches need a first-order optimizer ({', '.join(FIRST_ORDER)}), "
                             f"not {self.name!r}", where=f"{where}.batch_size")
        if self.schedule is not None:
            from workbench.optim.schedules import make_schedule

            make_schedule(self.schedule, 1.0, max(self.max_steps, 1), where=f"{where}.schedule")


_FLOAT_KEYS = {"lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "ftol", "xtol", "gtol", "time_limit"}


def _number_from_text(key: str, value: Any) -> Any:
    """YAML reads ``1e-3`` (no dot) as text; accept such numbers for the float options."""
    if key in _FLOAT_KEYS and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _check_int(value: Any, where: str, minimum: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"expected a whole number, got {value!r}", where=where)
    if minimum is not None and value < minimum:
        raise InputError(f"must be at least {minimum}, got {value}", where=where)


def _check_float(value: Any, where: str, low: float, low_open: bool = False,
                 high: float | None = None) -> None:
    """Check ``low <= value`` (``<`` when ``low_open``) and ``value < high``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", where=where)
    if value < low or (low_open and value == low):
        relation = "greater than" if low_open else "at least"
        raise InputError(f"must be {relation} {low:g}, got {value!r}", where=where)
    if high is not None and value >= high:
        raise InputError(f"must be below {high:g}, got {value!r}", where=where)
