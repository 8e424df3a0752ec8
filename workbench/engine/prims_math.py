"""Elementwise primitives: one line of math per rule, forward and derivatives side by side.

Reading guide. For y = f(x) with adjoint ḡ = ∂L/∂y (``g`` in code) and tangent ẋ (``t``):

    vjp:  x̄ = ḡ · f'(x)      (reverse mode: how the loss changes with x)
    jvp:  ẏ = f'(x) · ẋ      (forward mode: how y changes along a direction)

For elementwise functions both are the same product, so the tables below are short. The rules
use the engine's own functions (``cos``, ``sigmoid``...), which on plain arrays are plain numpy
and on tensors record themselves, so the same rule serves first and higher derivatives.

Conventions at points where the function is not differentiable (each is tested):
* ``abs``: derivative 0 at x = 0 (the subgradient closest to 0, as PyTorch does).
* ``relu``: derivative 0 at x = 0.
* ``sqrt``: derivative +inf at x = 0 (the true one-sided limit), no warning raised.
* ``maximum``/``minimum``: on ties the gradient is split in half between the two inputs.
* ``clip``: the gradient passes (factor 1) at the bounds themselves, 0 strictly outside.
* ``pow``: ∂(xʸ)/∂y = xʸ·ln x is taken as 0 where x ≤ 0 (there is no real log).

Numerics: ``sigmoid`` and ``softplus`` never evaluate exp of a large positive number, so they stay
finite with finite gradients for any input, ±1e3 included, without numpy warnings.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.engine.graph import Primitive, passes
from workbench.engine.recording import data_of
from workbench.engine.registry import Check, primitive, register

_TWO_OVER_ROOT_PI = 2.0 / math.sqrt(math.pi)
# 1 as a 0-d array, for the hottest rules (tanh, sigmoid): numpy takes ~150 ns longer over a Python
# float than over an array on a model's small arrays; the value and its rounding are the same
ONE = np.array(1.0)
ONE.flags.writeable = False
_LN10 = math.log(10.0)


def _stable_sigmoid(x):
    """σ(x) = 1/(1+e⁻ˣ), computed from e^(−|x|) ≤ 1 so it never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _quiet_sqrt_vjp(g, y, x):
    with np.errstate(divide="ignore"):
        return g / (2.0 * y)


def _relu_forward(x):
    return np.maximum(x, 0.0)


# ---- unary: name, forward, x̄ = ḡ·f'(x) written as vjp(g, y, x), ẏ = f'(x)·ẋ as jvp(t, y, x)
neg = primitive("neg", np.negative,
                lambda g, y, x: -g,
                lambda t, y, x: -t, elementwise=True, linear=True,
                math="y = −x  |  x̄ = −ḡ")
exp = primitive("exp", np.exp,
                lambda g, y, x: g * y,
                lambda t, y, x: t * y, elementwise=True, reads="output",
                math="y = eˣ  |  x̄ = ḡ·y", formula=("exp",))
log = primitive("log", np.log,
                lambda g, y, x: g / x,
                lambda t, y, x: t / x, elementwise=True, reads="inputs",
                math="y = ln x  |  x̄ = ḡ/x", formula=("log",), check=Check(("positive",)))
log1p = primitive("log1p", np.log1p,
                  lambda g, y, x: g / (1.0 + x),
                  lambda t, y, x: t / (1.0 + x), elementwise=True, reads="inputs",
                  math="y = ln(1+x)  |  x̄ = ḡ/(1+x)", formula=("log1p",), check=Check(((-0.5, 3),)))
expm1 = primitive("expm1", np.expm1,
                  lambda g, y, x: g * (y + 1.0),
                  lambda t, y, x: t * (y + 1.0), elementwise=True, reads="output",
                  math="y = eˣ − 1  |  x̄ = ḡ·(y + 1)")
sqrt = primitive("sqrt", np.sqrt,
                 _quiet_sqrt_vjp,
                 _quiet_sqrt_vjp, elementwise=True, reads="output",
                 math="y = √x  |  x̄ = ḡ/(2y)", formula=("sqrt",), check=Check(("positive",)))
square = primitive("square", np.square,
                   lambda g, y, x: g * (2.0 * x),
                   lambda t, y, x: t * (2.0 * x), elementwise=True, reads="inputs",
                   math="y = x²  |  x̄ = ḡ·2x")
abs = primitive("abs", np.abs,
                lambda g, y, x: g * np.sign(data_of(x)),
                lambda t, y, x: t * np.sign(data_of(x)), elementwise=True, reads="inputs",
                math="y = |x|  |  x̄ = ḡ·sign x (0 at 0)", formula=("abs",), check=Check(("grid_a",)))
sin = primitive("sin", np.sin,
                lambda g, y, x: g * cos(x),
                lambda t, y, x: t * cos(x), elementwise=True, reads="inputs",
                math="y = sin x  |  x̄ = ḡ·cos x", formula=("sin",))
cos = primitive("cos", np.cos,
                lambda g, y, x: -g * sin(x),
                lambda t, y, x: -t * sin(x), elementwise=True, reads="inputs",
                math="y = cos x  |  x̄ = −ḡ·sin x", formula=("cos",))
tan = primitive("tan", np.tan,
                lambda g, y, x: g * (1.0 + y * y),
                lambda t, y, x: t * (1.0 + y * y), elementwise=True, reads="output",
                math="y = tan x  |  x̄ = ḡ·(1 + y²)", formula=("tan",), check=Check(((-1.2, 1.2),)))
arcsin = primitive("arcsin", np.arcsin,
                   lambda g, y, x: g / sqrt(1.0 - x * x),
                   lambda t, y, x: t / sqrt(1.0 - x * x), elementwise=True, reads="inputs",
                   math="y = asin x  |  x̄ = ḡ/√(1−x²)", check=Check(("unit",)))
arccos = primitive("arccos", np.arccos,
                   lambda g, y, x: -g / sqrt(1.0 - x * x),
                   lambda t, y, x: -t / sqrt(1.0 - x * x), elementwise=True, reads="inputs",
                   math="y = acos x  |  x̄ = −ḡ/√(1−x²)", check=Check(("unit",)))
arctan = primitive("arctan", np.arctan,
                   lambda g, y, x: g / (1.0 + x * x),
                   lambda t, y, x: t / (1.0 + x * x), elementwise=True, reads="inputs",
                   math="y = atan x  |  x̄ = ḡ/(1+x²)", formula=("arctan", "atan"))
sinh = primitive("sinh", np.sinh,
                 lambda g, y, x: g * cosh(x),
                 lambda t, y, x: t * cosh(x), elementwise=True, reads="inputs",
                 math="y = sinh x  |  x̄ = ḡ·cosh x")
cosh = primitive("cosh", np.cosh,
                 lambda g, y, x: g * sinh(x),
                 lambda t, y, x: t * sinh(x), elementwise=True, reads="inputs",
                 math="y = cosh x  |  x̄ = ḡ·sinh x")
tanh = primitive("tanh", np.tanh,
                 lambda g, y, x: g * (ONE - y * y),
                 lambda t, y, x: t * (ONE - y * y), elementwise=True, reads="output",
                 math="y = tanh x  |  x̄ = ḡ·(1 − y²)", formula=("tanh",))
sigmoid = primitive("sigmoid", _stable_sigmoid,
                    lambda g, y, x: g * (y * (ONE - y)),
                    lambda t, y, x: t * (y * (ONE - y)), elementwise=True, reads="output",
                    math="y = σ(x) = 1/(1+e⁻ˣ)  |  x̄ = ḡ·y(1−y)", formula=("sigmoid",),
                    check=Check(((-6, 6),), reference=lambda x: 1 / (1 + np.exp(-x))))
relu = primitive("relu", _relu_forward,
                 lambda g, y, x: g * (data_of(x) > 0),
                 lambda t, y, x: t * (data_of(x) > 0), elementwise=True, reads="inputs",
                 math="y = max(x, 0)  |  x̄ = ḡ·[x > 0] (0 at 0)",
                 check=Check(("grid_a",), reference=lambda x: np.maximum(x, 0)))
def _stable_softplus(x):
    """ln(1+eˣ) = max(x, 0) + ln(1 + e^(−|x|)): exp of a non-positive number only, so it never
    overflows; about twice as fast as np.logaddexp(0, x) and equal to it within ~4e-16."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


softplus = primitive("softplus", _stable_softplus,
                     lambda g, y, x: g * sigmoid(x),
                     lambda t, y, x: t * sigmoid(x), elementwise=True, reads="inputs",
                     math="y = ln(1+eˣ)  |  x̄ = ḡ·σ(x)", formula=("softplus",),
                     check=Check(((-6, 6),), reference=lambda x: np.log1p(np.exp(x))))


def log10(x):
    """log₁₀ x = ln x / ln 10."""
    return log(x) / _LN10


register(log10, math="y = log₁₀ x = ln x / ln 10  (composed)", formula=("log10",))


def _erf_values(x):
    return _ERF(x)


_ERF = np.vectorize(math.erf, otypes=[np.float64])   # exact to the last digit; numpy has no erf
erf = primitive("erf", _erf_values,
                lambda g, y, x: g * (_TWO_OVER_ROOT_PI * exp(-(x * x))),
                lambda t, y, x: t * (_TWO_OVER_ROOT_PI * exp(-(x * x))), elementwise=True, reads="inputs",
                math="y = erf x = (2/√π)∫₀ˣ e^(−s²) ds  |  x̄ = ḡ·(2/√π)·e^(−x²)", formula=("erf",))


# ---- binary: vjp = (x̄₁ rule, x̄₂ rule); broadcasting is undone by the backward pass
add = primitive("add", np.add,
                (passes, passes),
                (lambda t, y, a, b: t, lambda t, y, a, b: t), elementwise=True, linear=True,
                math="y = a + b  |  ā = ḡ,  b̄ = ḡ", method=False, arity=2, check=Check(("real", "real")))
sub = primitive("sub", np.subtract,
                (passes, lambda g, y, a, b: -g),
                (lambda t, y, a, b: t, lambda t, y, a, b: -t), elementwise=True, linear=True,
                math="y = a − b  |  ā = ḡ,  b̄ = −ḡ", method=False, arity=2, check=Check(("real", "real")))
mul = primitive("mul", np.multiply,
                (lambda g, y, a, b: g * b, lambda g, y, a, b: g * a),
                (lambda t, y, a, b: t * b, lambda t, y, a, b: a * t), elementwise=True, reads="inputs",
                math="y = a·b  |  ā = ḡ·b,  b̄ = ḡ·a", method=False, arity=2, check=Check(("real", "real")))
div = primitive("div", np.divide,
                (lambda g, y, a, b: g / b, lambda g, y, a, b: -g * y / b),
                (lambda t, y, a, b: t / b, lambda t, y, a, b: -t * y / b), elementwise=True,
                math="y = a/b  |  ā = ḡ/b,  b̄ = −ḡ·y/b", method=False, arity=2,
                check=Check(("real", "away_from_zero")))


def _pow_forward(a, b):
    return np.power(a, b)


def _log_where_positive(a):
    """ln a where a > 0, and 0 elsewhere (see the ``pow`` convention above)."""
    positive = data_of(a) > 0
    return where(positive, log(where(positive, a, 1.0)), 0.0)


pow = primitive("pow", _pow_forward,
                (lambda g, y, a, b: g * b * a ** (b - 1.0),
                 lambda g, y, a, b: g * y * _log_where_positive(a)),
                (lambda t, y, a, b: t * b * a ** (b - 1.0),
                 lambda t, y, a, b: t * y * _log_where_positive(a)), elementwise=True,
                math="y = aᵇ  |  ā = ḡ·b·aᵇ⁻¹,  b̄ = ḡ·y·ln a (0 where a ≤ 0)", method=False, arity=2,
                check=Check(((0.2, 3), (-2, 2))))
arctan2 = primitive("arctan2", np.arctan2,
                    (lambda g, y, a, b: g * b / (a * a + b * b),
                     lambda g, y, a, b: -g * a / (a * a + b * b)),
                    (lambda t, y, a, b: t * b / (a * a + b * b),
                     lambda t, y, a, b: -t * a / (a * a + b * b)), elementwise=True, reads="inputs",
                    math="y = atan2(a, b)  |  ā = ḡ·b/(a²+b²),  b̄ = −ḡ·a/(a²+b²)", method=False, arity=2,
                    check=Check(("grid_a", "grid_b")))


def _share_of_first(a, b, first_wins):
    """1 where ``a`` is chosen, 0 where ``b`` is, ½ on ties: a constant mask, no derivative."""
    a, b = data_of(a), data_of(b)
    return np.where(first_wins(a, b), 1.0, np.where(a == b, 0.5, 0.0))


def _greater(a, b):
    return a > b


def _less(a, b):
    return a < b


maximum = primitive("maximum", np.maximum,
                    (lambda g, y, a, b: g * _share_of_first(a, b, _greater),
                     lambda g, y, a, b: g * (1.0 - _share_of_first(a, b, _greater))),
                    (lambda t, y, a, b: t * _share_of_first(a, b, _greater),
                     lambda t, y, a, b: t * (1.0 - _share_of_first(a, b, _greater))), elementwise=True,
                    reads="inputs", math="y = max(a, b)  |  the larger takes ḡ; ties split ½, ½",
                    method=False, formula=("max",), arity=2, check=Check(("grid_a", "grid_b")))
minimum = primitive("minimum", np.minimum,
                    (lambda g, y, a, b: g * _share_of_first(a, b, _less),
                     lambda g, y, a, b: g * (1.0 - _share_of_first(a, b, _less))),
                    (lambda t, y, a, b: t * _share_of_first(a, b, _less),
                     lambda t, y, a, b: t * (1.0 - _share_of_first(a, b, _less))), elementwise=True,
                    reads="inputs", math="y = min(a, b)  |  the smaller takes ḡ; ties split ½, ½",
                    method=False, formula=("min",), arity=2, check=Check(("grid_a", "grid_b")))


def _where_forward(cond, a, b):
    return np.where(cond, a, b)


where = primitive("where", _where_forward,
                  (None,
                   lambda g, y, c, a, b: where(data_of(c), g, 0.0),
                   lambda g, y, c, a, b: where(data_of(c), 0.0, g)),
                  (None,
                   lambda t, y, c, a, b: where(data_of(c), t, 0.0),
                   lambda t, y, c, a, b: where(data_of(c), 0.0, t)), elementwise=True, reads="inputs",
                  math="y = a where cond else b  |  ā = ḡ where cond, b̄ = ḡ elsewhere (cond: none)",
                  method=False, formula=("where",), arity=3, check=None)


def _clip_forward(x, lo=None, hi=None):
    return np.clip(x, lo, hi)


def _inside(x, lo, hi):
    x = data_of(x)
    mask = np.ones(np.shape(x), dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    return mask


_clip = Primitive("clip", _clip_forward,
                  lambda g, y, x, lo=None, hi=None: g * _inside(x, lo, hi),
                  lambda t, y, x, lo=None, hi=None: t * _inside(x, lo, hi), elementwise=True, reads="inputs")


def clip(x, lo=None, hi=None):
    """Limit ``x`` to [lo, hi]; ``lo``/``hi`` are constants (None for no bound)."""
    return _clip(x, lo=data_of(lo), hi=data_of(hi))


register(clip, math="y = min(max(x, lo), hi)  |  x̄ = ḡ·[lo ≤ x ≤ hi] (passes at the bounds)",
         check=Check(("grid_a",), reference=lambda x: np.clip(x, -1, 1), call=lambda x: clip(x, -1.0, 1.0)))
