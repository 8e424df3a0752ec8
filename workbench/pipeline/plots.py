"""The fit's three standard pictures: convergence, fit (or predicted vs actual), residuals.

matplotlib is imported here and only here on the fit path, with the non-interactive Agg
backend, so ``workbench --help`` and headless cron jobs never touch a display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np



def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def convergence_figure(history: list[dict]):
    plt = _pyplot()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(9, 3.4))
    steps = np.array([h["step"] for h in history], dtype=float)
    loss = np.array([h.get("loss", np.nan) for h in history], dtype=float)
    grad = np.array([h.get("grad_norm", np.nan) if h.get("grad_norm") is not None else np.nan
                     for h in history], dtype=float)
    ax_loss.plot(steps, np.where(loss > 0, loss, np.nan), color="#1f5fa8", label="loss")
    val = np.array([h.get("val_loss") if h.get("val_loss") is not None else np.nan for h in history], dtype=float)
    if np.any(np.isfinite(val)):
        ax_loss.plot(steps, val, color="#d2691e", label="validation loss")
        ax_loss.legend(frameon=False)
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="loss", title="Loss")
    ax_grad.plot(steps, np.where(grad > 0, grad, np.nan), color="#2e7d32")
    ax_grad.set_yscale("log")
    ax_grad.set(xlabel="step", ylabel="gradient norm", title="Gradient norm")
    fig.tight_layout()
    return fig


def fit_figure(outcome, band=None):
    """Data and fitted curve for one input; predicted against actual otherwise."""
    plt = _pyplot()
    prepared = outcome.prepared
    model, cols = prepared.model, prepared.dataset.columns
    y, pred = cols[model.target], outcome.predictions["prediction"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if len(model.inputs) == 1 and not model.binary:
        x_name = model.inputs[0]
        x = cols[x_name]
        order = np.argsort(x)
        ax.scatter(x, y, s=16, color="#444", label="data", zorder=3)
        grid = np.linspace(np.min(x), np.max(x), 300)
        curve = _curve(outcome, x_name, grid)
        ax.plot(grid if curve is not None else x[order], curve if curve is not None else pred[order],
                color="#1f5fa8", label="fit")
        if band is not None:
            ax.fill_between(x[order], band[0][order], band[1][order], color="#1f5fa8", alpha=0.18,
                            label="95% confidence band")
        ax.set(xlabel=_axis_label(prepared, x_name), ylabel=model.target, title="Data and fitted curve")
        _date_axis(ax, prepared, x_name)
    else:
        ax.scatter(y, pred, s=16, color="#1f5fa8")
        lo, hi = float(np.nanmin([y.min(), np.nanmin(pred)])), float(np.nanmax([y.max(), np.nanmax(pred)]))
        ax.plot([lo, hi], [lo, hi], color="#888", linestyle="--", label="perfect fit")
        ax.set(xlabel=f"actual {model.target}", ylabel=f"predicted {model.target}", title="Predicted against actual")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def _curve(outcome, x_name: str, grid: np.ndarray):
    """The fitted model on a fine grid (None when the model needs more than this input)."""
    from workbench import engine as ad

    prepared = outcome.prepared
    try:
        with ad.no_grad():
            out = prepared.objective.predict(prepared.objective.unpack(outcome.x), {x_name: grid})
    except Exception:   # noqa: BLE001 - the grid is a nicety; fall back to the data points
        return None
    out = np.asarray(getattr(out, "data", out), dtype=float)
    return out if out.shape == grid.shape else None


def _axis_label(prepared, column: str) -> str:
    origin = getattr(prepared.dataset, "date_columns", {}).get(column)
    return f"{column} (days since {origin})" if origin else column


def _date_axis(ax, prepared, column: str) -> None:
    origin = getattr(prepared.dataset, "date_columns", {}).get(column)
    if not origin:
        return
    import datetime as dt

    from matplotlib.ticker import FuncFormatter

    start = dt.date.fromisoformat(str(origin)[:10])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: (start + dt.timedelta(days=float(v))).isoformat()))
    ax.set_xlabel(column)
    for label in ax.get_xticklabels():
        label.set_rotation(30)


def residuals_figure(outcome):
    plt = _pyplot()
    pred, resid = outcome.predictions["prediction"], outcome.predictions["residual"]
    fig, (ax_scatter, ax_hist) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_scatter.scatter(pred, resid, s=14, color="#1f5fa8")
    ax_scatter.axhline(0.0, color="#888", linestyle="--")
    ax_scatter.set(xlabel="fitted value", ylabel="residual", title="Residuals against fitted values")
    finite = resid[np.isfinite(resid)]
    if finite.size == 0:
        raise ValueError("every residual is NaN or infinite")
    ax_hist.hist(finite, bins=min(30, max(5, finite.size // 4)), color="#1f5fa8", alpha=0.8)
    ax_hist.set(xlabel="residual", ylabel="rows", title="Residual histogram")
    fig.tight_layout()
    return fig


def png_bytes(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (the figures are tight_layout()-ed already, so no bbox search)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _fit_with_band(outcome):
    from workbench.report.figures import confidence_band

    model = outcome.prepared.model
    single = len(model.inputs) == 1 and not model.binary
    return fit_figure(outcome, band=confidence_band(outcome) if single else None)


def draw_fit_plots(outcome) -> tuple[list[Path], list[str]]:
    """Write convergence.png, fit.png and residuals.png; a plot that fails becomes a warning.

    The PNG bytes are kept on ``outcome.pngs`` so the reports embed the same pictures instead
    of drawing them again (drawing is most of a fit's run time on small data).
    """
    from workbench.atomic import write_bytes

    plt = _pyplot()
    written, problems = [], []
    outcome.pngs = {}
    for key, make in (("convergence", lambda: convergence_figure(outcome.history)),
                      ("fit", lambda: _fit_with_band(outcome)),
                      ("residuals", lambda: residuals_figure(outcome))):
        try:
            fig = make()
            try:
                outcome.pngs[key] = png_bytes(fig)
            finally:
                plt.close(fig)
            written.append(write_bytes(outcome.out_dir / f"{key}.png", outcome.pngs[key]))
        except Exception as err:  # noqa: BLE001 - one failed picture must not lose the others
            problems.append(f"{key}.png could not be drawn: {err}")
    return written, problems
