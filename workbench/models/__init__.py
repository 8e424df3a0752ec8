"""Models: formulas and built-in families, all evaluated with the engine.

``required_columns`` says which data columns a model config needs (so only those are read and
checked), and ``build_model`` makes the model once the data is loaded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from workbench.errors import InputError, did_you_mean
from workbench.models.base import Model, ParamInfo
from workbench.models.builtin import (ExponentialModel, GaussianModel, LinearModel, LogisticModel,
                                      MichaelisMentenModel, PolynomialModel, PowerModel)
from workbench.models.mlp import MLPModel

MODEL_TYPES = ("linear", "polynomial", "exponential", "power", "logistic", "gaussian",
               "michaelis_menten", "mlp")
_SINGLE_INPUT = ("polynomial", "exponential", "power", "gaussian", "michaelis_menten")

__all__ = ["Model", "ParamInfo", "MODEL_TYPES", "parse_model_formula", "required_columns", "build_model"]


def parse_model_formula(model_cfg):
    """The parsed formula of a formula model (``None`` for built-in types)."""
    if not model_cfg.formula:
        return None
    from workbench.formula import parse_formula

    return parse_formula(model_cfg.formula, where="model.formula")


def required_columns(model_cfg, table_columns: Sequence[str], formula=None) -> list[str]:
    """Data columns the model reads, target first; unknown ones are named with suggestions."""
    if formula is not None:
        names = [formula.target] + [n for n in formula.names if n in set(table_columns)]
        return list(dict.fromkeys(names))
    inputs = list(model_cfg.inputs or ())
    if not inputs:
        raise InputError(f"the {model_cfg.type} model needs its input column(s)", where="model.inputs")
    if model_cfg.type in _SINGLE_INPUT and len(inputs) != 1:
        raise InputError(f"the {model_cfg.type} model takes exactly one input column, got {inputs}",
                         where="model.inputs")
    if not model_cfg.target:
        raise InputError(f"the {model_cfg.type} model needs a target column", where="model.target")
    for column in [model_cfg.target, *inputs]:
        if column not in table_columns:
            raise InputError(f"column {column!r} not found in the data{did_you_mean(column, table_columns)}",
                             where="model.target" if column == model_cfg.target else "model.inputs")
    return list(dict.fromkeys([model_cfg.target, *inputs]))


def build_model(model_cfg, columns: Mapping[str, np.ndarray], *, formula=None,
                table_columns: Sequence[str] = (), inits: Mapping[str, float] | None = None,
                seed: int = 0, binary: bool = False) -> Model:
    """Make the model for the loaded data. ``columns`` holds the training rows."""
    from workbench.models.limits import values_per_row

    model = _build(model_cfg, columns, formula, table_columns, dict(inits or {}), seed, binary)
    model.values_per_row = values_per_row(model_cfg, formula)
    return model


def _build(model_cfg, columns, formula, table_columns, inits, seed, binary) -> Model:
    if formula is not None:
        from workbench.models.formula_model import FormulaModel

        return FormulaModel(formula, table_columns or list(columns), inits)
    kind = model_cfg.type
    inputs = tuple(model_cfg.inputs)
    target = model_cfg.target
    y = np.asarray(columns[target], dtype=float)
    categorical = tuple(getattr(model_cfg, "categorical", None) or ())
    indicators = tuple(c for c in inputs if any(c.startswith(f"{name}[") and c.endswith("]") for name in categorical))
    standardize = bool(getattr(model_cfg, "standardize", False))
    if kind == "linear":
        model = LinearModel(inputs, target, columns, y, indicators, standardize)
    elif kind == "logistic":
        model = LogisticModel(inputs, target, columns, y, indicators, standardize)
    elif kind == "polynomial":
        model = PolynomialModel(inputs[0], target, int(model_cfg.degree or 2), columns, y, standardize)
    elif kind == "exponential":
        model = ExponentialModel(inputs[0], target, columns, y)
    elif kind == "power":
        model = PowerModel(inputs[0], target, columns, y)
    elif kind == "gaussian":
        model = GaussianModel(inputs[0], target, columns, y)
    elif kind == "michaelis_menten":
        model = MichaelisMentenModel(inputs[0], target, columns, y)
    elif kind == "mlp":
        model = MLPModel(inputs, target, tuple(model_cfg.hidden or (16,)), model_cfg.activation or "tanh",
                         columns, y, seed, binary=binary)
    else:
        raise InputError(f"unknown model type {kind!r}{did_you_mean(kind, MODEL_TYPES)}", where="model.type")
    return _with_user_inits(model, inits)


def _with_user_inits(model: Model, inits: Mapping[str, float]) -> Model:
    """The model with the starting values given under params (on the original scale: a model
    that fits standardized inputs starts from their standardized equivalent)."""
    known = model.param_names
    for name in inits:
        if name not in known:
            raise InputError(f"the {model.kind} model has no parameter {name!r}{did_you_mean(name, known)}; "
                             f"its parameters are {', '.join(known)}", where=f"params.{name}")
    matrix = model.original_scale_matrix()
    if matrix is not None and any(inits.get(p.name) is not None for p in model.params):
        original = matrix @ np.array([float(p.init) for p in model.params])
        for i, p in enumerate(model.params):
            if inits.get(p.name) is not None:
                original[i] = float(inits[p.name])
        fitted = np.linalg.solve(matrix, original)
        model.params = tuple(replace(p, init=float(v)) for p, v in zip(model.params, fitted))
        return model
    model.params = tuple(replace(p, init=inits[p.name]) if inits.get(p.name) is not None else p
                         for p in model.params)
    return model
