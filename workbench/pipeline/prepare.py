"""Everything a fit needs before the optimizer starts, checked up front.

``prepare(config)`` reads the data, parses the formula, builds the model and the loss, splits off
validation rows, and lays out the free parameters with their bounds. Every problem found here is
bad input (exit 2) and is found before any output is written, so a failed run leaves nothing
half-made behind. ``workbench validate`` runs exactly this and prints what it understood.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.errors import InputError
from workbench.losses import Loss, build_loss
from workbench.models import ParamInfo, build_model, parse_model_formula, required_columns
from workbench.models.limits import check_model_config
from workbench.pipeline.objective import FitObjective

MAX_PARAMS_FOR_LM = 500


@dataclass
class Prepared:
    config: object
    dataset: object
    formula: object | None
    model: object
    loss: Loss
    free: list[ParamInfo]
    fixed: dict[str, np.ndarray]
    lower: np.ndarray
    upper: np.ndarray
    x0: np.ndarray
    train_rows: np.ndarray
    val_rows: np.ndarray
    weights: np.ndarray | None
    objective: FitObjective
    optimizer_name: str
    notes: list[str] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)   # categorical column -> levels, reference first
    optimizer_view: object | None = field(default=None, repr=False)   # ``fit.fit_objective``, built once
    cluster: object | None = field(default=None, repr=False)   # ``dask_data.ClusterTable``: rows on the workers

    def columns(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: values[rows] for name, values in self.dataset.columns.items()}

    def target(self, rows: np.ndarray) -> np.ndarray:
        return self.dataset.columns[self.model.target][rows]


def split_rows(n: int, share: float | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded hold-out: the same seed always holds out the same rows."""
    rows = np.arange(n)
    if not share:
        return rows, rows[:0]
    n_val = int(round(share * n))
    if n_val < 1 or n - n_val < 2:
        raise InputError(f"validation share {share} leaves no rows to fit or to validate ({n} rows)",
                         where="validation")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _param_layout(model, params_cfg):
    """Free parameters (with bounds) and fixed values, from the model and the config's params."""
    free, fixed, lower, upper, x0 = [], {}, [], [], []
    for p in model.params:
        spec = params_cfg.get(p.name)
        init = np.asarray(p.init, dtype=float).reshape(p.shape)
        if spec is not None and spec.fixed:
            fixed[p.name] = init
            continue
        lo = -np.inf if spec is None or spec.min is None else float(spec.min)
        hi = np.inf if spec is None or spec.max is None else float(spec.max)
        if p.shape == () and not lo <= float(init) <= hi:
            init = np.asarray(np.clip(init, lo, hi))   # a data-driven guess outside the user's bounds
        free.append(p)
        lower += [lo] * p.size
        upper += [hi] * p.size
        x0 += list(np.ravel(init))
    return free, fixed, np.array(lower), np.array(upper), np.array(x0, dtype=float)


def _refuse_bounds_when_standardized(model, params_cfg) -> None:
    """min, max and fixed are about the reported (original-scale) coefficients, which a model on
    standardized inputs fits as combinations of its own: they cannot be honoured one by one."""
    if model.original_scale_matrix() is None:
        return
    for name, spec in params_cfg.items():
        given = [key for key in ("min", "max") if getattr(spec, key) is not None] + (["fixed"] if spec.fixed else [])
        if given:
            raise InputError(f"{' and '.join(given)} cannot be combined with model.standardize: true (the reported "
                             f"coefficients are combinations of the standardized ones that are fitted); remove "
                             f"{'it' if len(given) == 1 else 'them'} or set standardize: false", where=f"params.{name}")


def rows_at_once(config, n_rows: int) -> int:
    """How many rows one evaluation takes: all, or a chunk's (``execution.chunk_rows``) when the
    fit is summed over row chunks (``workbench.pipeline.chunks``)."""
    from workbench.pipeline.chunks import DEFAULT_CHUNK_ROWS

    execution = getattr(config, "execution", None)
    return min(n_rows, getattr(execution, "chunk_rows", None) or DEFAULT_CHUNK_ROWS)


def _optimizer_name(config, loss: Loss, objective: FitObjective, notes: list[str]) -> str:
    """The configured optimizer, or lm for least squares when its Jacobian is small enough, else lbfgs."""
    from workbench.models.limits import too_large_to_evaluate

    at_once = rows_at_once(config, objective.n_rows)

    name = config.optimizer.name
    if name is None:
        if not loss.is_least_squares or objective.n_params > MAX_PARAMS_FOR_LM:
            return "lbfgs"
        if too_large_to_evaluate(objective.forward_jacobian_elements(at_once)):
            notes.append(f"lbfgs is used instead of lm: lm's Jacobian of {objective.n_params} parameters over "
                         f"{at_once:,} rows would exceed the model size limit")
            return "lbfgs"
        return "lm"
    if name == "lm" and not loss.is_least_squares:
        raise InputError(f"the lm optimizer needs a sum-of-squares loss (mse or sse, no regularization); "
                         f"loss is {loss.name}: use lbfgs or adam", where="optimizer.name")
    if name == "lm":
        objective.refuse_large_jacobian(rows=at_once)     # the error says the size; lbfgs needs no Jacobian
    return name


def _table_columns(data_options) -> list[str]:
    from workbench.data import read_columns

    return list(read_columns(data_options))


def model_data(config, levels: dict[str, list[str]] | None = None, cluster=None):
    """The data options and model config with each categorical column replaced by its indicator
    inputs (``region[North]``), and the levels: found in the data (every file of a glob, by the
    ``cluster``'s workers when there is one), or ``levels`` (a fit's own)."""
    from workbench.data.derive import indicator_names
    from workbench.data.source import as_data_config

    options = as_data_config(config.data)
    categorical = tuple(getattr(config.model, "categorical", None) or ())
    if not categorical:
        return options, config.model, {}
    levels = dict(levels) if levels is not None else _levels_in_data(options, categorical, cluster)
    options.categorical = levels
    inputs = [name for c in config.model.inputs for name in (indicator_names(c, levels[c]) if c in levels else [c])]
    inputs += [name for c in categorical if c not in config.model.inputs for name in indicator_names(c, levels[c])]
    return options, dataclasses.replace(config.model, inputs=tuple(inputs)), levels


def _levels_in_data(options, categorical: tuple, cluster) -> dict[str, list[str]]:
    """The categorical columns' levels in the file, or in every file of a glob (more distinct
    values than the model may have parameters are refused there, naming the column)."""
    from workbench.data.derive import categorical_levels
    from workbench.data.multi import glob_levels, is_pattern
    from workbench.data.source import read_raw
    from workbench.models.limits import ModelLimits

    if not is_pattern(options.path):
        return categorical_levels(read_raw(options), categorical)
    limits = ModelLimits.from_env()
    if cluster is not None:
        return cluster.levels(categorical, limits.max_params, limits.hint("max_params"))
    return glob_levels(options, categorical, limits.max_params, limits.hint("max_params"))


def _check_evaluation_size(model_cfg, formula, n_rows: int) -> None:
    """InputError before the model is built when evaluating it over every row (with the gradient)
    would hold more numbers than the model size limit allows (``models.limits``)."""
    from workbench.models.limits import check_evaluation, values_per_row
    from workbench.pipeline.objective import evaluation_elements

    where = "model.formula" if formula is not None else \
        {"mlp": "model.hidden", "polynomial": "model.degree"}.get(model_cfg.type, "model.inputs")
    described = "the formula" if formula is not None else f"the {model_cfg.type} model"
    check_evaluation(evaluation_elements(n_rows, values_per_row(model_cfg, formula)), rows=n_rows, where=where,
                     what=f"one evaluation of {described} with its gradient")


def _refuse_constant_target(config, formula, target: np.ndarray, name: str) -> None:
    """A target with one value in every row leaves nothing to fit (a derived 0/1 target whose
    condition is never true is the usual cause)."""
    if len(target) < 2 or np.ptp(target) > 0:
        return
    derived = (getattr(config.data, "derive", None) or {}).get(name)
    cause = f" (derived as {derived!r} in data.derive.{name})" if derived else ""
    raise InputError(f"the target {name!r} is {target[0]:g} in every one of the {len(target)} rows fitted"
                     f"{cause}: nothing can be fitted to a constant", where="model.formula" if formula is not None
                     else "model.target")


def prepare(config) -> Prepared:
    """Load, parse and check everything for ``config``; raise InputError on the first problem.

    The error names the config file first, then the key, column or row, as config errors do.
    """
    try:
        return _prepare(config)
    except InputError as err:
        source = getattr(config, "path", None)
        if source is None or str(err).startswith(f"{Path(source).name}:"):
            raise
        raise InputError(str(err), where=Path(source).name) from None


def _prepare(config) -> Prepared:
    from workbench.data.source import as_data_config
    from workbench.pipeline.dask_data import on_cluster

    formula = parse_model_formula(config.model)
    cluster = on_cluster(config, as_data_config(config.data))    # a scheduler and several files: the rows stay there
    try:
        return _prepare_with(config, formula, cluster)
    except BaseException:
        if cluster is not None:
            cluster.close()            # the workers' rows and the connection, not left until exit
        raise


def _prepare_with(config, formula, cluster) -> Prepared:
    from workbench.data import load_dataset

    data_options, model_cfg, levels = model_data(config, cluster=cluster)
    check_model_config(model_cfg)          # a model too large to build is refused before the data is read
    if cluster:
        cluster.options = data_options     # the files are read with the levels found in all of them
    table_columns = cluster.table_columns() if cluster else _table_columns(data_options)
    needed = required_columns(model_cfg, table_columns, formula)
    if config.loss.weights:
        needed.append(config.loss.weights)
    if cluster:       # ``dataset`` is then the client's sample, with the whole table's account of rows
        dataset, train_rows, val_rows = cluster.load(needed, config.validation, config.seed)
    else:
        dataset = load_dataset(data_options, needed)
        train_rows, val_rows = split_rows(dataset.n, config.validation, config.seed)
    loss = build_loss(config.loss)
    binary = loss.name == "cross_entropy"
    # Without validation rows the fit's columns are the dataset's own (no copy of a large table).
    columns = {k: v[train_rows] for k, v in dataset.columns.items()} if len(val_rows) else dict(dataset.columns)
    _check_evaluation_size(model_cfg, formula, rows_at_once(config, dataset.n))
    inits = {name: spec.init for name, spec in config.params.items()}
    model = build_model(model_cfg, columns, formula=formula, table_columns=table_columns,
                        inits=inits, seed=config.seed, binary=binary)
    _refuse_constant_target(config, formula, columns[model.target], model.target)
    if binary and not set(np.unique(columns[model.target]).tolist()) <= {0.0, 1.0}:
        raise InputError(f"cross_entropy needs a 0/1 target; column {model.target!r} has other values",
                         where="loss")
    _refuse_bounds_when_standardized(model, config.params)
    free, fixed, lower, upper, x0 = _param_layout(model, config.params)
    n_free = int(sum(p.size for p in free))
    if n_free == 0:
        raise InputError("every parameter is fixed: nothing to fit", where="params")
    if len(train_rows) < n_free and model.is_scalar:
        raise InputError(f"{len(train_rows)} rows to fit {n_free} parameters: need at least as many rows "
                         f"as parameters", where="data")
    weights = None
    if config.loss.weights:
        weights = dataset.columns[config.loss.weights][train_rows]
        if np.any(weights < 0):
            raise InputError(f"weights column {config.loss.weights!r} has negative values", where="loss.weights")
    objective = FitObjective(model, loss, {c: columns[c] for c in model.inputs}, columns[model.target],
                             weights, free, fixed)
    notes = [*dataset.warnings, *model.notes]
    prepared = Prepared(config, dataset, formula, model, loss, free, fixed, lower, upper, x0, train_rows,
                        val_rows, weights, objective, _optimizer_name(config, loss, objective, notes), notes,
                        levels, cluster=cluster)
    from workbench.pipeline.start_point import check_start_point

    check_start_point(prepared)     # a loss or gradient that is not finite before the first step: exit 2
    return prepared
