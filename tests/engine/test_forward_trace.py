"""Forward mode traced the paper's way, and one-number values coming back as Python floats."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import engine as ad

PAPER_FORWARD_X1 = """\
tangent sweep (forward mode): the tangent v̇ = dv/dx1 of each node, inputs first: Σ ∂v/∂input · d(input)/dx1
  dx1/dx1 = 1   (the seed)
  dx2/dx1 = 0   (another input)
  dv1/dx1 = (0.5)(1) = 0.5
  dv2/dx1 = (5)(1) + (2)(0) = 5
  dv3/dx1 = (1)(0.5) + (1)(5) = 5.5
  dv4/dx1 = (0.28366218546322625)(0) = 0
  dv5/dx1 = (1)(5.5) + (-1)(0) = 5.5
result: v5 = 11.652071455223084, ∂v5/∂x1 = 5.5"""


def paper_example():
    x1 = ad.Tensor(2.0, requires_grad=True, name="x1")
    x2 = ad.Tensor(5.0, requires_grad=True, name="x2")
    return x1, x2, ad.log(x1) + x1 * x2 - ad.sin(x2)


def test_forward_trace_reproduces_the_papers_tangents_for_x1():
    x1, _, y = paper_example()
    steps = ad.trace(y, mode="forward", wrt=x1)
    assert steps.tangents == {"x1": 1.0, "x2": 0.0, "v1": 0.5, "v2": 5.0, "v3": 5.5, "v4": 0.0, "v5": 5.5}
    assert str(steps).endswith(PAPER_FORWARD_X1)
    assert [s.terms for s in steps.tangent_steps if s.name == "v3"] == [((1.0, 0.5), (1.0, 5.0))]


def test_forward_trace_for_x2_by_name_gives_the_other_partial_exactly():
    _, _, y = paper_example()
    steps = ad.trace(y, mode="forward", wrt="x2")
    assert steps.tangents["v5"] == 1.7163378145367738 == ad.trace(y).grads["x2"]
    assert steps.mode == "forward" and steps.wrt == "x2" and steps.value == 11.652071455223084


def test_forward_tangents_of_arrays_are_the_jvp_and_print_as_rule_results():
    x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
    a = ad.Tensor(3.0, requires_grad=True, name="a")
    steps = ad.trace(ad.sum(ad.exp(a * x)), mode="forward", wrt=a)
    assert steps.tangents["v3"] == pytest.approx(float(np.sum(np.exp(3.0 * x.data) * x.data)), rel=1e-15)
    assert isinstance(steps.tangents["v1"], np.ndarray) and "mul.jvp = array(2,)" in str(steps)


def test_forward_trace_refuses_a_missing_or_unknown_wrt_naming_the_inputs():
    _, _, y = paper_example()
    with pytest.raises(ad.EngineError, match=r"wrt=.*x1, x2"):
        ad.trace(y, mode="forward")
    with pytest.raises(ad.EngineError, match="mode must be"):
        ad.trace(y, mode="sideways")


def test_reverse_trace_gives_python_floats_for_every_scalar_node():
    _, _, y = paper_example()
    steps = ad.trace(y)
    assert all(type(v) is float for v in steps.adjoints.values())
    assert all(type(s.contribution) is float and type(s.incoming) is float for s in steps.backward_steps)


def test_a_scalar_leafs_grad_is_a_python_float_and_an_arrays_stays_an_array():
    x = ad.Tensor(1.5, requires_grad=True)
    v = ad.Tensor([1.5], requires_grad=True)
    (x * x * 61.70391966).backward()
    ad.sum(v * v).backward()
    assert type(x.grad) is float and x.grad == 1.5 * 61.70391966 + 1.5 * 61.70391966
    assert isinstance(v.grad, np.ndarray) and v.grad.shape == (1,)
