"""Recorded tapes (``ad.record``): a replay gives exactly the ordinary path's numbers.

Each function is recorded at one point and replayed at others, and the value and gradient are
compared bit for bit (``assert_array_equal``) with ``ad.value_and_grad`` at the same point: the
tape runs the same rules in the same order, so nothing may differ, not even rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench import engine as ad
from workbench.engine import tape as tape_module
from workbench.engine.errors import EngineError

RNG = np.random.default_rng(11)
THURBER = np.loadtxt(Path(__file__).resolve().parents[2] / "data" / "nist" / "Thurber.csv",
                     delimiter=",", skiprows=1)
X_ROWS, Y_ROWS = THURBER[:, 0], THURBER[:, 1]


@pytest.fixture(autouse=True, params=["free-all", "free-large"])
def freeing(request, monkeypatch):
    """Run every test with every dropped value dropped, and with the default size threshold."""
    if request.param == "free-all":
        monkeypatch.setattr(tape_module, "FREE_AT_SIZE", 0)
    return request.param


def thurber_loss(b1, b2, b3, b4, b5, b6, b7):
    x = X_ROWS
    r = (b1 + b2 * x + b3 * x ** 2 + b4 * x ** 3) / (1 + b5 * x + b6 * x ** 2 + b7 * x ** 3) - Y_ROWS
    return ad.sum(r * r)


def thurber_residuals(b1, b2, b3, b4, b5, b6, b7):
    x = X_ROWS
    return (b1 + b2 * x + b3 * x ** 2 + b4 * x ** 3) / (1 + b5 * x + b6 * x ** 2 + b7 * x ** 3) - Y_ROWS


MLP_X = RNG.standard_normal((30, 4))
MLP_Y = RNG.standard_normal((30, 1))


def mlp_loss(W1, b1, W2, b2):
    hidden = ad.tanh(MLP_X @ W1 + b1)
    r = hidden @ W2 + b2 - MLP_Y
    return ad.mean(r * r)


def reductions(x):
    rows = ad.logsumexp(x, axis=1) + ad.max(x, axis=1) - ad.min(x, axis=1) + ad.std(x, axis=1)
    return ad.sum(rows * ad.softmax(x, axis=1)[:, 0]) + ad.prod(x[0] * 0.5 + 1.0) + ad.var(x)


def indexing(x):
    picked = x[np.array([0, 2, 2, 5])]            # repeated indices: gradients add up
    window = x[1:4] * x[::2][:3]
    stacked = ad.stack([picked[:3], window], axis=0)
    return ad.sum(ad.concatenate([stacked.reshape(-1), x[-1:] ** 2]) * np.arange(7.0))


def kinks(x, y):
    """Rules whose derivative depends on the value: replays recompute their masks."""
    return ad.sum(ad.relu(x) + ad.abs(y) * ad.maximum(x, y) + ad.clip(x * y, -0.5, 0.5))


def assert_same(tape_result, graph_result):
    tape_value, tape_grads = tape_result
    graph_value, graph_grads = graph_result
    assert tape_value == graph_value
    if not isinstance(graph_grads, tuple):
        tape_grads, graph_grads = (tape_grads,), (graph_grads,)
    assert len(tape_grads) == len(graph_grads)
    for mine, theirs in zip(tape_grads, graph_grads):
        assert mine.shape == theirs.shape
        np.testing.assert_array_equal(mine, theirs)


THURBER_START = (1000.0, 1000.0, 400.0, 40.0, 0.7, 0.3, 0.03)
THURBER_CERTIFIED = (1288.13968, 1491.0792535, 583.23836877, 75.416644291, 0.96629502864,
                     0.39797285797, 0.049727297349)


def test_formula_model_replays_bit_for_bit_at_points_other_than_the_recorded_one():
    nums = tuple(range(7))
    tape = ad.record(thurber_loss, *THURBER_START, argnums=nums)
    for point in (THURBER_START, THURBER_CERTIFIED, tuple(1.1 * v for v in THURBER_CERTIFIED)):
        assert_same(tape.value_and_grad(*point), ad.value_and_grad(thurber_loss, nums)(*point))
    assert tape.value_and_grad(*THURBER_CERTIFIED)[0] == pytest.approx(5642.7082397, rel=1e-9)


def test_mlp_replays_bit_for_bit_with_broadcast_biases():
    params = [RNG.standard_normal(s) for s in [(4, 8), (8,), (8, 1), (1,)]]
    nums = (0, 1, 2, 3)
    tape = ad.record(mlp_loss, *params, argnums=nums)
    moved = [p + 0.3 * RNG.standard_normal(p.shape) for p in params]
    assert_same(tape.value_and_grad(*moved), ad.value_and_grad(mlp_loss, nums)(*moved))


@pytest.mark.parametrize("fn, shape", [(reductions, (3, 5)), (indexing, (6,))])
def test_reductions_and_indexing_replay_bit_for_bit(fn, shape):
    tape = ad.record(fn, RNG.standard_normal(shape) + 2.0)
    x = RNG.standard_normal(shape) + 2.0
    assert_same(tape.value_and_grad(x), ad.value_and_grad(fn)(x))


def test_value_dependent_masks_are_recomputed_on_replay():
    x0, y0 = np.array([1.0, -2.0, 0.3]), np.array([-1.0, 0.5, 2.0])
    tape = ad.record(kinks, x0, y0, argnums=(0, 1))
    x1, y1 = -x0, -y0                      # every sign flips: every mask changes
    assert_same(tape.value_and_grad(x1, y1), ad.value_and_grad(kinks, (0, 1))(x1, y1))


def test_forward_replay_is_the_function_value():
    tape = ad.record(thurber_residuals, *THURBER_START, argnums=tuple(range(7)))
    replayed = tape.forward(*THURBER_CERTIFIED)
    np.testing.assert_array_equal(replayed, thurber_residuals(*[ad.Tensor(v) for v in THURBER_CERTIFIED]).data)
    assert replayed.shape == (37,)


def test_jacobian_forward_equals_ad_jacobian_for_every_parameter():
    nums = tuple(range(7))
    tape = ad.record(thurber_residuals, *THURBER_START, argnums=nums)
    value, jacobians = tape.jacobian_forward(*THURBER_CERTIFIED)
    assert len(jacobians) == 7
    np.testing.assert_array_equal(value, tape.forward(*THURBER_CERTIFIED))
    for i, jac in enumerate(jacobians):
        expected = ad.jacobian(thurber_residuals, argnums=i)(*THURBER_CERTIFIED)
        assert jac.shape == (37,)
        np.testing.assert_allclose(jac, expected, rtol=1e-13, atol=0)
    assert tape.verify(*THURBER_CERTIFIED)     # value and Jacobian against the ordinary path


def test_jacobian_forward_of_a_vector_argument_has_the_jacobian_shape():
    def f(x):
        return ad.tanh(x[:, None] * x[None, :]).reshape(-1)[:5] * 2.0
    x = RNG.standard_normal(3)
    tape = ad.record(f, x)
    value, jac = tape.jacobian_forward(x)
    assert jac.shape == (5, 3)
    np.testing.assert_allclose(jac, ad.jacobian(f, mode="reverse")(x), rtol=1e-13, atol=1e-15)


def test_vjp_pullback_gives_each_row_of_the_jacobian():
    x = RNG.standard_normal(4)
    tape = ad.record(lambda v: ad.exp(v) * ad.sum(v * v), x)
    out, pullback = tape.vjp(x)
    jac = ad.jacobian(lambda v: ad.exp(v) * ad.sum(v * v), mode="reverse")(x)
    for k in range(4):
        seed = np.zeros(4)
        seed[k] = 1.0
        np.testing.assert_allclose(pullback(seed), jac[k], rtol=1e-14)
    with pytest.raises(EngineError, match=r"seed has shape \(3,\)"):
        pullback(np.ones(3))


def test_non_differentiated_arguments_are_replaceable_data():
    def loss(w, X, y):
        z = X @ w
        return ad.mean(ad.softplus(z) - y * z)
    X, y, w = RNG.standard_normal((20, 3)), (RNG.random(20) > 0.5) * 1.0, RNG.standard_normal(3)
    tape = ad.record(loss, w, X, y, argnums=0)
    X2, y2 = RNG.standard_normal((20, 3)), 1.0 - y
    assert_same(tape.value_and_grad(w, X2, y2), ad.value_and_grad(loss)(w, X2, y2))


def _count_vjp_calls(prim, monkeypatch) -> list[int]:
    calls = [0] * len(prim.vjp)

    def counted(i, rule):
        def rule_counting(*args, **kw):
            calls[i] += 1
            return rule(*args, **kw)
        return rule_counting
    monkeypatch.setattr(prim, "vjp", tuple(counted(i, r) for i, r in enumerate(prim.vjp)))
    return calls


def test_no_vjp_runs_for_an_input_that_needs_no_gradient(monkeypatch):
    """Logistic regression's data matrix: its gradient (a 20x3 product) is never computed."""
    calls = _count_vjp_calls(ad.matmul, monkeypatch)
    X, w = RNG.standard_normal((20, 3)), RNG.standard_normal(3)

    def loss(w, X):
        return ad.sum(ad.softplus(X @ w))
    ad.value_and_grad(loss)(w, X)
    assert calls == [0, 1]
    tape = ad.record(loss, w, X)              # X is a replaceable input, still without gradient
    tape.value_and_grad(w, X)
    tape.value_and_grad(w, X)
    assert calls == [0, 3]                    # recording runs no backward pass: 1 + one per replay


def test_gradients_given_out_are_owned_arrays():
    tape = ad.record(lambda a, b: ad.sum(a + b), np.ones(3), np.ones(3), argnums=(0, 1))
    _, (grad_a, grad_b) = tape.value_and_grad(np.ones(3), np.ones(3))
    grad_a *= 2.0                            # add hands the same adjoint to both operands
    np.testing.assert_array_equal(grad_b, np.ones(3))


def test_a_constant_output_has_zero_gradients():
    tape = ad.record(lambda x: ad.Tensor(3.0), np.ones(2))
    value, grad = tape.value_and_grad(np.ones(2))
    assert value == 3.0
    np.testing.assert_array_equal(grad, np.zeros(2))
    assert len(tape) == 0


def test_a_checkpointed_segment_replays_too():
    def f(x):
        return ad.sum(ad.checkpoint(lambda v: ad.sin(v) * v)(x) ** 2)
    x = RNG.standard_normal(5)
    tape = ad.record(f, x)
    assert_same(tape.value_and_grad(x + 1.0), ad.value_and_grad(f)(x + 1.0))


def test_a_new_shape_is_refused_with_the_shapes_named():
    tape = ad.record(lambda x: ad.sum(x * x), np.ones(3))
    with pytest.raises(EngineError, match=r"argument 0 has shape \(4,\).*recorded with shape \(3,\)"):
        tape.value_and_grad(np.ones(4))
    with pytest.raises(EngineError, match="recorded with 1 arguments, called with 2"):
        tape.forward(np.ones(3), np.ones(3))
    with pytest.raises(EngineError, match="must return a scalar"):
        ad.record(lambda x: x * 2.0, np.ones(3)).value_and_grad(np.ones(3))


def test_bad_arguments_to_record_are_refused():
    with pytest.raises(EngineError, match="numeric"):
        ad.record(lambda x: x, "abc")
    with pytest.raises(EngineError, match="argnums 2 is out of range"):
        ad.record(lambda x, y: x * y, 1.0, 2.0, argnums=2)


def test_a_mask_from_a_comparison_is_noticed_and_the_tape_refuses_to_replay():
    def leaky(x):
        return ad.sum(ad.where(x > 0, x, 0.1 * x))   # x > 0 is a plain array: a replay would keep it
    x = np.array([1.0, -1.0])
    tape = ad.record(leaky, x)
    assert tape.frozen and "comparison (>)" in tape.frozen[0]
    assert not tape.verify(x)
    with pytest.raises(EngineError, match="refusing to replay: a comparison"):
        tape.value_and_grad(-x)


def test_python_numbers_from_argument_values_are_noticed_but_constant_masks_are_not():
    mask = np.array([True, False])
    assert not ad.record(lambda x: ad.sum(ad.where(mask, x, 2.0 * x)), np.ones(2)).frozen
    tape = ad.record(lambda x: x * 2.0 if x.item() > 0 else x, 1.0)
    assert "item()" in tape.frozen[0]
    with pytest.raises(EngineError, match="refusing to replay"):
        tape.forward(1.0)


def test_repr_and_len_describe_the_recorded_steps():
    tape = ad.record(thurber_loss, *THURBER_START, argnums=tuple(range(7)))
    assert len(tape) == 16
    assert "7 arguments, 16 steps" in repr(tape) and "mul×7" in repr(tape)


def _peak_bytes(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_values_no_rule_reads_are_dropped_during_the_forward_sweep(monkeypatch):
    """exp's rule reads only its output, add's and sum's nothing: a·x and exp(a·x) + x are dropped."""
    x = np.linspace(0.0, 1.0, 200_000)

    def f(a):
        return ad.sum(ad.exp(a * x) + x)
    monkeypatch.setattr(tape_module, "FREE_AT_SIZE", 1 << 14)
    freeing = ad.record(f, 0.5)
    monkeypatch.setattr(tape_module, "FREE_AT_SIZE", 10 ** 9)
    keeping = ad.record(f, 0.5)
    # steps: a·x, exp, + x, sum; a·x goes once exp has run, exp(a·x) + x once sum has
    assert [len(step.frees) for step in freeing.steps] == [0, 1, 0, 1]
    assert all(not step.frees for step in keeping.steps)
    assert_same(freeing.value_and_grad(0.7), keeping.value_and_grad(0.7))
    one_array = x.nbytes
    assert _peak_bytes(lambda: freeing.value_and_grad(0.7)) < _peak_bytes(lambda: keeping.value_and_grad(0.7)) - one_array // 2


def test_a_primitive_states_which_values_its_rules_read():
    assert ad.exp.reads == "output" and ad.sin.reads == "inputs" and ad.div.reads == "all"
    assert ad.add.linear and ad.sum.linear
    with pytest.raises(ValueError, match="reads must be"):
        ad.Primitive("odd", np.negative, reads="nothing")
