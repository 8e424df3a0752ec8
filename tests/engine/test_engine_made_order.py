"""The transforms' sweep without a graph search: steps made from the list of what f recorded
(``MODE.made``, ``pullback.flatten_made``) in order of creation, each node noting its inputs'
slots as it is recorded (``Node.wanted``), and the search as the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import engine as ad
from workbench.engine import backward as backward_module
from workbench.engine.mode import MODE
from workbench.engine.pullback import flatten, flatten_made
from workbench.engine.tensor import leaf


def _recorded(f, *values):
    """(output, stand-in leaves, the recording) as a transform sees them: the stand-ins at the
    first slots, then a weak reference to each tensor f recorded, in order."""
    leaves = [leaf(np.array(v, dtype=float), True) for v in values]
    made = [None] * len(leaves)
    for slot, stand in enumerate(leaves):
        stand._rec, stand._slot = made, slot
    saved, MODE.made = MODE.made, made
    try:
        out = f(*leaves)
    finally:
        MODE.made = saved
    return out, leaves, made


def _fan_out(a, b):
    u = ad.sin(a) * b          # a and b are used twice each, u three times
    return ad.sum(u * u + ad.exp(u) * a - b / (1.0 + u * u))


def _step_signature(steps, tensors):
    return sorted((id(tensors[step[0]]), step[2].name, tuple((w[0], id(tensors[w[1]]), w[2]) for w in step[5]))
                  for step in steps)


def test_the_list_gives_the_searchs_steps_in_creation_order():
    out, leaves, made = _recorded(_fan_out, np.linspace(0.1, 1.0, 5), 0.7)
    steps, n_slots = flatten_made(out, made)
    by_slot = leaves + [ref() for ref in made[len(leaves):]]
    assert n_slots == len(by_slot) == len(made)
    searched_steps, searched_tensors, _ = flatten(out, frozenset(map(id, leaves)))
    assert _step_signature(steps, by_slot) == _step_signature(searched_steps, searched_tensors)
    assert [by_slot[step[0]] for step in steps] == [ref() for ref in made[len(leaves):]]   # in the order f made them
    assert all(w[1] < step[0] for step in steps for w in step[5])   # every input has its slot before its user


def test_value_and_grad_through_the_list_matches_the_search():
    x, b = np.linspace(0.1, 1.0, 5), 0.7
    value, (gx, gb) = ad.value_and_grad(_fan_out, (0, 1))(x, b)
    xt, bt = ad.Tensor(x, requires_grad=True), ad.Tensor(b, requires_grad=True)
    out = _fan_out(xt, bt)
    out.backward()      # Tensor.backward always searches the graph
    assert value == float(out.data)
    np.testing.assert_allclose(gx, xt.grad, rtol=1e-15, atol=0)
    np.testing.assert_allclose(gb, bt.grad, rtol=1e-15, atol=0)


def test_a_result_the_output_ignores_keeps_its_graph():
    kept = []

    def f(x):
        kept.append(ad.exp(x) * 3.0)     # recorded, but the output does not depend on it
        return ad.sum(ad.sin(x))
    x = np.array([0.2, 0.4])
    g = ad.grad(f)(x)
    np.testing.assert_array_equal(g, np.cos(x))
    side = kept[0]
    assert side._node.args is not None and not side._node.released
    side.backward(np.ones(2))            # still differentiable afterwards


def test_a_result_f_drops_unused_is_freed_at_once_as_without_the_list():
    import weakref
    freed = []

    def f(x):
        side = ad.exp(x) * 3.0           # recorded, then dropped: the list holds it weakly
        watch = weakref.ref(side)
        del side
        freed.append(watch() is None)
        return ad.sum(x * x)
    np.testing.assert_array_equal(ad.grad(f)(np.array([1.0, -2.0])), [2.0, -4.0])
    assert freed == [True]


def test_a_tensor_recorded_before_f_ran_falls_back_to_the_search():
    w = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    outside = ad.exp(w)                  # recorded outside the transform, with a graph of its own

    def f(x):
        return ad.sum(x * outside)
    out, _, made = _recorded(f, np.array([0.5, 0.25]))
    product = out._node.args[0]
    assert product._node.wanted is None                   # noted as x * outside was recorded
    assert flatten_made(out, made) is None
    g = ad.grad(f)(np.array([0.5, 0.25]))
    np.testing.assert_allclose(g, np.exp([1.0, 2.0]), rtol=1e-15)


def test_the_search_is_not_run_when_the_list_suffices(monkeypatch):
    def no_search(*args, **kw):
        raise AssertionError("flatten searched the graph")
    monkeypatch.setattr(backward_module, "flatten", no_search)
    g = ad.grad(lambda x: ad.sum(ad.tanh(x) * x))(np.array([0.3, -1.2]))
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(g, np.tanh(x) + x * (1 - np.tanh(x) ** 2), rtol=1e-15)


def test_a_nested_transform_records_its_own_list_and_restores_the_outer_one():
    def inner(y):
        return ad.sum(ad.sin(y) * y)

    def outer(x):
        return ad.sum(ad.grad(inner)(x) * x)     # a transform inside another's f
    x = np.array([0.4, 1.1])
    g = ad.grad(outer)(x)
    # d/dx [x · (sin x + x cos x)] = sin x + x cos x + x (2 cos x − x sin x)
    expected = np.sin(x) + x * np.cos(x) + x * (2 * np.cos(x) - x * np.sin(x))
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    assert MODE.made is None
    np.testing.assert_allclose(ad.hessian(inner)(x), np.diag(2 * np.cos(x) - x * np.sin(x)), rtol=1e-14)


def test_the_list_is_dropped_when_f_fails():
    def broken(x):
        ad.exp(x)
        raise ValueError("inside f")
    with pytest.raises(ValueError):
        ad.grad(broken)(np.array([1.0]))
    assert MODE.made is None


def test_a_released_node_in_the_list_is_named_as_before():
    def f(x):
        y = ad.exp(x)
        ad.sum(y).backward()             # releases exp's node inside f
        return ad.sum(y * 2.0)
    with pytest.raises(ad.EngineError, match="released"):
        ad.grad(f)(np.array([0.5]))


def test_a_primitive_called_on_one_array_gives_the_forward_value_and_names_a_failure():
    from workbench.engine.graph import Primitive

    x = np.array([0.3, 2.0])
    out = ad.cos(x)
    assert out.__class__ is np.ndarray and np.array_equal(out, np.cos(x))

    def refuse(value):
        raise ValueError("no such shape")
    boom = Primitive("boom", refuse, lambda g, y, v: g)
    with pytest.raises(ad.EngineError, match=r"boom: cannot apply to shapes \(2,\): no such shape"):
        boom(x)


def test_a_stand_in_an_inner_transform_took_from_the_outer_recording_is_searched_for():
    """A tensor argument of a nested transform is stood in for by an identity recorded in the
    outer list; the inner transform gives it a slot of its own. Kept alive by f, it must not be
    read by the outer sweep at its old slot (that took another tensor's adjoint: 7, not 14)."""
    kept = []

    def inner(a, b):
        kept.append((a, b))   # f keeps its arguments (a log, a cache)
        return a * 3.0 + b * 5.0

    def f(x):
        h = x * 2.0
        ga, gb = ad.grad(inner, (0, 1))(x, x)
        return h * 7.0 + ga + gb
    value, gradient = ad.value_and_grad(f)(1.0)
    assert value == 22.0 and float(gradient) == 14.0


def test_a_result_marked_as_requiring_grad_after_it_was_made_joins_a_transform():
    made_plain = ad.sin(ad.Tensor(1.0))   # computed without gradients
    made_plain.requires_grad = True       # then marked, as a user may
    assert float(ad.grad(lambda x: x * made_plain)(2.0)) == np.sin(1.0)
    assert float(ad.grad(lambda x: ad.sum(ad.stack([x, made_plain])))(2.0)) == 1.0


def test_a_recorded_tensor_is_its_own_node_and_node_only_shows_it(monkeypatch):
    """One object per operation: recording makes no Node; ``_node`` reads the tensor's fields and
    follows a release."""
    from workbench.engine.tensor import Node
    made_nodes = []
    original = Node.__init__

    def counting(self, tensor):
        made_nodes.append(tensor)
        original(self, tensor)
    monkeypatch.setattr(Node, "__init__", counting)
    value, gradient = ad.value_and_grad(_fan_out, (0, 1))(0.3, 1.7)
    assert made_nodes == [] and np.isfinite(value) and len(gradient) == 2

    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(ad.sin(x) * x)
    node = y._node
    assert node.prim is ad.sum and node.args[0]._node.prim.name == "mul" and not node.released
    assert x._node is None and x.is_leaf and repr(node) == "<node sum>"
    y.backward()
    assert node.released and y._node.args is None and repr(y._node) == "<node sum, released>"


def test_a_backward_pass_inside_f_makes_the_transform_search():
    """A backward pass run inside f may release nodes f recorded: the transform hands no list and
    the sweep searches (and names the released node), as for a graph recorded elsewhere."""
    seen = []

    def f(a):
        u = ad.sin(a)
        seen.append(MODE.made)
        ad.exp(u).backward(retain_graph=True)   # a pass inside f, the graph kept
        return u * 2.0
    calls = []
    original = backward_module.flatten_made
    try:
        backward_module.flatten_made = lambda *a, **k: calls.append(1) or original(*a, **k)
        gradient = ad.grad(f)(0.4)
    finally:
        backward_module.flatten_made = original
    assert calls == [] and seen[0] is not None
    np.testing.assert_allclose(gradient, 2.0 * np.cos(0.4))
