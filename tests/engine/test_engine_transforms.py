"""The paper's example, closed forms of composites, and the transforms (grad, jacobian, hessian,
hvp, jvp) against analytic answers; higher order; idempotence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess, rosen_hess_prod

from engine_reference import numeric_grad
from workbench import engine as ad

RNG = np.random.default_rng(21)


# ---- Fang et al. (2024): f(x1, x2) = ln x1 + x1·x2 − sin x2 at (2, 5) ----------------------------

def paper_f(x1, x2):
    return ad.log(x1) + x1 * x2 - ad.sin(x2)


def test_paper_example_value_and_partials_exactly():
    x1, x2 = ad.Tensor(2.0, requires_grad=True), ad.Tensor(5.0, requires_grad=True)
    y = paper_f(x1, x2)
    y.backward()
    assert abs(y.item() - 11.652071455223084) <= 1e-15
    assert abs(float(x1.grad) - 5.5) <= 1e-15                    # 1/x1 + x2
    assert abs(float(x2.grad) - 1.7163378145367738) <= 1e-15     # x1 − cos x2


def test_paper_example_through_transforms_and_forward_mode():
    value, (d1, d2) = ad.value_and_grad(paper_f, argnums=(0, 1))(2.0, 5.0)
    assert abs(value - 11.652071455223084) <= 1e-15
    assert abs(d1 - 5.5) <= 1e-15 and abs(d2 - 1.7163378145367738) <= 1e-15
    _, t1 = ad.jvp(paper_f, (2.0, 5.0), (1.0, 0.0))
    _, t2 = ad.jvp(paper_f, (2.0, 5.0), (0.0, 1.0))
    assert abs(t1 - 5.5) <= 1e-15 and abs(t2 - 1.7163378145367738) <= 1e-15


# ---- composites against their closed forms -------------------------------------------------------

X = RNG.standard_normal((3, 5))
G = RNG.standard_normal((3, 5))


def _grad_of(fn, x, cotangent):
    t = ad.Tensor(x, requires_grad=True)
    out = fn(t)
    out.backward(np.broadcast_to(cotangent, out.shape).copy())
    return out.data, t.grad


def test_softmax_value_and_jacobian_closed_form():
    s = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    value, grad = _grad_of(lambda t: ad.softmax(t, axis=1), X, G)
    np.testing.assert_allclose(value, s, rtol=1e-14)
    # J = diag(s) − s sᵀ, so Jᵀg = s ⊙ (g − ⟨g, s⟩)
    np.testing.assert_allclose(grad, s * (G - np.sum(G * s, axis=1, keepdims=True)), rtol=1e-12, atol=1e-15)


def test_log_softmax_value_and_gradient_closed_form():
    s = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    value, grad = _grad_of(lambda t: ad.log_softmax(t, axis=1), X, G)
    np.testing.assert_allclose(value, np.log(s), rtol=1e-14)
    np.testing.assert_allclose(grad, G - s * G.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-15)


def test_logsumexp_gradient_is_softmax():
    value, grad = _grad_of(lambda t: ad.logsumexp(t, axis=0), X, G[0])
    np.testing.assert_allclose(value, np.log(np.exp(X).sum(axis=0)), rtol=1e-14)
    np.testing.assert_allclose(grad, G[0] * np.exp(X) / np.exp(X).sum(axis=0), rtol=1e-12)


def test_mean_var_std_gradients_closed_forms():
    n = X.size
    _, grad = _grad_of(ad.mean, X, 1.0)
    np.testing.assert_allclose(grad, np.full(X.shape, 1 / n), rtol=1e-15)
    _, grad = _grad_of(ad.var, X, 1.0)
    np.testing.assert_allclose(grad, 2 * (X - X.mean()) / n, rtol=1e-12)
    value, grad = _grad_of(lambda t: ad.std(t, ddof=1), X, 1.0)
    np.testing.assert_allclose(value, np.std(X, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(grad, (X - X.mean()) / ((n - 1) * np.std(X, ddof=1)), rtol=1e-12)


def test_prod_gradient_is_product_of_the_others_even_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [1.5, -2.0, 4.0]])
    _, grad = _grad_of(lambda t: ad.prod(t, axis=1), x, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(grad, [[0.0, 6.0, 0.0], [-8.0, 6.0, -3.0]])


# ---- Hessians -------------------------------------------------------------------------------------

def test_hessian_of_quadratic_is_its_matrix_and_gradient_is_affine():
    m = RNG.standard_normal((4, 4))
    a = m @ m.T + 4 * np.eye(4)
    b = RNG.standard_normal(4)
    x = RNG.standard_normal(4)

    def quadratic(t):
        return 0.5 * (t @ (a @ t)) + b @ t
    np.testing.assert_allclose(ad.grad(quadratic)(x), a @ x + b, rtol=1e-13)
    np.testing.assert_allclose(ad.hessian(quadratic)(x), a, rtol=1e-13, atol=1e-13)
    asym = RNG.standard_normal((3, 3))
    np.testing.assert_allclose(ad.hessian(lambda t: 0.5 * (t @ (asym @ t)))(x[:3]), (asym + asym.T) / 2,
                               rtol=1e-13, atol=1e-14)


def rosenbrock(t):
    return ad.sum(100.0 * (t[1:] - t[:-1] ** 2) ** 2 + (1.0 - t[:-1]) ** 2)


def test_rosenbrock_value_gradient_and_hessian_against_analytic():
    x = np.array([-1.2, 1.0, 0.3, 2.0, -0.7])
    value, gradient = ad.value_and_grad(rosenbrock)(x)
    np.testing.assert_allclose(value, rosen(x), rtol=1e-14)
    np.testing.assert_allclose(gradient, rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(ad.hessian(rosenbrock)(x), rosen_hess(x), rtol=1e-13, atol=1e-12)
    x2 = np.array([-1.2, 1.0])   # the classic start: H = [[1200x²−400y+2, −400x], [−400x, 200]]
    np.testing.assert_allclose(ad.hessian(rosenbrock)(x2), [[1330.0, 480.0], [480.0, 200.0]], rtol=1e-14)


def test_hvp_equals_hessian_times_vector_both_ways():
    x, v = np.array([-1.2, 1.0, 0.3, 2.0, -0.7]), RNG.standard_normal(5)
    expected = rosen_hess_prod(x, v)
    np.testing.assert_allclose(ad.hvp(rosenbrock)(x, v), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.hessian(rosenbrock)(x) @ v, expected, rtol=1e-12)
    as_tensor = ad.hvp(rosenbrock)(ad.Tensor(x), v)        # reverse-over-reverse, differentiable
    assert isinstance(as_tensor, ad.Tensor)
    np.testing.assert_allclose(as_tensor.data, expected, rtol=1e-12)


# ---- Jacobians and forward mode -------------------------------------------------------------------

def vector_function(t):
    return ad.concatenate([ad.sin(t) * t[0], ad.exp(t[1:]) / (1.0 + t[0] ** 2), ad.sum(t * t, keepdims=True)])


def _numeric_jacobian(fn, x):
    out_size = fn(ad.Tensor(x)).size
    rows = [numeric_grad(lambda xs, k=k: float(fn(ad.Tensor(xs[0])).data[k]), [x], 0) for k in range(out_size)]
    return np.stack(rows)


def test_jvp_equals_jacobian_times_vector():
    x, v = RNG.standard_normal(3), RNG.standard_normal(3)
    jac = ad.jacobian(vector_function)(x)
    assert jac.shape == (6, 3)
    np.testing.assert_allclose(jac, _numeric_jacobian(vector_function, x), rtol=1e-8, atol=1e-10)
    value, tangent = ad.jvp(vector_function, (x,), (v,))
    np.testing.assert_allclose(value, vector_function(ad.Tensor(x)).data, rtol=0)
    np.testing.assert_allclose(tangent, jac @ v, rtol=1e-13, atol=1e-14)


def test_jacobian_forward_and_reverse_modes_agree():
    x = RNG.standard_normal(3)
    forward = ad.jacobian(vector_function, mode="forward")(x)
    reverse = ad.jacobian(vector_function, mode="reverse")(x)
    np.testing.assert_allclose(forward, reverse, rtol=1e-13, atol=1e-14)
    wide = ad.jacobian(lambda t: ad.tanh(t[:2] * ad.sum(t)))(RNG.standard_normal(7))   # reverse chosen
    assert wide.shape == (2, 7)


def test_jacobian_of_a_row_wise_model_matches_the_analytic_one():
    rows = np.linspace(0.0, 2.0, 500)
    params = np.array([1.5, -0.7, 0.3])

    def residuals(p):
        return p[0] * ad.exp(p[1] * rows) + p[2] - np.sin(rows)
    jac = ad.jacobian(residuals)(params)
    expected = np.stack([np.exp(params[1] * rows), params[0] * rows * np.exp(params[1] * rows),
                         np.ones_like(rows)], axis=1)
    np.testing.assert_allclose(jac, expected, rtol=1e-14, atol=1e-15)
    value, (jac_p,) = ad.forward_jacobians(residuals, [params])
    np.testing.assert_allclose(jac_p, expected, rtol=1e-14, atol=1e-15)


# ---- higher order -----------------------------------------------------------------------------------

def test_second_and_third_derivatives_of_x_cubed_sin_x():
    def f(x):
        return x ** 3 * ad.sin(x)
    x = 1.3
    s, c = math.sin(x), math.cos(x)
    assert ad.grad(f)(x) == pytest.approx(3 * x**2 * s + x**3 * c, rel=1e-14)
    second = 6 * x * s + 6 * x**2 * c - x**3 * s
    assert ad.grad(ad.grad(f))(x) == pytest.approx(second, rel=1e-13)
    third = 6 * s + 18 * x * c - 9 * x**2 * s - x**3 * c
    assert ad.grad(ad.grad(ad.grad(f)))(x) == pytest.approx(third, rel=1e-12)


def test_create_graph_leaves_a_differentiable_tensor_in_grad():
    x = ad.Tensor(1.3, requires_grad=True)
    y = x ** 3 * ad.sin(x)
    y.backward(create_graph=True)
    assert isinstance(x.grad, ad.Tensor) and x.grad.requires_grad
    first = x.grad
    x.zero_grad()
    first.backward()
    s, c = math.sin(1.3), math.cos(1.3)
    assert float(x.grad) == pytest.approx(6 * 1.3 * s + 6 * 1.3**2 * c - 1.3**3 * s, rel=1e-13)


def test_gradient_of_a_gradient_norm_mixed_partials():
    def f(t):
        return ad.sum(ad.exp(t[0] * t[1]) + t[0] ** 2 * t[1])
    x = np.array([0.4, -0.9])
    # ∇‖∇f‖²/2 = H ∇f
    hess, grad = ad.hessian(f)(x), ad.grad(f)(x)
    via_grad = ad.grad(lambda t: 0.5 * ad.sum(ad.grad(f)(t) ** 2))(x)
    np.testing.assert_allclose(via_grad, hess @ grad, rtol=1e-13)


# ---- idempotence -------------------------------------------------------------------------------------

def test_transforms_are_idempotent_and_leave_grad_untouched():
    x_array = np.array([0.3, -1.1, 2.0])
    x = ad.Tensor(x_array, requires_grad=True)
    calls = {
        "grad": lambda arg: ad.grad(rosenbrock)(arg),
        "value_and_grad": lambda arg: ad.value_and_grad(rosenbrock)(arg)[1],
        "jacobian": lambda arg: ad.jacobian(rosenbrock)(arg),
        "hessian": lambda arg: ad.hessian(rosenbrock)(arg),
        "hvp": lambda arg: ad.hvp(rosenbrock)(arg, x_array),
    }
    expected_hessian = rosen_hess(x_array)
    for name, call in calls.items():
        first, second = call(x_array), call(x_array)
        assert isinstance(first, np.ndarray), name
        np.testing.assert_array_equal(first, second)
        on_tensor = [call(x), call(x)]
        assert all(isinstance(r, ad.Tensor) for r in on_tensor), name
        np.testing.assert_array_equal(on_tensor[0].data, on_tensor[1].data)
        np.testing.assert_allclose(on_tensor[0].data, first, rtol=1e-13)
        assert x.grad is None, f"{name} accumulated into .grad"
    np.testing.assert_allclose(calls["hessian"](x_array), expected_hessian, rtol=1e-13)


def test_grad_with_several_argnums_and_negative_index():
    def f(a, b, c):
        return ad.sum(a * b ** 2 + c)
    a, b, c = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 0.5])
    ga, gb = ad.grad(f, argnums=(0, 1))(a, b, c)
    np.testing.assert_array_equal(ga, b ** 2)
    np.testing.assert_array_equal(gb, 2 * a * b)
    np.testing.assert_array_equal(ad.grad(f, argnums=-1)(a, b, c), [1.0, 1.0])


def test_gradients_returned_to_different_arguments_are_separate_writable_arrays():
    ga, gb = ad.grad(lambda a, b: ad.sum(a + b), argnums=(0, 1))(np.ones(3), np.ones(3))
    ga *= 2.0           # an optimizer updating in place must not change the other gradient
    np.testing.assert_array_equal(gb, [1.0, 1.0, 1.0])


def test_grad_of_a_function_independent_of_its_argument_is_zero():
    np.testing.assert_array_equal(ad.grad(lambda t: ad.sum(ad.Tensor([1.0, 2.0])) + 0.0 * 0)(np.ones(2)),
                                  [0.0, 0.0])
