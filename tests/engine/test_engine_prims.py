"""Every primitive against numerical derivatives, on random shapes and values (hypothesis).

For each primitive: the forward value equals numpy's; the reverse-mode vector-Jacobian product
with a random cotangent equals the five-point numerical one; the forward-mode jvp along a random
direction equals the numerical directional derivative; and the second derivative (the backward
pass recorded with create_graph, and forward-over-reverse) equals the numerical derivative of the
engine's own gradient. Values are drawn from each function's domain, away from the points where
it is not differentiable (those conventions are tested in test_engine_numerics.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine_reference import engine_vjp, numeric_grad, numeric_jvp, numeric_vjp, plain
from engine_specs import BINARY, GRID_A, REAL, REDUCTIONS, UNARY, Domain
from workbench import engine as ad

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
RTOL, ATOL = 1e-6, 1e-8


def _close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def check_first_order(fn: Callable, reference: Callable, arrays: list[np.ndarray]) -> None:
    """Value vs numpy, reverse-mode vjp vs numerical, forward-mode jvp vs numerical."""
    rng = np.random.default_rng(len(arrays) + sum(a.size for a in arrays))
    value = plain(fn, arrays)
    _close(value, reference(*arrays), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(value.shape)
    engine_value, grads = engine_vjp(fn, arrays, cotangent)
    _close(engine_value, value, rtol=0, atol=0)
    for grad, expected, array in zip(grads, numeric_vjp(fn, arrays, cotangent), arrays):
        assert grad.shape == array.shape
        _close(grad, expected)
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    jvp_value, jvp_tangent = ad.jvp(fn, tuple(arrays), tuple(tangents))
    _close(jvp_value, value, rtol=0, atol=0)
    _close(jvp_tangent, numeric_jvp(fn, arrays, tangents))


def _drawn(data, shape, domain: Domain, unique: bool = False) -> np.ndarray:
    return data.draw(hnp.arrays(np.float64, shape, elements=domain.strategy(), unique=unique))


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_primitive_matches_numerical_derivatives(name, data):
    fn, reference, domain = UNARY[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    check_first_order(fn, reference, [_drawn(data, shape, domain)])


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_primitive_broadcasts_and_matches_numerical_derivatives(name, data):
    fn, reference, first, second = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    arrays = [_drawn(data, shapes.input_shapes[0], first), _drawn(data, shapes.input_shapes[1], second)]
    check_first_order(fn, reference, arrays)


@SETTINGS
@given(data=st.data())
def test_where_routes_gradients_by_condition_with_broadcasting(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
    cond = data.draw(hnp.arrays(np.bool_, shapes.input_shapes[0]))
    arrays = [_drawn(data, shapes.input_shapes[1], REAL), _drawn(data, shapes.input_shapes[2], REAL)]
    check_first_order(lambda a, b: ad.where(cond, a, b), lambda a, b: np.where(cond, a, b), arrays)


@st.composite
def _axis_and_shape(draw, tuple_axes: bool = True):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    choices = [st.none(), st.integers(-ndim, ndim - 1)]
    if tuple_axes:
        choices.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    return shape, draw(st.one_of(*choices)), draw(st.booleans())


def _count(shape, axis) -> int:
    axes = range(len(shape)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return int(np.prod([shape[a] for a in axes]))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(data=st.data(), shaped=_axis_and_shape())
def test_reduction_over_any_axes_matches_numerical_derivatives(name, data, shaped):
    fn, reference = REDUCTIONS[name]
    shape, axis, keepdims = shaped
    # distinct values on a grid: no ties in max/min, and std is never taken of a constant
    x = _drawn(data, shape, GRID_A, unique=True)
    if name == "std":
        assume(_count(shape, axis) >= 2)
    check_first_order(lambda t: fn(t, axis=axis, keepdims=keepdims),
                      lambda a: reference(a, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std_with_ddof_match_numpy_and_numerical_derivatives(ddof):
    x = GRID_A.sample(np.random.default_rng(3), (3, 4))
    for fn, reference in ((ad.var, np.var), (ad.std, np.std)):
        check_first_order(lambda t: fn(t, axis=1, ddof=ddof), lambda a: reference(a, axis=1, ddof=ddof), [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data(), shaped=_axis_and_shape(tuple_axes=False))
def test_softmax_family_matches_numerical_derivatives(name, data, shaped):
    shape, axis, _ = shaped
    axis = -1 if axis is None else axis
    x = _drawn(data, shape, REAL)

    def reference(a):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        return s if name == "softmax" else np.log(s)
    check_first_order(lambda t: getattr(ad, name)(t, axis=axis), reference, [x])


# ---- full Jacobians: forward mode carrying all basis directions at once ------------------------

def _jacobians_agree(fn, arrays):
    for i in range(len(arrays)):
        def of_one(x, i=i):
            args = [ad.Tensor(a) for a in arrays]
            args[i] = x
            return fn(*args)
        forward = ad.jacobian(of_one, mode="forward")(arrays[i])
        reverse = ad.jacobian(of_one, mode="reverse")(arrays[i])
        assert forward.shape == plain(fn, arrays).shape + arrays[i].shape
        _close(forward, reverse, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY) + sorted(REDUCTIONS) + ["softmax", "where"])
def test_forward_jacobian_with_many_directions_equals_reverse_jacobian(name):
    rng = np.random.default_rng(9)
    if name in UNARY:
        _jacobians_agree(UNARY[name][0], [UNARY[name][2].sample(rng, (2, 3))])
    elif name in BINARY:
        fn, _, first, second = BINARY[name]
        _jacobians_agree(fn, [first.sample(rng, (2, 3)), second.sample(rng, (3,))])
        _jacobians_agree(fn, [first.sample(rng, (3,)), second.sample(rng, (2, 1))])
    elif name == "where":
        cond = np.array([[True, False, True], [False, False, True]])
        _jacobians_agree(lambda a, b: ad.where(cond, a, b), [REAL.sample(rng, (3,)), REAL.sample(rng, (2, 1))])
    else:
        fn = getattr(ad, name)
        _jacobians_agree(lambda t: fn(t, axis=0), [GRID_A.sample(rng, (3, 2))])


# ---- second order: the backward pass recorded (create_graph) -----------------------------------

def _second_order_case(fn: Callable, arrays: list[np.ndarray]) -> None:
    """For φ = Σ u·fn(arrays): the gradient of ⟨∇ᵢφ, v⟩ vs the numerical derivative of ∇ᵢφ along v,
    reverse-over-reverse (differentiable grad of a grad) and forward-over-reverse (hvp)."""
    rng = np.random.default_rng(7)
    cot = rng.standard_normal(plain(fn, arrays).shape)
    for i in range(len(arrays)):
        def phi(x, i=i):
            args = [ad.Tensor(a) for a in arrays]
            args[i] = x
            return ad.sum(fn(*args) * cot)
        v = rng.standard_normal(arrays[i].shape)
        gradient = ad.grad(phi)
        expected = numeric_jvp(lambda x: gradient(x.data), [arrays[i]], [v])
        reverse = ad.grad(lambda x: ad.sum(gradient(x) * v))(arrays[i])
        forward_over_reverse = ad.hvp(phi)(arrays[i], v)
        _close(forward_over_reverse, expected, rtol=1e-6, atol=1e-7)
        # ⟨H v, w⟩ = ⟨v, H w⟩: reverse-over-reverse gives H v by symmetry of the Hessian
        _close(reverse, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_second_derivatives_match_numerical_ones(name):
    fn, _, domain = UNARY[name]
    _second_order_case(fn, [domain.sample(np.random.default_rng(1), (2, 3))])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_second_derivatives_match_numerical_ones(name):
    fn, _, first, second = BINARY[name]
    rng = np.random.default_rng(2)
    _second_order_case(fn, [first.sample(rng, (2, 3)), second.sample(rng, (3,))])


@pytest.mark.parametrize("name", sorted(REDUCTIONS) + ["softmax", "log_softmax"])
def test_reduction_second_derivatives_match_numerical_ones(name):
    fn = getattr(ad, name)
    x = GRID_A.sample(np.random.default_rng(4), (3, 4))
    _second_order_case(lambda t: fn(t, axis=1), [x])
    if name not in ("softmax", "log_softmax"):
        _second_order_case(lambda t: fn(t), [x])


def test_prod_second_derivative_is_exact_with_a_zero_factor():
    x = np.array([0.0, 2.0, 3.0, 5.0])
    hess = ad.hessian(lambda t: ad.prod(t))(x)
    # ∂²/∂xᵢ∂xⱼ ∏x = ∏_{k≠i,j} x_k for i ≠ j, 0 on the diagonal
    expected = np.array([[0, 15, 10, 6], [15, 0, 0, 0], [10, 0, 0, 0], [6, 0, 0, 0]], dtype=float)
    _close(hess, expected, rtol=0, atol=0)


def test_numeric_reference_is_accurate_on_a_known_derivative():
    """The reference itself: d/dx Σ sin(x)·x = cos(x)·x + sin(x) to 1e-9."""
    x = np.array([0.3, -1.2, 2.0])
    got = numeric_grad(lambda xs: float(np.sum(np.sin(xs[0]) * xs[0])), [x], 0)
    _close(got, np.cos(x) * x + np.sin(x), rtol=1e-9, atol=1e-10)
