"""What a fit puts into result.json so that its model can be applied to new rows later.

``prediction_spec`` (key ``prediction`` of result.json) holds what the parameters alone do not say:
the resolved config (derived columns, date formats, renames, the model), the origin each date
column counted its days from and the format it was read with (given or inferred), the levels of
categorical columns, the range of every input over the fitted rows, the free parameters'
covariance, the residual variance and the degrees of freedom, and what the model learnt from the
data besides its parameters (an MLP's input and output scaling). ``predict.Predictor`` reads it back.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["prediction_spec", "MAX_COVARIANCE_PARAMS", "SPEC_VERSION", "MODEL_STATE"]

MAX_COVARIANCE_PARAMS = 300          # larger covariances are not stored: no intervals for such models
MODEL_STATE = ("x_mean", "x_scale", "y_mean", "y_scale")   # learnt from the data besides parameters
SPEC_VERSION = 1


def _floats(values) -> list:
    return [None if not math.isfinite(float(v)) else float(v) for v in np.ravel(values)]


def prediction_spec(prepared, unc, residual: np.ndarray) -> dict:
    """What ``Predictor`` needs besides the parameters (see the module docstring); ``residual``:
    actual − predicted on the fitted rows."""
    from workbench.pipeline.results import scalar_names

    config, model, dataset = prepared.config, prepared.model, prepared.dataset
    train = prepared.train_rows
    ranges = {name: [float(np.min(dataset.columns[name][train])), float(np.max(dataset.columns[name][train]))]
              for name in model.inputs if name in dataset.columns and len(train)}
    covariance = None
    if unc.covariance is not None and len(unc.names) <= MAX_COVARIANCE_PARAMS:
        covariance = [_floats(row) for row in unc.covariance]
    residual_variance = None
    if prepared.loss.is_least_squares and unc.dof > 0:
        w = prepared.weights if prepared.weights is not None else 1.0
        chi2 = float(np.sum(w * residual * residual))
        residual_variance = chi2 / unc.dof if math.isfinite(chi2) else None
    state = {k: _floats(getattr(model, k)) for k in MODEL_STATE if hasattr(model, k)}
    return {"version": SPEC_VERSION, "config": config.resolved, "config_dir": str(config.base_dir),
            "inputs": list(model.inputs), "target": model.target, "binary": bool(model.binary),
            "least_squares": bool(prepared.loss.is_least_squares), "date_origins": dict(dataset.date_columns),
            "date_formats": dict(getattr(dataset, "date_formats", {}) or {}),
            "decimal_mark": getattr(dataset, "decimal_mark", None),
            "levels": dict(getattr(prepared, "levels", {}) or {}), "input_ranges": ranges,
            "free": scalar_names(prepared), "covariance": covariance, "residual_variance": residual_variance,
            "dof": int(unc.dof), "model_state": state}
