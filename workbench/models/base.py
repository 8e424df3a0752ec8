"""What every model is: named parameters with shapes and starting values, and a forward pass.

A model maps parameters and input columns to a prediction with the engine's operations, so the
same code gives values, gradients (reverse mode) and residual Jacobians (forward mode). It never
sees the optimizer's flat vector: ``workbench.pipeline.objective`` packs and unpacks that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class ParamInfo:
    """One named parameter: a scalar for formula models, a weight matrix for an MLP layer.

    Regularization penalizes every parameter but the offsets (an intercept, a baseline, a
    bias); with ``standardize`` it penalizes ``value * input_scale``, the coefficient the
    model would have on inputs divided by their standard deviation.
    """

    name: str
    shape: tuple[int, ...] = ()
    init: np.ndarray | float = 1.0
    doc: str = ""
    offset: bool = False               # enters the prediction additively alone: never penalized
    input_scale: float = 1.0           # spread of the input it multiplies (penalty scale with standardize)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass
class Model:
    """Base class: subclasses set the fields and implement ``forward``."""

    kind: str
    target: str
    inputs: tuple[str, ...]
    params: tuple[ParamInfo, ...]
    binary: bool = False               # the output is a logit of P(target = 1)
    notes: list[str] = field(default_factory=list)   # what was assumed (logged to the user)
    values_per_row: int = 16           # numbers a forward pass keeps per data row (``models.limits``)
    linear_in_params: bool = False     # prediction = X(data)·θ + b(data): least squares solves in closed form

    def forward(self, params: Mapping[str, object], columns: Mapping[str, np.ndarray]):
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def original_scale_matrix(self) -> np.ndarray | None:
        """A with θ_reported = A·θ when the model fits standardized inputs (``standardize: true``,
        one row and column per parameter, in order); None when its parameters are reported as fitted."""
        return None

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def is_scalar(self) -> bool:
        """True when every parameter is a single number (tables list them one per row)."""
        return all(p.shape == () for p in self.params)
