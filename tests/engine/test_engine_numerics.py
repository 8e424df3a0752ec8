"""Numerical care: stable primitives at ±1e3 without warnings, and the documented derivatives at
points where a function is not differentiable (each convention in both reverse and forward mode)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from workbench import engine as ad

EXTREMES = np.array([-1e3, -50.0, 0.0, 50.0, 1e3])


def _strict():
    """Every numpy warning an error. Underflow is left alone: e^(−1000) = 0 is the right answer
    (numpy does not warn about it by default either), and no finite float can avoid it."""
    return np.errstate(over="raise", divide="raise", invalid="raise")


@pytest.mark.parametrize("name, expected_value, expected_grad", [
    ("sigmoid", [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], [0.0, 1.9287498479639178e-22, 0.25, 1.9287e-22, 0.0]),
    ("softplus", [0.0, 1.9287498479639178e-22, np.log(2.0), 50.0, 1e3], [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0]),
])
def test_elementwise_stable_primitives_finite_with_finite_gradients_at_extremes(name, expected_value, expected_grad):
    x = ad.Tensor(EXTREMES, requires_grad=True)
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        y = getattr(ad, name)(x)
        ad.sum(y).backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(y.data, expected_value, rtol=1e-4, atol=0)
    # σ' = y(1 − y) is 0 where y rounds to 1 (x = 50): off from 1.9e-22 by less than 1e-21
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-4, atol=1e-21)


@pytest.mark.parametrize("name", ["logsumexp", "log_softmax", "softmax"])
def test_softmax_family_finite_with_finite_gradients_at_extremes(name):
    x = ad.Tensor(np.array([[-1e3, 0.0, 1e3], [1e3, 1e3, -1e3], [-1e3, -1e3, -1e3]]), requires_grad=True)
    weights = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 2.0], [0.5, 0.5, 1.0]])
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        y = getattr(ad, name)(x, axis=1)
        ad.sum(y * (weights if y.ndim == 2 else weights[:, 0])).backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    if name == "logsumexp":
        np.testing.assert_allclose(y.data, [1e3, 1e3 + np.log(2.0), -1e3 + np.log(3.0)], rtol=1e-15)
        # exp(x − y) with y ≈ 1e3: y carries an error of half an ulp of 1e3 (5.7e-14)
        np.testing.assert_allclose(x.grad, [[0, 0, 1], [0.5, 0.5, 0], [1 / 6, 1 / 6, 1 / 6]], rtol=1e-12)
    elif name == "log_softmax":
        np.testing.assert_allclose(y.data[0], [-2e3, -1e3, 0.0], rtol=1e-15)
        # ∂/∂x Σ w·(x − lse) = w − softmax·Σw
        np.testing.assert_allclose(x.grad[0], [1.0, 2.0, -3.0], rtol=1e-14)
    else:
        np.testing.assert_allclose(y.data[1], [0.5, 0.5, 0.0], rtol=1e-12)


def test_stable_primitives_in_forward_mode_at_extremes():
    with warnings.catch_warnings(), _strict():
        warnings.simplefilter("error")
        for fn in (ad.sigmoid, ad.softplus, ad.logsumexp, ad.log_softmax):
            value, tangent = ad.jvp(fn, (EXTREMES,), (np.ones(5),))
            assert np.all(np.isfinite(value)) and np.all(np.isfinite(tangent)), fn


def test_logsumexp_of_large_negative_values_does_not_underflow_to_minus_infinity():
    value = ad.logsumexp(ad.Tensor([-1e3, -1e3]))
    assert value.item() == pytest.approx(-1e3 + np.log(2.0), rel=1e-15)


# ---- conventions at non-smooth points (documented in prims_math.py / prims_reduce.py) --------------

def _grad(fn, x):
    t = ad.Tensor(np.asarray(x, dtype=float), requires_grad=True)
    ad.sum(fn(t)).backward()
    return t.grad


def _tangent(fn, x):
    return ad.jvp(lambda t: ad.sum(fn(t)), (np.asarray(x, dtype=float),), (np.ones(np.shape(x)),))[1]


def test_relu_and_abs_have_derivative_zero_at_zero():
    for fn in (ad.relu, ad.abs):
        np.testing.assert_array_equal(_grad(fn, [-2.0, 0.0, 3.0]), [0.0 if fn is ad.relu else -1.0, 0.0, 1.0])
        assert _tangent(fn, [0.0]) == 0.0


def test_max_and_min_split_the_gradient_equally_among_ties():
    np.testing.assert_array_equal(_grad(ad.max, [1.0, 5.0, 5.0, 5.0]), [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(_grad(ad.min, [2.0, 2.0, 7.0]), [0.5, 0.5, 0.0])
    rows = _grad(lambda t: ad.max(t, axis=1), [[1.0, 1.0], [0.0, 3.0]])
    np.testing.assert_array_equal(rows, [[0.5, 0.5], [0.0, 1.0]])
    assert _tangent(ad.max, [4.0, 4.0]) == 1.0   # ½·1 + ½·1 along the all-ones direction


def test_maximum_and_minimum_give_each_operand_half_on_ties():
    for fn in (ad.maximum, ad.minimum):
        a = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = ad.Tensor([1.0, 5.0, 0.0], requires_grad=True)
        ad.sum(fn(a, b)).backward()
        first_wins = [0.5, 0.0, 1.0] if fn is ad.maximum else [0.5, 1.0, 0.0]
        np.testing.assert_array_equal(a.grad, first_wins)
        np.testing.assert_array_equal(b.grad, 1.0 - np.array(first_wins))


def test_sqrt_derivative_at_zero_is_infinite_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_grad(ad.sqrt, [0.0, 4.0]), [np.inf, 0.25])
        np.testing.assert_array_equal(_tangent(ad.sqrt, [0.0]), np.inf)


def test_clip_passes_the_gradient_at_its_bounds_and_blocks_it_outside():
    np.testing.assert_array_equal(_grad(lambda t: ad.clip(t, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]),
                                  [0.0, 1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(_grad(lambda t: ad.clip(t, lo=0.0), [-1.0, 0.0, 1.0]), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(_grad(lambda t: ad.clip(t, hi=0.0), [-1.0, 0.0, 1.0]), [1.0, 1.0, 0.0])


def test_pow_exponent_gradient_is_zero_where_the_base_is_not_positive():
    base = ad.Tensor([-2.0, 0.0, 2.0])
    exponent = ad.Tensor([2.0, 2.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.sum(base ** exponent).backward()
    np.testing.assert_allclose(exponent.grad, [0.0, 0.0, 4.0 * np.log(2.0)], rtol=1e-15)


def test_prod_gradient_with_two_zeros_is_zero_everywhere_but_exact():
    np.testing.assert_array_equal(_grad(ad.prod, [0.0, 0.0, 3.0]), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(_grad(ad.prod, [0.0, 2.0, 3.0]), [6.0, 0.0, 0.0])
