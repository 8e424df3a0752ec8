"""The safe formula language: model formulas and row filters, parsed and never executed.

Provides ``parse_formula(text) -> Formula`` (``units ~ a * price**b + c``), ``parse_expression(text,
allow_comparisons=False) -> Expression`` (an expression alone, or a row filter such as
``price > 0 and region != 3``), the IR nodes and ``NUMPY_OPS``. An expression evaluates its IR with
a mapping of names to values and a pluggable namespace of functions, ``ops``: numpy by default, the
autodiff engine when fitting (``formula.compile(ops=workbench.engine)``), so a fit differentiates
exactly what the user wrote.

The language: numbers, names, ``+ - * / **``, unary minus, parentheses, and calls to
exp log log10 log1p sqrt abs sin cos tan arctan (alias atan) tanh sigmoid softplus, min and max
(two arguments, elementwise) and where(condition, a, b). Comparisons ``< <= > >= == !=`` and
``and``/``or``/``not`` belong in where's condition, and anywhere in a row filter. Anything else
(attributes, indexing, strings, lambdas, keyword arguments, names starting with ``__``...) is an
``InputError`` that names the problem and its column, in one line.

Conventions:
* ``pi`` and ``e`` are always the constants and function names are never plain names, so a column
  or parameter called ``pi``, ``e`` or ``exp`` is written in backticks: ```e```. Any other name with
  spaces or symbols goes in backticks too: ```Unit Price```. A name cannot contain a backtick.
* Columns in error messages count characters from 1 over the whole text, the target included.
* Constants are numpy float64, so ``1/0`` gives ``inf`` as it would on arrays, never an exception.
* Derived columns use a wider language, ``parse_table_expression`` (``table.py``): quoted text in
  ``==``/``!=``, ``in [...]`` lists and the date parts year, month, day, weekday, dayofyear.
* A formula is bounded in length and nesting depth (``limits.py``; environment variables raise
  the limits), so no text can exhaust the parser or a recursive walk of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from workbench.formula.evaluation import NUMPY_OPS, compile_node, evaluate
from workbench.formula.ir import (CONSTANTS, FUNCTIONS, Binary, BoolOp, Call, Compare, Const, Name, Node,
                                  Unary, name_text, render)
from workbench.formula.parse import Source, split_target

__all__ = ["Const", "Name", "Unary", "Binary", "Call", "Compare", "BoolOp", "Node", "Expression",
           "Formula", "FUNCTIONS", "CONSTANTS", "NUMPY_OPS", "parse_formula", "parse_expression"]


@dataclass(frozen=True)
class Expression:
    """A parsed expression: ``expr`` (IR), ``names`` (its free names, first appearance first,
    spelled as in the data) and the original ``text``."""

    text: str
    expr: Node
    names: tuple[str, ...]

    @property
    def is_condition(self) -> bool:
        """True when the value is true/false (a comparison, and/or/not), as a row filter needs."""
        return isinstance(self.expr, (Compare, BoolOp)) or (isinstance(self.expr, Unary) and self.expr.op == "not")

    def evaluate(self, env: Mapping[str, Any], ops=NUMPY_OPS) -> Any:
        """The value with ``env`` giving every name and ``ops`` the functions."""
        return evaluate(self.expr, env, ops)

    def compile(self, ops=NUMPY_OPS) -> Callable[[Mapping[str, Any]], Any]:
        """A function ``f(env)`` equal to ``evaluate(env, ops)``, built once for repeated calls."""
        return compile_node(self.expr, ops)

    def to_string(self) -> str:
        """Readable text that parses back to the same expression."""
        return render(self.expr)

    def __str__(self) -> str:
        return self.to_string()


@dataclass(frozen=True)
class Formula(Expression):
    """``target ~ expression``: ``to_string()`` is the right-hand side, ``str()`` the whole formula.
    ``names`` are the right-hand side's names; the target is not among them."""

    target: str

    def __str__(self) -> str:
        return f"{name_text(self.target)} ~ {self.to_string()}"


def parse_formula(text: str, *, where: str = "formula") -> Formula:
    """Parse ``target ~ expression``; bad input raises ``InputError`` prefixed with ``where``."""
    source = Source.of(text, where)
    target, start = split_target(source)
    expr, names = source.parse(start, allow_comparisons=False)
    return Formula(text=text, expr=expr, names=names, target=target)


def parse_expression(text: str, allow_comparisons: bool = False, *, where: str = "expression") -> Expression:
    """Parse an expression without a target. ``allow_comparisons`` admits comparisons and
    and/or/not at any level (row filters), not only inside where's condition."""
    source = Source.of(text, where)
    expr, names = source.parse(0, allow_comparisons=allow_comparisons)
    return Expression(text=text, expr=expr, names=names)


def __getattr__(name: str):
    if name == "parse_table_expression":          # imported on first use: it extends the parser
        from workbench.formula.table import parse_table_expression

        return parse_table_expression
    raise AttributeError(f"module 'workbench.formula' has no attribute {name!r}")
