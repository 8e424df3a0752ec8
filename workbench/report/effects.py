"""How much the prediction moves per unit of an input: the number behind the report's second sentence.

For a nonlinear model ("units ~ a * price**b + c") no parameter is "the effect of price", so we
report the average marginal effect: the mean over the fitted rows of ∂prediction/∂input, which
for a linear model is exactly its coefficient. Its standard error comes from the delta method,
se² = g·Σ·gᵀ with g = ∂(average effect)/∂parameters and Σ the parameters' covariance.

Both derivatives are central differences with a step of 1e-4 relative to each value: the
sentence shows two or three significant digits, and a step that size keeps both the truncation
error (≈ h²) and the rounding error of the nested difference (≈ ε/h²) near 1e-8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench import engine as ad

STEP = 1e-4
MAX_PARAMS_FOR_STDERR = 50


@dataclass
class Effect:
    """The average change of the prediction per unit of ``column``."""

    column: str
    value: float
    stderr: float | None
    varies: bool              # the slope differs between rows (the model is not linear in it)
    probability: bool         # the prediction is a probability (a 0/1 target)
    several_inputs: bool


def _prediction(prepared, x: np.ndarray, columns: dict) -> np.ndarray:
    with ad.no_grad():
        out = prepared.objective.predict(prepared.objective.unpack(x), columns)
        out = np.asarray(getattr(out, "data", out), dtype=float)
        if prepared.model.binary and prepared.loss.from_logits:
            out = np.asarray(ad.sigmoid(out), dtype=float)
    return out


def _slopes(prepared, x: np.ndarray, column: str) -> np.ndarray:
    """∂prediction/∂column at each fitted row (rows are independent, so one shift serves all)."""
    columns = dict(prepared.objective.columns)
    values = columns[column]
    h = STEP * np.maximum(1.0, np.abs(values))
    columns[column] = values + h
    up = _prediction(prepared, x, columns)
    columns[column] = values - h
    down = _prediction(prepared, x, columns)
    return (up - down) / (2.0 * h)


def _stderr(prepared, x: np.ndarray, column: str, covariance) -> float | None:
    if covariance is None or len(x) > MAX_PARAMS_FOR_STDERR:
        return None
    g = np.zeros(len(x))
    for j in range(len(x)):
        h = STEP * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        g[j] = (np.mean(_slopes(prepared, up, column)) - np.mean(_slopes(prepared, down, column))) / (2 * h)
    var = float(g @ np.nan_to_num(covariance) @ g)
    return float(np.sqrt(var)) if np.isfinite(var) and var >= 0 else None


def average_effect(outcome) -> Effect | None:
    """The input with the largest effect (|average slope| × its spread) and its average slope."""
    prepared = outcome.prepared
    x = np.asarray(outcome.x, dtype=float)
    inputs = [c for c in prepared.model.inputs if c in prepared.objective.columns]
    if not inputs or not np.all(np.isfinite(x)):
        return None
    best = None
    with np.errstate(all="ignore"):
        for column in inputs:
            slopes = _slopes(prepared, x, column)
            if not np.all(np.isfinite(slopes)):
                continue
            mean = float(np.mean(slopes))
            weight = abs(mean) * float(np.std(prepared.objective.columns[column]) or 1.0)
            if best is None or weight > best[0]:
                varies = bool(np.std(slopes) > 1e-6 * max(abs(mean), 1e-12))
                best = (weight, column, mean, varies)
        if best is None:
            return None
        _, column, mean, varies = best
        stderr = _stderr(prepared, x, column, getattr(outcome.uncertainty, "covariance", None))
    return Effect(column, mean, stderr, varies, bool(prepared.model.binary), len(inputs) > 1)
