"""Reading a sweep file into a checked ``SweepSpec``.

A sweep file names what to run (``base``: one fit config, and/or ``configs``: globs of
configs, both relative to the sweep file), what to vary (``space``: dotted config keys to lists
or distributions), how (``strategy``: grid, or random with ``trials`` and ``seed``) and what
ranks the runs (``metric``, optional ``goal``). Every problem is an ``InputError`` naming the
sweep file and the key, raised before anything runs. Whether the space keys exist in the
configs is checked later, against each config, by ``workbench.sweep.members``.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from workbench.errors import InputError, did_you_mean
from workbench.sweep.leaderboard import KNOWN_METRICS, default_goal
from workbench.pipeline.limits import RunLimits, parse_limits
from workbench.sweep.space import Dimension, check_grid, grid_size, iter_grid_points, iter_random_points, parse_dimension

KEYS = ("name", "description", "base", "configs", "strategy", "space", "trials", "seed", "metric",
        "goal", "run_reports", "output", "max_runs", "timeout", "max_memory")
DEFAULT_MAX_RUNS = 100_000
STRATEGIES = ("grid", "random")


@dataclass
class SweepSpec:
    path: Path                      # the sweep file, absolute
    name: str
    configs: list[Path]             # absolute, in the order given, no duplicates
    strategy: str = "grid"
    space: dict[str, Dimension] = field(default_factory=dict)
    trials: int | None = None
    seed: int = 0
    metric: str | None = None       # None: val_loss when every config validates, else loss
    goal: str | None = None         # "min" or "max"; None: the metric's natural direction
    run_reports: bool = False
    output: Path | None = None      # absolute; None: the caller's default
    max_runs: int = DEFAULT_MAX_RUNS
    limits: RunLimits = field(default_factory=RunLimits)

    def count(self) -> int:
        """How many points the space has, counted without making them."""
        if not self.space:
            return 1
        return grid_size(self.space) if self.strategy == "grid" else self.trials or 0

    def iter_points(self) -> Iterator[dict]:
        """The override sets to apply to each config, one at a time (``{}`` when nothing is varied)."""
        if not self.space:
            return iter([{}])
        if self.strategy == "grid":
            return iter_grid_points(self.space, where=f"{self.path}: space")
        return iter_random_points(self.space, self.trials or 0, self.seed)

    def points(self) -> list[dict]:
        return list(self.iter_points())

    def goal_for(self, metric: str) -> str:
        return self.goal or default_goal(metric)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check the sweep file at ``path`` (duplicate keys refused, as in fit configs)."""
    from workbench.config import read_yaml

    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise InputError("no such sweep file", where=str(path))
    return parse_sweep(read_yaml(path, str(path)), path)


def parse_sweep(raw: Any, path: Path) -> SweepSpec:
    """Check the mapping ``raw`` read from the sweep file ``path``."""
    src = str(path)
    if not isinstance(raw, Mapping):
        raise InputError("a sweep file must be a mapping with base/configs, space and strategy", where=src)
    for key in raw:
        if key not in KEYS:
            raise InputError(f"unknown key {key!r}{did_you_mean(key, KEYS)}", where=src)
    folder = path.parent
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise InputError(f"name must be a plain non-empty string, got {name!r}", where=f"{src}: name")
    spec = SweepSpec(path=path, name=name.strip(), configs=_configs(raw, folder, src))
    spec.strategy = _choice(raw.get("strategy", "grid"), STRATEGIES, f"{src}: strategy")
    spec.space = _space(raw.get("space"), src)
    if not spec.space and not ("configs" in raw and spec.strategy == "grid"):
        raise InputError("empty space: nothing to sweep (give space: {dotted.key: [values, ...]}, "
                         "or configs: [glob, ...] with strategy grid)", where=f"{src}: space")
    _trials_and_seed(spec, raw, src)
    spec.metric = _metric(raw.get("metric"), src)
    if raw.get("goal") is not None:
        spec.goal = _choice(raw["goal"], ("min", "max"), f"{src}: goal")
    spec.run_reports = _bool(raw.get("run_reports", False), f"{src}: run_reports")
    if raw.get("output") is not None:
        if not isinstance(raw["output"], str) or not raw["output"].strip():
            raise InputError(f"output must be a folder path, got {raw['output']!r}", where=f"{src}: output")
        spec.output = (folder / os.path.expanduser(raw["output"])).resolve()
    if spec.strategy == "grid":
        check_grid(spec.space, where=f"{src}: space")   # reported now, not when the runs are made
    spec.max_runs = _max_runs(raw.get("max_runs", DEFAULT_MAX_RUNS), f"{src}: max_runs")
    total = spec.count() * len(spec.configs)
    if total > spec.max_runs:
        raise InputError(f"the sweep has {total:,} runs, more than max_runs ({spec.max_runs:,}); shrink the "
                         f"space or trials, or raise max_runs: in the sweep file", where=f"{src}: space")
    spec.limits = parse_limits(raw, src)
    return spec


def _configs(raw: Mapping, folder: Path, src: str) -> list[Path]:
    found: list[Path] = []
    if raw.get("base") is not None:
        base = raw["base"]
        if not isinstance(base, str):
            raise InputError(f"base must be the path of a fit config, got {base!r}", where=f"{src}: base")
        path = (folder / os.path.expanduser(base)).resolve()
        if not path.is_file():
            raise InputError(f"no such config file {base!r} (looked in {folder})", where=f"{src}: base")
        found.append(path)
    patterns = raw.get("configs")
    if patterns is not None:
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
            raise InputError("configs must be a list of file globs, e.g. [configs/*.yaml]", where=f"{src}: configs")
        for pattern in patterns:
            _check_inside(pattern, f"{src}: configs")
            matches = sorted(glob.glob(str(folder / os.path.expanduser(pattern)), recursive=True))
            matches = [Path(m).resolve() for m in matches if Path(m).is_file()]
            if not matches:
                raise InputError(f"{pattern!r} matches no file (relative to {folder})", where=f"{src}: configs")
            found += matches
    if not found:
        raise InputError("nothing to run: give base: CONFIG.yaml or configs: [glob, ...]", where=src)
    return list(dict.fromkeys(found))


def _check_inside(pattern: str, where: str) -> None:
    """A glob stays in the sweep file's folder tree: no absolute path, no ``..``, no ``~``."""
    from pathlib import PurePath

    if PurePath(pattern).is_absolute() or pattern.startswith("~") or ".." in PurePath(pattern).parts:
        raise InputError(f"{pattern!r} leaves the sweep file's folder; configs globs are relative to it "
                         f"and stay inside it (use base: for one config elsewhere)", where=where)


def _space(space: Any, src: str) -> dict[str, Dimension]:
    if space is None:
        return {}
    if not isinstance(space, Mapping):
        raise InputError("space must map dotted config keys to lists or distributions",
                         where=f"{src}: space")
    parsed = {}
    for key, value in space.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"space keys are dotted config keys, got {key!r}", where=f"{src}: space")
        parsed[key] = parse_dimension(value, where=f"{src}: space.{key}")
    return parsed


def _trials_and_seed(spec: SweepSpec, raw: Mapping, src: str) -> None:
    trials, seed = raw.get("trials"), raw.get("seed", 0)
    if spec.strategy == "random":
        if trials is None:
            raise InputError("strategy random needs trials: the number of points to draw", where=f"{src}: trials")
        if not _is_int(trials) or trials < 1:
            raise InputError(f"trials must be a positive integer, got {trials!r}", where=f"{src}: trials")
        spec.trials = int(trials)
    elif trials is not None:
        raise InputError("trials is only for strategy: random (a grid runs every combination)",
                         where=f"{src}: trials")
    if not _is_int(seed):
        raise InputError(f"seed must be an integer, got {seed!r}", where=f"{src}: seed")
    spec.seed = int(seed)


def _metric(metric: Any, src: str) -> str | None:
    if metric is None:
        return None
    if not isinstance(metric, str) or metric not in KNOWN_METRICS:
        raise InputError(f"unknown metric {metric!r}{did_you_mean(metric, KNOWN_METRICS)}; "
                         f"known: {', '.join(KNOWN_METRICS)}", where=f"{src}: metric")
    return metric


def _choice(value: Any, allowed: tuple, where: str) -> str:
    if value not in allowed:
        raise InputError(f"{value!r} is not one of {', '.join(allowed)}{did_you_mean(value, allowed)}", where=where)
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"expected true or false, got {value!r}", where=where)
    return value


def _max_runs(value: Any, where: str) -> int:
    if not _is_int(value) or value < 1:
        raise InputError(f"max_runs must be a positive integer, got {value!r}", where=where)
    return int(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
