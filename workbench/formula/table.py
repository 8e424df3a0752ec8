"""The formula language for derived columns: text comparisons, ``in`` lists and date parts.

A derived column (``won: "Status == 'won'"``, ``month: "month(date)"``) is computed once from the
table, never differentiated, so it may use what a model formula may not:

* quoted text, only as one side of ``==`` or ``!=`` (``Status == 'won'``) or in an ``in`` list;
* ``x in [1, 2]`` and ``Region not in ['North', 'South']``, a list of numbers or texts;
* the date parts ``year month day weekday dayofyear`` of a date column (weekday: Monday is 0);
* ``lower(column)``: a text column in lower case, to compare without regard to case
  (``lower(Status) == 'won'`` also counts ``Won`` and ``WON``);
* comparisons and ``and``/``or``/``not`` anywhere, as in a row filter.

``parse_table_expression(text, where=...)`` parses such an expression; it evaluates with
``NUMPY_OPS`` on numpy arrays (numbers, text as object arrays, dates as ``datetime64``). The
parser is the model formulas' own, with three rules added here.
"""

from __future__ import annotations

import ast

from workbench.formula.ir import DATE_PARTS, Call, Compare, Const, Member, Node, Text
from workbench.formula.parse import Source, _Converter

__all__ = ["parse_table_expression", "TEXT_FUNCTIONS"]

TEXT_FUNCTIONS = ("lower",)          # of a text column; the result is compared with quoted text

_TEXT_OPS = {ast.Eq: "==", ast.NotEq: "!="}


class _TableConverter(_Converter):
    """The model formula converter, admitting text, ``in`` lists and date parts."""

    def compare(self, node: ast.Compare) -> Node:
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            return self.member(node)
        operands = [node.left, *node.comparators]
        if not any(_is_text(o) for o in operands):
            return super().compare(node)
        if len(node.ops) != 1 or type(node.ops[0]) not in _TEXT_OPS:
            raise self.fail("quoted text can only be compared with == or !=", node.col_offset,
                            " (e.g. Status == 'won')")
        left, right = (self.text_or_number(o) for o in operands)
        if isinstance(left, Text) and isinstance(right, Text):
            raise self.fail("compare a column with the text, not two texts", node.col_offset)
        return Compare((_TEXT_OPS[type(node.ops[0])],), (left, right))

    def text_or_number(self, node: ast.AST) -> Node:
        return Text(node.value) if _is_text(node) else self.convert(node, "number")

    def member(self, node: ast.Compare) -> Member:
        listed = node.comparators[0]
        if not isinstance(listed, (ast.List, ast.Tuple)) or not listed.elts:
            raise self.fail("'in' takes a list of values, e.g. Region in ['North', 'South']", listed.col_offset)
        values = []
        for item in listed.elts:
            if _is_text(item):
                values.append(Text(item.value))
            elif isinstance(item, (ast.Constant, ast.UnaryOp)):
                converted = self.convert(item, "number")
                if not isinstance(converted, Const):
                    raise self.fail("the values of an 'in' list are numbers or quoted texts", item.col_offset)
                values.append(converted)
            else:
                raise self.fail("the values of an 'in' list are numbers or quoted texts", item.col_offset)
        return Member(self.convert(node.left, "number"), tuple(values), isinstance(node.ops[0], ast.NotIn))

    def call(self, node: ast.Call) -> Node:
        func = node.func
        if isinstance(func, ast.Name) and func.id in DATE_PARTS and func.id not in self.source.quoted:
            if len(node.args) != 1 or node.keywords:
                raise self.fail(f"{func.id}() takes 1 argument, a date column", func.col_offset)
            return Call(func.id, (self.convert(node.args[0], "number"),))
        if isinstance(func, ast.Name) and func.id in TEXT_FUNCTIONS and func.id not in self.source.quoted:
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
                raise self.fail(f"{func.id}() takes 1 argument, a text column (e.g. {func.id}(Status) == 'won')",
                                func.col_offset)
            return Call(func.id, (self.convert(node.args[0], "number"),))
        return super().call(node)


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def parse_table_expression(text: str, *, where: str = "expression"):
    """Parse a derived column's expression (see the module docstring); ``InputError`` otherwise."""
    from workbench.formula import Expression

    source = Source.of(text, where)
    expr, names = source.parse(0, allow_comparisons=True, converter=_TableConverter)
    return Expression(text=text, expr=expr, names=names)
