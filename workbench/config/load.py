"""Reading a config: the YAML file, then ``--set`` overrides, then validation.

``load_config(path, overrides)`` is what the commands call; ``parse_config(raw, base_dir=...)``
validates a mapping that is already in memory (sweeps, tests, ``workbench init``). YAML is read
with PyYAML's safe loader under size, depth and alias limits, and keys given twice are refused
(see ``reader.py``); ``base:`` files and ``${VAR}`` are resolved by ``inherit.py``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from workbench.config.inherit import read_config_mapping, read_yaml  # noqa: F401  (read_yaml: public here)
from workbench.config.overrides import apply_overrides, check_key, parse_set_option
from workbench.config.rules import apply_rules
from workbench.config.sections import Config, build_config
from workbench.config.validate import normalize
from workbench.errors import InputError


def parse_config(raw: Mapping, *, base_dir: Path, source: str = "<config>", default_name: str = "run") -> Config:
    """Validate ``raw`` and build the ``Config``; relative paths are resolved against ``base_dir``."""
    given = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else raw
    cfg = normalize(given, source)
    if "name" not in cfg:
        cfg = {"name": default_name, **cfg}
    apply_rules(cfg, source)
    return build_config(cfg, raw=given, base_dir=Path(base_dir), path=None)


def load_config(path: Path | str, overrides: Sequence[str] = ()) -> Config:
    """Read the YAML file at ``path`` (its ``base:`` files merged, ``${VAR}`` filled in), apply
    ``--set KEY=VALUE`` strings in order, and validate."""
    path = Path(path)
    source = str(path)
    raw: dict = read_config_mapping(path, source)
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
