"""Checks for the exercises of docs/learn: each test names the behaviour the step builds."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

from workbench import engine as ad

PAPER_DX1, PAPER_DX2, PAPER_VALUE = 5.5, 1.7163378145367738, 11.652071455223084


def test_step1_scalar_reverse_mode_reproduces_the_paper(step):
    Value = step(1).Value
    x1, x2 = Value(2.0), Value(5.0)
    y = x1.log() + x1 * x2 - x2.sin()
    y.backward()
    assert (y.data, x1.grad, x2.grad) == (PAPER_VALUE, PAPER_DX1, PAPER_DX2)


def test_step1_exercise_exp_pow_div_relu(step):
    Value = step(1).Value
    x = Value(0.7)
    y = (x ** 3).exp() / (1.0 + x) + (x - 1.0).relu() + (2.0 - x).relu()
    y.backward()
    expected = (3 * 0.49 * math.exp(0.343) * 1.7 - math.exp(0.343)) / 1.7 ** 2 - 1.0
    assert y.data == pytest.approx(math.exp(0.343) / 1.7 + 1.3, rel=1e-14)
    assert x.grad == pytest.approx(expected, rel=1e-12)


def test_step2_dual_numbers_carry_the_papers_tangents(step):
    module = step(2)
    Dual = module.Dual
    along_x1 = module.paper_function(Dual(2.0, 1.0), Dual(5.0, 0.0))
    along_x2 = module.paper_function(Dual(2.0, 0.0), Dual(5.0, 1.0))
    assert along_x1.value == PAPER_VALUE and along_x1.tangent == PAPER_DX1
    assert along_x2.tangent == pytest.approx(PAPER_DX2, rel=1e-15)


def test_step3_order_without_recursion_handles_a_deep_chain_and_shared_inputs(step):
    Value, module = step(1).Value, step(3)
    x = Value(1.0)
    y = x
    for _ in range(50_000):
        y = y * 1.0 + 0.0
    order = module.topological_order(y)
    assert order[0] is x and order[-1] is y and len(order) == len({id(n) for n in order})
    position = {id(n): k for k, n in enumerate(order)}
    assert all(position[id(p)] < position[id(n)] for n in order for p in n.parents)
    z = Value(3.0)
    module.backward(z * z + z)
    assert z.grad == 7.0


@pytest.mark.parametrize("g_shape, shape", [((4, 3), (3,)), ((4, 3), (4, 1)), ((2, 4, 3), (1, 3)),
                                            ((4, 3), ()), ((4, 3), (4, 3))])
def test_step4_unbroadcast_sums_what_broadcasting_copied(step, g_shape, shape):
    g = np.arange(np.prod(g_shape), dtype=float).reshape(g_shape)
    got = step(4).unbroadcast(g, shape)
    assert np.shape(got) == shape
    np.testing.assert_array_equal(got, ad.unbroadcast(g, shape))


def test_step5_backward_frees_intermediates_and_refuses_a_second_pass(step):
    Value, module = step(1).Value, step(5)
    x = Value(2.0)
    h = x * 3.0
    y = h.sin() * h
    watcher = weakref.ref(h)
    del h
    module.backward(y)
    gc.collect()
    assert watcher() is None and x.grad == pytest.approx(3 * (math.cos(6) * 6 + math.sin(6)), rel=1e-14)
    with pytest.raises(module.GraphReleased):
        module.backward(y)
    kept = Value(1.5)
    z = kept * kept
    module.backward(z, retain_graph=True)
    module.backward(z)
    assert kept.grad == 6.0


def test_step6_second_derivatives_and_hessian_vector_products(step):
    module = step(6)
    x = 0.4
    assert module.second_derivative(ad.tanh, x) == pytest.approx(-2 * np.tanh(x) * (1 - np.tanh(x) ** 2), rel=1e-13)

    def rosenbrock(p):
        return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2
    p, v = np.array([0.5, -0.3]), np.array([1.0, 2.0])
    np.testing.assert_allclose(module.hvp(rosenbrock, p, v), ad.hessian(rosenbrock)(p) @ v, rtol=1e-13)


def test_step7_a_primitive_of_your_own_passes_the_engines_checks(step):
    softsign = step(7).softsign
    x = np.array([-2.0, -0.3, 0.4, 3.0])
    np.testing.assert_allclose(softsign(x), x / (1 + np.abs(x)), rtol=1e-15)
    report = ad.gradcheck(lambda v: ad.sum(softsign(v) * v), x, per_node=True)
    assert report.passed and "softsign" in {c.primitive for c in report.nodes.checks}
    t = ad.Tensor(0.5, requires_grad=True, name="t")
    assert ad.trace(softsign(t), mode="forward", wrt=t).tangents["v1"] == pytest.approx(1 / 1.5 ** 2, rel=1e-15)


def test_step8_micrograds_readme_expression_prints_its_numbers(step):
    g, a, b = step(8).readme_expression()
    assert (f"{g.item():.4f}", f"{a.grad:.4f}", f"{b.grad:.4f}") == ("24.7041", "138.8338", "645.5773")
    assert type(a.grad) is float


def _scalar_mlp_loss(Value, layers, X, y, alpha=1e-4):
    """micrograd's own formulation, neuron by neuron on scalar Values."""
    params = [([[Value(w) for w in column] for column in W.T], [Value(v) for v in b]) for W, b in layers]
    losses = []
    for xi, yi in zip(X, y):
        h = [Value(v) for v in xi]
        for k, (neurons, biases) in enumerate(params):
            h = [sum((w * x for w, x in zip(weights, h)), bias) for weights, bias in zip(neurons, biases)]
            if k < len(params) - 1:
                h = [v.relu() for v in h]
        losses.append((1.0 + -yi * h[0]).relu())
    data_loss = sum(losses, Value(0.0)) * (1.0 / len(losses))
    reg = sum((p * p for neurons, biases in params for p in [w for ws in neurons for w in ws] + biases), Value(0.0))
    total = data_loss + alpha * reg
    total.backward()
    first_weight = params[0][0][0][0]
    return total.data, first_weight.grad


def test_step8_the_mlp_matches_micrograds_scalar_formulation_and_learns_the_moons(step):
    module = step(8)
    X, y = module.moons()
    layers = module.micrograd_weights()
    params = [(ad.Tensor(W, requires_grad=True), ad.Tensor(b, requires_grad=True)) for W, b in layers]
    total, _ = module.loss_and_accuracy(params, X[:20], y[:20])
    total.backward()
    scalar_loss, scalar_grad = _scalar_mlp_loss(step(1).Value, layers, X[:20], y[:20])
    assert total.item() == pytest.approx(scalar_loss, rel=1e-12)
    assert params[0][0].grad[0, 0] == pytest.approx(scalar_grad, rel=1e-10, abs=1e-15)
    history = module.train(X, y, report=None)
    assert history[0][1] == 0.5 and history[-1] == (pytest.approx(0.012049, abs=5e-7), 1.0)
