"""The optimizer settings: ``Options``, one field per key of the YAML ``optimizer`` section.

Every field is optional. ``None`` means "the chosen optimizer's own default" (see
``DEFAULTS``), so one ``Options`` can be reused across a sweep over optimizer names.
Validation raises ``InputError`` naming the dotted config key, e.g. ``optimizer.lr``.

``OPTION_SPECS`` (and ``schedules.SCHEDULE_KEY_SPECS``) are the one table of the keys: names,
kinds, ranges and which optimizer reads which; the config schema and its JSON Schema are
generated from them, so ``workbench validate`` and ``workbench fit`` can never disagree.
This module imports no numpy: the config reads it on every start of the CLI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from workbench.errors import InputError, did_you_mean

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
OPTIMIZER_NAMES = FIRST_ORDER + ("lbfgs", "lm")
DEFAULT_MAX_STEPS = 1000

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


@dataclass(frozen=True)
class OptionSpec:
    """One key of the ``optimizer`` section: its kind, allowed range, help and users.

    This table is the single source of truth: ``Options.validate``, the config schema
    (``workbench.config.schema``, which derives its ``optimizer.*`` rows from it) and the JSON
    Schema all read it. ``used_by`` lists the optimizers that read the key; setting it for
    another optimizer is a warning, or an error when ``strict`` (the value could not work).
    """

    name: str
    kind: str                          # int | number | choice | schedule
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    used_by: tuple[str, ...] = OPTIMIZER_NAMES
    strict: bool = False
    default: Any = None                # the value when not given (None: the optimizer's own, ``DEFAULTS``)

    def check(self, value: Any, where: str) -> None:
        """Raise ``InputError`` at ``where`` unless ``value`` (not None) is allowed."""
        if value is None or self.kind in ("choice", "schedule"):
            return
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"expected a whole number, got {value!r}", where=where)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"expected a finite number, got {value!r}", where=where)
        if not self.holds(value):
            raise InputError(f"must be {self.describe()}, got {value!r}", where=where)

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        """The allowed range in words: 'greater than 0', 'in [0, 1)'."""
        if self.high is not None:
            return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        return f"{'greater than' if self.low_open else 'at least'} {self.low:g}"


_FIRST_ORDER_ONLY = dict(used_by=FIRST_ORDER)
OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("name", "choice", "The optimizer. Default (decided by the pipeline): lm when the loss is mse "
               "or sse without regularization, else lbfgs."),
    # lr is unit-free: steps use the loss relative to its starting value and the parameters
    # relative to their starting size (see first_order).
    OptionSpec("lr", "number", "Learning rate. Default: the optimizer's own.",
               low=0.0, low_open=True, **_FIRST_ORDER_ONLY),
    OptionSpec("max_steps", "int", "Most optimizer steps (iterations).", low=1, default=DEFAULT_MAX_STEPS),
    OptionSpec("batch_size", "int", "Rows per mini-batch. Default: all rows.", low=1, strict=True,
               **_FIRST_ORDER_ONLY),
    OptionSpec("momentum", "number", "Momentum (momentum, nesterov).", low=0.0, high=1.0, high_open=True,
               used_by=("momentum", "nesterov")),
    OptionSpec("beta1", "number", "Decay of the first-moment average (adam, adamw).", low=0.0, high=1.0,
               high_open=True, used_by=("adam", "adamw")),
    OptionSpec("beta2", "number", "Decay of the second-moment average (rmsprop, adam, adamw).", low=0.0,
               high=1.0, high_open=True, used_by=("rmsprop", "adam", "adamw")),
    OptionSpec("eps", "number", "Added to denominators for stability.", low=0.0, low_open=True,
               used_by=("adagrad", "rmsprop", "adam", "adamw")),
    OptionSpec("weight_decay", "number", "Decoupled weight decay (adamw) or L2 step shrinkage.", low=0.0,
               **_FIRST_ORDER_ONLY),
    OptionSpec("schedule", "schedule", "Learning-rate schedule (a name is short for {name: ...}).",
               **_FIRST_ORDER_ONLY),
    OptionSpec("ftol", "number", "Stop when the loss changes relatively less than this.", low=0.0),
    OptionSpec("xtol", "number", "Stop when the parameters change relatively less than this.", low=0.0),
    OptionSpec("gtol", "number", "Stop when the gradient is smaller than this (relative to the loss).",
               low=0.0),
    OptionSpec("time_limit", "number", "Stop after this many seconds.", low=0.0, low_open=True),
    OptionSpec("patience", "int", "Early stopping: steps without a better validation loss (needs "
               "validation).", low=1),
    OptionSpec("history_size", "int", "Correction pairs kept by lbfgs.", low=1, used_by=("lbfgs",)),
    OptionSpec("restarts", "int", "Restarts from the best point so far (lm, lbfgs).", low=0,
               used_by=("lbfgs", "lm")),
)
SPECS: dict[str, OptionSpec] = {spec.name: spec for spec in OPTION_SPECS}
APPLICABLE: dict[str, set[str]] = {
    name: {spec.name for spec in OPTION_SPECS if name in spec.used_by} for name in OPTIMIZER_NAMES
}


@dataclass
class Options:
    """Optimizer settings; field names are the YAML config's ``optimizer`` keys."""

    name: str = "lm"
    lr: float | None = None
    max_steps: int = DEFAULT_MAX_STEPS
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
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError(f"expected a whole number, got {self.seed!r}", where=f"{where}.seed")
        for spec in OPTION_SPECS:
            value = getattr(self, spec.name)
            spec.check(value, f"{where}.{spec.name}")
            if spec.strict and value is not None and self.name not in spec.used_by:
                raise InputError(f"only used by {', '.join(spec.used_by)}, not {self.name!r}",
                                 where=f"{where}.{spec.name}")
        if self.schedule is not None:
            from workbench.optim.schedules import make_schedule

            make_schedule(self.schedule, 1.0, self.max_steps, where=f"{where}.schedule")


_FLOAT_KEYS = {spec.name for spec in OPTION_SPECS if spec.kind == "number"}


def _number_from_text(key: str, value: Any) -> Any:
    """YAML reads ``1e-3`` (no dot) as text; accept such numbers for the float options."""
    if key in _FLOAT_KEYS and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
