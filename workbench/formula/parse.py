"""From text to the IR: Python's ``ast`` parses, a whitelist decides what is admitted.

``Source.of(text, where)`` prepares the text: newlines become spaces (so a column is a character
index) and backticked names become placeholder identifiers, remembered with their real names and
positions. ``Source.parse`` then converts the ``ast`` tree node by node; any node type without a
converter is refused with a message saying what it is and where. ``split_target`` handles the
``target ~`` part of a formula. Error columns are 1-based positions in the original text.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field

from workbench.errors import InputError, did_you_mean
from workbench.formula.limits import FormulaLimits, text_depth, tree_depth
from workbench.formula.ir import (CONSTANTS, FUNCTION_HINTS, FUNCTIONS, Binary, BoolOp, Call, Compare,
                                  Const, Name, Node, Unary)

__all__ = ["Source", "split_target"]

_BINARY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED_BINARY = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitXor: "^", ast.BitAnd: "&",
                   ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>"}
_BINARY_HINTS = {"^": " (use ** for powers)", "&": " (use 'and' in a condition)", "|": " (use 'or' in a condition)"}
_COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_REFUSED_COMPARE = {ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
_REFUSED_NODES = {
    ast.Lambda: "'lambda' is not allowed",
    ast.IfExp: "'... if ... else ...' is not allowed (use where(condition, a, b))",
    ast.ListComp: "comprehensions are not allowed", ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed", ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed", ast.Tuple: "tuples (values separated by commas) are not allowed",
    ast.Set: "sets are not allowed", ast.Dict: "dicts are not allowed",
    ast.JoinedStr: "text in quotes is not allowed (write a name with spaces in backticks: `Unit Price`)",
    ast.NamedExpr: "':=' is not allowed", ast.Starred: "starred arguments like *args are not allowed",
    ast.Await: "'await' is not allowed", ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed", ast.Slice: "slices are not allowed",
}
_RESERVED = " (names starting with '__' are reserved)"
_EXAMPLE = "'y ~ a * exp(-b * x) + c'"


@dataclass
class Source:
    text: str                                  # as the user wrote it
    where: str                                 # prefix of every error, e.g. "formula" or "data.where"
    code: str = ""                             # one line, backticked names replaced by placeholders
    quoted: dict[str, str] = field(default_factory=dict)            # placeholder -> real name
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # code start/end, text start/end
    limits: FormulaLimits = field(default_factory=FormulaLimits)

    @classmethod
    def of(cls, text: object, where: str) -> Source:
        if not isinstance(text, str):
            raise InputError(f"must be text, got {text!r}", where=where)
        source = cls(text, where, limits=FormulaLimits.from_env())
        if len(text) > source.limits.max_chars:
            raise source.error(f"is {len(text):,} characters long; {source.limits.hint('max_chars')}")
        line = re.sub(r"[\r\n\t\f\v]", " ", text)
        if not line.strip():
            raise source.error("nothing to parse (empty text)")
        prefix = "_q"
        while prefix in line:                  # placeholders must not collide with the user's names
            prefix += "_"
        pieces, pos = [], 0
        while (start := line.find("`", pos)) >= 0:
            end = line.find("`", start + 1)
            if end < 0:
                raise source.error("unclosed backtick '`'", start, in_code=False)
            if end == start + 1:
                raise source.error("empty name in backticks", start, in_code=False)
            placeholder = f"{prefix}{len(source.quoted)}"
            source.quoted[placeholder] = line[start + 1:end]
            pieces.append(line[pos:start])
            code_start = sum(map(len, pieces))
            source.spans.append((code_start, code_start + len(placeholder), start, end + 1))
            pieces.append(placeholder)
            pos = end + 1
        pieces.append(line[pos:])
        source.code = "".join(pieces)
        if "#" in source.code:                 # Python would silently drop the rest as a comment
            raise source.error("'#' is not allowed", source.code.index("#"), " (a name with '#' goes in backticks)")
        return source

    def column(self, index: int, in_code: bool = True) -> int:
        """1-based column in the user's text of character ``index`` of ``code``."""
        if not in_code:
            return index + 1
        shift = 0
        for code_start, code_end, text_start, text_end in self.spans:
            if index < code_start:
                break
            if index < code_end:
                return text_start + 1
            shift = text_end - code_end
        return index + shift + 1

    def error(self, message: str, index: int | None = None, suffix: str = "", in_code: bool = True) -> InputError:
        at = "" if index is None else f" at column {self.column(index, in_code)}"
        return InputError(f"{message}{at}{suffix}", where=self.where)

    def _too_deep(self, depth: int | str, index: int | None = None) -> InputError:
        return self.error(f"nested {depth} levels deep", index, f"; {self.limits.hint('max_depth')}")

    def _python_tree(self, body: str, base: int) -> ast.Expression:
        """Python's parse of ``body``, after a scan that refuses deep nesting before the parser sees it."""
        depth, peak = text_depth(body)
        if depth > self.limits.max_depth:
            raise self._too_deep(f"{depth:,}", base + peak)
        try:
            tree = ast.parse(body, mode="eval")
        except SyntaxError as exc:
            column = self.column(base + max((exc.offset or 1) - 1, 0))
            raise InputError(f"syntax error at column {column}: {exc.msg}", where=self.where) from None
        except (RecursionError, MemoryError):        # the parser's own guard against deep nesting
            raise self._too_deep(f"more than {self.limits.max_depth:,}") from None
        except ValueError as exc:
            raise self.error(f"cannot be parsed: {exc}") from None
        depth = tree_depth(tree)
        if depth > self.limits.max_depth:
            raise self._too_deep(f"{depth:,}")
        return tree

    def parse(self, start: int, allow_comparisons: bool, converter: type | None = None) -> tuple[Node, tuple[str, ...]]:
        """The IR and the free names (first appearance first) of ``code[start:]``; ``converter``
        replaces the model formulas' rules (derived columns admit more, see ``table.py``)."""
        body = self.code[start:]
        lead = len(body) - len(body.lstrip())
        body = body.strip()
        if not body:
            raise self.error("nothing after '~'" if start else "nothing to parse (empty text)", start or None)
        base = start + lead
        tree = self._python_tree(body, base)
        converter = (converter or _Converter)(self, body.encode("utf-8"), base, allow_comparisons)
        try:
            expr = converter.convert(tree.body, "any" if allow_comparisons else "number")
        except RecursionError:
            raise self.error("is nested too deeply") from None
        return expr, tuple(converter.names)


def split_target(source: Source) -> tuple[str, int]:
    """The target name of ``target ~ expression`` and the index in ``code`` where the expression starts."""
    tildes = [i for i, ch in enumerate(source.code) if ch == "~"]
    if not tildes:
        hint = " ('=' is not used)" if re.search(r"(?<![<>=!])=(?!=)", source.code) else ""
        raise source.error(f"missing '~': write 'target ~ expression', e.g. {_EXAMPLE}{hint}")
    if len(tildes) > 1:
        raise source.error("more than one '~'", tildes[1], " (write one 'target ~ expression')")
    left = source.code[:tildes[0]]
    name = left.strip()
    if not name:
        raise source.error("nothing before '~'", tildes[0], f": name the target column, e.g. {_EXAMPLE}")
    start = len(left) - len(left.lstrip())
    if name in source.quoted:
        return source.quoted[name], tildes[0] + 1
    if not name.isidentifier() or keyword.iskeyword(name):
        shown = re.sub(r"\s+", " ", source.text[:source.column(tildes[0]) - 1].strip())
        raise source.error(f"the left of '~' must be one column name, got {shown!r}", start,
                           " (transform the data instead, or move the function to the right)"
                           if "(" in name else " (put a name with spaces in backticks)")
    return name, tildes[0] + 1


class _Converter:
    """Turns an ``ast`` expression into the IR, refusing every node type it has no rule for."""

    def __init__(self, source: Source, body: bytes, base: int, allow_comparisons: bool):
        self.source, self.body, self.base, self.allow_comparisons = source, body, base, allow_comparisons
        self.names: dict[str, None] = {}
        self.rules = {ast.Constant: self.constant, ast.Name: self.name, ast.BinOp: self.binary,
                      ast.UnaryOp: self.unary, ast.Call: self.call, ast.Compare: self.compare,
                      ast.BoolOp: self.boolean}

    # -- positions and errors
    def index(self, byte_offset: int) -> int:
        """Index in ``source.code`` of a byte offset into the parsed body (ast counts UTF-8 bytes)."""
        return self.base + len(self.body[:byte_offset].decode("utf-8", errors="ignore"))

    def fail(self, message: str, byte_offset: int, suffix: str = "") -> InputError:
        return self.source.error(message, self.index(byte_offset), suffix)

    def find(self, symbol: str, after: ast.AST, before: ast.AST | None = None) -> int:
        """Byte offset of an operator written between two nodes."""
        end = len(self.body) if before is None else before.col_offset
        found = self.body.find(symbol.encode(), after.end_col_offset, end)
        return found if found >= 0 else after.end_col_offset

    def segment(self, node: ast.AST) -> str:
        return self.body[node.col_offset:node.end_col_offset].decode("utf-8", errors="replace")

    # -- the walk
    def convert(self, node: ast.AST, want: str) -> Node:
        """``want`` is "number", "condition" or "any" (a row filter's top level)."""
        rule = self.rules.get(type(node))
        if rule is None:
            raise self.refuse(node)
        is_condition = isinstance(node, (ast.Compare, ast.BoolOp)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))
        if want == "number" and is_condition:
            raise self.misplaced_condition(node)
        if want == "condition" and not is_condition:
            raise self.fail(f"expected a condition such as 'x > 0', got {self.segment(node)!r}", node.col_offset)
        return rule(node)

    def misplaced_condition(self, node: ast.AST) -> InputError:
        if isinstance(node, ast.Compare):
            symbol = {**_COMPARE_OPS, **_REFUSED_COMPARE}[type(node.ops[0])]
            offset = self.find(symbol.split()[0], node.left, node.comparators[0])
            if symbol in _REFUSED_COMPARE.values():
                return self.fail(f"{symbol!r} is not allowed", offset, " (use < <= > >= == !=)")
            what = f"comparison {symbol!r}"
        elif isinstance(node, ast.BoolOp):
            what = "'and'" if isinstance(node.op, ast.And) else "'or'"
            offset = self.find(what.strip("'"), node.values[0], node.values[1])
        else:
            what, offset = "'not'", node.col_offset
        if self.allow_comparisons:
            return self.fail(f"{what} gives true/false and cannot be used as a number", offset)
        return self.fail(f"{what} is only allowed inside where(condition, a, b)", offset)

    def refuse(self, node: ast.AST) -> InputError:
        if isinstance(node, ast.Attribute):
            return self.fail(f"attribute access '.{node.attr}' is not allowed", self.find(".", node.value))
        if isinstance(node, ast.Subscript):
            return self.fail("indexing with [...] is not allowed", self.find("[", node.value))
        return self.refused(type(node), node.col_offset)

    def refused(self, kind: type, byte_offset: int) -> InputError:
        message = _REFUSED_NODES.get(kind, f"this kind of expression ({kind.__name__}) is not allowed")
        problem, _, hint = message.partition(" (")
        return self.fail(problem, byte_offset, f" ({hint}" if hint else "")

    def constant(self, node: ast.Constant) -> Const:
        value = node.value
        if isinstance(value, (str, bytes)):
            raise self.refused(ast.JoinedStr, node.col_offset)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "complex numbers are" if isinstance(value, complex) else f"{self.segment(node)!r} is"
            raise self.fail(f"{kind} not allowed", node.col_offset)
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail(f"the number {self.segment(node)} is too large", node.col_offset)
        return Const(number)

    def name(self, node: ast.Name) -> Node:
        ident = node.id
        if ident in self.source.quoted:
            return self.record(self.source.quoted[ident])
        real = self.segment(node)          # as written: ast folds identifiers to NFKC ('ﬁ' -> 'fi')
        if ident.startswith("__"):
            raise self.fail(f"the name {real!r} is not allowed", node.col_offset, _RESERVED)
        if ident in CONSTANTS:
            return Const(CONSTANTS[ident], ident)
        if ident in FUNCTIONS:
            raise self.fail(f"{ident!r} is a function: call it as {ident}(...)", node.col_offset,
                            f" (a column named {ident} goes in backticks: `{ident}`)")
        return self.record(real)

    def record(self, real: str) -> Name:
        self.names.setdefault(real, None)
        return Name(real)

    def binary(self, node: ast.BinOp) -> Binary:
        symbol = _BINARY_OPS.get(type(node.op))
        if symbol is None:
            refused = _REFUSED_BINARY.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"operator {refused!r} is not allowed", self.find(refused, node.left, node.right),
                            _BINARY_HINTS.get(refused, " (use + - * / **)"))
        return Binary(symbol, self.convert(node.left, "number"), self.convert(node.right, "number"))

    def unary(self, node: ast.UnaryOp) -> Node:
        if isinstance(node.op, ast.Not):
            return Unary("not", self.convert(node.operand, "condition"))
        if isinstance(node.op, ast.Invert):
            raise self.fail("operator '~' is not allowed here", node.col_offset,
                            " ('~' separates the target from the expression in a formula)")
        operand = self.convert(node.operand, "number")
        return operand if isinstance(node.op, ast.UAdd) else Unary("-", operand)

    def call(self, node: ast.Call) -> Call:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.refuse(func) if type(func) not in self.rules else self.fail(
                "only the listed functions can be called", node.col_offset, ", by name: e.g. exp(x)")
        ident = func.id
        if ident in self.source.quoted:
            raise self.fail(f"`{self.source.quoted[ident]}` in backticks is a name and cannot be called",
                            func.col_offset)
        if ident.startswith("__"):
            raise self.fail(f"the name {ident!r} is not allowed", func.col_offset, _RESERVED)
        if ident not in FUNCTIONS:
            hint = FUNCTION_HINTS.get(ident)
            suggestion = f" (did you mean {hint!r}?)" if hint else did_you_mean(ident, sorted(FUNCTIONS))
            raise self.fail(f"unknown function {ident!r}", func.col_offset,
                            suggestion or f"; functions are: {', '.join(sorted(FUNCTIONS))}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg)
        if node.keywords:
            keyword_arg = node.keywords[0]
            shown = f"{keyword_arg.arg}=..." if keyword_arg.arg else "**..."
            raise self.fail("keyword arguments are not allowed", keyword_arg.col_offset, f" ({shown} in {ident}())")
        return self.checked_call(node, ident)

    def checked_call(self, node: ast.Call, ident: str) -> Call:
        canonical, arity = FUNCTIONS[ident]
        if len(node.args) != arity:
            usage = " (where(condition, value_if_true, value_if_false))" if canonical == "where" else ""
            raise self.fail(f"{ident}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}",
                            node.func.col_offset, usage)
        wants = ("condition", "number", "number") if canonical == "where" else ("number",) * arity
        return Call(canonical, tuple(self.convert(arg, want) for arg, want in zip(node.args, wants)))

    def compare(self, node: ast.Compare) -> Compare:
        operands = [node.left, *node.comparators]
        symbols = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            if type(op) in _REFUSED_COMPARE:
                word = _REFUSED_COMPARE[type(op)]
                raise self.fail(f"{word!r} is not allowed", self.find(word.split()[0], left, right),
                                " (use < <= > >= == !=)")
            symbols.append(_COMPARE_OPS[type(op)])
        return Compare(tuple(symbols), tuple(self.convert(o, "number") for o in operands))

    def boolean(self, node: ast.BoolOp) -> BoolOp:
        op = "and" if isinstance(node.op, ast.And) else "or"
        return BoolOp(op, tuple(self.convert(v, "condition") for v in node.values))
