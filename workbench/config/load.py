"""Reading a config: the YAML file, then ``--set`` overrides, then validation.

``load_config(path, overrides)`` is what the commands call; ``parse_config(raw, base_dir=...)``
validates a mapping that is already in memory (sweeps, tests, ``workbench init``). YAML is read
with ``yaml.safe_load`` only; ``yaml.compose`` (which builds nodes, never objects) is used to
find keys given twice, which ``safe_load`` would silently collapse into the last one.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.config.overrides import apply_overrides, check_key, parse_set_option
from workbench.config.rules import apply_rules
from workbench.config.sections import Config, build_config
from workbench.config.validate import join, normalize
from workbench.errors import InputError


def _read_text(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("config file not found", where=source) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a config file", where=source) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not a text file (byte {err.start} is not UTF-8); a config is YAML text",
                         where=source) from None
    except OSError as err:
        raise InputError(f"cannot read the config file: {err.strerror or err}", where=source) from None


def _syntax_error(err: Any, source: str) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context, context_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem += f" ({context} at line {context_mark.line + 1})"
    if "\\t" in problem or "\t" in problem:
        problem += "; indent with spaces, not tabs"
    return InputError(f"YAML syntax error{at}: {problem}", where=source)


def _reject_duplicate_keys(node: Any, path: str, source: str, seen: set[int]) -> None:
    import yaml

    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if isinstance(key_node, yaml.ScalarNode) and key in lines:
                raise InputError(f"given twice, at lines {lines[key]} and {line} (YAML would keep only the "
                                 f"last)", where=f"{source}: {join(path, key)}")
            lines[key] = line
            _reject_duplicate_keys(value_node, join(path, key), source, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{path}[{i}]", source, seen)


def read_yaml(path: Path | str, source: str | None = None) -> dict:
    """The top-level mapping of a YAML config file; ``InputError`` for every way it can be unusable."""
    import yaml

    path = Path(path)
    source = source or str(path)
    text = _read_text(path, source)
    try:
        raw = yaml.safe_load(text)
        if raw is not None:
            _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), "", source, set())
    except yaml.YAMLError as err:
        raise _syntax_error(err, source) from None
    if raw is None:
        raise InputError("the config file is empty (it needs at least data and model)", where=source)
    if not isinstance(raw, dict):
        raise InputError(f"the top level must be a mapping of keys (name, data, model, ...), got a "
                         f"{type(raw).__name__}", where=source)
    return raw


def parse_config(raw: Mapping, *, base_dir: Path, source: str = "<config>", default_name: str = "run") -> Config:
    """Validate ``raw`` and build the ``Config``; relative paths are resolved against ``base_dir``."""
    given = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else raw
    cfg = normalize(given, source)
    if "name" not in cfg:
        cfg = {"name": default_name, **cfg}
    apply_rules(cfg, source)
    return build_config(cfg, raw=given, base_dir=Path(base_dir), path=None)


def load_config(path: Path | str, overrides: Sequence[str] = ()) -> Config:
    """Read the YAML file at ``path``, apply ``--set KEY=VALUE`` strings in order, and validate."""
    path = Path(path)
    source = str(path)
    raw: dict = read_yaml(path, source)
    for text in overrides:
        try:
            key, value = parse_set_option(text)
        except InputError as err:
            raise InputError(str(err), where=source) from None
        try:
            check_key(key, raw)
            raw = apply_overrides(raw, {key: value})
        except InputError as err:
            raise InputError(str(err), where=f"{source}: --set {text}") from None
    config = parse_config(raw, base_dir=path.resolve().parent, source=source, default_name=path.stem)
    return dataclasses.replace(config, path=path.resolve())
