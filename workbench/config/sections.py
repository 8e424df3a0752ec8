"""The validated config as frozen dataclasses: ``Config`` and one class per section.

Built from the normalised mapping by ``build_config``; field names are the YAML keys. Values
the config leaves open are ``None`` and decided downstream, as documented per field (notably
``OptimizerConfig.name``: ``None`` means the pipeline picks lm for mse/sse without
regularization, else lbfgs). Paths are absolute, resolved against the config file's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config.schema import REPORT_FORMATS
from workbench.optim.options import DEFAULT_MAX_STEPS


@dataclass(frozen=True)
class DataConfig:
    path: Path                          # absolute
    sheet: str | int | None = None      # Excel: name or 1-based position; None = the first sheet
    header_row: int | None = None       # 1-based row of the column names; None: detected
    decimal: str | None = None          # None: decided from the file's values
    thousands: str | None = None
    delimiter: str | None = None        # one character or tab|comma|semicolon|pipe|space; None: detected
    columns: dict[str, str] = field(default_factory=dict)       # rename: old -> new
    where: str | None = None            # row filter expression
    dates: dict[str, dict] = field(default_factory=dict)   # column -> {origin: ISO date, format: strftime}
    missing: str = "drop"               # empty cells: drop | error
    unreadable: str = "error"           # not a number/date, NaN text, overflow: error | drop
    max_dropped: float = 0.10           # share of rows that may be dropped for their values
    limits: dict[str, float] = field(default_factory=dict)  # file_mb, unzipped_mb
    units: dict[str, str] = field(default_factory=dict)         # column -> unit ("USD", "pcs")
    derive: dict[str, str] = field(default_factory=dict)        # new column -> expression, in order


@dataclass(frozen=True)
class ModelConfig:
    formula: str | None = None
    type: str | None = None             # exactly one of formula and type is set
    inputs: tuple[str, ...] = ()        # built-in types only (``input: x`` is stored here too)
    target: str | None = None           # built-in types only; a formula names its own target
    categorical: tuple[str, ...] = ()   # linear and logistic: text columns one-hot encoded
    degree: int | None = None           # polynomial (default 2)
    hidden: tuple[int, ...] = ()        # mlp (default (16,))
    activation: str | None = None       # mlp (default tanh)
    standardize: bool = False           # linear, logistic, polynomial: fit on standardized inputs


@dataclass(frozen=True)
class ParamSpec:
    name: str
    init: float | None = None           # None: the model's own starting guess
    min: float | None = None
    max: float | None = None
    fixed: bool = False


@dataclass(frozen=True)
class LossConfig:
    name: str = "mse"                   # default cross_entropy for a logistic model
    delta: float | None = None          # huber, soft_l1 (default 1.0)
    weights: str | None = None          # column of per-row weights
    l1: float = 0.0
    l2: float = 0.0
    standardize: bool = False           # penalize coefficients times their input's standard deviation
    from_logits: bool = True            # cross_entropy only


@dataclass(frozen=True)
class OptimizerConfig:
    name: str | None = None             # None: the pipeline decides (lm for least squares, else lbfgs)
    lr: float | None = None             # None here and below: the optimizer's own default
    max_steps: int = DEFAULT_MAX_STEPS
    batch_size: int | None = None
    momentum: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    weight_decay: float | None = None
    schedule: dict[str, Any] | None = None   # {name: ..., <that schedule's keys>}
    ftol: float | None = None
    xtol: float | None = None
    gtol: float | None = None
    time_limit: float | None = None
    patience: int | None = None
    history_size: int | None = None
    restarts: int | None = None


@dataclass(frozen=True)
class OutputConfig:
    dir: Path | None = None             # absolute; None: reports/<name>/ under the current folder
    formats: tuple[str, ...] = REPORT_FORMATS
    plots: bool = True
    history: Path | None = None         # absolute; the refit history (SQLite) a fit is appended to
    predictions: str = "auto"          # auto | csv | parquet (outputs.py)


@dataclass(frozen=True)
class ExecutionConfig:
    scheduler: str | None = None        # a Dask scheduler's address; None: this machine
    chunk_rows: int | None = None       # rows per chunk of the sums over the data; None: the default


@dataclass(frozen=True)
class DriftConfig:
    threshold: float = 3.0              # |z| beyond which a parameter drifted (defaults: config schema)
    relative_tolerance: float = 0.1     # a parameter without standard error: relative change allowed
    metric_tolerance: float = 0.5       # relative rise of RMSE (log loss) allowed


@dataclass(frozen=True)
class ReportConfig:
    language: str = "en"                # en | ja
    appendix: bool = True               # the technical part after the manager part
    describe: dict[str, str] = field(default_factory=dict)      # parameter -> plain words


@dataclass(frozen=True)
class Config:
    name: str
    data: DataConfig
    model: ModelConfig
    params: dict[str, ParamSpec]
    loss: LossConfig
    optimizer: OptimizerConfig
    validation: float | None
    seed: int
    output: OutputConfig
    raw: dict                           # the mapping as given, after overrides
    path: Path | None                   # the config file, when read from one
    base_dir: Path                      # relative paths in the config start here
    resolved: dict = field(default_factory=dict, repr=False)   # normalised, defaults filled in
    report: ReportConfig = field(default_factory=ReportConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)


def resolve_path(base_dir: Path, text: str) -> Path:
    """``text`` (``~`` expanded) made absolute against ``base_dir``."""
    return (Path(base_dir) / os.path.expanduser(text)).resolve()


def build_config(cfg: dict, *, raw: dict, base_dir: Path, path: Path | None) -> Config:
    """The dataclasses for the normalised mapping ``cfg`` (already validated and ruled)."""
    data = dict(cfg["data"])
    data["path"] = resolve_path(base_dir, data["path"])
    loss = dict(cfg["loss"])
    loss.update(loss.pop("regularization"))
    output = dict(cfg["output"])
    output["dir"] = resolve_path(base_dir, output["dir"]) if "dir" in output else None
    output["history"] = resolve_path(base_dir, output["history"]) if "history" in output else None
    params = {name: ParamSpec(name, **spec) for name, spec in cfg.get("params", {}).items()}
    return Config(name=cfg["name"], data=DataConfig(**data), model=ModelConfig(**cfg["model"]),
                  params=params, loss=LossConfig(**loss), optimizer=OptimizerConfig(**cfg["optimizer"]),
                  validation=cfg.get("validation"), seed=cfg["seed"], output=OutputConfig(**output),
                  raw=raw, path=path, base_dir=Path(base_dir).resolve(), resolved=cfg,
                  report=ReportConfig(**cfg.get("report", {})), drift=DriftConfig(**cfg.get("drift", {})),
                  execution=ExecutionConfig(**cfg.get("execution", {})))
