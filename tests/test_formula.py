"""The formula language: what it accepts and computes, what it refuses and how it says so, and
that rendering a tree to text and parsing it back gives the same tree and the same values."""

from __future__ import annotations

import math
import timeit
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench.formula.evaluation as formula_evaluation
from workbench.errors import EXIT_BAD_INPUT, InputError
from workbench.formula import (NUMPY_OPS, Binary, BoolOp, Call, Compare, Const, Formula, Name, Unary,
                               parse_expression, parse_formula)

X = np.array([0.5, 1.0, 2.0, 3.5])
ENV = {"x": X, "a": 2.0, "b": 0.7, "c": -1.5}

ACCEPTED = {
    "y ~ a * x + b": lambda x, a, b, c: a * x + b,
    "y ~ a * x**b + c": lambda x, a, b, c: a * x ** b + c,
    "y ~ a * exp(-b * x) + c": lambda x, a, b, c: a * np.exp(-b * x) + c,
    "y ~ -x**2": lambda x, a, b, c: -(x ** 2),
    "y ~ (-x)**2": lambda x, a, b, c: x ** 2,
    "y ~ 2**-x": lambda x, a, b, c: 2.0 ** -x,
    "y ~ +a - -b": lambda x, a, b, c: a + b,
    "y ~ a / b / x": lambda x, a, b, c: (a / b) / x,
    "y ~ x**b**a": lambda x, a, b, c: x ** (b ** a),
    "y ~ log(x) + log10(x) + log1p(x) + sqrt(x) + abs(c)": lambda x, a, b, c: (np.log(x) + np.log10(x) + np.log1p(x)
                                                                              + np.sqrt(x) + abs(c)),
    "y ~ sin(x) * cos(x) - tan(x) + arctan(x) + atan(b) + tanh(x)":
        lambda x, a, b, c: np.sin(x) * np.cos(x) - np.tan(x) + np.arctan(x) + np.arctan(b) + np.tanh(x),
    "y ~ sigmoid(x - a) + softplus(c * x)": lambda x, a, b, c: 1 / (1 + np.exp(-(x - a))) + np.log1p(np.exp(c * x)),
    "y ~ min(x, a) + max(x, b)": lambda x, a, b, c: np.minimum(x, a) + np.maximum(x, b),
    "y ~ where(x > a, x, c)": lambda x, a, b, c: np.where(x > a, x, c),
    "y ~ where(x >= 1 and not x == 2 or x < b, 1, 0)": lambda x, a, b, c: np.where(((x >= 1) & (x != 2)) | (x < b), 1, 0),
    "y ~ where(0.5 < x <= 2, x, 0)": lambda x, a, b, c: np.where((0.5 < x) & (x <= 2), x, 0),
    "y ~ 2 * pi * x + e": lambda x, a, b, c: 2 * np.pi * x + np.e,
    "y ~ 1.5e-3 * x + 1_000": lambda x, a, b, c: 1.5e-3 * x + 1000,
}


@pytest.mark.parametrize("text", list(ACCEPTED))
def test_accepted_formula_evaluates_like_numpy(text):
    formula = parse_formula(text)
    expected = ACCEPTED[text](**ENV)
    np.testing.assert_allclose(formula.evaluate(ENV), expected, rtol=1e-13)
    np.testing.assert_allclose(formula.compile()(ENV), expected, rtol=1e-13)


def test_target_and_names_in_order_of_first_appearance():
    formula = parse_formula("units ~ a * price**b + c * price + exp(-a)")
    assert formula.target == "units"
    assert formula.names == ("a", "price", "b", "c")
    assert formula.text == "units ~ a * price**b + c * price + exp(-a)"


def test_backticks_quote_names_with_spaces_symbols_and_reserved_words():
    formula = parse_formula("`Units sold` ~ a * `Unit Price (€)` + b * `e` + `exp` + e")
    assert formula.target == "Units sold"
    assert formula.names == ("a", "Unit Price (€)", "b", "e", "exp")
    env = {"a": 2.0, "Unit Price (€)": 3.0, "b": 10.0, "e": 0.5, "exp": 1.0}
    assert formula.evaluate(env) == pytest.approx(2 * 3 + 10 * 0.5 + 1 + math.e)
    assert str(formula) == "`Units sold` ~ a * `Unit Price (€)` + b * `e` + `exp` + e"


def test_non_ascii_names_keep_their_spelling():
    formula = parse_formula("y ~ ﬁt * größe")   # Python's ast would fold 'ﬁ' to 'fi'
    assert formula.names == ("ﬁt", "größe")
    assert formula.evaluate({"ﬁt": 2.0, "größe": 3.0}) == 6.0


def test_pi_and_e_are_constants_not_names():
    formula = parse_formula("y ~ a * e**(-x) + pi")
    assert formula.names == ("a", "x")
    assert formula.evaluate({"a": 1.0, "x": 0.0}) == pytest.approx(1 + math.pi)


def test_multi_line_formula_from_a_yaml_block_parses():
    formula = parse_formula("y ~ a * x\n    + b\n")
    assert formula.names == ("a", "x", "b")


def test_ir_of_a_formula():
    formula = parse_formula("y ~ -a * atan(x) + where(x > 0, 1, pi)")
    assert formula.expr == Binary("+", Binary("*", Unary("-", Name("a")), Call("arctan", (Name("x"),))),
                                  Call("where", (Compare((">",), (Name("x"), Const(0.0))), Const(1.0),
                                                 Const(math.pi, "pi"))))


REJECTED = {
    "y ~ foo(x)": ["unknown function 'foo' at column 5", "functions are: abs,"],
    "y ~ expp(x)": ["unknown function 'expp' at column 5 (did you mean 'exp'?)"],
    "y ~ ln(x)": ["unknown function 'ln'", "did you mean 'log'?"],
    "y ~ a * exp(-b * x) + + * c": ["syntax error at column 25"],
    "y ~ (a + b": ["syntax error at column 5", "never closed"],
    "y ~ x.__class__": ["attribute access '.__class__' is not allowed at column 6"],
    "y ~ exp.__globals__(x)": ["attribute access '.__globals__'"],
    "y ~ __import__('os')": ["the name '__import__' is not allowed at column 5"],
    "y ~ a * __builtins__": ["'__builtins__' is not allowed at column 9"],
    "y ~ x[0]": ["indexing with [...] is not allowed at column 6"],
    "y ~ (lambda: 1)()": ["'lambda' is not allowed"],
    "y ~ 'abc'": ["text in quotes is not allowed at column 5", "backticks"],
    "y ~ f'{x}'": ["text in quotes is not allowed"],
    "y ~ exp(x=1)": ["keyword arguments are not allowed at column 9"],
    "y ~ exp(*x)": ["starred arguments like *args are not allowed at column 9"],
    "y ~ max(**x)": ["keyword arguments are not allowed"],
    "y ~ sum([i for i in x])": ["unknown function 'sum'"],
    "y ~ [i for i in x]": ["comprehensions are not allowed at column 5"],
    "y ~ (i for i in x)": ["comprehensions are not allowed"],
    "y ~ exp(x, 2)": ["exp() takes 1 argument, got 2 at column 5"],
    "y ~ max(x)": ["max() takes 2 arguments, got 1"],
    "y ~ where(x > 0, 1)": ["where() takes 3 arguments, got 2", "value_if_true"],
    "y ~ where(x, a, b)": ["expected a condition such as 'x > 0', got 'x' at column 11"],
    "y ~ a * x > 0": ["comparison '>' is only allowed inside where(condition, a, b) at column 11"],
    "y ~ a and b": ["'and' is only allowed inside where"],
    "y ~ not a": ["'not' is only allowed inside where"],
    "y ~ x in b": ["'in' is not allowed at column 7"],
    "y ~ where(x is b, 1, 0)": ["'is' is not allowed"],
    "y ~ a if x else b": ["'... if ... else ...' is not allowed", "use where"],
    "y ~ a ^ 2": ["operator '^' is not allowed at column 7 (use ** for powers)"],
    "y ~ a % 2": ["operator '%' is not allowed at column 7"],
    "y ~ a // 2": ["operator '//' is not allowed"],
    "y ~ (x, 1)": ["tuples"],
    "y ~ {1: 2}": ["dicts are not allowed"],
    "y ~ (z := 2)": ["':=' is not allowed"],
    "y ~ True": ["'True' is not allowed"],
    "y ~ 2j": ["complex numbers are not allowed"],
    "y ~ 1e999": ["the number 1e999 is too large"],
    "y ~ exp": ["'exp' is a function: call it as exp(...)", "`exp`"],
    "y ~ `x`(2)": ["`x` in backticks is a name and cannot be called"],
    "y ~ `Unit Price": ["unclosed backtick '`' at column 5"],
    "y ~ a * x # slope": ["'#' is not allowed at column 11"],
    "y ~ `` + 1": ["empty name in backticks at column 5"],
    "a * x": ["missing '~'", "target ~ expression"],
    "y = a * x": ["missing '~'", "'=' is not used"],
    "y ~ a ~ b": ["more than one '~' at column 7"],
    "~ a * x": ["nothing before '~' at column 1"],
    "log(y) ~ a": ["the left of '~' must be one column name, got 'log(y)' at column 1"],
    "y ~  ": ["nothing after '~' at column 4"],
    "   ": ["empty"],
    "`Unit Price` ~ a * `Unit Price` + foo(x)": ["unknown function 'foo' at column 35"],
    "y ~ a *\n  foo(x)": ["unknown function 'foo' at column 11"],
}


@pytest.mark.parametrize("text", list(REJECTED))
def test_rejected_formula_gives_a_one_line_input_error_naming_problem_and_column(text):
    with pytest.raises(InputError) as info:
        parse_formula(text)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("formula: ")
    assert info.value.exit_code == EXIT_BAD_INPUT
    for part in REJECTED[text]:
        assert part in message, message


def test_non_text_formula_is_an_input_error():
    with pytest.raises(InputError, match="must be text, got 5"):
        parse_formula(5)


def test_error_prefix_names_the_config_key():
    with pytest.raises(InputError, match=r"^model\.formula: unknown function 'foo'"):
        parse_formula("y ~ foo(x)", where="model.formula")


# ---- row filters -----------------------------------------------------------------------------------

def test_row_filter_allows_comparisons_and_boolean_operators_at_top_level():
    flt = parse_expression("price > 0 and region != 3 or not (week <= 2)", allow_comparisons=True)
    assert flt.is_condition and flt.names == ("price", "region", "week")
    env = {"price": np.array([1.0, -1.0, 2.0, 0.0]), "region": np.array([1.0, 1.0, 3.0, 3.0]),
           "week": np.array([1.0, 2.0, 3.0, 4.0])}
    expected = ((env["price"] > 0) & (env["region"] != 3)) | ~(env["week"] <= 2)
    np.testing.assert_array_equal(flt.evaluate(env), expected)
    np.testing.assert_array_equal(flt.compile()(env), expected)


def test_row_filter_reports_a_comparison_used_as_a_number():
    with pytest.raises(InputError, match=r"^data\.where: comparison '>' gives true/false and cannot be used "
                                         r"as a number at column 4"):
        parse_expression("(x > 0) * 2", allow_comparisons=True, where="data.where")


def test_a_plain_expression_is_not_a_condition():
    assert not parse_expression("price * 2", allow_comparisons=True).is_condition


def test_expression_without_comparisons_refuses_them():
    with pytest.raises(InputError, match="only allowed inside where"):
        parse_expression("x > 0")


def test_tilde_in_an_expression_is_refused():
    with pytest.raises(InputError, match="operator '~' is not allowed here at column 1"):
        parse_expression("~x")


# ---- evaluation with pluggable ops ---------------------------------------------------------------

NIST = {
    "y ~ b1*(1 - exp(-b2*x))": lambda x, b: b[1] * (1 - np.exp(-b[2] * x)),
    "y ~ exp(-b1*x) / (b2 + b3*x)": lambda x, b: np.exp(-b[1] * x) / (b[2] + b[3] * x),
    "y ~ b1 / ((1 + exp(b2 - b3*x))**(1/b4))": lambda x, b: b[1] / ((1 + np.exp(b[2] - b[3] * x)) ** (1 / b[4])),
    "y ~ b1 - b2*x - arctan(b3/(x - b4))/pi": lambda x, b: b[1] - b[2] * x - np.arctan(b[3] / (x - b[4])) / np.pi,
    "y ~ b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4)":
        lambda x, b: b[1] + b[2] * np.cos(2 * np.pi * x / 12) + b[3] * np.sin(2 * np.pi * x / 12)
        + b[5] * np.cos(2 * np.pi * x / b[4]),
}


@pytest.mark.parametrize("text", list(NIST))
def test_nist_model_formulas_match_numpy_reference(text):
    b = {i: 0.3 + 0.4 * i for i in range(1, 6)}
    x = np.linspace(1.0, 12.0, 9)
    env = {"x": x, **{f"b{i}": v for i, v in b.items()}}
    formula = parse_formula(text)
    np.testing.assert_allclose(formula.evaluate(env), NIST[text](x, b), rtol=1e-14)
    np.testing.assert_allclose(formula.compile()(env), NIST[text](x, b), rtol=1e-14)


def test_functions_come_from_the_ops_namespace():
    calls = []

    def recorder(name):
        def fn(*args):
            calls.append(name)
            return getattr(NUMPY_OPS, name)(*args)
        return fn

    names = ["exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tan", "arctan", "tanh", "sigmoid", "softplus",
             "minimum", "maximum", "where"]
    ops = SimpleNamespace(**{n: recorder(n) for n in names})
    formula = parse_formula("y ~ log10(x) + min(x, 1) + where(x > 1, exp(x), sigmoid(x))")
    expected = np.log10(X) + np.minimum(X, 1) + np.where(X > 1, np.exp(X), 1 / (1 + np.exp(-X)))
    np.testing.assert_allclose(formula.evaluate({"x": X}, ops=ops), expected, rtol=1e-14)
    assert calls == ["log", "minimum", "exp", "sigmoid", "where"]
    calls.clear()
    np.testing.assert_allclose(formula.compile(ops)({"x": X}), expected, rtol=1e-14)
    assert calls == ["log", "minimum", "exp", "sigmoid", "where"]


def test_numpy_sigmoid_and_softplus_are_stable_for_large_inputs():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sig, soft = NUMPY_OPS.sigmoid(x), NUMPY_OPS.softplus(x)
    np.testing.assert_allclose(sig, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0], rtol=1e-15)
    np.testing.assert_allclose(soft, [0.0, np.log1p(np.exp(-30)), np.log(2), 30 + np.log1p(np.exp(-30)), 1000.0],
                               rtol=1e-15)


def test_constants_follow_numpy_division_by_zero():
    with np.errstate(divide="ignore"):
        assert parse_formula("y ~ a / 0").evaluate({"a": 1.0}) == np.inf
    assert parse_formula("y ~ a + 1/0").compile()({"a": 1.0}) == np.inf


def test_missing_name_is_an_input_error_naming_it():
    formula = parse_formula("y ~ a * x")
    with pytest.raises(InputError, match="no value for the name 'x'"):
        formula.evaluate({"a": 1.0})
    with pytest.raises(InputError, match="no value for the name 'x'"):
        formula.compile()({"a": 1.0})


def test_compiled_function_does_no_ir_dispatch_and_is_faster(monkeypatch):
    formula = parse_formula("y ~ b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)")
    env = {"x": 3.0, **{f"b{i}": float(i) for i in range(1, 7)}}
    compiled = formula.compile()
    expected = formula.evaluate(env)
    interpreted = min(timeit.repeat(lambda: formula.evaluate(env), number=300, repeat=5))
    fast = min(timeit.repeat(lambda: compiled(env), number=300, repeat=5))
    assert fast < 0.7 * interpreted, (fast, interpreted)

    def no_dispatch(*args, **kwargs):
        raise AssertionError("the compiled function walked the IR")

    monkeypatch.setattr(formula_evaluation, "evaluate", no_dispatch)
    assert compiled(env) == expected


# ---- rendering -------------------------------------------------------------------------------------

RENDERED = {
    "y ~ a*x+b": "a * x + b",
    "y ~ a * (-b)": "a * (-b)",
    "y ~ (-x)**2": "(-x)**2",
    "y ~ -x**2": "-x**2",
    "y ~ a - (b - c)": "a - (b - c)",
    "y ~ (a - b) - c": "a - b - c",
    "y ~ (x**2)**3": "(x**2)**3",
    "y ~ x**(2**3)": "x**2**3",
    "y ~ atan(x) / (1 + exp(b - c*x))": "arctan(x) / (1 + exp(b - c * x))",
    "y ~ `Unit Price` * `e` + e + `#units`": "`Unit Price` * `e` + e + `#units`",
    "y ~ where(not (x > 0 and x < 1) or x == 5, 1.5, 1e-07)": "where(not (x > 0 and x < 1) or x == 5, 1.5, 1e-07)",
}


@pytest.mark.parametrize("text", list(RENDERED))
def test_to_string_renders_readably_with_needed_parentheses_only(text):
    formula = parse_formula(text)
    assert formula.to_string() == RENDERED[text]
    assert str(formula) == "y ~ " + RENDERED[text]


LEAF_NAMES = ["x", "a", "b", "Unit Price", "e"]
UNARY_FUNCS = ["exp", "log", "log10", "log1p", "sqrt", "abs", "sin", "cos", "tan", "arctan", "tanh", "sigmoid",
               "softplus"]
leaves = st.one_of(
    st.sampled_from(LEAF_NAMES).map(Name),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(Const),
    st.sampled_from([Const(math.pi, "pi"), Const(math.e, "e")]),
)


def _extend(children):
    condition = st.builds(lambda op, l, r: Compare((op,), (l, r)), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
                          children, children)
    condition = st.one_of(condition, st.builds(lambda c1, c2, op: BoolOp(op, (c1, c2)), condition, condition,
                                               st.sampled_from(["and", "or"])),
                          condition.map(lambda c: Unary("not", c)))
    return st.one_of(
        st.builds(lambda c: Unary("-", c), children),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
        st.builds(lambda f, c: Call(f, (c,)), st.sampled_from(UNARY_FUNCS), children),
        st.builds(lambda f, l, r: Call(f, (l, r)), st.sampled_from(["min", "max"]), children, children),
        st.builds(lambda c, l, r: Call("where", (c, l, r)), condition, children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(tree=trees, values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=5, max_size=5))
def test_random_trees_round_trip_through_text(tree, values):
    text = "y ~ " + Formula(text="", expr=tree, names=(), target="y").to_string()
    parsed = parse_formula(text)
    assert parsed.expr == tree, text
    env = dict(zip(["x", "a", "b", "Unit Price", "e"], np.array(values)[:, None] * np.ones((1, 3))))
    env["e"] = env["e"][0]
    with np.errstate(all="ignore"):
        original = formula_evaluation.evaluate(tree, env)
        again = parsed.evaluate(env)
        compiled = parsed.compile()(env)
    np.testing.assert_array_equal(again, original)
    np.testing.assert_array_equal(compiled, original)


# -- derived columns' language (workbench.formula.table): text, in-lists, date parts

def _table_env():
    import numpy as np

    return {"Status": np.array(["won", "lost", "won", "open"], dtype=object),
            "Region": np.array(["North", "South", "East", "North"], dtype=object),
            "date": np.array(["2024-01-31", "2024-02-29", "2023-12-31", "2024-03-04"], dtype="datetime64[D]"),
            "Price": np.array([1000.0, 2500.0, 0.0, 10.0])}


@pytest.mark.parametrize("text, expected", [
    ("Status == 'won'", [1, 0, 1, 0]),
    ("'won' != Status", [0, 1, 0, 1]),
    ("Region in ['North', 'South']", [1, 1, 0, 1]),
    ("Region not in ['North']", [0, 1, 1, 0]),
    ("Status == 'won' and Price > 500", [1, 0, 0, 0]),
    ("not (Status == 'won') or Price == 0", [0, 1, 1, 1]),
    ("Price in [10, 1000]", [1, 0, 0, 1]),
    ("where(Status == 'won', Price / 1000, -1)", [1.0, -1, 0.0, -1]),
    ("year(date)", [2024, 2024, 2023, 2024]),
    ("month(date)", [1, 2, 12, 3]),
    ("day(date)", [31, 29, 31, 4]),
    ("weekday(date)", [2, 3, 6, 0]),          # Wednesday, Thursday, Sunday, Monday
    ("dayofyear(date)", [31, 60, 365, 64]),   # 2024 is a leap year
])
def test_table_expressions_evaluate_on_text_and_date_columns(text, expected):
    import numpy as np

    from workbench.formula.table import parse_table_expression

    expression = parse_table_expression(text, where="data.derive.won")
    env = _table_env()
    assert np.array_equal(np.asarray(expression.evaluate(env), dtype=float), np.asarray(expected, dtype=float))
    assert np.array_equal(expression.compile()(env), expression.evaluate(env))
    assert parse_table_expression(expression.to_string()).expr == expression.expr


@pytest.mark.parametrize("text, message", [
    ("Status < 'won'", "data.derive.x: quoted text can only be compared with == or != at column 1"),
    ("'a' == 'b'", "data.derive.x: compare a column with the text, not two texts at column 1"),
    ("Region in Status", "data.derive.x: 'in' takes a list of values"),
    ("Region in [x]", "data.derive.x: the values of an 'in' list are numbers or quoted texts at column 12"),
    ("Status + 'x'", "data.derive.x: text in quotes is not allowed at column 10"),
    ("month(date, 2)", "data.derive.x: month() takes 1 argument, a date column at column 1"),
    ("__import__('os')", "data.derive.x: the name '__import__' is not allowed"),
])
def test_table_expressions_refuse_what_they_cannot_mean(text, message):
    from workbench.formula.table import parse_table_expression

    with pytest.raises(InputError) as info:
        parse_table_expression(text, where="data.derive.x")
    assert str(info.value).startswith(message)


def test_model_formulas_still_refuse_text_in_lists_and_date_parts():
    with pytest.raises(InputError, match="text in quotes is not allowed"):
        parse_formula("y ~ a * where(Status == 'won', 1, 0)")
    with pytest.raises(InputError, match="'in' is not allowed"):
        parse_expression("x in [1, 2]", allow_comparisons=True)
    assert parse_formula("y ~ a * year + b").names == ("a", "year", "b")     # a column may be called year
    with pytest.raises(InputError, match="unknown function 'month'"):
        parse_formula("y ~ a * month(date)")
