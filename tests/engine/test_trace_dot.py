"""ad.trace (both sweeps step by step) and ad.to_dot (the graph as Graphviz text).

The paper's running example f(x1, x2) = log(x1) + x1·x2 − sin(x2) at (2, 5) (Fang et al. 2024)
is checked as a golden text; the rest checks the steps' numbers against the engine's own
backward pass, that tracing and drawing change nothing, the DOT text's validity and determinism,
and the errors for what cannot be traced.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from workbench import engine as ad
from workbench.engine.dot import to_dot
from workbench.engine.trace import Trace, summarize, trace

PAPER_VALUE = 11.652071455223084
PAPER_DX1 = 5.5
PAPER_DX2 = 1.7163378145367738

PAPER_TRACE = """\
forward sweep: evaluate each node once, inputs first, and keep its value
  x1 = input       = 2
  x2 = input       = 5
  v1 = log(x1)     = 0.6931471805599453
  v2 = mul(x1, x2) = 10
  v3 = add(v1, v2) = 10.693147180559945
  v4 = sin(x2)     = -0.9589242746631385
  v5 = sub(v3, v4) = 11.652071455223084
backward sweep: the adjoint v̄ = ∂v5/∂v of each node, from the output back to the inputs (reverse topological order)
  v̄5 = 1   (the seed: ∂v5/∂v5)
  v̄3 += v̄5 · ∂v5/∂v3 = 1 · 1 = 1
  v̄4 += v̄5 · ∂v5/∂v4 = 1 · (-1) = -1
  x̄2 += v̄4 · ∂v4/∂x2 = (-1) · 0.28366218546322625 = -0.28366218546322625
  v̄1 += v̄3 · ∂v3/∂v1 = 1 · 1 = 1
  v̄2 += v̄3 · ∂v3/∂v2 = 1 · 1 = 1
  x̄1 += v̄2 · ∂v2/∂x1 = 1 · 5 = 5
  x̄2 += v̄2 · ∂v2/∂x2 = 1 · 2 = 2   so x̄2 = 1.7163378145367738
  x̄1 += v̄1 · ∂v1/∂x1 = 1 · 0.5 = 0.5   so x̄1 = 5.5
result: v5 = 11.652071455223084, ∂v5/∂x1 = 5.5, ∂v5/∂x2 = 1.7163378145367738"""


def paper_example():
    x1 = ad.Tensor(2.0, requires_grad=True, name="x1")
    x2 = ad.Tensor(5.0, requires_grad=True, name="x2")
    return x1, x2, ad.log(x1) + x1 * x2 - ad.sin(x2)


def small_array_graph():
    """sum(exp(a)·b + b·b) over a 5-vector a and a scalar b: broadcasting and reuse of b."""
    a = ad.Tensor([0.5, 1.0, 1.5, 2.0, 2.5], requires_grad=True, name="a")
    b = ad.Tensor(2.0, requires_grad=True, name="b")
    return a, b, ad.sum(ad.exp(a) * b + b * b)


# ---- trace: the paper's example ---------------------------------------------------------------

def test_paper_example_trace_text_is_the_golden_one():
    *_, y = paper_example()
    assert str(trace(y)) == PAPER_TRACE


def test_paper_example_value_and_partials_are_exact():
    *_, y = paper_example()
    t = trace(y)
    assert t.value == PAPER_VALUE
    assert t.grads == {"x1": PAPER_DX1, "x2": PAPER_DX2}
    assert PAPER_VALUE == math.log(2.0) + 2.0 * 5.0 - math.sin(5.0)
    assert PAPER_DX1 == 1 / 2.0 + 5.0                     # ∂f/∂x1 = 1/x1 + x2
    assert PAPER_DX2 == 2.0 - math.cos(5.0)               # ∂f/∂x2 = x1 − cos x2


def test_paper_example_forward_steps_name_ops_inputs_and_values():
    *_, y = paper_example()
    steps = trace(y).forward_steps
    assert [(s.name, s.op, s.inputs) for s in steps] == [
        ("x1", "input", ()), ("x2", "input", ()), ("v1", "log", ("x1",)), ("v2", "mul", ("x1", "x2")),
        ("v3", "add", ("v1", "v2")), ("v4", "sin", ("x2",)), ("v5", "sub", ("v3", "v4"))]
    assert float(steps[2].value) == math.log(2.0)
    assert float(steps[5].value) == math.sin(5.0)


def test_paper_example_backward_steps_carry_local_partials_from_the_vjp_rules():
    *_, y = paper_example()
    steps = trace(y).backward_steps
    edges = {(s.source, s.target, s.position): s for s in steps}
    assert len(steps) == 8                                   # one per edge of the graph
    assert edges[("v1", "x1", 0)].partial == 0.5             # ∂log(x1)/∂x1 = 1/x1
    assert edges[("v4", "x2", 0)].partial == math.cos(5.0)   # ∂sin(x2)/∂x2
    assert edges[("v5", "v4", 1)].partial == -1.0            # ∂(v3 − v4)/∂v4
    assert edges[("v2", "x1", 0)].partial == 5.0 and edges[("v2", "x2", 1)].partial == 2.0
    last_x2 = [s for s in steps if s.target == "x2"][-1]
    assert last_x2.accumulated and float(last_x2.total) == PAPER_DX2


def test_trace_leaves_graph_and_grads_untouched_so_backward_still_works():
    x1, x2, y = paper_example()
    trace(y)
    trace(y)
    assert x1.grad is None and x2.grad is None
    y.backward()
    assert float(x1.grad) == PAPER_DX1 and float(x2.grad) == PAPER_DX2


def test_print_option_prints_the_same_text(capsys):
    *_, y = paper_example()
    t = trace(y, print_=True)
    assert isinstance(t, Trace)
    assert capsys.readouterr().out == PAPER_TRACE + "\n"


# ---- trace: arrays, accumulation, names, higher order ------------------------------------------

def test_array_steps_show_vjp_products_and_broadcast_sums():
    a, b, y = small_array_graph()
    text = str(trace(y))
    assert "  a = input        = array(5,) [0.5, 1, … 2.5]" in text
    assert "v̄4 += v̄5 · ∂v5/∂v4 = sum.vjp(1) = array(5,) [1, 1, … 1]" in text
    assert "(summed from shape (5,): broadcasting)" in text
    assert "b̄ += v̄3 · ∂v3/∂b   = 5 · 2 = 10   so b̄ = 20" in text


def test_array_trace_adjoints_equal_the_engines_gradient_bit_for_bit():
    a, b, y = small_array_graph()
    grads = trace(y).grads
    y.backward()
    np.testing.assert_array_equal(grads["a"], a.grad)
    assert grads["b"] == float(b.grad) == 5 * 2 * 2.0 + float(np.sum(np.exp(a.data)))


def test_value_used_twice_gets_two_steps_that_add_up():
    x = ad.Tensor(3.0, requires_grad=True, name="x")
    steps = trace(x * x).backward_steps
    assert [(s.target, s.position, s.partial, s.accumulated) for s in steps] == [
        ("x", 0, 3.0, False), ("x", 1, 3.0, True)]
    assert float(steps[-1].total) == 6.0


def test_unnamed_leaves_are_numbered_and_duplicate_names_are_made_unique():
    p = ad.Tensor(1.0, requires_grad=True)
    q = ad.Tensor(2.0, requires_grad=True, name="k")
    r = ad.Tensor(3.0, requires_grad=True, name="k")
    s = ad.Tensor(4.0, requires_grad=True, name="x1")   # a user name wins over a generated one
    names = [step.name for step in trace(p * q + r * s).forward_steps]
    assert names == ["x2", "k", "k#2", "x1", "v1", "v2", "v3"]


def test_constants_and_options_are_written_out():
    w = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="w")
    data = ad.Tensor([1.0, 2.0, 3.0], name="data")
    y = ad.sum(ad.sum(w * data, axis=0)[1:] * 2.0)
    text = str(trace(y))
    assert "v1 = mul(w, data=array(3,) [1, 2, 3])" in text
    assert "v2 = sum(v1, axis=0)" in text
    assert "v3 = getitem(v2, [1:])" in text
    assert "v4 = mul(v3, 2)" in text


def test_trace_of_a_gradient_graph_gives_the_second_derivative():
    x = ad.Tensor(1.5, requires_grad=True, name="x")
    first = ad.grad(lambda t: t ** 3)(x)            # 3x², recorded (create_graph)
    t = trace(first)
    assert t.value == pytest.approx(3 * 1.5 ** 2, rel=1e-15)
    assert t.grads["x"] == pytest.approx(6 * 1.5, rel=1e-15)


def test_summaries_show_shape_and_a_few_values():
    thurber_like = np.linspace(80.574, 1400.0, 37)
    thurber_like[1] = 84.248
    assert summarize(thurber_like) == "array(37,) [80.57, 84.25, … 1400]"
    assert summarize(np.array([[1e-7, 2.5], [3.0, 4.0]])) == "array(2, 2) [1e-7, 2.5, … 4]"
    assert summarize(np.float64(0.1)) == "0.1" and summarize(np.array(7.0)) == "7"


@pytest.mark.parametrize("make, message", [
    (lambda: ad.Tensor([1.0, 2.0], requires_grad=True) * 2.0, r"scalar, got shape \(2,\)"),
    (lambda: ad.sum(ad.Tensor([1.0, 2.0]) * 2.0), "no graph"),
    ("not a tensor", "expected a Tensor"),
])
def test_trace_and_dot_refuse_what_has_no_scalar_graph(make, message):
    y = make() if callable(make) else make
    for fn, who in ((trace, "trace"), (to_dot, "to_dot")):
        with pytest.raises(ad.EngineError, match=f"{who}: .*{message}"):
            fn(y)


def test_released_graph_is_refused_with_the_way_out():
    *_, y = paper_example()
    y.backward()
    with pytest.raises(ad.EngineError, match="released by a backward pass.*retain_graph=True"):
        trace(y)


# ---- to_dot ------------------------------------------------------------------------------------

def declared_and_edges(dot: str) -> tuple[set[str], list[tuple[str, str]]]:
    declared = set(re.findall(r"^\s+(\w+) \[label=", dot, flags=re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+)", dot, flags=re.M)
    return declared, edges


def test_dot_of_paper_example_has_nodes_values_grads_and_ordered_edges():
    *_, y = paper_example()
    dot = to_dot(y)
    assert dot.startswith("digraph engine {\n") and dot.endswith("}\n")
    assert 'n0 [label="x1\\nscalar\\nvalue 2\\ngrad 5.5", shape=ellipse];' in dot
    assert 'n1 [label="x2\\nscalar\\nvalue 5\\ngrad 1.71634", shape=ellipse];' in dot
    assert 'n6 [label="v5 = sub\\nscalar\\nvalue 11.6521\\ngrad 1", shape=box, peripheries=2];' in dot
    assert "n0 -> n3 [label=\"1\"];\n  n1 -> n3 [label=\"2\"];" in dot     # mul(x1, x2), in order
    assert "n4 -> n6 [label=\"1\"];\n  n5 -> n6 [label=\"2\"];" in dot     # sub(v3, v4), in order


def test_dot_is_valid_every_edge_endpoint_is_declared_and_braces_balance():
    a, b, y = small_array_graph()
    dot = to_dot(ad.sum(ad.tanh(y * ad.Tensor([1.0, 2.0], name='say "hi"')) + 1.0))
    assert dot.count("{") == dot.count("}") == 1
    declared, edges = declared_and_edges(dot)
    assert edges and {end for edge in edges for end in edge} <= declared
    assert 'label="say \\"hi\\" = array(2,) [1, 2]"' in dot   # quotes escaped, constant drawn


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_text(tmp_path):
    *_, y = paper_example()
    result = subprocess.run(["dot", "-Tsvg"], input=to_dot(y), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout and "v5 = sub" in result.stdout


def test_dot_is_deterministic_for_the_same_graph_and_for_a_rebuilt_one():
    first = to_dot(small_array_graph()[2])
    rebuilt = small_array_graph()[2]
    assert to_dot(rebuilt) == first
    assert to_dot(rebuilt) == first


def test_dot_is_the_same_before_and_after_a_retained_backward_and_changes_nothing():
    x1, x2, y = paper_example()
    before = to_dot(y)
    assert x1.grad is None
    y.backward(retain_graph=True)
    assert to_dot(y) == before
    assert float(x1.grad) == PAPER_DX1            # to_dot did not add to .grad


def test_dot_can_leave_out_values_and_grads():
    *_, y = paper_example()
    plain = to_dot(y, values=False, grads=False)
    assert "value" not in plain and "grad" not in plain
    assert 'n2 [label="v1 = log\\nscalar", shape=box];' in plain


def test_engine_exports_trace_and_dot():
    assert ad.trace is trace and ad.to_dot is to_dot and ad.Trace is Trace
