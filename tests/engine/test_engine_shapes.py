"""Shape primitives, indexing and matrix products: values and gradients.

Linear operations are checked against reference gradients computed with numpy alone: L = Σ G·(a@b)
is linear in a, so ∂L/∂a_k is exactly Σ G·(e_k@b) for the basis array e_k (and likewise for b);
for a concatenation, affine in each argument, it is the change of L from 0 to e_k.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine_reference import engine_vjp, numeric_jvp, numeric_vjp
from workbench import engine as ad

RNG = np.random.default_rng(11)


def _basis_gradient(fn, arrays, index, cotangent):
    """∂ Σ cotangent·fn(arrays) / ∂ arrays[index] for fn affine in that argument, numpy only:
    the change of L when that argument goes from 0 to the basis array e_k."""
    x = arrays[index]

    def loss_at(value):
        moved = list(arrays)
        moved[index] = value
        return np.sum(cotangent * fn(*moved))
    at_zero = loss_at(np.zeros(x.shape))
    out = np.zeros(x.shape)
    for flat in range(x.size):
        basis = np.zeros(x.shape)
        basis.flat[flat] = 1.0
        out.flat[flat] = loss_at(basis) - at_zero
    return out


MATMUL_SHAPES = [
    ((4,), (4,)),               # vector · vector -> scalar
    ((4,), (4, 3)),             # vector @ matrix
    ((2, 4), (4,)),             # matrix @ vector
    ((2, 4), (4, 3)),           # matrix @ matrix
    ((5, 2, 4), (4, 3)),        # batch @ matrix
    ((2, 4), (5, 4, 3)),        # matrix @ batch
    ((5, 2, 4), (5, 4, 3)),     # batch @ batch
    ((4,), (5, 4, 3)),          # vector @ batch
    ((5, 2, 4), (4,)),          # batch @ vector
    ((1, 2, 4), (5, 4, 3)),     # batch broadcast from 1
    ((6, 1, 2, 4), (5, 4, 3)),  # two batch axes broadcast against each other
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_gradients_equal_numpy_reference_in_every_combination(shape_a, shape_b):
    a, b = RNG.standard_normal(shape_a), RNG.standard_normal(shape_b)
    expected_value = np.matmul(a, b)
    cotangent = RNG.standard_normal(expected_value.shape)
    value, (grad_a, grad_b) = engine_vjp(lambda x, y: x @ y, [a, b], cotangent)
    np.testing.assert_allclose(value, expected_value, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(grad_a, _basis_gradient(np.matmul, [a, b], 0, cotangent), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_b, _basis_gradient(np.matmul, [a, b], 1, cotangent), rtol=1e-12, atol=1e-12)
    tangents = [RNG.standard_normal(shape_a), RNG.standard_normal(shape_b)]
    _, tangent = ad.jvp(ad.matmul, (a, b), tuple(tangents))
    np.testing.assert_allclose(tangent, np.matmul(tangents[0], b) + np.matmul(a, tangents[1]), rtol=1e-12)


def test_matrix_product_gradients_are_the_textbook_formulas():
    a, b, g = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)), RNG.standard_normal((3, 2))
    _, (grad_a, grad_b) = engine_vjp(ad.matmul, [a, b], g)
    np.testing.assert_allclose(grad_a, g @ b.T, rtol=1e-13)
    np.testing.assert_allclose(grad_b, a.T @ g, rtol=1e-13)


def test_dot_of_vectors_is_the_inner_product_with_both_gradients():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, -5.0, 6.0])
    value, (grad_a, grad_b) = engine_vjp(ad.dot, [a, b], np.array(2.0))
    assert value == 12.0
    np.testing.assert_array_equal(grad_a, 2 * b)
    np.testing.assert_array_equal(grad_b, 2 * a)


def _check_linear(fn, arrays):
    """Value and gradient of a linear (shape) operation against the numpy basis reference."""
    rng = np.random.default_rng(5)
    value = fn(*[ad.Tensor(a) for a in arrays]).data
    cotangent = rng.standard_normal(value.shape)
    _, grads = engine_vjp(fn, arrays, cotangent)

    def plain(*xs):
        return fn(*[ad.Tensor(x) for x in xs]).data
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad, _basis_gradient(plain, arrays, i, cotangent), rtol=1e-13, atol=1e-13)
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    np.testing.assert_allclose(ad.jvp(fn, tuple(arrays), tuple(tangents))[1], plain(*tangents), rtol=1e-13)
    return value


def test_reshape_with_inferred_axis_moves_values_and_gradients_back():
    x = np.arange(24.0).reshape(2, 3, 4)
    value = _check_linear(lambda t: t.reshape(4, -1) * np.arange(6.0), [x])
    np.testing.assert_array_equal(value, x.reshape(4, 6) * np.arange(6.0))


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)])
def test_transpose_applies_the_inverse_permutation_to_gradients(axes):
    x = RNG.standard_normal((2, 3, 4))
    value = _check_linear(lambda t: ad.transpose(t, axes=axes) * np.arange(24.0).reshape(
        np.transpose(x, axes).shape), [x])
    np.testing.assert_array_equal(value, np.transpose(x, axes) * np.arange(24.0).reshape(value.shape))


def test_T_property_is_the_matrix_transpose():
    x = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    np.testing.assert_array_equal(x.T.data, np.arange(6.0).reshape(2, 3).T)
    ad.sum(x.T * np.array([[1.0, 2.0]] * 3)).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1, 1], [2, 2, 2]])


def test_broadcast_to_sums_the_copies_in_its_gradient():
    x = np.array([[1.0], [2.0]])
    value = _check_linear(lambda t: ad.broadcast_to(t, shape=(3, 2, 4)) * np.arange(24.0).reshape(3, 2, 4), [x])
    assert value.shape == (3, 2, 4)
    t = ad.Tensor(x, requires_grad=True)
    ad.sum(t.broadcast_to((3, 2, 4))).backward()
    np.testing.assert_array_equal(t.grad, [[12.0], [12.0]])


def test_expand_dims_and_squeeze_are_reshapes_both_ways():
    x = RNG.standard_normal((2, 3))
    assert ad.expand_dims(ad.Tensor(x), 1).shape == (2, 1, 3)
    assert ad.squeeze(ad.Tensor(x[None, :, None, :])).shape == (2, 3)
    assert ad.squeeze(ad.Tensor(x[None, :, None, :]), axis=2).shape == (1, 2, 3)
    _check_linear(lambda t: ad.squeeze(ad.expand_dims(t, -1) * np.ones((1, 1, 1)), axis=-1), [x])
    t = ad.Tensor(x, requires_grad=True)
    ad.sum(t.expand_dims(0).squeeze(0) * x).backward()
    np.testing.assert_array_equal(t.grad, x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_hands_each_input_its_block_of_the_gradient(axis):
    a, b, c = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    value = _check_linear(lambda x, y, z: ad.concatenate([x, y, z], axis=axis) * 1.5, [a, b, c])
    np.testing.assert_array_equal(value, np.concatenate([a, b, c], axis=axis) * 1.5)


def test_concatenate_with_a_constant_gives_the_tensor_its_block_only():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.concatenate([np.array([10.0, 20.0, 30.0]), x])
    ad.sum(y * np.arange(5.0)).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_adds_an_axis_and_splits_the_gradient(axis):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    value = _check_linear(lambda x, y: ad.stack([x, y], axis=axis) * 2.0, [a, b])
    np.testing.assert_array_equal(value, np.stack([a, b], axis=axis) * 2.0)


# ---- indexing -----------------------------------------------------------------------------------

INDICES = [
    (slice(1, 3),),
    (slice(None, None, -1),),
    ((slice(None), 1),),
    ((Ellipsis, slice(0, 2)),),
    ((-1,),),
    ((-1, -2),),
    ((None, 0),),
    (np.array([0, 2, 0, 0]),),                     # repeated integer indices scatter-add
    ([1, 1, -1],),                                 # a list, with a negative index
    ((np.array([0, 1, 1]), np.array([2, 2, 0])),), # paired integer arrays, a repeated pair
    ((slice(None), np.array([3, 3])),),
    (np.array([[True, False, True, True], [False, False, True, False], [True, True, True, True]]),),
]


@pytest.mark.parametrize("index", [i[0] for i in INDICES], ids=[repr(i[0])[:40] for i in INDICES])
def test_indexing_gradient_scatter_adds_into_the_indexed_positions(index):
    x = RNG.standard_normal((3, 4))
    value = _check_linear(lambda t: t[index] * 3.0, [x])
    np.testing.assert_array_equal(value, x[index] * 3.0)


def test_repeated_index_accumulates_one_per_use():
    x = ad.Tensor([10.0, 20.0, 30.0], requires_grad=True)
    ad.sum(x[[0, 0, 0, 2, -1]]).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 2.0])


@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_random_basic_slices_match_numpy_with_numerical_gradients(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    index = data.draw(hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))
    cot = np.random.default_rng(0).standard_normal(np.shape(x[index]))

    def fn(t):
        return ad.sin(t[index])
    value, (grad,) = engine_vjp(fn, [x], cot)
    np.testing.assert_allclose(value, np.sin(x[index]), rtol=0, atol=0)
    np.testing.assert_allclose(grad, numeric_vjp(fn, [x], cot)[0], rtol=1e-6, atol=1e-8)
    tangent = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_allclose(ad.jvp(fn, (x,), (tangent,))[1], numeric_jvp(fn, [x], [tangent]),
                               rtol=1e-6, atol=1e-8)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_unbroadcast_sums_back_to_each_operand_shape(shapes):
    a_shape, b_shape = shapes.input_shapes
    g = np.random.default_rng(0).standard_normal(shapes.result_shape)
    for shape in (a_shape, b_shape):
        reduced = ad.unbroadcast(g, shape)
        assert np.shape(reduced) == shape
        # the adjoint of broadcasting: ⟨unbroadcast(g), v⟩ = ⟨g, broadcast(v)⟩ for every v
        v = np.random.default_rng(1).standard_normal(shape)
        np.testing.assert_allclose(np.sum(reduced * v), np.sum(g * np.broadcast_to(v, g.shape)), rtol=1e-12)


def test_second_derivatives_flow_through_every_shape_operation():
    def f(x):
        m = ad.reshape(x[np.array([0, 1, 1, 2, 3, 5])], shape=(2, 3))          # repeated index
        a = ad.stack([m, m * m], axis=0)                                         # (2, 2, 3)
        b = ad.concatenate([a @ ad.transpose(m), ad.expand_dims(m[:, :2], 0)], axis=0)   # (3, 2, 2)
        c = ad.broadcast_to(ad.sum(b, axis=0, keepdims=True), shape=(2, 2, 2))
        return ad.sum(ad.sin(ad.squeeze(c[:1], axis=0)) * ad.dot(m[0], m[1]))
    x = np.array([0.3, -0.4, 0.8, 0.1, 9.0, -0.6])
    hess = ad.hessian(f)(x)
    expected = np.stack([numeric_vjp(lambda t, k=k: ad.grad(f)(t.data)[k], [x], np.array(1.0))[0]
                         for k in range(x.size)])
    np.testing.assert_allclose(hess, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)
    assert np.all(hess[4] == 0.0), "x[4] is never used"
    np.testing.assert_allclose(ad.hessian(f)(ad.Tensor(x)).data, hess, rtol=1e-12, atol=1e-13)
