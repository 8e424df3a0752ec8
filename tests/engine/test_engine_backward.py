"""The backward pass: deep chains, accumulation (diamonds), memory release, no_grad, checkpoint."""

from __future__ import annotations

import gc
import time
import tracemalloc
import weakref

import numpy as np
import pytest

from workbench import engine as ad


def _chain(x, n: int):
    y = x
    for _ in range(n):
        y = y * 1.00001
    return y


def _timed_chain(n: int) -> tuple[float, float]:
    """(seconds for forward + backward of an n-op chain, the gradient); the cyclic garbage
    collector is paused so that its sweeps over a growing heap are not charged to the engine."""
    x = ad.Tensor(1.0, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        y = _chain(x, n)
        y.backward()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, float(x.grad)


def test_chain_of_100000_operations_backpropagates_in_linear_time():
    t_small = min(_timed_chain(10_000)[0] for _ in range(3))
    t_large, grad = _timed_chain(100_000)
    assert grad == pytest.approx(1.00001 ** 100_000, rel=1e-9)
    # linear growth gives a ratio of 10; a quadratic pass would give 100
    assert t_large / t_small < 30, (t_small, t_large)


def test_a_deep_chain_can_be_dropped_without_backward():
    x = ad.Tensor(1.0, requires_grad=True)
    y = _chain(x, 100_000)
    marker = weakref.ref(y)
    del y
    gc.collect()
    assert marker() is None


def test_diamond_accumulates_every_path():
    x = ad.Tensor(3.0, requires_grad=True)
    a = x * 2.0          # 6
    b = ad.exp(a) * a    # uses a twice
    c = b + a * x        # uses a and x again
    c.backward()
    # dc/dx = (e^a + e^a·a)·2 + (2x + a)   with a = 2x
    expected = (np.exp(6.0) * (1 + 6.0)) * 2 + (2 * 3.0 + 6.0)
    assert float(x.grad) == pytest.approx(expected, rel=1e-14)


def test_a_value_used_many_times_gets_the_sum_of_its_uses():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    total = x
    for k in range(1, 50):
        total = total + x * float(k)
    ad.sum(total).backward()
    np.testing.assert_array_equal(x.grad, [1.0 + sum(range(1, 50))] * 2)


def test_x_times_x_counts_both_operands():
    x = ad.Tensor([3.0], requires_grad=True)
    ad.sum(x * x).backward()
    np.testing.assert_array_equal(x.grad, [6.0])


def test_backward_order_is_deterministic_inputs_before_outputs():
    x = ad.Tensor(1.0, requires_grad=True)
    a, b = ad.sin(x), ad.cos(x)
    y = a * b + a
    order = [t._node.prim.name if t._node else "leaf" for t in ad.topological_order(y)]
    assert order == [t._node.prim.name if t._node else "leaf" for t in ad.topological_order(y)]
    assert order[0] == "add" and order[-1] == "leaf"
    assert order.index("mul") < order.index("sin") and order.index("mul") < order.index("cos")


# ---- memory ------------------------------------------------------------------------------------------

def test_intermediate_is_freed_after_backward_once_the_user_drops_it():
    x = ad.Tensor(np.ones(1000), requires_grad=True)
    h = ad.exp(x) * 2.0
    y = ad.sum(ad.sin(h))
    ref = weakref.ref(h)
    del h
    assert ref() is not None, "before backward the graph keeps the intermediate"
    y.backward()
    gc.collect()
    assert ref() is None
    np.testing.assert_allclose(x.grad, np.cos(2 * np.e) * 2 * np.e, rtol=1e-14)


def test_retain_graph_keeps_the_intermediate_and_allows_a_second_backward():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    h = ad.exp(x)
    y = ad.sum(h * h)
    ref = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * np.exp(2.0) * np.ones(3), rtol=1e-14)


def test_second_backward_on_a_released_graph_is_an_engine_error():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    y = ad.sum(ad.exp(x))
    y.backward()
    with pytest.raises(ad.EngineError, match=r"backward.*sum.*released.*retain_graph"):
        y.backward()


def test_backward_through_a_shared_part_released_by_another_output_is_an_engine_error():
    x = ad.Tensor(np.ones(3), requires_grad=True)
    h = ad.exp(x)
    y1, y2 = ad.sum(h), ad.sum(h * 2.0)
    y1.backward()
    with pytest.raises(ad.EngineError, match="exp.*released"):
        y2.backward()


def _gradient_steps(n_steps: int, params: np.ndarray, data: np.ndarray, targets: np.ndarray):
    """Plain gradient descent on a tiny tanh model: a fresh graph every step, as an optimizer makes."""
    for _ in range(n_steps):
        w = ad.Tensor(params, requires_grad=True)
        loss = ad.sum((ad.tanh(data @ w) - targets) ** 2)
        loss.backward()
        params = params - 0.01 * w.grad
    return params, loss.item()


def _traced_window(n_steps, params, data, targets):
    """(params, loss, growth of traced memory over the window, peak above the start)."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        params, loss = _gradient_steps(n_steps, params, data, targets)
        gc.collect()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return params, loss, end - start, peak - start


def test_memory_stays_flat_across_10000_optimizer_steps():
    # tracemalloc triples the cost of each step, so it watches the first and the last 1000 of the
    # 10,000 steps; a leak (a graph kept alive, a gradient accumulating somewhere) grows in both
    # windows, and the object count catches one in the untraced middle as well
    rng = np.random.default_rng(0)
    data, targets = rng.standard_normal((20, 3)), np.tanh(rng.standard_normal(20))
    params, first_loss = _gradient_steps(50, np.zeros(3), data, targets)
    gc.collect()
    objects_before = len(gc.get_objects())
    params, _, growth_first, peak_first = _traced_window(1000, params, data, targets)
    params, _ = _gradient_steps(7950, params, data, targets)
    params, last_loss, growth_last, peak_last = _traced_window(1000, params, data, targets)
    gc.collect()
    objects_after = len(gc.get_objects())
    assert last_loss < first_loss, "the steps must actually optimize something"
    assert growth_first < 4_000 and growth_last < 4_000, (growth_first, growth_last)
    assert peak_last <= peak_first + 4_000, (peak_first, peak_last)
    assert objects_after - objects_before < 100, (objects_before, objects_after)


def test_no_grad_records_nothing_and_restores_recording():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with ad.no_grad():
        y = ad.exp(x) * x
        assert not ad.is_recording()
        with ad.enable_grad():
            z = ad.sin(x)
    assert ad.is_recording()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and z._node is not None
    with pytest.raises(ad.EngineError, match="does not require"):
        ad.sum(y).backward()


def test_no_grad_as_decorator():
    @ad.no_grad()
    def evaluate(t):
        return ad.sum(t * t)
    out = evaluate(ad.Tensor([1.0], requires_grad=True))
    assert not out.requires_grad and out.item() == 1.0


# ---- checkpoint -----------------------------------------------------------------------------------

def _segment(x):
    for k in range(12):
        x = ad.sin(x) * 1.1 + 0.01 * k
    return x


def _loss_and_peak(x_data, use_checkpoint: bool):
    x = ad.Tensor(x_data, requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        h = x
        for _ in range(4):
            h = ad.checkpoint(_segment)(h) if use_checkpoint else _segment(h)
        loss = ad.sum(h)
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return loss.item(), x.grad, peak


def test_checkpoint_gives_the_same_gradients_with_a_lower_peak_memory():
    x_data = np.linspace(-1.0, 1.0, 20_000)
    plain_loss, plain_grad, plain_peak = _loss_and_peak(x_data, use_checkpoint=False)
    ckpt_loss, ckpt_grad, ckpt_peak = _loss_and_peak(x_data, use_checkpoint=True)
    assert ckpt_loss == plain_loss
    np.testing.assert_allclose(ckpt_grad, plain_grad, rtol=1e-13, atol=0)
    # 4 × 12 × (stored 160 kB arrays) without; with, the 4 segment inputs and one segment at a time
    assert ckpt_peak < 0.5 * plain_peak, (ckpt_peak, plain_peak)


def test_checkpoint_supports_second_derivatives_and_forward_mode():
    def f(t):
        return ad.sum(ad.checkpoint(_segment)(t) ** 2)

    def plain(t):
        return ad.sum(_segment(t) ** 2)
    x, v = np.array([0.2, -0.4, 0.9]), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.grad(f)(x), ad.grad(plain)(x), rtol=1e-13)
    np.testing.assert_allclose(ad.hessian(f)(x), ad.hessian(plain)(x), rtol=1e-12)
    np.testing.assert_allclose(ad.jvp(f, (x,), (v,))[1], ad.jvp(plain, (x,), (v,))[1], rtol=1e-13)
    np.testing.assert_allclose(ad.hvp(f)(x, v), ad.hvp(plain)(x, v), rtol=1e-12)


def test_checkpoint_with_several_inputs_and_a_constant():
    def f(a, b, c):
        return ad.exp(a * b) + c

    a, b = ad.Tensor([0.5, 1.0], requires_grad=True), ad.Tensor([2.0, -1.0], requires_grad=True)
    ad.sum(ad.checkpoint(f)(a, b, np.array([1.0, 1.0]))).backward()
    np.testing.assert_allclose(a.grad, [2.0 * np.exp(1.0), -np.exp(-1.0)], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [0.5 * np.exp(1.0), np.exp(-1.0)], rtol=1e-15)
