"""The report's pictures, as PNG bytes: each one drawn on its own, so one failure loses nothing else.

* convergence: loss and gradient norm per step, log scale;
* fit: the data and the fitted curve with a 95% confidence band (one input), or predicted
  against actual;
* residuals: against fitted values, and their histogram;
* parameter trajectories: each parameter's value per step, for models with few parameters;
* the computational graph of the loss at the solution.

The confidence band is that of the fitted mean: var(ŷᵢ) = Jᵢ Σ Jᵢᵀ with J the model's exact
Jacobian (forward mode) and Σ the parameters' covariance, and the band is ŷ ± t·sqrt(var), with t
the same Student quantile as the parameters' 95% intervals. Parameters held at a bound have no
variance (their rows of Σ are NaN and count as zero).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from workbench import engine as ad

DPI = 120


@dataclass
class ReportFigure:
    """A picture of the report: PNG bytes, or the reason it could not be drawn."""

    key: str
    title: str
    caption: str
    png: bytes | None = None
    error: str | None = None


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)     # the figures are tight_layout()-ed already
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _jacobian_on(outcome, columns: dict) -> np.ndarray:
    """∂prediction/∂parameters on ``columns`` (all data rows, validation ones included)."""
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


def confidence_band(outcome) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) of the 95% band of the fitted values at every data row, or None."""
    unc = outcome.uncertainty
    cov = getattr(unc, "covariance", None)
    if cov is None or not np.isfinite(unc.t_value):
        return None
    prepared = outcome.prepared
    if len(prepared.val_rows):
        jac = _jacobian_on(outcome, {c: prepared.dataset.columns[c] for c in prepared.model.inputs})
    else:
        jac = prepared.objective.model_jacobian(outcome.x)
    var = np.einsum("ij,jk,ik->i", jac, np.nan_to_num(cov), jac)
    half = unc.t_value * np.sqrt(np.clip(var, 0.0, None))
    pred = np.asarray(outcome.predictions["prediction"], dtype=float)
    return pred - half, pred + half


def _fit(outcome):
    from workbench.pipeline.plots import fit_figure

    model = outcome.prepared.model
    single = len(model.inputs) == 1 and not model.binary
    band = confidence_band(outcome) if single else None
    return fit_figure(outcome, band=band), band is not None


def _trajectory(outcome):
    import matplotlib.pyplot as plt

    from workbench.pipeline.results import scalar_names

    steps = [(0, np.asarray(outcome.prepared.x0))] + list(getattr(outcome, "trajectory", []) or [])
    names = scalar_names(outcome.prepared)
    xs = np.array([s for s, _ in steps], dtype=float)
    values = np.array([v for _, v in steps], dtype=float)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.3 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.axis("off")
            continue
        ax.plot(xs, values[:, k], color="#1f5fa8", marker="." if len(xs) < 40 else None)
        ax.set(title=names[k], xlabel="step")
    fig.tight_layout()
    return fig


def graph_figure(outcome, fmt: str = "png") -> tuple[bytes, str]:
    """The loss's computational graph at the solution, rendered; (image bytes, renderer)."""
    from workbench.report.graph import render_dot
    from workbench.report.model_graph import graph_dot

    return render_dot(graph_dot(outcome.prepared, outcome.x), fmt)


def graph_entry(outcome) -> ReportFigure:
    """The graph picture for the report (its caption names the renderer)."""
    entry = ReportFigure("graph", "Computational graph", "")
    try:
        entry.png, renderer = graph_figure(outcome)
    except Exception as err:  # noqa: BLE001 - the picture is optional, the report is not
        entry.error = f"The computational graph could not be drawn: {err}"
        return entry
    entry.caption = ("Every operation the engine recorded to compute the loss at the solution, from the "
                     "parameters and data columns to the loss; each box shows its value and its gradient "
                     f"(∂loss/∂box), the number the optimizer used. Drawn with {renderer}.")
    return entry


def _attempt(key: str, title: str, caption: str, draw, outcome=None) -> ReportFigure:
    drawn = (getattr(outcome, "pngs", None) or {}).get(key)
    if drawn is not None:    # the fit already drew this picture for its PNG file
        return ReportFigure(key, title, caption, png=drawn)
    try:
        return ReportFigure(key, title, caption, png=draw())
    except Exception as err:  # noqa: BLE001 - one failed picture must not lose the report
        return ReportFigure(key, title, caption, error=f"{title} could not be drawn: {err}")


def _fit_entry(outcome) -> ReportFigure:
    model = outcome.prepared.model
    single = len(model.inputs) == 1 and not model.binary
    entry = ReportFigure("fit", "Fit", "Each row's prediction against its actual value: points on the dashed "
                                       "line are predicted exactly.")
    try:
        has_band = single and confidence_band(outcome) is not None
        entry.png = (getattr(outcome, "pngs", None) or {}).get("fit") or _png(_fit(outcome)[0])
    except Exception as err:  # noqa: BLE001
        entry.error = f"The fit plot could not be drawn: {err}"
        return entry
    if single:
        entry.caption = "The data and the fitted curve; " + (
            "the shaded band is the 95% confidence band of the fitted curve." if has_band else
            "no confidence band, because the parameters' uncertainties could not be estimated.")
    return entry


def report_figures(outcome) -> list[ReportFigure]:
    """The report's plots in order (the graph is separate); a failed one carries the reason."""
    from workbench.pipeline.plots import convergence_figure, residuals_figure

    figures = [_attempt("convergence", "Convergence",
                        "Loss and gradient norm at each step of the optimizer (log scale): both should fall "
                        "and level off.", lambda: _png(convergence_figure(_history(outcome))), outcome),
               _fit_entry(outcome),
               _attempt("residuals", "Residuals",
                        "Residual (prediction minus actual) against the fitted value, and their histogram: "
                        "a shapeless cloud around zero means the model misses no pattern.",
                        lambda: _png(residuals_figure(outcome)), outcome)]
    from workbench.pipeline.fit import MAX_TRAJECTORY_PARAMS

    n_params = len(outcome.x)
    if n_params <= MAX_TRAJECTORY_PARAMS:
        figures.append(_attempt("trajectories", "Parameter trajectories",
                                "Each parameter's value at every step of the optimizer, from its starting value.",
                                lambda: _png(_trajectory(outcome))))
    else:
        figures.append(ReportFigure("trajectories", "Parameter trajectories", "",
                                    error=f"Parameter trajectories are drawn for models with at most "
                                          f"{MAX_TRAJECTORY_PARAMS} parameters; this one has {n_params}."))
    return figures


def _history(outcome) -> list[dict]:
    if not outcome.history:
        raise ValueError("the optimizer recorded no steps")
    return outcome.history
