"""How much the prediction moves per additional unit of an input (per percentage point of a percentage
column): the numbers behind the effect sentences.

"One more" is 1 of the input, except for an input written as percentages (result.json's
``data.percent_columns``: ``23.2%`` read as 0.232), where 1 would be 100 percentage points: its
effect is per percentage point (``steps``: column -> 0.01), so slopes and their intervals are
÷100, an odds ratio is exp(slope/100) and a change of probability is for 0.01 more.

An effect is stated only where it is well defined, and always with its 95% interval:

* ``slope``: the model is linear in the input (the slope is the same on every row), so "each
  additional 1 of price lowers units by 2.5" is exact;
* ``average``: the slope differs between rows ("units ~ a * price**b"), so the sentence gives the
  average marginal effect, the mean over the fitted rows of ∂prediction/∂input;
* ``odds_ratio``: a 0/1 target whose logit is linear in the input: each additional 1 multiplies
  the odds by exp(slope of the logit), a factor that cannot leave (0, ∞);
* ``probability``: a 0/1 target otherwise: the average change of the predicted probability when
  the input grows by 1, a difference of two probabilities, so it stays within ±100 percentage points;
* ``unmeasured``: the parameters' covariance is unknown, so no interval, so no claim.

Standard errors come from the delta method, se² = g·Σ·gᵀ with g = ∂(effect)/∂parameters and Σ the
parameters' covariance; the interval is effect ± t·se (its exponential for an odds ratio), with t
the Student quantile of the parameters' own intervals. Derivatives are central differences with a
step of 1e-4 relative to each value: the sentence shows two or three significant digits, and a step
that size keeps both the truncation error (≈ h²) and the rounding of the nested difference (≈ ε/h²)
near 1e-8.

Everything is computed from plain arguments (a prediction function, arrays, the covariance), so
the report needs nothing from the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

STEP = 1e-4
MAX_PARAMS_FOR_INTERVAL = 50
CONSTANT_SLOPE = 1e-6           # relative spread of the per-row slopes below which the input enters linearly

Predict = Callable[[np.ndarray, Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Effect:
    """The effect of one more unit of ``column`` (see the module docstring for ``kind``)."""

    column: str
    kind: str
    value: float                # slope/average: change of the target; odds_ratio: factor; probability: share
    stderr: float | None        # of ``value`` (slope, average, probability), or of the logit slope (odds_ratio)
    low: float | None           # the 95% interval of ``value``
    high: float | None
    importance: float           # |effect| times the input's spread: the order of the sentences
    step: float = 1.0           # the size of "one more" of the input (0.01: a percentage point)

    @property
    def null(self) -> float:
        """The value meaning "no effect"."""
        return 1.0 if self.kind == "odds_ratio" else 0.0

    @property
    def measured(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def clear(self) -> bool:
        """The 95% interval excludes "no effect"."""
        return self.measured and not (self.low <= self.null <= self.high)

    @property
    def direction(self) -> int:
        return 1 if self.value > self.null else (-1 if self.value < self.null else 0)


def _shifted(columns: Mapping[str, np.ndarray], column: str, delta) -> dict:
    out = dict(columns)
    out[column] = columns[column] + delta
    return out


def _slopes(predict: Predict, x: np.ndarray, columns, column: str) -> np.ndarray:
    """∂output/∂column at each row (rows are independent, so one shift serves all)."""
    h = STEP * np.maximum(1.0, np.abs(columns[column]))
    up = predict(x, _shifted(columns, column, h))
    down = predict(x, _shifted(columns, column, -h))
    return (up - down) / (2.0 * h)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))       # exact and overflow-free for any z


def _probability_step(predict: Predict, x: np.ndarray, columns, column: str, logit: bool, step: float) -> float:
    """Mean change of the predicted probability when ``column`` grows by ``step``."""
    up, now = predict(x, _shifted(columns, column, step)), predict(x, columns)
    if logit:
        up, now = _sigmoid(up), _sigmoid(now)
    return float(np.mean(up - now))


def _delta_stderr(statistic: Callable[[np.ndarray], float], x: np.ndarray, covariance) -> float | None:
    """Delta-method standard error of ``statistic(x)``."""
    if covariance is None or len(x) > MAX_PARAMS_FOR_INTERVAL:
        return None
    g = np.zeros(len(x))
    for j in range(len(x)):
        h = STEP * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        g[j] = (statistic(up) - statistic(down)) / (2 * h)
    var = float(g @ np.nan_to_num(np.asarray(covariance, dtype=float)) @ g)
    return math.sqrt(var) if math.isfinite(var) and var >= 0 else None


def _interval(value: float, stderr: float | None, t_value: float, bounds=(-math.inf, math.inf)):
    if stderr is None or not math.isfinite(t_value):
        return None, None
    return max(value - t_value * stderr, bounds[0]), min(value + t_value * stderr, bounds[1])


def _effect(predict, x, columns, column, covariance, t_value, binary, logit, step) -> Effect | None:
    slopes = _slopes(predict, x, columns, column)
    if not np.all(np.isfinite(slopes)):
        return None
    mean = float(np.mean(slopes))
    constant = float(np.std(slopes)) <= CONSTANT_SLOPE * max(abs(mean), 1e-300)
    spread = float(np.std(columns[column])) or 1.0
    if binary and not (logit and constant):
        change = _probability_step(predict, x, columns, column, logit, step)
        se = _delta_stderr(lambda v: _probability_step(predict, v, columns, column, logit, step), x, covariance)
        low, high = _interval(change, se, t_value, (-1.0, 1.0))
        return Effect(column, "probability", change, se, low, high, abs(change) / step * spread, step)
    se = _delta_stderr(lambda v: float(np.mean(_slopes(predict, v, columns, column))), x, covariance)
    se = None if se is None else se * step
    low, high = _interval(mean * step, se, t_value)
    if binary:
        low, high = (None, None) if low is None else (math.exp(low), math.exp(high))
        return Effect(column, "odds_ratio", math.exp(mean * step), se, low, high, abs(mean) * spread, step)
    return Effect(column, "slope" if constant else "average", mean * step, se, low, high, abs(mean) * spread, step)


def input_effects(predict: Predict, x, columns: Mapping[str, np.ndarray], inputs, covariance, t_value: float,
                  *, binary: bool = False, logit: bool = False,
                  steps: Mapping[str, float] | None = None) -> list[Effect]:
    """Each input's effect, most important first; an input whose slope is not finite is left out.

    ``predict(x, columns)`` is the model's output on ``columns`` for parameters ``x``: the logit
    when ``logit`` (a 0/1 target fitted on logits), else the prediction itself. ``steps``: the
    size of "one more" of an input where it is not 1 (see the module docstring).
    """
    steps = steps or {}
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        return []
    effects = []
    with np.errstate(all="ignore"):
        for column in inputs:
            if column in columns:
                effect = _effect(predict, x, columns, column, covariance, float(t_value), binary, logit,
                                 float(steps.get(column, 1.0)))
                if effect is not None:
                    effects.append(effect if effect.measured else
                                   Effect(column, "unmeasured", effect.value, None, None, None, effect.importance,
                                          effect.step))
    return sorted(effects, key=lambda e: -e.importance)
