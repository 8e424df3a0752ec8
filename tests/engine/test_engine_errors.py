"""Every bad input of the engine is an EngineError (a ValueError) naming the operation and the
shapes, raised where the mistake is made, never a bare numpy error from inside the engine."""

from __future__ import annotations

import re

import numpy as np
import pytest

from workbench import engine as ad


def _raises(pattern: str, call):
    with pytest.raises(ad.EngineError) as info:
        call()
    message = str(info.value)
    for part in pattern.split("|"):
        assert part in message, f"{part!r} missing from: {message}"
    # the numpy exception is replaced, not chained: the user sees one clear line
    assert info.value.__cause__ is None
    return message


def test_engine_error_is_a_value_error():
    assert issubclass(ad.EngineError, ValueError)


def test_shapes_that_cannot_broadcast():
    a, b = ad.Tensor(np.ones(3), requires_grad=True), np.ones(4)
    _raises("add|(3,)|(4,)", lambda: a + b)
    _raises("mul|(4,)|(3,)", lambda: b * a)
    _raises("maximum|(3,)|(2, 2)", lambda: ad.maximum(a, np.ones((2, 2))))
    _raises("where|(2,)|(3,)", lambda: ad.where(np.array([True, False]), a, 0.0))
    _raises("broadcast_to|(3,)|(2, 4)", lambda: ad.broadcast_to(a, shape=(2, 4)))


def test_comparisons_of_shapes_that_cannot_broadcast():
    t = ad.Tensor(np.ones(3))
    _raises("compare (>)|(3,)|(4,)", lambda: t > np.ones(4))
    _raises("compare (==)|(3,)|(2,)", lambda: t == ad.Tensor([1.0, 2.0]))
    # Python reflects array < tensor to tensor > array, and the message says so
    _raises("compare (>)|(3,)|(2, 2)", lambda: np.ones((2, 2)) < t)


def test_shapes_that_cannot_multiply():
    m = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    message = _raises("matmul|(2, 3)", lambda: m @ np.ones((2, 3)))
    assert message.count("(2, 3)") >= 2, message
    _raises("matmul|(2, 3)|(4,)", lambda: m @ np.ones(4))
    _raises("matmul|()", lambda: ad.matmul(m, ad.Tensor(2.0)))
    _raises("dot|(2, 2, 2)", lambda: ad.dot(ad.Tensor(np.ones((2, 2, 2))), m))


def test_shape_operations_with_impossible_shapes():
    x = ad.Tensor(np.arange(6.0), requires_grad=True)
    _raises("reshape|(6,)|(4,)", lambda: x.reshape(4))
    _raises("transpose|(6,)", lambda: ad.transpose(x, axes=(1, 0)))
    _raises("concatenate|(6,)|(2, 2)", lambda: ad.concatenate([x, np.ones((2, 2))]))
    _raises("stack|(6,)|(5,)", lambda: ad.stack([x, np.ones(5)]))
    _raises("concatenate|at least one", lambda: ad.concatenate([]))
    _raises("getitem|(6,)", lambda: x[10])


def test_backward_on_a_non_scalar_without_a_seed():
    y = ad.Tensor(np.ones(3), requires_grad=True) * 2.0
    _raises("backward|(3,)|seed", lambda: y.backward())


def test_backward_with_a_seed_of_the_wrong_shape():
    y = ad.Tensor(np.ones(3), requires_grad=True) * 2.0
    _raises("backward|(2,)|(3,)", lambda: y.backward(np.ones(2)))


def test_second_backward_on_a_released_graph():
    y = ad.sum(ad.exp(ad.Tensor(np.ones(3), requires_grad=True)))
    y.backward()
    _raises("backward|sum|released|retain_graph", lambda: y.backward())


@pytest.mark.parametrize("data, words", [
    (["a", "b"], "Tensor|numeric|<U1"),
    ("text", "Tensor|numeric"),
    ([[1.0, 2.0], [3.0]], "Tensor|ragged"),
    ([1.0, None], "Tensor|non-numbers"),
    ({"a": 1.0}, "Tensor|non-numbers"),
])
def test_non_numeric_or_ragged_data_is_refused(data, words):
    _raises(words, lambda: ad.Tensor(data))


def test_operation_with_a_string_operand_names_the_operation():
    _raises("add|(2,)", lambda: ad.Tensor([1.0, 2.0]) + "a")


def test_gradient_of_something_that_does_not_require_one():
    _raises("backward|does not require|(2,)", lambda: ad.Tensor([1.0, 2.0]).backward(np.ones(2)))
    _raises("backward|does not require|()", lambda: ad.sum(ad.Tensor([1.0, 2.0]) * 3).backward())
    x = ad.Tensor([1.0], requires_grad=True)
    with ad.no_grad():
        y = ad.sum(x * 2)
    _raises("backward|does not require|no_grad", lambda: y.backward())


def test_transform_misuse():
    _raises("grad|scalar|(3,)", lambda: ad.grad(lambda t: t * 2)(np.ones(3)))
    _raises("grad|argnums 2", lambda: ad.grad(lambda t: ad.sum(t), argnums=2)(np.ones(3)))
    _raises("jvp|(3,)|(2,)", lambda: ad.jvp(ad.exp, (np.ones(3),), (np.ones(2),)))
    _raises("jvp|1 primals|2 tangents", lambda: ad.jvp(ad.exp, (np.ones(3),), (np.ones(3), np.ones(3))))
    _raises("jacobian|mode", lambda: ad.jacobian(ad.exp, mode="sideways"))
    _raises("jvp|numeric", lambda: ad.jvp(ad.exp, (["x"],), ([1.0],)))


def test_check_nodes_on_a_released_graph():
    y = ad.sum(ad.exp(ad.Tensor(np.ones(2), requires_grad=True)))
    y.backward()
    _raises("check_nodes|released", lambda: ad.check_nodes(y))


def test_error_during_backward_names_the_call_not_a_numpy_internal():
    y = ad.Tensor(np.ones((2, 2)), requires_grad=True) @ np.ones(2)
    message = _raises("backward", lambda: y.backward(np.ones((2, 2))))
    assert re.search(r"\(2, 2\).*\(2,\)", message), message
