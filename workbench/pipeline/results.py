"""Turning an optimizer's answer into the fit's results: parameters with uncertainties,
goodness-of-fit statistics, predictions, and the ``result.json`` payload."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from workbench import __version__
from workbench.pipeline import uncertainty
from workbench.pipeline.prediction_spec import prediction_spec
from workbench.pipeline.prepare import Prepared


def finite_or_none(value):
    """JSON has no NaN or infinity: those become null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def scalar_names(prepared: Prepared) -> list[str]:
    """One name per free scalar: ``a`` for scalars, ``W1[0,3]`` for array elements."""
    names = []
    for p in prepared.free:
        if p.shape == ():
            names.append(p.name)
        else:
            names += [f"{p.name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*p.shape)]
    return names


def plain_prediction(prepared: Prepared, params, columns) -> np.ndarray:
    """The predictions for every row of ``columns``, computed a row chunk at a time: the model's
    intermediate values then take a chunk's memory, not the data's."""
    from workbench.pipeline.chunks import DEFAULT_CHUNK_ROWS

    n = len(next(iter(columns.values()))) if columns else prepared.objective.n_rows
    if n <= DEFAULT_CHUNK_ROWS:
        return _prediction_of_rows(prepared, params, columns)
    out = np.empty(n)
    for start in range(0, n, DEFAULT_CHUNK_ROWS):
        rows = slice(start, start + DEFAULT_CHUNK_ROWS)
        out[rows] = _prediction_of_rows(prepared, params, {k: v[rows] for k, v in columns.items()})
    return out


def _prediction_of_rows(prepared: Prepared, params, columns) -> np.ndarray:
    from workbench import engine as ad

    with ad.no_grad():
        out = prepared.objective.predict(params, columns)
    out = np.asarray(getattr(out, "data", out), dtype=float)
    if prepared.model.binary:
        out = np.asarray(ad.sigmoid(out)) if prepared.loss.from_logits else out
    return out


LOG_LOSS_CLIP = 1e-15      # probabilities are clipped this far from 0 and 1 for the log loss


def quality(y: np.ndarray, pred: np.ndarray, binary: bool) -> dict:
    """n, R², RMSE, MAE (and accuracy and log loss for a 0/1 target)."""
    return metrics_from_sums(**quality_sums(y, pred, binary), binary=binary)


def quality_sums(y: np.ndarray, pred: np.ndarray, binary: bool) -> dict:
    """The sums over rows that ``metrics_from_sums`` turns into the metrics: n, the target's mean
    and Σ (y − mean)², Σ r², Σ |r| (r = pred − y), and for a 0/1 target the rows on the right side
    of 0.5 and −Σ log-likelihood. Sums of several row sets add up (``dask_parts.RowSums``)."""
    n = int(len(y))
    if n == 0:
        return {"n": 0}
    r = pred - y
    mean = float(np.mean(y))
    sums = {"n": n, "mean_y": mean, "spread_y": float(np.sum((y - mean) ** 2)), "squares": float(np.sum(r * r)),
            "absolute": float(np.sum(np.abs(r)))}
    if binary:
        p = np.clip(pred, LOG_LOSS_CLIP, 1 - LOG_LOSS_CLIP)
        sums["correct"] = int(np.sum((pred >= 0.5) == (y >= 0.5)))
        sums["log_loss"] = float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return sums


def metrics_from_sums(n: int, spread_y: float = 0.0, squares: float = 0.0, absolute: float = 0.0,
                      correct: int = 0, log_loss: float = 0.0, binary: bool = False, mean_y: float = 0.0) -> dict:
    """n, R² = 1 − Σ r² / Σ (y − mean)², RMSE = √(Σ r² / n), MAE = Σ |r| / n, and for a 0/1 target
    accuracy and the mean log loss, from ``quality_sums`` (of one table, or added over files)."""
    if n == 0:
        return {"n": 0}
    metrics = {"n": n, "r2": 1.0 - squares / spread_y if spread_y > 0 else None,
               "rmse": float(np.sqrt(squares / n)), "mae": absolute / n}
    if binary:
        metrics["accuracy"] = correct / n
        metrics["log_loss"] = log_loss / n
    return metrics


def _at_bound(prepared: Prepared, x: np.ndarray, names: list[str]) -> list[str]:
    tol = 1e-9 * np.maximum(1.0, np.abs(x))
    hit = (np.abs(x - prepared.lower) <= tol) | (np.abs(x - prepared.upper) <= tol)
    return [n for n, h in zip(names, hit) if h]


def estimate_uncertainty(prepared: Prepared, x: np.ndarray, names: list[str], residual: np.ndarray, opt=None,
                         no_effect: list[str] = ()):
    """Exact uncertainties, refused before any large allocation (``uncertainty.too_large``); a
    failure of the linear algebra (an SVD that does not converge) is a warning, never a crash.
    A closed-form linear solve (``linear_solve``) brings its own triangle (or penalized Hessian)."""
    obj, n = prepared.objective, prepared.objective.n_rows
    at_bound = _at_bound(prepared, x, names)
    least_squares = prepared.loss.is_least_squares
    from workbench.pipeline.fit import fit_objective

    weighted = residual if prepared.weights is None else residual * np.sqrt(prepared.weights)
    factor, hessian = getattr(opt, "design_factor", None), getattr(opt, "penalized_hessian", None)
    if least_squares and factor is not None:
        return uncertainty.estimate(names, x, n, jacobian=factor, residuals=weighted, at_bound=at_bound, no_effect=no_effect)
    if hessian is not None:
        rows_factor = 1.0 if prepared.loss.name == "sse" else float(n)
        return uncertainty.estimate(names, x, n, hessian=hessian, loss_sum=obj.loss_value(x) * rows_factor,
                                    at_bound=at_bound, no_effect=no_effect)
    chunked = fit_objective(prepared)
    if least_squares and chunked is not obj and obj.jacobian_fits(min(chunked.chunk_rows, n)):
        # The triangle of √w·J from the row chunks: the same singular values as J, p × p in memory
        # (a chunk's Jacobian past the model size limit, a large network's, is refused below).
        return uncertainty.estimate(names, x, n, jacobian=chunked.model_jacobian_factor(x), residuals=weighted,
                                    at_bound=at_bound, no_effect=no_effect)
    refusal = (uncertainty.too_large("Jacobian (rows × parameters)", n * len(x)) if least_squares else
               uncertainty.too_large("Hessian (parameters²)", len(x) ** 2))
    if refusal is None and not least_squares and len(x) > uncertainty.MAX_PARAMS_FOR_HESSIAN:
        refusal = (f"uncertainties were not computed (method: none): models with more than "
                   f"{uncertainty.MAX_PARAMS_FOR_HESSIAN} parameters need an exact Hessian ({len(x)} here)")
    if refusal is not None:
        u = uncertainty.estimate(names, x, 0)
        u.warnings = [refusal]
        return u
    from workbench import engine as ad

    try:
        if least_squares:
            return uncertainty.estimate(names, x, n, jacobian=obj.model_jacobian(x), weights=prepared.weights,
                                        residuals=residual, at_bound=at_bound, no_effect=no_effect)
        rows_factor = 1.0 if prepared.loss.name == "sse" else float(n)
        view = fit_objective(prepared)          # in row chunks: a chunk's memory, not the table's
        hessian = (view.summed_hessian(x, rows_factor) if hasattr(view, "summed_hessian") else
                   ad.hessian(lambda v: obj.loss_of_flat(v) * rows_factor)(x))
        penalty_free = prepared.loss.l1 == 0 and prepared.loss.l2 == 0
        return uncertainty.estimate(names, x, n, hessian=hessian, loss_sum=loss_in_chunks(prepared, x) * rows_factor,
                                    likelihood=prepared.loss.name == "cross_entropy" and penalty_free,
                                    at_bound=at_bound, no_effect=no_effect)
    except (ad.EngineError, np.linalg.LinAlgError, FloatingPointError, ValueError) as err:
        u = uncertainty.estimate(names, x, 0)
        u.warnings = [f"uncertainties could not be computed: {err}"]
        return u


def _least_squares_stats(prepared: Prepared, residual: np.ndarray, p: int) -> dict:
    w = prepared.weights if prepared.weights is not None else 1.0
    return least_squares_stats(float(np.sum(w * residual * residual)), len(residual), p)


def least_squares_stats(chi2: float, n: int, p: int) -> dict:
    """χ², reduced χ², AIC and BIC of ``n`` rows and ``p`` parameters (χ² = Σ w r²)."""
    stats = {"chi_square": chi2, "reduced_chi_square": chi2 / (n - p) if n > p else None}
    if chi2 > 0:
        stats["aic"] = n * math.log(chi2 / n) + 2 * p
        stats["bic"] = n * math.log(chi2 / n) + p * math.log(n)
    return stats


def params_table(prepared: Prepared, x, names, unc) -> list[dict]:
    rows = []
    for i, name in enumerate(names):
        rows.append({"name": name, "value": float(x[i]), "stderr": finite_or_none(unc.stderr[i]),
                     "ci_low": finite_or_none(unc.ci_low[i]), "ci_high": finite_or_none(unc.ci_high[i]),
                     "min": finite_or_none(prepared.lower[i]), "max": finite_or_none(prepared.upper[i]),
                     "fixed": False})
    for name, value in prepared.fixed.items():
        if np.ndim(value) == 0:
            rows.append({"name": name, "value": float(value), "stderr": None, "ci_low": None,
                         "ci_high": None, "min": None, "max": None, "fixed": True})
    return rows


def assemble_result(prepared: Prepared, opt, out_dir: Path, started: float):
    """A ``FitOutcome`` for the optimizer's result ``opt`` (nothing is written here)."""
    from workbench.pipeline.fit import FitOutcome

    x = np.asarray(opt.x, dtype=float)
    obj = prepared.objective
    params = obj.unpack(x)
    names = scalar_names(prepared)
    all_pred = plain_prediction(prepared, params, prepared.dataset.columns)
    y_all = prepared.dataset.columns[prepared.model.target]
    train, val = prepared.train_rows, prepared.val_rows
    if not len(val):
        train = slice(None)        # every row: views instead of copies of a large table
    residual = y_all[train] - all_pred[train]      # actual − predicted, as statsmodels and Excel do
    from workbench.pipeline.degenerate import judge

    degenerate = judge(prepared, x, all_pred[train], y_all[train], names)   # a plateau, separated classes
    opt = degenerate.relabel(opt)
    unc = (estimate_uncertainty(prepared, x, names, residual, opt, degenerate.flat) if np.all(np.isfinite(x))
           else uncertainty.estimate(names, x, 0))
    unc = degenerate.apply(unc, names)
    metrics = quality(y_all[train], all_pred[train], prepared.model.binary)
    if prepared.loss.is_least_squares:
        metrics.update(_least_squares_stats(prepared, residual, len(x)))
    val_metrics = quality(y_all[val], all_pred[val], prepared.model.binary) if len(val) else None
    loss = loss_in_chunks(prepared, x) if np.all(np.isfinite(x)) else float("nan")
    val_loss = None
    if len(val):
        w = prepared.dataset.columns[prepared.config.loss.weights][val] if prepared.config.loss.weights else None
        val_loss = obj.loss_value(x, prepared.columns(val), y_all[val], w)
    shown_x, shown_unc, standardized = uncertainty.on_original_scale(prepared.model, x, unc)
    table = params_table(prepared, shown_x, names, shown_unc)
    elapsed = time.perf_counter() - started
    result = {
        "name": prepared.config.name,
        "params": {r["name"]: r["value"] for r in table},
        "stderr": {r["name"]: r["stderr"] for r in table},
        "loss": finite_or_none(loss), "val_loss": finite_or_none(val_loss),
        "converged": bool(opt.success), "status": opt.status, "message": opt.message,
        "iterations": int(opt.nit), "function_evaluations": int(opt.nfev),
        "optimizer": prepared.optimizer_name, "elapsed_s": round(elapsed, 6),
        "metrics": {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in metrics.items()},
        "validation_metrics": val_metrics, "diverged_at": opt.diverged_at,
        "model": prepared.model.describe(), "loss_name": prepared.loss.name,
        "warnings": list(prepared.notes) + list(unc.warnings), "undetermined": unc.undetermined,
        "uncertainty": unc.summary(),
        "seed": prepared.config.seed, "workbench_version": __version__,
        "data": {"path": str(prepared.dataset.path), "sheet": prepared.dataset.sheet,
                 "sha256": prepared.dataset.sha256, "rows_read": prepared.dataset.n_rows_read,
                 "rows_used": int(prepared.dataset.n), "rows_dropped": int(prepared.dataset.n_dropped),
                 "dropped": prepared.dataset.summary["dropped"], "dropped_summary": prepared.dataset.summary_sentence,
                 "percent_columns": list(getattr(prepared.dataset, "percent_columns", ())),
                 **({"files": [str(f) for f in prepared.dataset.files]} if prepared.dataset.files else {})},
    }
    result["prediction"] = prediction_spec(prepared, unc, residual)   # what `workbench predict` needs
    if degenerate.separated:
        result["separation"] = degenerate.result_entry()
    if standardized is not None:
        result["standardization"] = standardized      # the fitted (standardized) values, for predict and check
    predictions = {"row": prepared.dataset.row_numbers}
    if prepared.dataset.files:      # a glob of files: which file each row number belongs to
        predictions["file"] = _file_labels(prepared.dataset)
    predictions.update(prepared.dataset.columns)
    predictions["prediction"] = all_pred
    predictions["residual"] = residual if not len(val) else y_all - all_pred
    predictions["set"] = _set_labels(len(y_all), val)
    outcome = FitOutcome(prepared, opt, x, result, table, predictions, list(opt.history), unc, Path(out_dir),
                         elapsed, warnings=result["warnings"])
    _attach_gradient_check(outcome)
    return outcome


def loss_in_chunks(prepared: Prepared, x: np.ndarray) -> float:
    """The loss at ``x`` summed over the fit's row chunks (``fit.fit_objective``), so a large
    table's loss takes a chunk's memory."""
    from workbench.pipeline.fit import fit_objective

    return fit_objective(prepared).loss_value(x)


class Labels:
    """A column of a few distinct texts as small integer ``codes`` into ``categories``: what a
    categorical is, with numpy alone (pandas would cost every fit half a second to import). It
    reads as its texts (``np.asarray``, indexing, iteration); the Parquet writer stores it as a
    dictionary column (``outputs._arrow_column`` looks for ``codes`` and ``categories``)."""

    def __init__(self, codes: np.ndarray, categories):
        self.codes = np.asarray(codes)
        self.categories = list(categories)

    def __len__(self) -> int:
        return len(self.codes)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        texts = np.asarray(self.categories, dtype=object)[self.codes]
        return texts if dtype is None else texts.astype(dtype)

    def __getitem__(self, index):
        picked = self.codes[index]
        return self.categories[int(picked)] if np.ndim(picked) == 0 else Labels(picked, self.categories)

    def __iter__(self):
        return (self.categories[int(code)] for code in self.codes)


def _file_labels(dataset) -> Labels:
    """The file of each row (a glob path's ``Dataset.files``) as labels of file names."""
    return Labels(dataset.file_of_row, [Path(f).name for f in dataset.files])


def _set_labels(n: int, val_rows: np.ndarray) -> Labels:
    """"train" or "validation" per row: one byte a row (text would take forty)."""
    codes = np.zeros(n, dtype=np.int8)
    codes[val_rows] = 1
    return Labels(codes, ["train", "validation"])


def _attach_gradient_check(outcome) -> None:
    """The compact gradient check, whose verdict result.json, the console and every report show."""
    from workbench.pipeline.check import fit_gradient_checks, gradient_check_summary

    with np.errstate(all="ignore"):
        outcome.gradcheck = fit_gradient_checks(outcome)
    outcome.result["gradient_check"] = gradient_check_summary(outcome.gradcheck)
