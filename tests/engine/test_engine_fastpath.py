"""What the ordinary path's fast lanes must keep: the operators written out for two arguments
(``Primitive.apply_two``), the backward loop's inline step (rules called directly, shares added in
place) against its general lane with a hook, and the cycle collector paused while f records."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from workbench import engine as ad
from workbench.engine.mode import MODE
from workbench.engine.pullback import flatten, pullback


def test_reflected_operators_put_the_number_first():
    x = ad.Tensor(np.array([0.5, 2.0, 4.0]), requires_grad=True)
    y = ad.sum((2.0 - x) + (3.0 / x) + (1.5 * x) + (1.0 + x) + (2.0 ** x))
    y.backward()
    data = x.data
    expected_value = np.sum((2.0 - data) + 3.0 / data + 1.5 * data + 1.0 + data + 2.0 ** data)
    np.testing.assert_allclose(float(y.data), expected_value, rtol=1e-15)
    np.testing.assert_allclose(x.grad, -1.0 - 3.0 / data ** 2 + 1.5 + 1.0 + np.log(2.0) * 2.0 ** data,
                               rtol=1e-14)


def test_operators_record_the_node_apply_records():
    a = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = ad.Tensor(np.array([3.0, 5.0]))
    product = a * b
    node = product._node
    assert node.prim is ad.mul and node.args == (a, b) and node.kw == {}
    assert node.inputs[0] is a.data and node.inputs[1] is b.data
    reflected = 4.0 - a
    assert reflected._node.prim is ad.sub and reflected._node.args == (4.0, a)
    np.testing.assert_array_equal(reflected.data, [3.0, 2.0])


def test_two_arrays_give_a_plain_array_and_a_constant_tensor_records_nothing():
    out = ad.maximum(np.array([1.0, 5.0]), np.array([3.0, 2.0]))
    assert out.__class__ is np.ndarray and out.tolist() == [3.0, 5.0]
    constant = ad.Tensor(np.array([1.0, 2.0])) * 3.0
    assert not constant.requires_grad and constant._node is None and constant.data.tolist() == [3.0, 6.0]
    with ad.no_grad():
        unrecorded = ad.Tensor(np.ones(2), requires_grad=True) + 1.0
    assert not unrecorded.requires_grad and unrecorded._node is None


def test_an_operator_on_shapes_that_do_not_broadcast_names_them():
    with pytest.raises(ad.EngineError, match=r"add: cannot apply to shapes \(2,\), \(3,\)"):
        ad.Tensor(np.ones(2), requires_grad=True) + np.ones(3)


def test_operators_carry_tangents_in_forward_mode():
    x, t = np.array([0.3, 1.7]), np.array([1.0, -2.0])
    value, tangent = ad.jvp(lambda v: 2.0 / v + v * v, (x,), (t,))
    np.testing.assert_allclose(value, 2.0 / x + x * x, rtol=1e-15)
    np.testing.assert_allclose(tangent, (-2.0 / x ** 2 + 2.0 * x) * t, rtol=1e-14)


class _PassThrough:
    """A hook that changes nothing: the loop then takes its general lane for every step."""

    def __init__(self):
        self.steps = 0

    def cotangent(self, step, g):
        return g

    def shares(self, step, g, shares, added):
        self.steps += 1

    def failed(self, step, error):
        return False


def _broadcasting(w, b, x):
    # a scalar parameter's share of a vector, a (3, 1) + (1, 4) broadcast, a reduction with options
    h = ad.tanh(w * x[:, None] + b)
    return ad.sum(ad.sum(h * h, axis=1) / (1.0 + w * w))


def _adjoints_by_lane(hook):
    w = ad.Tensor(np.array(0.7), requires_grad=True)
    b = ad.Tensor(np.array([[0.1, -0.2, 0.3, 0.4]]), requires_grad=True)
    out = _broadcasting(w, b, np.array([1.0, -2.0, 0.5]))
    steps, tensors, slots = flatten(out)
    adjoints = [None] * len(tensors)
    adjoints[slots[id(out)]] = np.array(1.0)
    pullback(steps, adjoints, hook)
    return adjoints[slots[id(w)]], adjoints[slots[id(b)]]


def test_the_inline_step_adds_the_same_shares_as_the_general_lane_bit_for_bit():
    hook = _PassThrough()
    fast, general = _adjoints_by_lane(None), _adjoints_by_lane(hook)
    assert hook.steps > 5
    assert np.shape(fast[0]) == () and fast[1].shape == (1, 4)
    for ours, theirs in zip(fast, general):
        assert np.array_equal(ours, theirs)


def test_the_inline_step_matches_a_tape_and_central_differences():
    args = (0.7, np.array([[0.1, -0.2, 0.3, 0.4]]))
    x = np.array([1.0, -2.0, 0.5])
    value, (gw, gb) = ad.value_and_grad(lambda w, b: _broadcasting(w, b, x), (0, 1))(*args)
    tape = ad.record(lambda w, b: _broadcasting(w, b, x), *args, argnums=(0, 1))
    taped_value, (tw, tb) = tape.value_and_grad(*args)
    assert value == taped_value and np.array_equal(gw, tw) and np.array_equal(gb, tb)
    h = 1e-6
    numeric = (float(_broadcasting(ad.Tensor(0.7 + h), ad.Tensor(args[1]), x).data)
               - float(_broadcasting(ad.Tensor(0.7 - h), ad.Tensor(args[1]), x).data)) / (2 * h)
    np.testing.assert_allclose(float(gw), numeric, rtol=1e-7)


def test_a_rule_set_after_creation_is_the_one_the_inline_step_calls():
    calls = []
    square = ad.Primitive("square_counted", np.square, lambda g, y, x: g * 2.0 * x, elementwise=True)
    rule = square.vjp[0]

    def counted(g, y, x):
        calls.append(x.shape)
        return rule(g, y, x)
    square.vjp = counted
    gradient = ad.grad(lambda v: ad.sum(square(v)))(np.array([1.0, -3.0]))
    assert gradient.tolist() == [2.0, -6.0] and calls == [(2,)]


def test_the_collector_is_paused_while_f_records_and_resumed_after():
    seen = []

    def f(w):
        seen.append(gc.isenabled())
        return ad.sum(w * w)
    assert gc.isenabled()
    gradient = ad.grad(f)(np.array([1.0, 2.0]))
    assert seen == [False] and gc.isenabled() and gradient.tolist() == [2.0, 4.0]


def test_the_collector_resumes_when_f_fails_and_stays_off_when_the_caller_paused_it():
    def broken(w):
        ad.exp(w)
        raise ValueError("inside f")
    with pytest.raises(ValueError, match="inside f"):
        ad.grad(broken)(np.array([1.0]))
    assert gc.isenabled() and MODE.made is None
    gc.disable()
    try:
        assert ad.grad(lambda w: ad.sum(w * 3.0))(np.array([1.0])).tolist() == [3.0]
        assert not gc.isenabled()
    finally:
        gc.enable()
