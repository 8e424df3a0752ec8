"""How large a model may be, checked before anything of its size is allocated.

A few characters of config can ask for more memory than any machine has: ``degree: 1e9`` makes
a design matrix of 10⁹ columns, ``hidden: [5000, 5000]`` 25 million weights, three thousand
layers a graph nobody can train, and ``hidden: [256, 256]`` over a million rows a gigabyte per
intermediate array. Each of these is refused as bad input (exit 2) naming the key and the limit,
in two steps:

* ``check_model_config(model_cfg)``, from the config alone, before the data is read: the
  polynomial's degree, the MLP's number of layers, and the number of parameters either implies;
* ``check_evaluation(elements, ...)``, once the rows are known and before the model is first
  evaluated: the numbers one evaluation with its gradient holds at once (rows × the values the
  model keeps per row, ``Model.values_per_row``), and the forward-mode Jacobian's, which carries
  one tangent per parameter through every one of them.

The limits are set by whoever runs the workbench, through the environment variables in
``ModelLimits.ENV`` (like every other input limit), never by the config itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

from workbench.errors import InputError, env_limit

__all__ = ["ModelLimits", "mlp_param_count", "values_per_row", "check_model_config", "check_evaluation",
           "too_large_to_evaluate"]

SMALL_FAMILY_VALUES = 16      # exponential, power, gaussian, michaelis_menten: a handful of row-sized arrays


@dataclass(frozen=True)
class ModelLimits:
    max_degree: int = 100                 # 900¹⁰⁰ is 10²⁹⁵: beyond, powers of day numbers overflow
    max_layers: int = 100                 # hidden layers of an MLP
    max_params: int = 1_000_000           # numbers a model fits (8 MB of weights, and their gradient)
    max_elements: int = 500_000_000       # numbers one evaluation holds at once (4 GB)

    ENV = {"max_degree": "WORKBENCH_MODEL_MAX_DEGREE", "max_layers": "WORKBENCH_MODEL_MAX_LAYERS",
           "max_params": "WORKBENCH_MODEL_MAX_PARAMS", "max_elements": "WORKBENCH_MODEL_MAX_ELEMENTS"}

    @classmethod
    def from_env(cls) -> ModelLimits:
        return cls(**{f.name: env_limit(cls.ENV[f.name], f.default) for f in fields(cls)})

    def hint(self, name: str) -> str:
        return f"the limit is {getattr(self, name):,} (raise it with the environment variable {self.ENV[name]})"


def mlp_param_count(n_inputs: int, hidden: Sequence[int]) -> int:
    """Weights and biases of an MLP with ``n_inputs`` inputs, ``hidden`` units and one output."""
    sizes = [n_inputs, *hidden, 1]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


def check_model_config(model_cfg, limits: ModelLimits | None = None) -> None:
    """InputError when a built-in model's config asks for more than the limits allow.

    ``model_cfg.inputs`` must already list every input (categorical columns expanded)."""
    limits = limits or ModelLimits.from_env()
    kind = getattr(model_cfg, "type", None)
    if kind == "polynomial":
        degree = int(model_cfg.degree or 2)
        if degree > limits.max_degree:
            raise InputError(f"a polynomial of degree {degree:,} is refused: far beyond what double precision can "
                             f"fit (its powers overflow or vanish, its columns become indistinguishable); "
                             f"{limits.hint('max_degree')}", where="model.degree")
    elif kind == "mlp":
        hidden = tuple(model_cfg.hidden or (16,))
        if len(hidden) > limits.max_layers:
            raise InputError(f"an MLP with {len(hidden):,} hidden layers is refused; {limits.hint('max_layers')}",
                             where="model.hidden")
        count = mlp_param_count(len(model_cfg.inputs or ()), hidden)
        if count > limits.max_params:
            raise InputError(f"an MLP with hidden layers of {_units(hidden)} units and {len(model_cfg.inputs)} "
                             f"input(s) has {count:,} parameters, more than the model size limit; "
                             f"{limits.hint('max_params')}", where="model.hidden")
    elif kind in ("linear", "logistic"):
        count = len(model_cfg.inputs or ()) + 1
        if count > limits.max_params:
            raise InputError(f"{count:,} parameters is more than the model size limit; {limits.hint('max_params')}",
                             where="model.inputs")


def _units(hidden: Sequence[int]) -> str:
    shown = ", ".join(f"{h:,}" for h in hidden[:6])
    return shown + (f", … ({len(hidden)} layers)" if len(hidden) > 6 else "")


def values_per_row(model_cfg, formula=None) -> int:
    """About how many numbers per data row one forward pass of the model keeps (its row-sized
    intermediate arrays, a design matrix's columns); the loss and the gradient come on top.

    An estimate from the config, so it is known before the model is built: the built-in models
    make their starting values from a design matrix of this width."""
    if formula is not None:
        from workbench.formula.ir import children

        count, stack = 0, [formula.expr]
        while stack:                  # one intermediate per node of the formula's tree
            count += 1
            stack.extend(children(stack.pop()))
        return count
    kind = getattr(model_cfg, "type", None)
    n_inputs = len(getattr(model_cfg, "inputs", None) or ())
    if kind in ("linear", "logistic"):
        return 3 * n_inputs + 3       # design matrix and its copy in lstsq, a product and a sum per input
    if kind == "polynomial":
        return 3 * int(model_cfg.degree or 2) + 3
    if kind == "mlp":
        return 2 * n_inputs + 3 * sum(model_cfg.hidden or (16,)) + 3   # per layer: product, bias, activation
    return SMALL_FAMILY_VALUES


def too_large_to_evaluate(elements: int, limits: ModelLimits | None = None) -> bool:
    limits = limits or ModelLimits.from_env()
    return elements > limits.max_elements


def check_evaluation(elements: int, *, rows: int, what: str, where: str, limits: ModelLimits | None = None) -> None:
    """InputError when ``what`` (one evaluation of the model over ``rows`` rows, or its forward-mode
    Jacobian) would hold more than ``max_elements`` numbers at once; ``where`` is the key to change."""
    limits = limits or ModelLimits.from_env()
    if elements <= limits.max_elements:
        return
    raise InputError(f"{what} over {rows:,} rows would hold about {elements:,} numbers at once "
                     f"({elements * 8 / 2**30:.3g} GB), more than the model size limit; use fewer rows "
                     f"(data.where) or a smaller model, or raise the limit: {limits.hint('max_elements')}",
                     where=where)
