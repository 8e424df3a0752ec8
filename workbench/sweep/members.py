"""From a sweep spec to the list of runs: every config × every point, validated and keyed.

Each member's config is the config file with the point's overrides applied, checked by
``workbench.config.parse_config`` before anything runs, so a bad value anywhere in the sweep is
reported (exit 2) before the first fit starts.

A run's key is a hash of its resolved config (without the ``output`` section, which decides
where files go, not what is computed) and of the data file's contents. Editing the data
therefore makes every run new, while moving the whole project folder changes nothing. Two
points that resolve to the same config are one run.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.sweep.spec import SweepSpec

KEY_LENGTH = 16


@dataclass
class Member:
    key: str
    config_path: Path
    overrides: dict             # dotted key -> value, as in the sweep file's space
    raw: dict                   # the resolved config: overrides applied, data.path absolute, no output.dir
    base_dir: Path
    name: str
    has_validation: bool = False


@dataclass
class Expansion:
    members: list[Member]
    metric: str
    goal: str
    duplicates: int = 0         # points that resolved to a config already in the list
    notes: list[str] = field(default_factory=list)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def file_sha256(path: Path, _cache: dict = {}) -> str:  # noqa: B006 (deliberate per-process cache)
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as err:
        raise InputError(f"cannot read the data file: {err.strerror or err}", where=str(path)) from None
    token = (str(path), stat.st_size, stat.st_mtime_ns)
    if token not in _cache:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _cache[token] = digest.hexdigest()
    return _cache[token]


def run_key(raw: dict, data_sha256: str) -> str:
    """Stable key of a run: resolved config (minus ``output``) + the data's content hash."""
    computed = {k: v for k, v in raw.items() if k != "output"}
    if isinstance(computed.get("data"), dict):
        computed["data"] = {k: v for k, v in computed["data"].items() if k != "path"}
    text = _canonical(computed) + "\n" + data_sha256
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def describe_overrides(overrides: dict) -> str:
    return ", ".join(f"{k}={_canonical(v)}" for k, v in overrides.items()) or "(as written)"


def _read_raw(path: Path) -> dict:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the config: {err}", where=str(path)) from None
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {str(err).splitlines()[0]}", where=str(path)) from None
    if not isinstance(raw, dict):
        raise InputError("a config must be a mapping of keys to values", where=str(path))
    return raw


def _portable(raw: dict, config) -> dict:
    """The config usable from any folder: data.path absolute, and no output.dir (a refit of a
    sweep's run writes where its user asks, not over the original config's outputs)."""
    resolved = copy.deepcopy(raw)
    data = resolved.get("data")
    if isinstance(data, dict) and "path" in data:
        data["path"] = str(config.data.path)
    elif isinstance(data, str):
        resolved["data"] = str(config.data.path)
    output = resolved.get("output")
    if isinstance(output, dict):
        output.pop("dir", None)
        if not output:
            del resolved["output"]
    return resolved


def check_space_keys(spec: SweepSpec, raws: dict[Path, dict]) -> None:
    """Each space key must be a key the config accepts (with a did-you-mean when it is not)."""
    from workbench.config import check_key

    for config_path, raw in raws.items():
        for key in spec.space:
            try:
                check_key(key, raw)
            except InputError as err:
                message = str(err)
                if err.where and message.startswith(f"{err.where}: "):
                    message = message[len(err.where) + 2:]
                suffix = f" (for {config_path.name})" if len(raws) > 1 else ""
                raise InputError(message + suffix, where=f"{spec.path}: space.{key}") from None


def resolve_member(config_path: Path, raw: dict, overrides: dict) -> Member:
    """Apply ``overrides`` to ``raw``, validate it, and key the result."""
    from workbench.config import apply_overrides, parse_config

    base_dir = config_path.parent
    merged = apply_overrides(copy.deepcopy(raw), dict(overrides)) if overrides else copy.deepcopy(raw)
    source = f"{config_path} [{describe_overrides(overrides)}]" if overrides else str(config_path)
    config = parse_config(merged, base_dir=base_dir, source=source, default_name=config_path.stem)
    resolved = _portable(dict(config.raw), config)
    validation = getattr(config, "validation", None)
    return Member(key=run_key(resolved, file_sha256(config.data.path)), config_path=config_path,
                  overrides=dict(overrides), raw=resolved, base_dir=base_dir, name=config.name,
                  has_validation=bool(validation))


def expand(spec: SweepSpec) -> Expansion:
    """Every run of the sweep, validated, in a stable order (config by config, point by point)."""
    raws = {path: _read_raw(path) for path in spec.configs}
    check_space_keys(spec, raws)
    points = spec.points()
    members: list[Member] = []
    seen: set[str] = set()
    duplicates = 0
    for config_path, raw in raws.items():
        for point in points:
            member = resolve_member(config_path, raw, point)
            if member.key in seen:
                duplicates += 1
                continue
            seen.add(member.key)
            members.append(member)
    metric = _choose_metric(spec, members)
    notes = [f"{duplicates} point(s) resolved to a config already in the sweep and are run once"] if duplicates else []
    return Expansion(members, metric, spec.goal_for(metric), duplicates, notes)


def _choose_metric(spec: SweepSpec, members: list[Member]) -> str:
    validated = all(m.has_validation for m in members)
    if spec.metric is None:
        return "val_loss" if validated and members else "loss"
    if spec.metric.startswith("val_") and not validated:
        lacking = next(m for m in members if not m.has_validation)
        raise InputError(f"{spec.metric} needs held-out rows but {lacking.config_path.name} has no validation "
                         f"share (set validation: 0.2 in the config, or rank by loss)", where=f"{spec.path}: metric")
    return spec.metric
