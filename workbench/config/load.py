"""Reading a config: the YAML file, then ``--set`` overrides, then validation.

``load_config(path, overrides)`` is what the commands call; ``parse_config(raw, base_dir=...)``
validates a mapping that is already in memory (sweeps, tests, ``workbench init``). YAML is read
with PyYAML's safe loader under size, depth and alias limits, and keys given twice are refused
(see ``reader.py``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.config.reader import load_yaml_file
from workbench.config.overrides import apply_overrides, check_key, parse_set_option
from workbench.config.rules import apply_rules
from workbench.config.sections import Config, build_config
from workbench.config.validate import join, normalize
from workbench.errors import InputError


def read_yaml(path: Path | str, source: str | None = None) -> dict:
    """The top-level mapping of a YAML config file; ``InputError`` for every way it can be unusable."""
    path = Path(path)
    source = source or str(path)
    raw = load_yaml_file(path, source=source, noun="config file")
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
