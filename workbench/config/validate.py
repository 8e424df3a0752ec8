"""Walking a raw config mapping along the schema: ``normalize(raw, source) -> dict``.

The result has every key in schema order, values normalised by their kind, defaults filled in
where they apply, shorthands expanded (``loss: mse`` -> ``{name: mse, ...}``) and keys left
out that are neither given nor defaulted. A ``null`` value means "not given".

Every problem is an ``InputError`` whose ``where`` is ``"<source>: <dotted key>"``. A value
given through a shorthand is reported at the key the user wrote (``loss``, not ``loss.name``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from workbench.config.schema import BY_PATH, CHILDREN, ROOT, Derived, Key, When, child_names
from workbench.config.values import BadValue, coerce, show
from workbench.errors import InputError, did_you_mean


def unknown_key_message(name: str, known: list[str]) -> str:
    """'unknown key (did you mean ...?)', else the list of keys allowed there."""
    return "unknown key" + (did_you_mean(name, known) or f"; expected one of: {', '.join(known)}")


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Walk:
    """One pass over a raw config; ``given`` remembers each concrete scalar for ``When`` and ``Derived``."""

    def __init__(self, source: str):
        self.source = source
        self.given: dict[str, Any] = {}

    def fail(self, path: str, message: str) -> InputError:
        return InputError(message, where=f"{self.source}: {path}" if path else self.source)

    def visit(self, key: Key, value: Any, path: str, written: str) -> Any:
        if key.kind == "section":
            return self.section(key, value, path, written)
        if key.kind == "map":
            return self.mapping(key, value, path)
        try:
            normalised = coerce(key, value)
        except BadValue as bad:
            raise self.fail(written + bad.at, bad.message) from None
        self.given[path] = normalised
        return normalised

    def section(self, key: Key, value: Any, path: str, written: str) -> dict:
        shorthand_used = False
        if value is None:
            value = {}
        elif not isinstance(value, Mapping):
            if key.shorthand is None:
                raise self.fail(written, f"must be a mapping with keys {', '.join(child_names(key))}; "
                                         f"got {show(value)}")
            value, shorthand_used = {key.shorthand: value}, True
        known = child_names(key)
        for name in value:
            if str(name) not in known:
                raise self.fail(join(path, str(name)), unknown_key_message(str(name), known))
        out: dict[str, Any] = {}
        for child in CHILDREN[key.path]:
            child_path = join(path, child.name)
            child_written = written if shorthand_used and child.name == key.shorthand else child_path
            if value.get(child.name) is not None:
                out[child.name] = self.visit(child, value[child.name], child_path, child_written)
            elif child.kind == "section" and not _has_required(child):
                out[child.name] = self.section(child, {}, child_path, child_path)
        self._complete(key, out, path, written if shorthand_used else None)
        return out

    def mapping(self, key: Key, value: Any, path: str) -> dict:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping of names to values, got {show(value)}")
        item = BY_PATH[f"{key.path}.*"]
        out: dict[str, Any] = {}
        for name, entry in value.items():
            text = name if isinstance(name, str) else str(name)
            if key.names is not None and not key.names.holds(text):
                raise self.fail(join(path, text), f"the name must be {key.names.meaning}")
            out[text] = self.visit(item, entry, join(path, text), join(path, text))
        return out

    def _complete(self, key: Key, out: dict, path: str, shorthand_written: str | None) -> None:
        """Defaults, required keys and ``When`` rules; keys without a ``When`` first, since they decide."""
        children = CHILDREN[key.path]
        for child in sorted(children, key=lambda k: k.when is not None):
            child_path = join(path, child.name)
            applies = child.when is None or self._holds(child.when)
            if child.name in out and not applies:
                where = shorthand_written if child.name == key.shorthand and shorthand_written else child_path
                raise self.fail(where, f"{child.when.explain()}{self._currently(child.when)}")
            if child.name in out:
                continue
            if child.required:
                raise self.fail(child_path, "required key missing")
            default = self._default(child)
            if default is not None and applies:
                out[child.name] = copy.deepcopy(default)
                self.given[child_path] = out[child.name]
        # Keep schema order whatever order defaults were filled in.
        ordered = {c.name: out[c.name] for c in children if c.name in out}
        out.clear()
        out.update(ordered)
        if key.one_of:
            self._one_of(key, out, path)

    def _one_of(self, key: Key, out: dict, path: str) -> None:
        present = [name for name in key.one_of if name in out]
        if len(present) == 1:
            return
        options = " or ".join(key.one_of)
        raise self.fail(path, f"give either {options}, not both" if present else f"needs {options}")

    def _holds(self, when: When) -> bool:
        return self.given.get(when.path) in when.values

    def _currently(self, when: When) -> str:
        current = self.given.get(when.path)
        if when.note:
            return ""
        return f" (here {when.path} is {current})" if current is not None else f" ({when.path} is not set)"

    def _default(self, key: Key) -> Any:
        if isinstance(key.default, Derived):
            return dict(key.default.table).get(self.given.get(key.default.path), key.default.otherwise)
        return key.default


def _has_required(key: Key) -> bool:
    return key.required or any(child.required for child in CHILDREN.get(key.path, ()))


def normalize(raw: Mapping, source: str = "<config>") -> dict:
    """The validated, normalised form of ``raw`` (see the module docstring)."""
    if not isinstance(raw, Mapping):
        raise InputError(f"the top level must be a mapping of keys ({', '.join(child_names(ROOT))}), "
                         f"got {show(raw)}", where=source)
    return _Walk(source).section(ROOT, raw, "", "")
