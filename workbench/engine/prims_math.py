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

import numpy as np

from workbench.engine.graph import Primitive, data_of


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
neg = Primitive("neg", np.negative,                       # y = −x
                lambda g, y, x: -g,
                lambda t, y, x: -t, elementwise=True, linear=True)
exp = Primitive("exp", np.exp,                            # y = eˣ,        f' = y
                lambda g, y, x: g * y,
                lambda t, y, x: t * y, elementwise=True)
log = Primitive("log", np.log,                            # y = ln x,      f' = 1/x
                lambda g, y, x: g / x,
                lambda t, y, x: t / x, elementwise=True)
log1p = Primitive("log1p", np.log1p,                      # y = ln(1+x),   f' = 1/(1+x)
                  lambda g, y, x: g / (1.0 + x),
                  lambda t, y, x: t / (1.0 + x), elementwise=True)
expm1 = Primitive("expm1", np.expm1,                      # y = eˣ − 1,    f' = y + 1
                  lambda g, y, x: g * (y + 1.0),
                  lambda t, y, x: t * (y + 1.0), elementwise=True)
sqrt = Primitive("sqrt", np.sqrt,                         # y = √x,        f' = 1/(2y)
                 _quiet_sqrt_vjp,
                 _quiet_sqrt_vjp, elementwise=True)
square = Primitive("square", np.square,                   # y = x²,        f' = 2x
                   lambda g, y, x: g * (2.0 * x),
                   lambda t, y, x: t * (2.0 * x), elementwise=True)
abs = Primitive("abs", np.abs,                            # y = |x|,       f' = sign(x), 0 at 0
                lambda g, y, x: g * np.sign(data_of(x)),
                lambda t, y, x: t * np.sign(data_of(x)), elementwise=True)
sin = Primitive("sin", np.sin,                            # y = sin x,     f' = cos x
                lambda g, y, x: g * cos(x),
                lambda t, y, x: t * cos(x), elementwise=True)
cos = Primitive("cos", np.cos,                            # y = cos x,     f' = −sin x
                lambda g, y, x: -g * sin(x),
                lambda t, y, x: -t * sin(x), elementwise=True)
tan = Primitive("tan", np.tan,                            # y = tan x,     f' = 1 + y²
                lambda g, y, x: g * (1.0 + y * y),
                lambda t, y, x: t * (1.0 + y * y), elementwise=True)
arcsin = Primitive("arcsin", np.arcsin,                   # y = asin x,    f' = 1/√(1−x²)
                   lambda g, y, x: g / sqrt(1.0 - x * x),
                   lambda t, y, x: t / sqrt(1.0 - x * x), elementwise=True)
arccos = Primitive("arccos", np.arccos,                   # y = acos x,    f' = −1/√(1−x²)
                   lambda g, y, x: -g / sqrt(1.0 - x * x),
                   lambda t, y, x: -t / sqrt(1.0 - x * x), elementwise=True)
arctan = Primitive("arctan", np.arctan,                   # y = atan x,    f' = 1/(1+x²)
                   lambda g, y, x: g / (1.0 + x * x),
                   lambda t, y, x: t / (1.0 + x * x), elementwise=True)
sinh = Primitive("sinh", np.sinh,                         # y = sinh x,    f' = cosh x
                 lambda g, y, x: g * cosh(x),
                 lambda t, y, x: t * cosh(x), elementwise=True)
cosh = Primitive("cosh", np.cosh,                         # y = cosh x,    f' = sinh x
                 lambda g, y, x: g * sinh(x),
                 lambda t, y, x: t * sinh(x), elementwise=True)
tanh = Primitive("tanh", np.tanh,                         # y = tanh x,    f' = 1 − y²
                 lambda g, y, x: g * (1.0 - y * y),
                 lambda t, y, x: t * (1.0 - y * y), elementwise=True)
sigmoid = Primitive("sigmoid", _stable_sigmoid,           # y = σ(x),      f' = y(1−y)
                    lambda g, y, x: g * (y * (1.0 - y)),
                    lambda t, y, x: t * (y * (1.0 - y)), elementwise=True)
relu = Primitive("relu", _relu_forward,                   # y = max(x,0),  f' = [x > 0]
                 lambda g, y, x: g * (data_of(x) > 0),
                 lambda t, y, x: t * (data_of(x) > 0), elementwise=True)
softplus = Primitive("softplus", lambda x: np.logaddexp(0.0, x),   # y = ln(1+eˣ), f' = σ(x)
                     lambda g, y, x: g * sigmoid(x),
                     lambda t, y, x: t * sigmoid(x), elementwise=True)


# ---- binary: vjp = (x̄₁ rule, x̄₂ rule); broadcasting is undone by the backward pass
add = Primitive("add", np.add,                            # y = a + b
                (lambda g, y, a, b: g, lambda g, y, a, b: g),
                (lambda t, y, a, b: t, lambda t, y, a, b: t), elementwise=True, linear=True)
sub = Primitive("sub", np.subtract,                       # y = a − b
                (lambda g, y, a, b: g, lambda g, y, a, b: -g),
                (lambda t, y, a, b: t, lambda t, y, a, b: -t), elementwise=True, linear=True)
mul = Primitive("mul", np.multiply,                       # y = a·b,  ā = ḡb,  b̄ = ḡa
                (lambda g, y, a, b: g * b, lambda g, y, a, b: g * a),
                (lambda t, y, a, b: t * b, lambda t, y, a, b: a * t), elementwise=True)
div = Primitive("div", np.divide,                         # y = a/b,  ā = ḡ/b,  b̄ = −ḡ·y/b
                (lambda g, y, a, b: g / b, lambda g, y, a, b: -g * y / b),
                (lambda t, y, a, b: t / b, lambda t, y, a, b: -t * y / b), elementwise=True)


def _pow_forward(a, b):
    return np.power(a, b)


def _log_where_positive(a):
    """ln a where a > 0, and 0 elsewhere (see the ``pow`` convention above)."""
    positive = data_of(a) > 0
    return where(positive, log(where(positive, a, 1.0)), 0.0)


pow = Primitive("pow", _pow_forward,                      # y = aᵇ,  ā = ḡ·b·aᵇ⁻¹,  b̄ = ḡ·y·ln a
                (lambda g, y, a, b: g * b * a ** (b - 1.0),
                 lambda g, y, a, b: g * y * _log_where_positive(a)),
                (lambda t, y, a, b: t * b * a ** (b - 1.0),
                 lambda t, y, a, b: t * y * _log_where_positive(a)), elementwise=True)
arctan2 = Primitive("arctan2", np.arctan2,                # y = atan2(a, b): ā = ḡb/(a²+b²), b̄ = −ḡa/(a²+b²)
                    (lambda g, y, a, b: g * b / (a * a + b * b),
                     lambda g, y, a, b: -g * a / (a * a + b * b)),
                    (lambda t, y, a, b: t * b / (a * a + b * b),
                     lambda t, y, a, b: -t * a / (a * a + b * b)), elementwise=True)


def _share_of_first(a, b, first_wins):
    """1 where ``a`` is chosen, 0 where ``b`` is, ½ on ties: a constant mask, no derivative."""
    a, b = data_of(a), data_of(b)
    return np.where(first_wins(a, b), 1.0, np.where(a == b, 0.5, 0.0))


def _greater(a, b):
    return a > b


def _less(a, b):
    return a < b


maximum = Primitive("maximum", np.maximum,                # y = max(a, b), ties split ½ / ½
                    (lambda g, y, a, b: g * _share_of_first(a, b, _greater),
                     lambda g, y, a, b: g * (1.0 - _share_of_first(a, b, _greater))),
                    (lambda t, y, a, b: t * _share_of_first(a, b, _greater),
                     lambda t, y, a, b: t * (1.0 - _share_of_first(a, b, _greater))), elementwise=True)
minimum = Primitive("minimum", np.minimum,                # y = min(a, b), ties split ½ / ½
                    (lambda g, y, a, b: g * _share_of_first(a, b, _less),
                     lambda g, y, a, b: g * (1.0 - _share_of_first(a, b, _less))),
                    (lambda t, y, a, b: t * _share_of_first(a, b, _less),
                     lambda t, y, a, b: t * (1.0 - _share_of_first(a, b, _less))), elementwise=True)


def _where_forward(cond, a, b):
    return np.where(cond, a, b)


where = Primitive("where", _where_forward,                # y = a where cond else b; cond has no derivative
                  (None,
                   lambda g, y, c, a, b: where(data_of(c), g, 0.0),
                   lambda g, y, c, a, b: where(data_of(c), 0.0, g)),
                  (None,
                   lambda t, y, c, a, b: where(data_of(c), t, 0.0),
                   lambda t, y, c, a, b: where(data_of(c), 0.0, t)), elementwise=True)


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


_clip = Primitive("clip", _clip_forward,                   # y = min(max(x, lo), hi), x̄ = ḡ·[lo ≤ x ≤ hi]
                 lambda g, y, x, lo=None, hi=None: g * _inside(x, lo, hi),
                 lambda t, y, x, lo=None, hi=None: t * _inside(x, lo, hi), elementwise=True)


def clip(x, lo=None, hi=None):
    """Limit ``x`` to [lo, hi]; ``lo``/``hi`` are constants (None for no bound)."""
    return _clip(x, lo=data_of(lo), hi=data_of(hi))


# What each rule reads besides ḡ (Primitive.reads): eˣ's rule needs only eˣ, sin's only x. The
# default, "all", is always safe; these let a recorded tape free the rest early.
for _prim in (exp, expm1, sqrt, tan, tanh, sigmoid):
    _prim.reads = "output"
for _prim in (log, log1p, square, abs, sin, cos, arcsin, arccos, arctan, sinh, cosh, relu, softplus,
              mul, arctan2, maximum, minimum, where, _clip):
    _prim.reads = "inputs"
del _prim
