"""PyYAML's safe loader with limits checked while the node tree is composed (see ``reader.py``).

Imported only when a YAML text is read, since it imports PyYAML at module level.

Composing is the step between parsing (events) and constructing (Python values). At that step
an alias is still a reference to an earlier node, so the size it would expand to is known from
the anchored node without expanding anything: ``LimitedLoader`` keeps a running count of the
nodes the document holds with every alias expanded, and the size of each anchored node, and
stops at the first node past a limit. The path of keys down to the node being composed is kept
too, so every message names the key (``data.columns.x``), not only the line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from workbench.errors import InputError

__all__ = ["LimitedLoader", "reject_duplicate_keys"]

_INT_TAG = "tag:yaml.org,2002:int"


def _join(path: str, part: str) -> str:
    if part.startswith("["):
        return path + part
    return f"{path}.{part}" if path else part


class LimitedLoader(yaml.SafeLoader):
    """A ``SafeLoader`` that refuses, while composing, whatever exceeds ``limits``."""

    def __init__(self, text: str, limits, source: str):
        super().__init__(text)
        self.limits, self.source = limits, source
        self.depth = 0
        self.expanded = 0                       # nodes so far, every alias counted at its full size
        self.sizes: dict[int, int] = {}         # id(anchored node) -> its expanded size
        self.path: list[str] = []

    # -- messages
    def fail(self, message: str, mark: Any) -> InputError:
        at = f"line {mark.line + 1}" if mark is not None else ""
        key = self.path_text()
        where = f"{self.source}: {key}" if key else self.source
        return InputError(f"{message} (at {at})" if at else message, where=where)

    def path_text(self) -> str:
        text = ""
        for part in self.path:
            text = _join(text, part)
        return text if len(text) <= 80 else text[:77] + "..."

    # -- composing
    def _step(self, parent: Any, index: Any) -> str:
        if isinstance(index, ScalarNode):
            return str(index.value)[:80]
        if isinstance(index, int):
            return f"[{index}]"
        if isinstance(parent, MappingNode):
            return "(a key)"
        return ""

    def _grow(self, count: int, mark: Any) -> None:
        self.expanded += count
        if self.expanded > self.limits.max_nodes:
            raise self.fail(f"the YAML holds more than {self.limits.max_nodes:,} values once its aliases "
                            f"(*name) are expanded; {self.limits.hint('max_nodes')}", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        step = self._step(parent, index)
        if step:
            self.path.append(step)
        try:
            if self.check_event(AliasEvent):
                return self._alias(parent, index)
            return self._composed(parent, index)
        finally:
            if step:
                self.path.pop()

    def _alias(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark
        node = super().compose_node(parent, index)
        size = self.sizes.get(id(node))
        if size is None:
            raise self.fail("an alias refers to the collection that contains it; recursive YAML is not "
                            "accepted", mark)
        self._grow(size, mark)
        return node

    def _composed(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if self.depth >= self.limits.max_depth:
            raise self.fail(f"nested more than {self.limits.max_depth} levels deep; "
                            f"{self.limits.hint('max_depth')}", event.start_mark)
        start = self.expanded
        self._grow(1, event.start_mark)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, ScalarNode):
            self._check_scalar(node)
        if getattr(event, "anchor", None) is not None:
            self.sizes[id(node)] = self.expanded - start
        return node

    def _check_scalar(self, node: ScalarNode) -> None:
        length = len(node.value)
        if length > self.limits.max_scalar_chars:
            raise self.fail(f"a value of {length:,} characters; {self.limits.hint('max_scalar_chars')}",
                            node.start_mark)
        if node.tag == _INT_TAG and length > self.limits.max_int_digits:
            raise self.fail(f"an integer of {length:,} digits; {self.limits.hint('max_int_digits')}",
                            node.start_mark)

    # -- constructing: a value YAML's resolver accepted but Python cannot build is a marked error
    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:
            raise ConstructorError(None, None, f"cannot read the value {str(node.value)[:40]!r}: {err}",
                                   node.start_mark) from None


def reject_duplicate_keys(root: Any, source: str) -> None:
    """``InputError`` naming the key and both lines when a mapping gives a key twice."""
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if isinstance(key_node, ScalarNode) and key in lines:
                    raise InputError(f"given twice, at lines {lines[key]} and {line} (YAML would keep only "
                                     f"the last)", where=f"{source}: {_join(path, key)}")
                lines[key] = line
                stack.append((value_node, _join(path, key)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
