"""A fit's pictures, drawn once as PNG files and handed on as a typed ``Figures`` value.

``draw_figures(outcome, folder, keys)`` draws each picture on its own (one failure loses nothing
else) and returns ``Figures``: per key a ``plots.Drawn`` (its path, or the reason it is missing,
and how its rows were drawn). ``workbench fit`` draws convergence, fit and residuals into the
output folder (``output.plots``) and passes the result to ``write_reports``, which draws only
what is still missing (trajectories, the graph) and never draws a picture twice.

* convergence: loss and gradient norm per step, log scale;
* fit: the data and the fitted curve with a 95% confidence band (one input), or predicted
  against actual;
* residuals: against fitted values, and their histogram;
* trajectories: each parameter's value per step (recorded for models with few parameters);
* graph: the computational graph of the loss at the solution;
* drift: each parameter over the recorded fits of the same name (result.json's ``drift_history``)
  with a band of ±2 standard errors, for the report's "changes since the previous fit".

The confidence band is that of the fitted mean: var(ŷ) = J Σ Jᵀ with J the model's exact
Jacobian (forward mode) and Σ the parameters' covariance, and the band is ŷ ± t·sqrt(var), with t
the same Student quantile as the parameters' 95% intervals. Parameters held at a bound have no
variance (their rows of Σ are NaN and count as zero). For one input it is computed on the same
fine grid as the curve, so it costs the same for ten rows or ten million.

Everything is read from the outcome's attributes (its result, arrays and config); nothing here
imports the pipeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench import engine as ad
from workbench.errors import OutputError
from workbench.report import plots
from workbench.report.i18n import Translator, translator
from workbench.report.content import predicts_probability
from workbench.report.plots import Drawn, FitSeries, Words
from workbench.report.sentences import is_estimate, table_sample

PLOT_KEYS = ("convergence", "fit", "residuals")              # the PNG files of ``output.plots``
APPENDIX_KEYS = ("trajectories", "graph")                     # drawn for the report's appendix only
DRIFT_KEYS = ("drift",)                                       # drawn for the report when a history was compared
GRID_POINTS = 300
MAX_DRIFT_PANELS = 9


@dataclass(frozen=True)
class Figures:
    """The pictures drawn for one fit, by key, in drawing order."""

    drawn: tuple[Drawn, ...] = ()

    def get(self, key: str) -> Drawn | None:
        return next((d for d in self.drawn if d.key == key), None)

    @property
    def paths(self) -> list[Path]:
        return [d.path for d in self.drawn if d.path is not None]

    def problems(self, language: str = "en") -> list[str]:
        """One sentence per picture that could not be drawn (for the fit's warnings)."""
        tr = translator(language)
        return [tr("plot.not_drawn", title=tr(f"plot.name.{d.key}"), reason=d.error)
                for d in self.drawn if d.error]

    def with_(self, more: Figures) -> Figures:
        return Figures(self.drawn + tuple(d for d in more.drawn if self.get(d.key) is None))


def report_language(config) -> str:
    return getattr(getattr(config, "report", None), "language", None) or "en"


def _label(config, tr: Translator, column: str) -> str:
    unit = (getattr(getattr(config, "data", None), "units", None) or {}).get(column)
    return tr("plot.with_unit", name=column, unit=unit) if unit else column


def _jacobian_on(outcome, columns: dict) -> np.ndarray:
    """∂prediction/∂parameters at every row of ``columns`` (forward mode)."""
    prepared = outcome.prepared
    objective = prepared.objective
    values = objective.unpack(outcome.x)
    primals = [values[p.name] for p in prepared.free]

    def prediction_of(*free):
        params = dict(objective.fixed)
        params.update({p.name: t for p, t in zip(prepared.free, free)})
        return objective.predict(params, columns)

    with ad.no_grad():
        _, jacs = ad.forward_jacobians(prediction_of, primals)
    n = len(next(iter(columns.values())))
    return np.concatenate([j.reshape(n, -1) for j in jacs], axis=1)


def _half_width(outcome, jac: np.ndarray) -> np.ndarray:
    unc = outcome.uncertainty
    var = np.einsum("ij,jk,ik->i", jac, np.nan_to_num(unc.covariance), jac)
    return unc.t_value * np.sqrt(np.clip(var, 0.0, None))


def _has_covariance(outcome) -> bool:
    unc = outcome.uncertainty
    return getattr(unc, "covariance", None) is not None and bool(np.isfinite(unc.t_value))


def confidence_band(outcome) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) of the 95% band of the fitted values at every data row, or None."""
    if not _has_covariance(outcome):
        return None
    prepared = outcome.prepared
    if len(prepared.val_rows):
        jac = _jacobian_on(outcome, {c: prepared.dataset.columns[c] for c in prepared.model.inputs})
    else:
        jac = prepared.objective.model_jacobian(outcome.x)
    half = _half_width(outcome, jac)
    pred = np.asarray(outcome.predictions["prediction"], dtype=float)
    return pred - half, pred + half


def _curve(outcome, x_name: str, grid: np.ndarray) -> np.ndarray | None:
    """The fitted model on a fine grid (None when the model needs more than this input)."""
    prepared = outcome.prepared
    try:
        with ad.no_grad():
            out = prepared.objective.predict(prepared.objective.unpack(outcome.x), {x_name: grid})
    except Exception:   # noqa: BLE001 - the grid is a nicety; the data points are drawn instead
        return None
    out = np.asarray(getattr(out, "data", out), dtype=float)
    return out if out.shape == grid.shape else None


def fit_series(outcome) -> FitSeries:
    """The fit plot's arrays: data, curve and band on a grid for one input; else actual vs predicted."""
    prepared = outcome.prepared
    model, columns = prepared.model, prepared.dataset.columns
    y = np.asarray(columns[model.target], dtype=float)
    predicted = np.asarray(outcome.predictions["prediction"], dtype=float)
    if predicts_probability(prepared):
        return FitSeries(y=y, predicted=predicted, binary=True)
    if len(model.inputs) != 1:
        return FitSeries(y=y, predicted=predicted)
    x_name = model.inputs[0]
    x = np.asarray(columns[x_name], dtype=float)
    finite = x[np.isfinite(x)]
    grid = np.linspace(finite.min(), finite.max(), GRID_POINTS)
    curve = _curve(outcome, x_name, grid)
    band = None
    if _has_covariance(outcome) and is_estimate(outcome.result):      # no band around where a fit stopped short
        if curve is not None:
            half = _half_width(outcome, _jacobian_on(outcome, {x_name: grid}))
            band = (grid, curve - half, curve + half)
        else:
            low, high = confidence_band(outcome)
            order = np.argsort(x, kind="stable")
            band = (x[order], low[order], high[order])
    return FitSeries(y=y, predicted=predicted, x=x, curve=None if curve is None else (grid, curve), band=band,
                     date_origin=(getattr(prepared.dataset, "date_columns", None) or {}).get(x_name))


def _draw_convergence(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    history = outcome.history
    if not history:
        raise ValueError(tr("plot.no_steps"))

    def column(key):
        return np.array([np.nan if h.get(key) is None else h[key] for h in history], dtype=float)

    words = (Words(tr("plot.loss_title"), tr("plot.step"), tr("plot.loss"),
                   (tr("plot.loss"), tr("plot.validation_loss"))),
             Words(tr("plot.gradient_title"), tr("plot.step"), tr("plot.gradient_norm")))
    val = column("val_loss")
    plots.save_png(lambda: plots.convergence_figure(column("step"), column("loss"), column("grad_norm"),
                                                    val if np.isfinite(val).any() else None, words), path, language)
    return Drawn("convergence", path)


def _draw_fit(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    series = fit_series(outcome)
    config, target = outcome.prepared.config, outcome.prepared.model.target
    y_label = _label(config, tr, target)
    if series.x is not None:
        x_name = outcome.prepared.model.inputs[0]
        words = Words(tr("plot.fit_title"), _label(config, tr, x_name), y_label,
                      (tr("plot.data"), tr("plot.fit"), tr("plot.band")))
    elif series.binary:
        words = Words(tr("plot.calibration_title"), tr("plot.predicted_chance", target=y_label),
                      tr("plot.observed_share", target=y_label), (tr("plot.groups"), tr("plot.calibrated")))
    else:
        words = Words(tr("plot.actual_title"), tr("plot.actual", target=y_label), tr("plot.predicted", target=y_label),
                      (tr("plot.data"), tr("plot.perfect")))
    how = {}

    def draw():
        fig, drawn = plots.fit_figure(series, words)
        how.update(drawn)
        return fig

    plots.save_png(draw, path, language)
    return Drawn("fit", path, band=series.band is not None, **how)


def _draw_residuals(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    predicted = np.asarray(outcome.predictions["prediction"], dtype=float)
    residual = np.asarray(outcome.predictions["residual"], dtype=float)
    words = (Words(tr("plot.residuals_title"), tr("plot.fitted_value"), tr("plot.residual")),
             Words(tr("plot.histogram_title"), tr("plot.residual"), tr("plot.rows")))
    how = {}

    def draw():
        fig, drawn = plots.residuals_figure(predicted, residual, words)
        how.update(drawn)
        return fig

    plots.save_png(draw, path, language)
    return Drawn("residuals", path, **how)


def _draw_trajectories(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    names = [r["name"] for r in outcome.params_table if not r["fixed"]]
    if not outcome.trajectory:
        raise ValueError(tr("plot.no_trajectory", n=len(outcome.x)))
    steps = [(0, np.asarray(outcome.prepared.x0, dtype=float))] + list(outcome.trajectory)
    xs = np.array([s for s, _ in steps], dtype=float)
    values = np.array([v for _, v in steps], dtype=float)
    plots.save_png(lambda: plots.trajectory_figure(xs, values, names, Words(x=tr("plot.step"))), path, language)
    return Drawn("trajectories", path)


def graph_figure(outcome, fmt: str = "png") -> tuple[bytes, str]:
    """The loss's computational graph at the solution, rendered; (image bytes, renderer)."""
    from workbench.report.graph import render_dot
    from workbench.report.model_graph import graph_dot

    return render_dot(graph_dot(outcome.prepared, outcome.x), fmt)


def _draw_graph(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    from workbench.atomic import write_bytes

    png, renderer = graph_figure(outcome)
    write_bytes(path, png)
    return Drawn("graph", path, detail=renderer)


def _utc(text: str) -> np.datetime64:
    import datetime as dt

    when = dt.datetime.fromisoformat(str(text))
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return np.datetime64(when, "ms")


def drift_series(result: dict) -> list[plots.DriftSeries]:
    """The parameters of ``drift_history`` with at least two fits, those that drifted first."""
    moved = {d["param"] for d in result.get("drift") or [] if "param" in d}
    series = []
    for name, points in (result.get("drift_history") or {}).items():
        if len(points) < 2:
            continue
        column = lambda k: np.array([np.nan if p[k] is None else p[k] for p in points], dtype=float)  # noqa: E731
        series.append(plots.DriftSeries(name, np.array([_utc(p[0]) for p in points]), column(1), column(2),
                                        name in moved))
    return sorted(series, key=lambda one: not one.drifted)


def has_drift_history(result: dict) -> bool:
    return bool(drift_series(result))


def _draw_drift(outcome, path: Path, tr: Translator, language: str) -> Drawn:
    series = drift_series(outcome.result)
    if not series:
        raise ValueError(tr("plot.no_history"))
    shown = series[:MAX_DRIFT_PANELS]
    words = Words(x=tr("plot.fit_time"), legend=(tr("plot.value"), tr("plot.band_2se")))
    plots.save_png(lambda: plots.drift_figure(shown, words), path, language)
    return Drawn("drift", path, shown=len(shown), total=len(series))


DRAWERS = {"convergence": _draw_convergence, "fit": _draw_fit, "residuals": _draw_residuals,
           "trajectories": _draw_trajectories, "graph": _draw_graph, "drift": _draw_drift}


def record_problems(outcome, figures: Figures) -> None:
    """Pictures that could not be drawn: a console warning each (English), and result.json's
    ``pictures_not_drawn`` ({"picture", "reason"}), from which a report in any language says so."""
    missing = [{"picture": d.key, "reason": d.error} for d in figures.drawn if d.error]
    if missing:
        outcome.warnings += figures.problems()
        outcome.result["pictures_not_drawn"] = missing


def _of_whole_table(drawn: Drawn, result: dict) -> Drawn:
    """A picture of rows drawn from the sample a cluster fit holds (``sentences.table_sample``):
    its caption counts the rows drawn against the whole table's."""
    sample = table_sample(result)
    if sample is None or drawn.total is None or drawn.method not in ("all", "sample", "density"):
        return drawn
    return dataclasses.replace(drawn, total=sample[1], method="table_sample")


def draw_figures(outcome, folder: Path, keys=PLOT_KEYS, already: Figures | None = None) -> Figures:
    """Draw the pictures ``keys`` as ``folder/<key>.png``, except those ``already`` drawn."""
    language = report_language(outcome.prepared.config)
    tr = translator(language)
    already = already or Figures()
    drawn = []
    for key in keys:
        if already.get(key) is not None:
            continue
        try:
            drawn.append(_of_whole_table(DRAWERS[key](outcome, Path(folder) / f"{key}.png", tr, language),
                                         outcome.result))
        except OutputError:
            raise               # the disk, not the picture: the whole set fails (exit 74)
        except Exception as err:  # noqa: BLE001 - one failed picture must not lose the others
            drawn.append(Drawn(key, None, error=str(err) or type(err).__name__))
    return already.with_(Figures(tuple(drawn)))
