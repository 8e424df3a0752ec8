"""Formulas that could hang or crash the parser are refused in one line (issue 9).

A formula is bounded in length and nesting depth. Deep nesting is refused from the text alone,
before Python's parser runs; what the text scan cannot see is measured on the parsed tree without
recursion. Within the limit, evaluation and exact gradients work at full depth.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

import workbench.engine as engine
import workbench.formula.parse as parse_module
from cli_helpers import run_cli
from workbench.errors import InputError
from workbench.formula import parse_expression, parse_formula
from workbench.formula.limits import FormulaLimits, text_depth, tree_depth


def _nested(func: str, depth: int, inner: str = "x") -> str:
    return func + "(" * 1 + (func + "(") * (depth - 1) + inner + ")" * depth


@pytest.fixture
def no_python_parser(monkeypatch):
    """Fails the test if Python's parser is reached."""
    def refuse(*args, **kwargs):
        raise AssertionError("ast.parse was called")

    monkeypatch.setattr(parse_module.ast, "parse", refuse)


def test_formula_longer_than_the_limit_is_refused():
    with pytest.raises(InputError) as info:
        parse_formula("y ~ " + " + ".join(["x"] * 5000))
    assert str(info.value) == ("formula: is 20,001 characters long; the limit is 10,000 "
                               "(raise it with WORKBENCH_FORMULA_MAX_CHARS)")


def test_10000_deep_nested_exp_is_refused_before_the_parser(monkeypatch, no_python_parser):
    monkeypatch.setenv("WORKBENCH_FORMULA_MAX_CHARS", "1000000")
    with pytest.raises(InputError) as info:
        parse_formula("y ~ a * " + _nested("exp", 10_000))
    assert str(info.value).startswith("formula: nested 10,000 levels deep at column ")
    assert str(info.value).endswith("the limit is 200 (raise it with WORKBENCH_FORMULA_MAX_DEPTH)")


def test_long_run_of_signs_is_refused_before_the_parser(monkeypatch, no_python_parser):
    monkeypatch.setenv("WORKBENCH_FORMULA_MAX_CHARS", "1000000")
    with pytest.raises(InputError, match=r"nested 10,000 levels deep at column 5"):
        parse_formula("y ~ " + "-" * 10_000 + "x")
    with pytest.raises(InputError, match=r"nested 300 levels deep"):
        parse_expression("not " * 300 + "x > 0", allow_comparisons=True)


def test_deep_operator_chains_are_measured_on_the_tree():
    with pytest.raises(InputError, match=r"formula: nested 1,000 levels deep; the limit is 200"):
        parse_formula("y ~ " + " + ".join(["x"] * 1000))
    with pytest.raises(InputError, match=r"formula: nested (more than )?\d[\d,]* levels deep"):
        parse_formula("y ~ x" + " ** x" * 1500)


def test_depth_limit_comes_from_the_environment(monkeypatch):
    text = "y ~ " + _nested("sin", 20)
    assert parse_formula(text).names == ("x",)
    monkeypatch.setenv("WORKBENCH_FORMULA_MAX_DEPTH", "10")
    with pytest.raises(InputError, match=r"nested 20 levels deep .*the limit is 10 "):
        parse_formula(text)


def test_90_deep_nested_exp_parses_and_evaluates():
    formula = parse_formula("y ~ " + _nested("exp", 90, "-b * x"))
    with np.errstate(over="ignore"):
        value = formula.evaluate({"b": 1.0, "x": np.array([0.0, 1.0])})
    assert value.shape == (2,) and value[0] == np.inf          # e**e**...: overflow, not a crash
    assert parse_formula(str(formula)).expr == formula.expr


def test_gradient_through_a_formula_at_the_depth_limit_is_exact():
    depth = FormulaLimits().max_depth - 5
    formula = parse_formula("y ~ " + _nested("sin", depth, "a * x"))
    x = np.linspace(0.1, 1.0, 4)
    compiled = formula.compile(ops=engine)

    def loss(a):
        return engine.sum(compiled({"a": a, "x": x}))

    exact = engine.grad(loss)(np.array(0.5))
    h = 1e-6
    numeric = (np.sum(formula.evaluate({"a": 0.5 + h, "x": x})) - np.sum(formula.evaluate({"a": 0.5 - h, "x": x}))) / (2 * h)
    assert exact == pytest.approx(numeric, rel=1e-6)


def test_text_depth_counts_brackets_and_sign_runs():
    assert text_depth("a + (b * (c - d))")[0] == 2
    assert text_depth("- - -x")[0] == 3
    assert text_depth("not not (x > 0)")[0] == 2


def test_tree_depth_walks_without_recursion():
    tree = ast.parse("a" + " + a" * 700, mode="eval")      # Python itself accepts this chain
    assert tree_depth(tree) == 701


def test_backticked_name_with_dollars_and_tex_parses():
    formula = parse_formula(r"y ~ a * `cost $` + b * `$\frac{x$`")
    assert formula.names == ("a", "cost $", "b", r"$\frac{x$")
    assert parse_formula(str(formula)).expr == formula.expr


def test_deep_formula_in_a_config_exits_2_in_one_line(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    (tmp_path / "c.yaml").write_text("data: d.csv\nmodel:\n  formula: 'y ~ " + _nested("exp", 1000) + "'\n")
    proc = run_cli("validate", str(tmp_path / "c.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "nested 1,000 levels deep" in proc.stderr
