"""How long and how deep a formula may be, checked before and after Python's parser runs.

A formula is a line of text, so the bounds are simple: its length, and how deeply it nests
(brackets, calls, operators). Nesting is checked twice. Before parsing, a scan of the text counts
bracket depth and runs of signs (``- - - x``), so a 10,000-deep ``exp(exp(...))`` is refused
without handing it to Python's parser. After parsing, the depth of the tree is measured with an
explicit stack (no recursion), which catches what the scan cannot see, such as a chain of
``x ** x ** ...``. Within the limit, every recursive walk of the tree (conversion, evaluation,
rendering, the engine's graph) stays far from Python's recursion limit.

The limits are set by whoever runs the workbench, through the environment variables in
``FormulaLimits.ENV``, never by the config itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields

from workbench.errors import env_limit

__all__ = ["FormulaLimits", "text_depth", "tree_depth"]

_SIGN_RUN = re.compile(r"(?:(?:[-+~]|\bnot\b)\s*){2,}")


@dataclass(frozen=True)
class FormulaLimits:
    max_chars: int = 10_000
    max_depth: int = 200            # Python's own parser stops at 200 nested brackets

    ENV = {"max_chars": "WORKBENCH_FORMULA_MAX_CHARS", "max_depth": "WORKBENCH_FORMULA_MAX_DEPTH"}

    @classmethod
    def from_env(cls) -> FormulaLimits:
        return cls(**{f.name: env_limit(cls.ENV[f.name], f.default) for f in fields(cls)})

    def hint(self, name: str) -> str:
        return f"the limit is {getattr(self, name):,} (raise it with {self.ENV[name]})"


def text_depth(code: str) -> tuple[int, int]:
    """(an estimate of the nesting depth of ``code`` from its text, the index where it peaks).

    The deepest bracket level plus the longest run of signs or ``not`` inside it; a lower bound
    of the tree's depth, cheap enough to run before Python's parser.
    """
    best, best_at, depth = 0, 0, 0
    signs = {m.start(): len(re.findall(r"[-+~]|\bnot\b", m.group())) for m in _SIGN_RUN.finditer(code)}
    for i, ch in enumerate(code):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        level = depth + signs.get(i, 0)
        if level > best:
            best, best_at = level, i
    return best, best_at


def tree_depth(tree: ast.AST) -> int:
    """The number of expression nodes on the longest path from the root, walked without recursion."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            depth += 1
            deepest = max(deepest, depth)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return deepest
