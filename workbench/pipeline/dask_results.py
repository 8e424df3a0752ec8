"""The result of a fit whose rows stay on the cluster (``dask_data.ClusterTable``).

``assemble_on_cluster`` first assembles the result as ``results.assemble_result`` does, on the
client's sample (``prepared.dataset``): the predictions it keeps are the sample's (what the plots
and the report tables draw), and so are the gradient check and the flatness judgement. Then every
number that must see every row is replaced by the whole table's, from per-file sums the tasks
send back (``dask_parts.RowSums``) or from the sums the optimizer used: the metrics of the fitted
and held-out rows, χ² and the uncertainties (n, and Σ w r² as the residual sum), the loss on the
held-out rows, the rows used, and the inputs' fitted ranges and residual variance that ``predict``
needs (a closed-form solve's loss, history and message already are every row's: ``linear_solve``
takes them from the optimizer's view, which sums over the workers' rows). The separation of a 0/1
target is judged on every row (the largest |probability − label|, and each class's range of every
input for the inputs that separate it), and the status, message and ``separation`` follow it. The
gradient check's ``of_rows`` is the whole table's fitted rows when the sample is not all of them.
``result.json`` says how the fit ran under ``execution``. The predictions are written by the
tasks (``write_prediction_parts``); written again after the fit (``api.Fit.write``), the parts
the tasks wrote are copied.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


class _WholeTable:
    """What ``results.estimate_uncertainty`` and ``prediction_spec`` read of an objective, for all the
    fitted rows: their number and the loss (summed where the rows live); what depends only on the
    model (whether a chunk's Jacobian fits the size limit) is the sample's objective's."""

    def __init__(self, view, n_rows: int, sample):
        self.view, self.n_rows, self.sample = view, n_rows, sample

    def loss_value(self, x: np.ndarray) -> float:
        return self.view.loss_value(x)

    def jacobian_fits(self, rows: int | None = None) -> bool:
        return self.sample.jacobian_fits(self.n_rows if rows is None else rows)


def assemble_on_cluster(prepared, opt, out_dir, started: float):
    """A ``FitOutcome`` with the whole table's numbers (see the module docstring)."""
    from workbench.pipeline.fit import fit_objective
    from workbench.pipeline.results import assemble_result

    table, view = prepared.cluster, fit_objective(prepared)
    outcome = assemble_result(prepared, opt, out_dir, started)
    fitted, held = table.sums(prepared, outcome.x)
    whole = dataclasses.replace(prepared, objective=_WholeTable(view, fitted.n, prepared.objective), weights=None)
    root_chi2 = np.array([math.sqrt(fitted.weighted_squares)]) if math.isfinite(fitted.weighted_squares) \
        else np.array([np.nan])            # the uncertainties read only Σ w r² of the residuals
    degenerate = _judged_on_every_row(prepared, outcome, opt, fitted)
    unc = _uncertainty(prepared, whole, outcome, degenerate, root_chi2)
    _replace_numbers(outcome, prepared, whole, unc, fitted, held, root_chi2)
    _gradient_check_of_the_table(outcome, table)
    return outcome


def _judged_on_every_row(prepared, outcome, opt, fitted):
    """``degenerate.judge`` with the separation of a 0/1 target judged on every fitted row (from
    ``fitted``), the flat parameters on the sample; the optimizer's result is relabelled by it,
    so the status, message and ``separation`` of result.json are the whole table's."""
    from workbench.pipeline.degenerate import judge
    from workbench.pipeline.results import scalar_names

    train, result = prepared.train_rows, outcome.result
    prediction = np.asarray(outcome.predictions["prediction"], dtype=float)[train]
    separation = (bool(prepared.model.binary) and fitted.separated(), fitted.separating_inputs(prepared.model.inputs))
    degenerate = judge(prepared, outcome.x, prediction, prepared.target(train), scalar_names(prepared),
                       separation=separation)
    relabelled = degenerate.relabel(opt)
    outcome.optimize_result = relabelled
    result.update(converged=bool(relabelled.success), status=relabelled.status, message=relabelled.message)
    result.pop("separation", None)
    if degenerate.separated:
        result["separation"] = degenerate.result_entry()
    return degenerate


def _uncertainty(prepared, whole, outcome, degenerate, root_chi2):
    from workbench.pipeline import uncertainty
    from workbench.pipeline.results import estimate_uncertainty, scalar_names

    x, names = outcome.x, scalar_names(prepared)
    if not np.all(np.isfinite(x)):
        return uncertainty.estimate(names, x, 0)
    on_rows = estimate_uncertainty(whole, x, names, root_chi2, outcome.optimize_result, degenerate.flat)
    return degenerate.apply(on_rows, names)


def _replace_numbers(outcome, prepared, whole, unc, fitted, held, root_chi2) -> None:
    from workbench.pipeline import uncertainty
    from workbench.pipeline.prediction_spec import prediction_spec
    from workbench.pipeline.results import finite_or_none, least_squares_stats, params_table, scalar_names

    result, binary, table = outcome.result, prepared.model.binary, prepared.cluster
    shown_x, shown_unc, standardized = uncertainty.on_original_scale(prepared.model, outcome.x, unc)
    rows = params_table(prepared, shown_x, scalar_names(prepared), shown_unc)
    metrics = fitted.metrics(binary)
    if prepared.loss.is_least_squares:
        metrics.update(least_squares_stats(fitted.weighted_squares, fitted.n, len(outcome.x)))
    val_loss = table.validation_loss(prepared, outcome.x) if held.n and np.all(np.isfinite(outcome.x)) else None
    result.update(params={r["name"]: r["value"] for r in rows}, stderr={r["name"]: r["stderr"] for r in rows},
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
    outcome.params_table, outcome.uncertainty, outcome.warnings = rows, unc, result["warnings"]


def _gradient_check_of_the_table(outcome, table) -> None:
    """The gradient check ran on the client's sample; when that is not the whole table, its
    ``loss_rows``/``of_rows`` (and the sentence of its ``detail``) say so against every fitted row."""
    from workbench.pipeline.check import gradient_check_summary

    check = outcome.gradcheck
    if check is None or table.sampled_rows >= table.n:
        return
    checked = check.loss_rows if check.loss_rows is not None else outcome.prepared.objective.n_rows
    outcome.gradcheck = dataclasses.replace(check, loss_rows=checked, of_rows=table.n_fitted)
    outcome.result["gradient_check"] = gradient_check_summary(outcome.gradcheck)


def write_prediction_parts(outcome) -> list:
    """The predictions of every row, one part per file written by its task into the folder being
    written (``outputs.write_tables`` asks for this instead of one ``predictions.*``). After the
    fit (``api.Fit.write``) the workers no longer hold the rows: the parts the fit wrote are
    copied instead."""
    table = outcome.prepared.cluster
    if table.closed:
        return _copied_parts(outcome)
    choice = getattr(outcome.prepared.config.output, "predictions", "auto")
    return table.write_predictions(outcome.out_dir, outcome.x, choice)


def refuse_lost_parts(outcome) -> None:
    """InputError (before anything is written) when a cluster fit's outputs are to be written
    again but the prediction parts its workers wrote (listed in ``outcome.files``) are gone."""
    from pathlib import Path

    from workbench.errors import InputError
    from workbench.pipeline.outputs import PREDICTION_PARTS

    table = getattr(outcome.prepared, "cluster", None)
    if table is None or not table.closed:
        return
    parts = [Path(f) for f in outcome.files if Path(f).parent.name == PREDICTION_PARTS]
    missing = [p for p in parts if not p.is_file()]
    if not parts or missing:
        where = f" ({missing[0]} is gone)" if missing else ""
        raise InputError(f"a cluster fit's predictions are written by the workers while it runs, and the parts it "
                         f"wrote are no longer there{where}: fit again to write them", where="write")


def _copied_parts(outcome) -> list:
    """The prediction parts listed in ``outcome.files`` (the set the fit wrote) copied (or hard
    linked: the parts are never changed in place) into ``outcome.out_dir``."""
    import os
    import shutil
    from pathlib import Path

    from workbench.pipeline.outputs import PREDICTION_PARTS

    refuse_lost_parts(outcome)
    folder = Path(outcome.out_dir) / PREDICTION_PARTS
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for part in (Path(f) for f in outcome.files if Path(f).parent.name == PREDICTION_PARTS):
        target = folder / part.name
        if target.exists() and os.path.samefile(part, target):
            copied.append(target)          # written into the folder it already is in
            continue
        try:
            os.link(part, target)
        except OSError:
            shutil.copyfile(part, target)
        copied.append(target)
    return copied
