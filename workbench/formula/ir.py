"""The formula IR: small immutable nodes, the whitelist of functions, and rendering back to text.

A parsed expression is a tree of ``Const``, ``Name``, ``Unary``, ``Binary``, ``Call``, ``Compare``
and ``BoolOp``. ``render(node)`` writes it back as text with only the parentheses needed to parse
to the same tree (``to_string`` of an ``Expression``).
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass

from workbench.engine.registry import formula_functions

__all__ = ["Const", "Name", "Unary", "Binary", "Call", "Compare", "BoolOp", "Text", "Member", "Node",
           "FUNCTIONS", "DATE_PARTS", "CONSTANTS", "FUNCTION_HINTS", "children", "name_text", "render"]


@dataclass(frozen=True, slots=True)
class Const:
    value: float
    name: str | None = None        # "pi" or "e" when written as a constant's name


@dataclass(frozen=True, slots=True)
class Name:
    name: str                      # the real name: backticks removed, spelling as written


@dataclass(frozen=True, slots=True)
class Unary:
    op: str                        # "-" or "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str                        # "+", "-", "*", "/" or "**"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str                      # canonical name: "arctan" also for "atan"
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    ops: tuple[str, ...]           # chained: 0 < x <= 5 is ops ("<", "<=") over three operands
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str                        # "and" or "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Text:
    value: str                     # quoted text, admitted only in derived columns' comparisons


@dataclass(frozen=True, slots=True)
class Member:
    operand: Node                  # ``operand in [v1, v2]``; ``negated`` for ``not in``
    values: tuple[Const | Text, ...]
    negated: bool = False


Node = Const | Name | Unary | Binary | Call | Compare | BoolOp | Text | Member


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, left to right."""
    if isinstance(node, (Const, Name, Text)):
        return ()
    if isinstance(node, Member):
        return (node.operand, *node.values)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return node.operands


# written name -> (canonical name, number of arguments): the engine's registry says which of its
# operations a formula may call (registered with ``formula=``), so a new primitive needs no line here
FUNCTIONS: dict[str, tuple[str, int]] = formula_functions()
DATE_PARTS = ("year", "month", "day", "weekday", "dayofyear")   # of a date column; derived columns only
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
FUNCTION_HINTS = {"ln": "log", "pow": "**", "power": "**", "atan2": "arctan", "minimum": "min",
                  "maximum": "max", "if": "where", "logistic": "sigmoid"}   # other tools' names


_OR, _AND, _NOT, _CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = range(1, 10)
_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "**": _POW, "and": _AND, "or": _OR}
_SPACED = {"+": " + ", "-": " - ", "*": " * ", "/": " / ", "**": "**"}


def name_text(name: str) -> str:
    """``name`` as written in a formula: in backticks unless it is a plain identifier of its own."""
    plain = (name.isidentifier() and not keyword.iskeyword(name) and name not in FUNCTIONS
             and name not in CONSTANTS and not name.startswith("__"))
    return name if plain else f"`{name}`"


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(float(value))


def _wrap(part: tuple[str, int], parens: bool) -> str:
    return f"({part[0]})" if parens else part[0]


def _render(node: Node) -> tuple[str, int]:
    """(text, precedence) with only the parentheses needed to parse back to the same tree."""
    if isinstance(node, Const):
        if node.name:
            return node.name, _ATOM
        return _number_text(node.value), _UNARY if node.value < 0 else _ATOM
    if isinstance(node, Name):
        return name_text(node.name), _ATOM
    if isinstance(node, Text):
        return repr(node.value), _ATOM
    if isinstance(node, Member):
        operand = _render(node.operand)
        listed = ", ".join(_render(v)[0] for v in node.values)
        return f"{_wrap(operand, operand[1] <= _CMP)} {'not in' if node.negated else 'in'} [{listed}]", _CMP
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_render(a)[0] for a in node.args)})", _ATOM
    if isinstance(node, Unary):
        operand = _render(node.operand)
        if node.op == "not":
            return "not " + _wrap(operand, operand[1] <= _NOT), _NOT
        return "-" + _wrap(operand, operand[1] <= _UNARY), _UNARY
    if isinstance(node, Binary):
        prec, left, right = _PRECEDENCE[node.op], _render(node.left), _render(node.right)
        left_parens = left[1] <= prec if node.op == "**" else left[1] < prec
        right_parens = right[1] < prec if node.op == "**" else right[1] <= prec
        right_parens = right_parens or right[1] == _UNARY      # "a * (-b)" reads better than "a * -b"
        return _wrap(left, left_parens) + _SPACED[node.op] + _wrap(right, right_parens), prec
    if isinstance(node, Compare):
        parts = [_wrap(p, p[1] <= _CMP) for p in map(_render, node.operands)]
        text = parts[0] + "".join(f" {op} {part}" for op, part in zip(node.ops, parts[1:]))
        return text, _CMP
    prec = _PRECEDENCE[node.op]
    return f" {node.op} ".join(_wrap(p, p[1] <= prec) for p in map(_render, node.operands)), prec


def render(node: Node) -> str:
    """``node`` as readable text that parses back to the same tree."""
    return _render(node)[0]
