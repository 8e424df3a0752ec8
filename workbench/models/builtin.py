"""Built-in model families with plainly named parameters and data-driven starting values.

Each family picks its starting values from the data (a linearised least-squares fit, the peak of
the data, a half-saturation point...), so a user can write ``model: {type: gaussian, input: t,
target: signal}`` with no ``params`` section and still start close to the answer. Values given
under ``params`` replace these guesses.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from workbench.errors import InputError
from workbench.models.base import Model, ParamInfo


START_ROWS = 100_000      # starting values from at most this many evenly spaced rows (the fit uses all)


def start_rows(n: int):
    """The rows starting values are computed from: all of them, or START_ROWS evenly spaced."""
    return slice(None) if n <= START_ROWS else np.linspace(0, n - 1, START_ROWS).round().astype(int)


def _lstsq(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares starting values; zeros where the design cannot be solved (powers that
    overflow, an SVD that does not converge): the start-point check then says what is wrong."""
    with np.errstate(all="ignore"):
        if not (np.all(np.isfinite(design)) and np.all(np.isfinite(y))):
            return np.zeros(design.shape[1])
        try:
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        except np.linalg.LinAlgError:
            return np.zeros(design.shape[1])
    return coef


def centre_and_scale(columns, inputs) -> tuple[np.ndarray, np.ndarray]:
    """Each input's mean and standard deviation (1 for a constant column): ``standardize: true``."""
    means = np.array([float(np.mean(columns[c])) for c in inputs])
    return means, np.array([spread(columns[c]) for c in inputs])


SPREAD_ROWS = 1 << 16     # deviations summed this many rows at a time


def spread(values: np.ndarray) -> float:
    """The standard deviation of an input (1 for a constant column, which has no scale). The
    squared deviations are summed a block of rows at a time: ``np.std`` of 10 million rows makes
    two temporaries of the whole column, fresh memory each time (60 ms a column, against 20)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return 1.0
    with np.errstate(all="ignore"):       # an infinite value has no spread: 1 below
        mean, total = float(np.mean(values)), 0.0
        for start in range(0, len(values), SPREAD_ROWS):
            deviations = values[start:start + SPREAD_ROWS] - mean
            total += float(np.sum(deviations * deviations))
        sd = float(np.sqrt(total / len(values)))
    return sd if sd > 0 and np.isfinite(sd) else 1.0


class StandardizedInputs:
    """``standardize: true``: the model is fitted on z = (input − x_mean) / x_scale, so its own
    parameters are the coefficients of standardized inputs (a well-conditioned fit, a penalty fair
    whatever the units), and ``original_scale_matrix`` maps them exactly to the coefficients of
    the original inputs that are reported: θ_original = A·θ_standardized (linear in θ, no shift)."""

    def standardizes(self) -> bool:
        return getattr(self, "x_mean", None) is not None

    def scaled(self, columns, i: int, name: str):
        x = columns[name]
        return (x - self.x_mean[i]) / self.x_scale[i] if self.standardizes() else x


class LinearModel(StandardizedInputs, Model):
    """y = intercept + Σ coef_<input> · input."""

    def __init__(self, inputs, target, columns, y, indicators=(), standardize=False):
        if standardize:
            self.x_mean, self.x_scale = centre_and_scale(columns, inputs)
        rows = start_rows(len(y))
        sample = {c: columns[c][rows] for c in inputs}
        X = np.column_stack([np.ones(len(y[rows]))] + [self.scaled(sample, i, c) for i, c in enumerate(inputs)])
        coef = _lstsq(X, y[rows])
        # A categorical level's indicator column is named like its parameter: region[North].
        self.coef_names = {c: c if c in indicators else f"coef_{c}" for c in inputs}
        params = [ParamInfo("intercept", (), coef[0], "value when every input is 0", offset=True)]
        params += [ParamInfo(self.coef_names[c], (), coef[i + 1], f"change in {target} per unit of {c}",
                             input_scale=1.0 if standardize else spread(columns[c]))
                   for i, c in enumerate(inputs)]
        super().__init__("linear", target, tuple(inputs), tuple(params), linear_in_params=True)

    def forward(self, params, columns):
        out = params["intercept"]
        for i, c in enumerate(self.inputs):
            out = out + params[self.coef_names[c]] * self.scaled(columns, i, c)
        return out

    def design_matrix(self, columns) -> np.ndarray:
        """X with prediction = X·θ (θ in ``params`` order): a column of ones, then each input as
        the model sees it. The closed-form solve takes it instead of pushing one tangent per
        parameter through the engine (``pipeline.chunks.design_of``). Column-major: each column is
        written in one contiguous stretch."""
        n = len(next(iter(columns.values())))
        design = np.empty((n, len(self.inputs) + 1), order="F")
        design[:, 0] = 1.0
        for i, c in enumerate(self.inputs):
            design[:, i + 1] = self.scaled(columns, i, c)
        return design

    def original_scale_matrix(self) -> np.ndarray | None:
        """intercept = intercept_z − Σ coef_z·mean/scale, coef = coef_z / scale."""
        if not self.standardizes():
            return None
        k = len(self.inputs)
        matrix = np.eye(k + 1)
        matrix[0, 1:] = -self.x_mean / self.x_scale
        matrix[np.arange(1, k + 1), np.arange(1, k + 1)] = 1.0 / self.x_scale
        return matrix

    def describe(self) -> str:
        terms = " + ".join(f"{self.coef_names[c]}·{c}" for c in self.inputs)
        return f"{self.target} = intercept + {terms}"


class LogisticModel(LinearModel):
    """P(y = 1) = σ(intercept + Σ coef_<input> · input); the output is the logit."""

    def __init__(self, inputs, target, columns, y, indicators=(), standardize=False):
        values = set(np.unique(y).tolist())
        if not values <= {0.0, 1.0}:
            raise InputError(f"logistic regression needs a 0/1 target; column {target!r} has values "
                             f"{sorted(values)[:5]}", where="model.target")
        super().__init__(inputs, target, columns, y, indicators, standardize)
        self.kind, self.binary, self.linear_in_params = "logistic", True, False
        self.params = tuple(replace(p, init=0.0, doc=p.doc.replace("change in", "change in the log-odds of"))
                            for p in self.params)

    def forward(self, params, columns):
        # The logit as one product of the design and the parameters: a matrix-vector product
        # (and its transpose in the gradient) reads each input once, where the sum of products
        # makes two passes per input forward and two back.
        from workbench import engine as ad

        return self.design_matrix(columns) @ ad.stack([params[name] for name in self.param_names])

    def describe(self) -> str:
        terms = " + ".join(f"{self.coef_names[c]}·{c}" for c in self.inputs)
        return f"P({self.target} = 1) = sigmoid(intercept + {terms})"


class PolynomialModel(StandardizedInputs, Model):
    """y = c0 + c1·x + … + c_d·x^d."""

    def __init__(self, x_name, target, degree, columns, y, standardize=False):
        if standardize:       # z = (x − mean)/scale before the powers: columns of similar size
            self.x_mean, self.x_scale = centre_and_scale(columns, [x_name])
        x = self.scaled(columns, 0, x_name)
        rows = start_rows(len(y))
        coef = _lstsq(np.vander(x[rows], degree + 1, increasing=True), y[rows])
        scale = 1.0 if standardize else spread(x)
        params = tuple(ParamInfo(f"c{k}", (), coef[k], f"coefficient of {x_name}^{k}", offset=k == 0,
                                 input_scale=scale ** k) for k in range(degree + 1))
        super().__init__("polynomial", target, (x_name,), params, linear_in_params=True)
        self.degree = degree

    def original_scale_matrix(self) -> np.ndarray | None:
        """Σₖ aₖ·((x − m)/s)ᵏ = Σⱼ cⱼ·xʲ with cⱼ = Σₖ≥ⱼ aₖ·C(k, j)·(−m)ᵏ⁻ʲ / sᵏ (binomial expansion)."""
        if not self.standardizes():
            return None
        from math import comb

        m, s = float(self.x_mean[0]), float(self.x_scale[0])
        d = self.degree
        return np.array([[comb(k, j) * (-m) ** (k - j) / s ** k if k >= j else 0.0 for k in range(d + 1)]
                         for j in range(d + 1)])

    def design_matrix(self, columns) -> np.ndarray:
        """X with prediction = X·θ: the powers 0…degree of the input as the model sees it."""
        x = np.asarray(self.scaled(columns, 0, self.inputs[0]), dtype=float)
        design = np.empty((len(x), self.degree + 1), order="F")
        design[:, 0] = 1.0
        for k in range(1, self.degree + 1):
            np.multiply(design[:, k - 1], x, out=design[:, k])
        return design

    def forward(self, params, columns):
        x = self.scaled(columns, 0, self.inputs[0])
        out = params[f"c{self.degree}"]
        for k in range(self.degree - 1, -1, -1):   # Horner's rule: fewer operations, less rounding
            out = out * x + params[f"c{k}"]
        return out

    def describe(self) -> str:
        x = self.inputs[0]
        return f"{self.target} = " + " + ".join(f"c{k}·{x}^{k}" if k else "c0" for k in range(self.degree + 1))


class ExponentialModel(Model):
    """y = a · exp(b · x) + c."""

    def __init__(self, x_name, target, columns, y):
        x = columns[x_name]
        span = float(np.ptp(y)) or 1.0
        c = float(np.min(y)) - 0.05 * span     # just below the data, so log(y − c) exists
        slope, level = _lstsq(np.column_stack([x, np.ones_like(x)]), np.log(np.maximum(y - c, 1e-12 * span)))
        params = (ParamInfo("a", (), float(np.exp(level)), "scale"),
                  ParamInfo("b", (), float(slope), "rate (per unit of x)"),
                  ParamInfo("c", (), c, "baseline", offset=True))
        super().__init__("exponential", target, (x_name,), params)

    def forward(self, params, columns):
        from workbench import engine as ad

        return params["a"] * ad.exp(params["b"] * columns[self.inputs[0]]) + params["c"]

    def describe(self) -> str:
        return f"{self.target} = a·exp(b·{self.inputs[0]}) + c"


class PowerModel(Model):
    """y = a · x^b."""

    def __init__(self, x_name, target, columns, y):
        x = columns[x_name]
        if np.any(x <= 0):
            raise InputError(f"the power model needs positive values of {x_name!r}", where="model.input")
        positive = y > 0
        if positive.sum() >= 2:
            b, log_a = _lstsq(np.column_stack([np.log(x[positive]), np.ones(positive.sum())]), np.log(y[positive]))
        else:
            b, log_a = 1.0, 0.0
        params = (ParamInfo("a", (), float(np.exp(log_a)), "scale"), ParamInfo("b", (), float(b), "exponent"))
        super().__init__("power", target, (x_name,), params)

    def forward(self, params, columns):
        return params["a"] * columns[self.inputs[0]] ** params["b"]

    def describe(self) -> str:
        return f"{self.target} = a·{self.inputs[0]}^b"


class GaussianModel(Model):
    """y = amplitude · exp(−(x − center)² / (2·sigma²)) + offset."""

    def __init__(self, x_name, target, columns, y):
        x = columns[x_name]
        offset = float(np.min(y))
        peak = int(np.argmax(y))
        above = x[y - offset >= 0.5 * (y[peak] - offset)]
        width = float(np.ptp(above)) / 2.355 if above.size > 1 else float(np.ptp(x)) / 6 or 1.0
        params = (ParamInfo("amplitude", (), float(y[peak] - offset), "height of the peak above the offset"),
                  ParamInfo("center", (), float(x[peak]), "position of the peak"),
                  ParamInfo("sigma", (), max(width, 1e-12), "width (standard deviation)"),
                  ParamInfo("offset", (), offset, "baseline", offset=True))
        super().__init__("gaussian", target, (x_name,), params)

    def forward(self, params, columns):
        from workbench import engine as ad

        z = (columns[self.inputs[0]] - params["center"]) / params["sigma"]
        return params["amplitude"] * ad.exp(-0.5 * z * z) + params["offset"]

    def describe(self) -> str:
        return f"{self.target} = amplitude·exp(−({self.inputs[0]} − center)²/(2·sigma²)) + offset"


class MichaelisMentenModel(Model):
    """y = vmax · x / (km + x)."""

    def __init__(self, x_name, target, columns, y):
        x = columns[x_name]
        vmax = float(np.max(y)) or 1.0
        half = np.argmin(np.abs(y - vmax / 2))
        km = float(abs(x[half])) or float(np.median(np.abs(x))) or 1.0
        params = (ParamInfo("vmax", (), vmax, "maximum rate"),
                  ParamInfo("km", (), km, "concentration at half the maximum rate"))
        super().__init__("michaelis_menten", target, (x_name,), params)

    def forward(self, params, columns):
        x = columns[self.inputs[0]]
        return params["vmax"] * x / (params["km"] + x)

    def describe(self) -> str:
        x = self.inputs[0]
        return f"{self.target} = vmax·{x} / (km + {x})"
