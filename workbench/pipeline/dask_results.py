"""The result of a fit whose rows stay on the cluster (``dask_data.ClusterTable``).

``assemble_on_cluster`` first assembles the result as ``results.assemble_result`` does, on the
client's sample (``prepared.dataset``): the predictions it keeps are the sample's (what the plots
and the report tables draw), and so are the gradient check and the flatness judgement. Then every
number that must see every row is replaced by the whole table's, from per-file sums the tasks
send back (``dask_parts.RowSums``) or from the sums the optimizer used: the metrics of the fitted
and held-out rows, χ² and the uncertainties (n, and Σ w r² as the residual sum), the loss on the
held-out rows, the rows used, the inputs' fitted ranges and residual variance that ``predict``
needs, and for a closed-form solve its loss and history. The separation of a 0/1 target is judged
on every row (the largest |probability − label|). ``result.json`` says how the fit ran under
``execution``. The predictions file is written by the tasks (``write_prediction_parts``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


class _WholeTable:
    """What ``results._uncertainty`` and ``prediction_spec`` read of an objective, for all the
    fitted rows: their number and the loss (summed where the rows live)."""

    def __init__(self, view, n_rows: int):
        self.view, self.n_rows = view, n_rows

    def loss_value(self, x: np.ndarray) -> float:
        return self.view.value_and_grad(x)[0]


def assemble_on_cluster(prepared, opt, out_dir, started: float):
    """A ``FitOutcome`` with the whole table's numbers (see the module docstring)."""
    from workbench.pipeline.fit import fit_objective
    from workbench.pipeline.results import assemble_result

    table, view = prepared.cluster, fit_objective(prepared)
    opt = _closed_form_on_every_row(prepared, opt, view)
    outcome = assemble_result(prepared, opt, out_dir, started)
    x = outcome.x
    fitted, held = table.sums(prepared, x)
    whole = dataclasses.replace(prepared, objective=_WholeTable(view, fitted.n), weights=None)
    root_chi2 = np.array([math.sqrt(fitted.weighted_squares)]) if math.isfinite(fitted.weighted_squares) \
        else np.array([np.nan])            # the uncertainties read only Σ w r² of the residuals
    unc = _uncertainty(prepared, whole, outcome, fitted, root_chi2)
    _replace_numbers(outcome, prepared, whole, unc, fitted, held, root_chi2)
    return outcome


def _closed_form_on_every_row(prepared, opt, view):
    """A closed-form solution's loss, history and message over every fitted row (the solve
    itself already used every row's triangle; its loss was evaluated on the sample)."""
    from workbench.pipeline.linear_solve import LinearSolution

    if not isinstance(opt, LinearSolution):
        return opt
    start, end = (view.value_and_grad(np.asarray(v, dtype=float))[0] for v in (prepared.x0, opt.x))
    history = [dict(h, loss=value) for h, value in zip(opt.history, (start, end))]
    message = opt.message.replace(f"{prepared.objective.n_rows:,} ×", f"{view.n_rows:,} ×")
    return dataclasses.replace(opt, fun=end, history=history, message=message)


def _uncertainty(prepared, whole, outcome, fitted, root_chi2):
    from workbench.pipeline import uncertainty
    from workbench.pipeline.degenerate import judge
    from workbench.pipeline.results import _uncertainty as on_rows, scalar_names

    x, names = outcome.x, scalar_names(prepared)
    if not np.all(np.isfinite(x)):
        return uncertainty.estimate(names, x, 0)
    train = prepared.train_rows
    prediction = np.asarray(outcome.predictions["prediction"], dtype=float)[train]
    degenerate = judge(prepared, x, prediction, prepared.target(train), names)
    if degenerate.separated and not fitted.largest_miss < _separated_below():
        degenerate = dataclasses.replace(degenerate, separated_by=None)    # the sample was, the table is not
    return degenerate.apply(on_rows(whole, x, names, root_chi2, outcome.optimize_result, degenerate.flat), names)


def _separated_below() -> float:
    from workbench.pipeline.degenerate import SEPARATED_ATOL

    return SEPARATED_ATOL


def _replace_numbers(outcome, prepared, whole, unc, fitted, held, root_chi2) -> None:
    from workbench.pipeline import uncertainty
    from workbench.pipeline.prediction_spec import prediction_spec
    from workbench.pipeline.results import _params_table, finite_or_none, least_squares_stats, scalar_names

    result, binary, table = outcome.result, prepared.model.binary, prepared.cluster
    shown_x, shown_unc, standardized = uncertainty.on_original_scale(prepared.model, outcome.x, unc)
    params_table = _params_table(prepared, shown_x, scalar_names(prepared), shown_unc)
    metrics = fitted.metrics(binary)
    if prepared.loss.is_least_squares:
        metrics.update(least_squares_stats(fitted.weighted_squares, fitted.n, len(outcome.x)))
    val_loss = table.validation_loss(prepared, outcome.x) if held.n and np.all(np.isfinite(outcome.x)) else None
    result.update(params={r["name"]: r["value"] for r in params_table},
                  stderr={r["name"]: r["stderr"] for r in params_table},
                  metrics={k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in metrics.items()},
                  validation_metrics=held.metrics(binary) if held.n else None, val_loss=finite_or_none(val_loss),
                  warnings=list(prepared.notes) + list(unc.warnings), undetermined=unc.undetermined,
                  uncertainty=unc.summary(), execution=table.describe())
    result["data"]["rows_used"] = table.n
    if standardized is not None:
        result["standardization"] = standardized
    spec = prediction_spec(whole, unc, root_chi2)
    spec["input_ranges"] = {name: fitted.ranges[name] for name in prepared.model.inputs if name in fitted.ranges}
    result["prediction"] = spec
    outcome.params_table, outcome.uncertainty, outcome.warnings = params_table, unc, result["warnings"]


def write_prediction_parts(outcome) -> list:
    """The predictions of every row, one part per file written by its task into the folder being
    written (``outputs.write_tables`` asks for this instead of one ``predictions.*``)."""
    choice = getattr(outcome.prepared.config.output, "predictions", "auto")
    return outcome.prepared.cluster.write_predictions(outcome.out_dir, outcome.x, choice)
