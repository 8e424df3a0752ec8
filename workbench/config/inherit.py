"""Reusable configs: ``base:`` files merged under a config, and ``${VAR}`` read from the environment.

``read_config_mapping(path)`` is the raw mapping a config file stands for: each file of the chain
is read (under the YAML limits), its ``${VAR}`` and ``${VAR:-default}`` are filled in, its
``base:`` files (one path or a list, relative to the file that names them) are resolved the same
way and merged in order, and the file itself is merged last, so the child wins. Merging is key
by key for mappings; a list or a single value replaces the base's; a section the base wrote as a
shorthand (``loss: mse``) is expanded to merge with the child's keys. Paths written in a base
(``data.path``, ``output.dir``) are made absolute against the base's folder, so they keep pointing
where their author meant. A chain that comes back to a file already in it is refused.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.config.reader import load_yaml_file
from workbench.config.schema import ROOT, Key, child_key
from workbench.errors import InputError

__all__ = ["read_yaml", "read_config_mapping", "interpolate", "deep_merge", "PATH_KEYS"]

# keys whose value is a path relative to its file
PATH_KEYS = (("data", "path"), ("output", "dir"), ("output", "history"))
MAX_CHAIN = 20
_VARIABLE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|\$\{")


def read_yaml(path: Path | str, source: str | None = None) -> dict:
    """The top-level mapping of one YAML config file, as written; ``InputError`` for every way it
    can be unusable."""
    path = Path(path)
    source = source or str(path)
    raw = load_yaml_file(path, source=source, noun="config file")
    if raw is None:
        raise InputError("the config file is empty (it needs at least data and model)", where=source)
    if not isinstance(raw, dict):
        raise InputError(f"the top level must be a mapping of keys (name, data, model, ...), got a "
                         f"{type(raw).__name__}", where=source)
    return raw


def read_config_mapping(path: Path | str, source: str | None = None) -> dict:
    """The raw mapping of the config at ``path`` with its bases merged and variables filled in."""
    return _resolve(Path(path), source or str(path), ())


def _resolve(path: Path, source: str, chain: tuple[Path, ...]) -> dict:
    here = path.resolve()
    if here in chain:
        loop = " -> ".join(str(p) for p in (*chain[chain.index(here):], here))
        raise InputError(f"base files form a cycle: {loop}", where=source)
    if len(chain) >= MAX_CHAIN:
        raise InputError(f"more than {MAX_CHAIN} base files in a chain", where=source)
    raw = interpolate(read_yaml(path, source), source)
    merged: dict = {}
    for base_text in _base_paths(raw.pop("base", None), source):
        base_path = Path(os.path.expanduser(base_text))
        base_path = base_path if base_path.is_absolute() else here.parent / base_path
        base = _resolve(base_path, f"{source}: base {base_text}", (*chain, here))
        merged = deep_merge(merged, absolute_paths(base, base_path.resolve().parent))
    return deep_merge(merged, raw)


def _base_paths(value: Any, source: str) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise InputError(f"must be a config file path or a list of them, got {value!r}"[:200], where=f"{source}: base")
    return [v.strip() for v in items]


def interpolate(value: Any, source: str, path: str = "") -> Any:
    """``value`` with ``${VAR}`` / ``${VAR:-default}`` in every string replaced from the environment."""
    if isinstance(value, str):
        return _fill(value, source, path) if "$" in value else value
    if isinstance(value, Mapping):
        return {k: interpolate(v, source, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, source, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _fill(text: str, source: str, path: str) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group("name")
        if name is None:
            raise InputError("a '${' that is not ${NAME} or ${NAME:-default} (write $${ for a literal ${)",
                             where=f"{source}: {path}")
        value = os.environ.get(name)
        if match.group("default") is not None and not value:
            return match.group("default")
        if value is None:
            raise InputError(f"the environment variable {name} is not set (set it, or write "
                             f"${{{name}:-default}})", where=f"{source}: {path}")
        return value

    return _VARIABLE.sub(replace, text)


def absolute_paths(raw: dict, folder: Path) -> dict:
    """A copy of ``raw`` with the relative paths it holds (``PATH_KEYS``) made absolute against ``folder``."""
    out = copy.deepcopy(raw)
    for section, key in PATH_KEYS:
        holder = out.get(section)
        if isinstance(holder, str) and _key(ROOT, section).shorthand == key:
            out[section] = _absolute(holder, folder)
        elif isinstance(holder, dict) and isinstance(holder.get(key), str):
            holder[key] = _absolute(holder[key], folder)
    return out


def _absolute(text: str, folder: Path) -> str:
    expanded = Path(os.path.expanduser(text))
    return str(expanded if expanded.is_absolute() else folder / expanded)


def _key(parent: Key | None, name: str) -> Key:
    found = child_key(parent, name) if parent is not None else None
    return found if found is not None else Key(name, "value")


def deep_merge(base: Mapping, child: Mapping, parent: Key = ROOT) -> dict:
    """``child`` over ``base``: mappings merge key by key, anything else in the child replaces."""
    out = copy.deepcopy(dict(base))
    for name, value in child.items():
        key = _key(parent, str(name))
        below, value = out.get(name), copy.deepcopy(value)
        if isinstance(value, Mapping) or isinstance(below, Mapping):
            below, value = _expanded(key, below), _expanded(key, value)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            value = deep_merge(below, value, key)
        out[name] = value
    return out


def _expanded(key: Key, value: Any) -> Any:
    """A section's scalar shorthand as its mapping (``mse`` -> ``{name: mse}``), else ``value``."""
    if value is not None and not isinstance(value, Mapping) and key.shorthand is not None:
        return {key.shorthand: value}
    return value
