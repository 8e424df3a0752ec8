"""gradcheck and check_nodes: they pass right rules, fail wrong ones, and name the broken primitive."""

from __future__ import annotations

import numpy as np
import pytest

from engine_specs import BINARY, GRID_A, REDUCTIONS, UNARY
from workbench import engine as ad
from workbench.engine.gradcheck import EPS_BASE, GradcheckRow

# a deliberately wrong reverse rule (sin' is cos, not sin) with a right forward-mode rule
bad_sin = ad.Primitive("bad_sin", np.sin, vjp=lambda g, y, x: g * np.sin(x), jvp=lambda t, y, x: t * np.cos(x))
# right reverse rule, wrong forward-mode rule
bad_jvp_exp = ad.Primitive("bad_jvp_exp", np.exp, vjp=lambda g, y, x: g * y, jvp=lambda t, y, x: t * 2 * y)


def model(w, x):
    """A small model touching many primitives."""
    hidden = ad.tanh(x @ w[:6].reshape(3, 2) + w[6:8])
    scores = ad.log_softmax(hidden * 3.0, axis=1)
    return ad.sum(scores[:, 0]) + ad.mean(ad.softplus(w) ** 2) + ad.max(ad.sigmoid(hidden))


W = np.linspace(-0.8, 0.9, 8)
X = np.random.default_rng(0).standard_normal((4, 3))


def test_passes_on_a_correct_model_with_a_row_per_element():
    report = ad.gradcheck(model, W, X)
    assert report.passed
    assert len(report.rows) == W.size + X.size
    assert [(r.input_index, r.element) for r in report.rows[:2]] == [(0, (0,)), (0, (1,))]
    assert report.rows[-1].input_index == 1 and report.rows[-1].element == (3, 2)
    analytic = ad.grad(model)(W, X)
    np.testing.assert_array_equal([r.analytic for r in report.rows[:8]], analytic)
    for row in report.rows:
        assert isinstance(row, GradcheckRow) and row.passed
        assert abs(row.analytic - row.numeric_central) < 1e-8
        assert abs(row.analytic - row.numeric_richardson) < 1e-8
    assert report.direction.passed
    assert report.direction.forward == pytest.approx(report.direction.reverse, rel=1e-12)
    assert report.failed_nodes == ()


def test_default_tolerances_are_at_least_as_strict_as_torch():
    report = ad.gradcheck(lambda t: ad.sum(t * t), np.array([1.0]))
    assert report.atol <= 1e-5 and report.rtol <= 1e-3
    assert report.eps == EPS_BASE == pytest.approx(6.055454e-06, rel=1e-6)


def test_a_derivative_off_by_three_per_mille_fails():
    slightly_wrong = ad.Primitive("square_off", np.square, vjp=lambda g, y, x: g * 2.006 * x,
                                  jvp=lambda t, y, x: t * 2.0 * x)
    report = ad.gradcheck(lambda t: ad.sum(slightly_wrong(t)), np.array([1.0, 2.0]))
    assert not report.passed
    assert [r.passed for r in report.rows] == [False, False]
    assert report.rows[1].rel_error == pytest.approx(3e-3, rel=1e-4)


def test_broken_rule_fails_and_per_node_names_it():
    def f(x):
        return ad.sum(ad.exp(bad_sin(x)) * x + ad.cos(x))
    report = ad.gradcheck(f, np.array([0.3, 0.7, -1.1]), per_node=True)
    assert not report.passed
    assert not any(r.passed for r in report.rows)
    assert report.failed_nodes == ("bad_sin",)
    failing = [c for c in report.nodes.checks if not c.passed]
    assert [c.primitive for c in failing] == ["bad_sin"]
    assert {c.primitive for c in report.nodes.checks} == {"sum", "add", "mul", "exp", "bad_sin", "cos"}
    text = str(report)
    assert "FAILED" in text and "bad_sin" in text


def test_check_nodes_standalone_finds_the_broken_rule_deep_in_a_model():
    x = ad.Tensor(np.array([[0.2, -0.5], [1.0, 0.4]]), requires_grad=True)
    w = ad.Tensor(np.array([0.5, -1.5]), requires_grad=True)
    y = ad.sum(ad.softplus(x @ w) ** 2 + ad.logsumexp(bad_sin(x * 2.0), axis=1))
    report = ad.check_nodes(y)
    assert not report.passed
    assert report.failed_nodes == ("bad_sin",)
    y.backward()     # the check left the graph intact
    assert x.grad is not None


def test_forward_mode_rule_error_is_caught_by_the_direction_check():
    report = ad.gradcheck(lambda t: ad.sum(bad_jvp_exp(t) * t), np.array([0.1, 0.5]))
    assert all(r.passed for r in report.rows), "the reverse rule is right"
    assert not report.direction.passed and not report.passed
    assert report.direction.reverse == pytest.approx(report.direction.numeric, rel=1e-8)
    assert report.direction.forward != pytest.approx(report.direction.reverse, rel=1e-3)


def test_missing_forward_rule_is_reported_not_raised():
    no_jvp = ad.Primitive("no_jvp", np.tanh, vjp=lambda g, y, x: g * (1 - y * y))
    report = ad.gradcheck(lambda t: ad.sum(no_jvp(t)), np.array([0.3]))
    assert not report.passed and "no_jvp" in report.direction.error


def test_array_output_is_checked_through_a_seeded_random_cotangent():
    def f(x):
        return ad.stack([ad.exp(x), bad_sin(x)])      # the broken rule is in one output only
    report = ad.gradcheck(f, np.array([0.4, 1.3]), per_node=True)
    assert not report.passed and report.failed_nodes == ("bad_sin",)
    good = ad.gradcheck(lambda x: ad.stack([ad.exp(x), ad.sin(x)]), np.array([0.4, 1.3]), seed=3)
    again = ad.gradcheck(lambda x: ad.stack([ad.exp(x), ad.sin(x)]), np.array([0.4, 1.3]), seed=3)
    assert good.passed
    assert [r.analytic for r in good.rows] == [r.analytic for r in again.rows]


def test_step_scaled_to_the_value_handles_large_inputs():
    # with a fixed step of 1e-6, φ ≈ 1e16 (ulp 2) would change by only 400: two or three digits
    report = ad.gradcheck(lambda t: ad.sum(t * t), np.array([1e8, -3e7]))
    assert report.passed
    assert report.rows[0].analytic == 2e8 and report.rows[0].abs_error < 1e-2


def test_richardson_is_more_accurate_where_the_third_derivative_is_large():
    report = ad.gradcheck(lambda t: ad.sum(ad.exp(4.0 * t)), np.array([2.0]), eps=1e-3)
    row = report.rows[0]
    exact = 4.0 * np.exp(8.0)
    assert abs(row.numeric_richardson - exact) < abs(row.numeric_central - exact) / 100
    assert row.passed
    without = ad.gradcheck(lambda t: ad.sum(ad.exp(4.0 * t)), np.array([2.0]), eps=1e-3, richardson=False)
    assert without.rows[0].numeric_richardson is None


def test_tensor_inputs_are_used_by_value_and_their_grad_untouched():
    x = ad.Tensor([0.5, 1.5], requires_grad=True)
    report = ad.gradcheck(lambda t: ad.sum(ad.log(t) * t), x)
    assert report.passed and x.grad is None
    np.testing.assert_array_equal(x.data, [0.5, 1.5])


def test_gradcheck_of_a_gradient_checks_second_derivatives():
    def f(t):
        return ad.sum(t ** 3 * ad.sin(t))
    report = ad.gradcheck(ad.grad(f), np.array([0.7, -1.2]), per_node=True)
    assert report.passed, str(report)


def test_report_text_is_an_aligned_table():
    report = ad.gradcheck(model, W, X[:1], per_node=True)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck passed: 11 of 11 elements")
    header = lines[1]
    for column in ("input", "element", "analytic", "central", "richardson", "abs err", "rel err", "ok"):
        assert column in header
    rows = lines[2:13]
    assert len({len(line) for line in rows}) == 1, "rows are aligned to one width"
    assert "random direction (forward mode)" in text and "node check" in text


def test_long_reports_show_failures_first_and_truncate_the_rest():
    def f(x):
        return ad.sum(ad.exp(x[:-1])) + ad.sum(bad_sin(x[-1:]))
    report = ad.gradcheck(f, np.linspace(0.1, 1.0, 60))
    table = report.table(max_rows=5)
    assert "FAIL" in table.splitlines()[1]
    assert table.splitlines()[-1] == "... 55 more rows, all passed"


def test_non_finite_numerical_derivative_fails_the_row():
    # sqrt at 0: the probe at −h is NaN, so the check cannot pass there
    report = ad.gradcheck(lambda t: ad.sum(ad.sqrt(t)), np.array([0.0, 1.0]))
    assert [r.passed for r in report.rows] == [False, True]


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY) + sorted(REDUCTIONS))
def test_every_primitive_passes_gradcheck_and_its_node_check(name):
    """No false alarms: every right rule passes, array outputs and broadcasting included."""
    rng = np.random.default_rng(8)
    if name in UNARY:
        fn, _, domain = UNARY[name]
        inputs = [domain.sample(rng, (2, 3))]
    elif name in BINARY:
        fn, _, first, second = BINARY[name]
        inputs = [first.sample(rng, (2, 3)), second.sample(rng, (3,))]
    else:
        reduction = REDUCTIONS[name][0]
        fn, inputs = (lambda t: reduction(t, axis=0)), [GRID_A.sample(rng, (3, 2))]
    report = ad.gradcheck(fn, *inputs, per_node=True)
    assert report.passed, str(report)
    assert name in {c.primitive for c in report.nodes.checks} or name in ("mean", "var", "std")


def test_node_check_covers_checkpoint_and_checks_large_inputs_along_random_directions():
    def segment(t):
        return ad.sin(t) * ad.exp(t)
    report = ad.gradcheck(lambda x: ad.sum(ad.checkpoint(segment)(x) ** 2), np.array([0.1, 0.5, -0.3]),
                          per_node=True)
    assert report.passed and "checkpoint" in {c.primitive for c in report.nodes.checks}
    x = ad.Tensor(np.linspace(-1.0, 1.0, 100), requires_grad=True)
    nodes = ad.check_nodes(ad.sum(ad.tanh(bad_sin(x))))
    by_name = {c.primitive: c for c in nodes.checks}
    assert by_name["bad_sin"].element is None and not by_name["bad_sin"].passed
    assert by_name["tanh"].passed and nodes.failed_nodes == ("bad_sin",)


def test_node_check_does_not_blame_a_right_rule_for_rounding_it_cannot_resolve():
    big, small = ad.Tensor(5.79576861e8, requires_grad=True), ad.Tensor(1.28630391, requires_grad=True)
    report = ad.check_nodes((big + small) * 0.5)
    assert report.passed, str(report)
    add_small = next(c for c in report.checks if c.primitive == "add" and c.input_index == 1)
    # 5.8e8 + x resolves x only to ~1e-7: the numeric estimate is that much off, and still passes
    assert 1e-9 < add_small.abs_error < 1e-6


def test_steps_follow_the_function_not_the_size_of_the_value():
    """sin at 1e9 turns within a step of 6e-6·1e9; its curvature gives the step instead (numdiff)."""
    x = np.array([1e9])
    report = ad.gradcheck(lambda t: ad.sum(ad.sin(t)), x)
    assert report.passed and report.rows[0].verdict == "agrees"
    assert report.rows[0].length <= 2.0       # the scale of sin's turns, not of 1e9
    assert report.rows[0].numeric_richardson == pytest.approx(np.cos(1e9), abs=1e-4)   # 1e9 + h rounds h
