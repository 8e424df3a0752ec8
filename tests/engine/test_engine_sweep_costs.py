"""What the fast paths of the backward sweep must keep: the cycle collector's state, the refusal
of a released graph through the function transforms, and gradients the caller owns."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from workbench import engine as ad


def _failing_primitive() -> ad.Primitive:
    def vjp(g, y, x):
        raise ZeroDivisionError("a rule that fails")
    return ad.Primitive("fails_backward", np.exp, vjp, lambda t, y, x: t * y, elementwise=True)


def test_the_collector_runs_again_after_a_backward_pass():
    assert gc.isenabled()
    x = ad.Tensor(np.ones(4), requires_grad=True)
    ad.sum(ad.tanh(x * 2.0)).backward()
    assert gc.isenabled()
    np.testing.assert_allclose(x.grad, 2.0 * (1.0 - np.tanh(2.0) ** 2))


def test_the_collector_runs_again_after_a_rule_fails_mid_sweep():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    y = ad.sum(_failing_primitive()(x))
    with pytest.raises(ZeroDivisionError, match="a rule that fails"):
        y.backward()
    assert gc.isenabled()


def test_a_collector_the_caller_paused_stays_paused():
    gc.disable()
    try:
        gradient = ad.grad(lambda w: ad.sum(w * w))(np.array([1.0, -2.0]))
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert gradient.tolist() == [2.0, -4.0]


def test_grad_through_a_tensor_whose_graph_was_released_is_an_engine_error():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    h = ad.exp(x)
    ad.sum(h).backward()          # releases exp's node
    with pytest.raises(ad.EngineError, match="exp.*released"):
        ad.grad(lambda w: ad.sum(w * h))(np.ones(3))


def test_grad_through_a_retained_outside_tensor_gives_the_argument_s_gradient_only():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    h = ad.exp(x)                 # a graph outside f, never released: nothing is left over
    gradient = ad.grad(lambda w: ad.sum(w * h))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(gradient, np.exp(np.ones(3)))
    assert x.grad is None


def test_value_and_grad_gradients_are_owned_even_where_the_sweep_shared_one_array():
    # add hands the same adjoint array to both operands: each gradient must be a copy of its own
    value, (ga, gb) = ad.value_and_grad(lambda a, b: ad.sum(a + b), (0, 1))(np.ones(3), np.ones(3))
    assert value == 6.0
    ga *= 5.0
    assert ga.tolist() == [5.0, 5.0, 5.0] and gb.tolist() == [1.0, 1.0, 1.0]
    assert ga.flags.writeable and gb.flags.writeable


def test_value_and_grad_of_numbers_gives_zero_dimensional_arrays():
    value, (ga, gb) = ad.value_and_grad(lambda a, b: a * b + b, (0, 1))(2.0, 3.0)
    assert value == 9.0
    assert ga.shape == () and gb.shape == () and float(ga) == 3.0 and float(gb) == 3.0
    ga += 1.0   # owned: a fresh array, not a shared scalar
    assert float(ga) == 4.0 and float(gb) == 3.0
