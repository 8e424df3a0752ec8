"""Tensor basics: data conversion, properties, detach/zero_grad, comparisons and operators."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import engine as ad


def test_data_is_float64_whether_given_ints_bools_or_lists():
    assert ad.Tensor([1, 2, 3]).data.dtype == np.float64
    np.testing.assert_array_equal(ad.Tensor([True, False]).data, [1.0, 0.0])
    assert ad.Tensor(np.arange(3, dtype=np.int32)).data.dtype == np.float64
    assert ad.Tensor(np.float32(1.5)).data.dtype == np.float64
    assert ad.Tensor(7).data.shape == ()


def test_shape_ndim_size_item_and_len():
    t = ad.Tensor(np.zeros((2, 3)))
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2)
    assert ad.Tensor([[4.5]]).item() == 4.5
    assert isinstance(ad.Tensor(2).item(), float)
    assert float(ad.Tensor(2.5)) == 2.5


def test_item_of_a_multi_element_tensor_names_its_shape():
    with pytest.raises(ad.EngineError, match=r"item.*\(2,\)"):
        ad.Tensor([1.0, 2.0]).item()


def test_grad_is_none_until_backward_then_an_array_of_the_same_shape():
    x = ad.Tensor([[1.0, 2.0]], requires_grad=True)
    assert x.grad is None and x.requires_grad and x.is_leaf
    ad.sum(x * x).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == (1, 2)
    np.testing.assert_array_equal(x.grad, [[2.0, 4.0]])


def test_zero_grad_clears_and_a_second_backward_accumulates_without_it():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    ad.sum(3.0 * x).backward()
    ad.sum(3.0 * x).backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None
    ad.sum(3.0 * x).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_detach_keeps_values_and_cuts_the_graph():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2.0).detach()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    z = ad.sum(x * y)               # y is a constant here
    z.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_comparisons_return_plain_boolean_arrays():
    t = ad.Tensor([1.0, 2.0, 3.0])
    for result, expected in ((t < 2, [True, False, False]), (t <= 2, [True, True, False]),
                             (t > ad.Tensor([0.0, 2.0, 4.0]), [True, False, False]),
                             (t >= 2, [False, True, True]), (t == 2, [False, True, False]),
                             (t != 2, [True, False, True]), (2 < t, [False, False, True])):
        assert type(result) is np.ndarray and result.dtype == bool
        np.testing.assert_array_equal(result, expected)


def test_truth_value_of_a_tensor_is_refused():
    with pytest.raises(ad.EngineError, match="ambiguous"):
        bool(ad.Tensor([1.0]))


@pytest.mark.parametrize("op, d_left, d_right", [
    (lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0),
    (lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0),
    (lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    (lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    (lambda a, b: a ** b, lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * np.log(a)),
], ids=["add", "sub", "mul", "truediv", "pow"])
@pytest.mark.parametrize("other_kind", ["python", "numpy"])
def test_operators_accept_scalars_and_arrays_on_either_side(op, d_left, d_right, other_kind):
    x_value, other = np.array([1.5, 2.5]), (2.0 if other_kind == "python" else np.array([2.0, 3.0]))
    for tensor_left in (True, False):
        x = ad.Tensor(x_value, requires_grad=True)
        result = op(x, other) if tensor_left else op(other, x)
        assert isinstance(result, ad.Tensor), "an array or number on the left must not swallow the tensor"
        a, b = (x_value, other) if tensor_left else (other, x_value)
        np.testing.assert_allclose(result.data, op(a, b), rtol=1e-15)
        ad.sum(result).backward()
        expected = d_left(a, b) if tensor_left else d_right(a, b)
        np.testing.assert_allclose(x.grad, np.broadcast_to(expected, x_value.shape), rtol=1e-14)


def test_numpy_array_times_tensor_is_a_tensor_with_gradient():
    t = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = np.ones(3) * t
    assert isinstance(y, ad.Tensor)
    ad.sum(np.array([1.0, 2.0, 3.0]) @ (np.ones(3) * t * t)).backward()
    np.testing.assert_array_equal(t.grad, [2.0, 8.0, 18.0])


def test_numpy_scalars_on_either_side_keep_the_tensor():
    t = ad.Tensor([1.0, 2.0], requires_grad=True)
    for result in (np.float64(3.0) * t, t * np.float64(3.0), np.float32(3.0) * t, np.int64(3) * t):
        assert isinstance(result, ad.Tensor)
        np.testing.assert_array_equal(result.data, [3.0, 6.0])
    ad.sum(np.float64(3.0) - t).backward()
    np.testing.assert_array_equal(t.grad, [-1.0, -1.0])


def test_two_to_the_power_of_a_tensor():
    t = ad.Tensor([0.0, 1.0, 3.0], requires_grad=True)
    y = 2 ** t
    np.testing.assert_array_equal(y.data, [1.0, 2.0, 8.0])
    ad.sum(y).backward()
    np.testing.assert_allclose(t.grad, np.log(2) * np.array([1.0, 2.0, 8.0]), rtol=1e-15)


def test_unary_minus_abs_and_matmul_operators():
    a = ad.Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    b = np.array([1.0, 1.0])
    y = ad.sum(-abs(a) @ b)
    assert y.item() == -10.0
    y.backward()
    np.testing.assert_array_equal(a.grad, [[-1.0, 1.0], [-1.0, -1.0]])
    np.testing.assert_array_equal((b @ a).data, [4.0, 2.0])


def test_method_forms_equal_the_module_functions():
    x = ad.Tensor(np.array([[0.5, 1.5], [2.0, 0.25]]))
    for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "relu", "square", "sin"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(ad, name)(x).data)
    np.testing.assert_array_equal(x.sum(axis=0).data, [2.5, 1.75])
    np.testing.assert_array_equal(x.mean(axis=1, keepdims=True).data, [[1.0], [1.125]])
    np.testing.assert_array_equal(x.max().data, 2.0)
    np.testing.assert_allclose(x.std(ddof=1).data, np.std(x.data, ddof=1), rtol=1e-15)
    np.testing.assert_array_equal(x.reshape(4).data, [0.5, 1.5, 2.0, 0.25])
    np.testing.assert_array_equal(x.transpose().data, x.data.T)
    np.testing.assert_array_equal(x.clip(0.5, 1.0).data, [[0.5, 1.0], [1.0, 0.5]])
    np.testing.assert_allclose(x.softmax(axis=0).data.sum(axis=0), [1.0, 1.0], rtol=1e-15)


def test_operations_on_tensors_without_requires_grad_record_nothing():
    x = ad.Tensor([1.0, 2.0])
    y = ad.exp(x) * 2
    assert not y.requires_grad and y.is_leaf
