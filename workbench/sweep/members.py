"""From a sweep spec to the list of runs: every config × every point, validated and keyed.

Each member's config is the config file with the point's overrides applied, minus the keys that
do not apply given the other values (``loss.delta`` where ``loss.name`` is mse, ``optimizer.lr``
where ``optimizer.name`` is lm or lbfgs: dropped, with a note, and the points that then coincide
are one run). Before anything runs, the first ``FULL_CHECKS`` members of each config are validated whole, and
in a larger sweep every value of every dimension is checked in the first point by
``workbench.config.parse_config``, so a bad value is reported (exit 2) before the first fit starts
while a 100,000-point grid is still listed in seconds; a later member whose combination of
values is invalid fails as that run.

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


@dataclass(frozen=True)
class Base:
    """One config file of the sweep, read and checked once."""

    path: Path
    raw: dict
    data_path: str              # absolute, for every member that does not vary the data
    data_sha256: str


@dataclass
class Member:
    """One run: a config file with a point's overrides. The resolved config is made when asked
    for (``raw``), so a large sweep holds its overrides, not one config copy per run."""

    key: str
    config_path: Path
    overrides: dict             # dotted key -> value, as in the sweep file's space (minus dropped keys)
    base: Base
    name: str
    has_validation: bool = False

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent

    @property
    def raw(self) -> dict:
        """The resolved config: overrides applied, data.path absolute, no output.dir."""
        return _resolved(self.base, self.overrides)


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
    """A member config as ``workbench fit`` would read it: limits, ``base:`` chains, ``${VAR}``."""
    from workbench.config import read_config_mapping

    return read_config_mapping(path, str(path))


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


FULL_CHECKS = 500       # members per config validated whole; beyond, each value is checked once


def _merge(raw: dict, overrides: dict) -> dict:
    """``raw`` with the (already checked) dotted ``overrides`` set: only the mappings on each
    key's path are copied, the rest is shared, which keeps a 100,000-run sweep quick. The result
    is read, never changed in place (``parse_config`` copies what it is given)."""
    from workbench.config import apply_overrides

    result = dict(raw)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = result
        for part in parts[:-1]:
            child = node.get(part)
            if child is not None and not isinstance(child, dict):
                # A shorthand on the way (``a: 1.0`` for ``a: {init: 1.0}``): its section the general way.
                top = parts[0]
                result[top] = apply_overrides({top: result.get(top)}, {dotted: value})[top]
                break
            node[part] = child = dict(child or {})
            node = child
        else:
            node[parts[-1]] = value
    return result


def _resolved(base: Base, overrides: dict) -> dict:
    merged = _merge(base.raw, overrides)
    data = merged.get("data")
    if not any(k == "data" or k.startswith("data.") for k in overrides):
        if isinstance(data, dict) and "path" in data:
            merged["data"] = {**data, "path": base.data_path}
        elif isinstance(data, str):
            merged["data"] = base.data_path
    output = merged.get("output")
    if isinstance(output, dict):
        output = {k: v for k, v in output.items() if k != "dir"}
        if output:
            merged["output"] = output
        else:
            del merged["output"]
    return merged


def _given(raw: dict, path: str) -> Any:
    """The value at dotted ``path`` as validation sees it: a shorthand scalar (``loss: huber``)
    counts as its child, and a key not written takes its default."""
    from workbench.config.schema import BY_PATH, Derived

    node: Any = raw
    walked = ""
    for part in path.split("."):
        row = BY_PATH.get(walked)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif not isinstance(node, dict) and node is not None and row is not None and row.shorthand == part:
            pass
        else:
            default = getattr(BY_PATH.get(path), "default", None)
            if isinstance(default, Derived):
                return dict(default.table).get(_given(raw, default.path), default.otherwise)
            return default
        walked = f"{walked}.{part}" if walked else part
    return node


def _condition(key: str):
    """When ``key`` applies (a ``schema.When``), or None when always: the schema's condition, or
    for an optimizer setting the optimizers that read it (``optimizer.lr`` means nothing to lm,
    so runs that differ only in it would be one fit presented as several)."""
    from workbench.config.schema import BY_PATH, When
    from workbench.optim.options import OPTIMIZER_NAMES, OPTION_SPECS

    when = getattr(BY_PATH.get(key), "when", None)
    if when is not None:
        return when
    for spec in OPTION_SPECS:
        if key == f"optimizer.{spec.name}" and set(spec.used_by) != set(OPTIMIZER_NAMES):
            return When("optimizer.name", tuple(spec.used_by))
    return None


def applicable(raw: dict, point: dict) -> tuple[dict, list[str]]:
    """The point without the keys that do not apply given the point's other values (``loss.delta``
    when ``loss.name`` is mse, ``optimizer.lr`` when ``optimizer.name`` is lm), and a note for each
    key dropped."""
    conditional = {key: when for key in point if (when := _condition(key)) is not None}
    if not conditional:
        return point, []
    merged = _merge(raw, point)
    kept, notes = {}, []
    for key, value in point.items():
        when = conditional.get(key)
        if when is not None and _given(merged, when.path) not in when.values:
            notes.append(f"{key} is left out where {when.path} is {_given(merged, when.path)} "
                         f"({when.explain()})")
            continue
        kept[key] = value
    return kept, notes


def resolve_member(base: Base, overrides: dict, *, check: bool = True) -> Member:
    """The member for ``overrides`` applied to ``base``; ``check`` validates its whole config."""
    raw = _resolved(base, overrides)
    name, validated = raw.get("name", base.path.stem), bool(raw.get("validation"))
    if check or any(k == "data" or k.startswith("data.") for k in overrides):
        from workbench.config import parse_config

        source = f"{base.path} [{describe_overrides(overrides)}]" if overrides else str(base.path)
        config = parse_config(raw, base_dir=base.path.parent, source=source, default_name=base.path.stem)
        raw = _portable(dict(config.raw), config)
        name, validated = config.name, bool(getattr(config, "validation", None))
        data_sha = file_sha256(config.data.path)
    else:
        data_sha = base.data_sha256
    return Member(key=run_key(raw, data_sha), config_path=base.path, overrides=dict(overrides), base=base,
                  name=name, has_validation=validated)


def _base(path: Path, raw: dict) -> Base:
    from workbench.config import parse_config

    config = parse_config(raw, base_dir=path.parent, source=str(path), default_name=path.stem)
    return Base(path=path, raw=raw, data_path=str(config.data.path), data_sha256=file_sha256(config.data.path))


def _check_values(spec: SweepSpec, base: Base) -> None:
    """In a sweep too large to validate whole, each value of each dimension, put into the first
    point (itself validated): what a later member could then get wrong is only a combination of
    values, which fails that run alone."""
    from workbench.sweep.space import Choice

    if spec.count() <= FULL_CHECKS:
        return
    first = next(spec.iter_points())
    for key, dim in spec.space.items():
        if isinstance(dim, Choice):
            for value in dim.values:
                point, _ = applicable(base.raw, {**first, key: value})
                resolve_member(base, point)


def expand(spec: SweepSpec) -> Expansion:
    """Every run of the sweep, in a stable order (config by config, point by point)."""
    raws = {path: _read_raw(path) for path in spec.configs}
    check_space_keys(spec, raws)
    members: list[Member] = []
    seen: set[str] = set()
    duplicates = 0
    notes: dict[str, None] = {}
    for config_path, raw in raws.items():
        base = _base(config_path, raw)
        _check_values(spec, base)
        for n, point in enumerate(spec.iter_points()):
            point, dropped = applicable(raw, point)
            notes.update(dict.fromkeys(dropped))
            member = resolve_member(base, point, check=n < FULL_CHECKS)
            if member.key in seen:
                duplicates += 1
                continue
            seen.add(member.key)
            members.append(member)
    metric = _choose_metric(spec, members)
    notes_list = list(notes)
    if duplicates:
        notes_list.append(f"{duplicates} point(s) resolved to a config already in the sweep and are run once")
    return Expansion(members, metric, spec.goal_for(metric), duplicates, notes_list)


def _choose_metric(spec: SweepSpec, members: list[Member]) -> str:
    validated = all(m.has_validation for m in members)
    if spec.metric is None:
        return "val_loss" if validated and members else "loss"
    if spec.metric.startswith("val_") and not validated:
        lacking = next(m for m in members if not m.has_validation)
        raise InputError(f"{spec.metric} needs held-out rows but {lacking.config_path.name} has no validation "
                         f"share (set validation: 0.2 in the config, or rank by loss)", where=f"{spec.path}: metric")
    return spec.metric
