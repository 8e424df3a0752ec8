"""Drawing the report's pictures: plain arrays in, a PNG file out, sized for an A4 page.

Every function here takes numbers and already-translated words, never a fit: ``figures.py``
gathers the arrays from a fit and calls these. What makes them readable:

* many points are drawn small and light, under the fitted line, so the line stays visible;
  above ``SAMPLE_ABOVE`` rows a scatter shows a fixed random sample (seed 0) or a 2-D histogram,
  never every point, and ``Drawn.shown``/``method`` say which, for the caption;
* the legend sits above the axes, where it can hide no data;
* every word goes through ``plot_text``, so a column named ``$x_1^2$`` is drawn as typed
  (matplotlib would otherwise read it as TeX);
* a date column's day numbers are drawn as real dates;
* Japanese words are drawn with the CJK font of ``fonts.py``.

matplotlib is imported lazily, with the non-interactive Agg backend, and every figure is
saved by ``save_png`` at the one resolution ``DPI``, as an RGB PNG without an alpha channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.report.fonts import font_face
from workbench.report.text import number

DPI = 150
PNG_EFFORT = 3                  # zlib level: as small as level 6 within 15%, in half the time
WIDTH = 6.3                     # inches: A4's text width between 2.2 cm margins
WIDE, TALL = (WIDTH, 2.7), (WIDTH, 3.5)
SAMPLE_ABOVE = 20_000           # rows; above it a scatter shows a sample or a 2-D histogram
SAMPLE_SIZE = 5_000
INK, LINE, BAND, POINTS, SECOND = "#1d2430", "#1f5fa8", "#1f5fa8", "#5d6878", "#d2691e"
ALERT = "#b3261e"


def plot_text(text) -> str:
    """``text`` as matplotlib draws it literally: no ``$...$`` mathtext, so ``_ ^ \\`` stay as typed."""
    return str(text).replace("$", r"\$")


@dataclass(frozen=True)
class Drawn:
    """A picture on disk, or why it is not; how many rows it shows, and how, for its caption."""

    key: str
    path: Path | None
    error: str | None = None            # the reason it could not be drawn
    shown: int | None = None            # rows drawn as points (None: not a picture of rows)
    total: int | None = None            # rows in the data
    method: str = "all"                 # "all", "sample" (a random sample), "density" (2-D histogram) or
    #                                     "table_sample" (drawn from the sample of a larger table a cluster fit holds)
    band: bool = False                  # the fit plot shows a confidence band
    detail: str = ""                    # e.g. the graph's renderer


@dataclass(frozen=True)
class FitSeries:
    """What the fit plot shows: data and curve for one input, or actual against predicted."""

    y: np.ndarray                       # actual values
    predicted: np.ndarray               # the fit at each row
    x: np.ndarray | None = None         # the input, when there is exactly one
    curve: tuple[np.ndarray, np.ndarray] | None = None         # (x grid, fitted values) for a smooth line
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None   # (x, low, high), x ascending
    date_origin: str | None = None      # x counts days since this ISO date: draw real dates
    binary: bool = False                # a 0/1 target: predicted is a probability (a calibration plot)


@dataclass(frozen=True)
class DriftSeries:
    """One parameter over the recorded fits of a name (oldest first), the last one being this fit."""

    name: str
    times: np.ndarray                   # datetime64, UTC
    values: np.ndarray
    stderr: np.ndarray                  # NaN where a fit had no standard error
    drifted: bool = False               # this fit moved it beyond the drift threshold


@dataclass(frozen=True)
class Words:
    """Translated words of one picture: title, axis titles, legend entries."""

    title: str = ""
    x: str = ""
    y: str = ""
    legend: tuple[str, ...] = ()


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(language: str) -> dict:
    import logging

    from matplotlib import font_manager

    # IPAexGothic has no bold face; matplotlib would log that it uses the regular one on every title.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    cjk = font_face("ja")
    if cjk.family not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(cjk.regular))      # also draws Japanese names in English plots
    first = font_face(language).family
    return {"font.family": [first] + [f for f in ("DejaVu Sans", cjk.family) if f != first], "font.size": 8.5, "axes.titlesize": 9.5,
            "axes.labelsize": 8.5, "legend.fontsize": 8, "xtick.labelsize": 7.5, "ytick.labelsize": 7.5,
            "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#8a93a0",
            "axes.titleweight": "bold" if font_face(language).bold else "normal", "axes.titlelocation": "left", "figure.dpi": DPI,
            "axes.unicode_minus": language == "en"}


def save_png(draw: Callable[[], object], path: Path, language: str = "en") -> Path:
    """Run ``draw()`` (returns a figure) in the report's style and save it as ``path``: an RGB PNG
    (no alpha channel: the page is white anyway, and a PDF library decodes alpha slowly) at ``DPI``."""
    from PIL import Image

    from workbench.atomic import atomic_path

    plt = pyplot()
    with plt.rc_context(_style(language)):
        fig = draw()
        try:
            fig.set_dpi(DPI)
            fig.canvas.draw()
            rgb = np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
        finally:
            plt.close(fig)
    with atomic_path(Path(path)) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG", dpi=(DPI, DPI), compress_level=PNG_EFFORT)
    return Path(path)


def sample_rows(n: int, limit: int = SAMPLE_SIZE) -> np.ndarray | None:
    """Sorted row indices of a fixed random sample of ``limit`` rows, or None when ``n`` is small."""
    if n <= SAMPLE_ABOVE:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def point_style(n: int) -> dict:
    """Marker size and opacity that shrink with the number of points: the line must stay visible."""
    share = min(1.0, (200 / max(n, 1)) ** 0.5)
    return {"s": max(1.5, 16 * share), "alpha": max(0.15, 0.85 * share), "linewidths": 0}


def _legend_above(ax, columns: int = 3) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=columns, frameon=False,
                  borderaxespad=0.2, handlelength=1.5)


def _as_dates(values: np.ndarray, origin: str) -> np.ndarray:
    start = np.datetime64(origin.replace(" ", "T"), "ms")
    return start + np.round(np.asarray(values, dtype=float) * 86_400_000).astype("timedelta64[ms]")


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        locator, formats=["%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M", "%S.%f"],
        offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))


def _plain_ticks(ax) -> None:
    """Tick labels written out in full (5,000,000, 0.00012), never with matplotlib's offset text
    ("1e6" in the corner above the axis, where it would sit on the legend)."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if not isinstance(axis.get_major_formatter(), ScalarFormatter):
            continue          # dates and log scales have their own labels
        largest = max(abs(limits[0]), abs(limits[1]))
        if largest >= 1e4:      # every integer digit, grouped
            axis.set_major_formatter(FuncFormatter(lambda v, _: number(v, int(math.log10(abs(v))) + 1) if v else "0"))
        elif 0 < largest < 1e-2:
            axis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 3)))
        else:
            axis.get_major_formatter().set_useOffset(False)


CALIBRATION_GROUPS = 10


def _calibration(ax, series: FitSeries, data_label: str, line_label: str) -> dict:
    """Rows grouped by predicted chance (tenths): each group's mean predicted chance against the
    share of its rows that are 1, sized by the rows in it, beside the dashed line where they agree.
    Each row's 0/1 against its probability would put no point on that line."""
    finite = np.isfinite(series.y) & np.isfinite(series.predicted)
    if not finite.any():
        raise ValueError("no row has a finite prediction")
    p, y = series.predicted[finite], series.y[finite]
    group = np.minimum((p * CALIBRATION_GROUPS).astype(int), CALIBRATION_GROUPS - 1)
    sizes = np.bincount(group, minlength=CALIBRATION_GROUPS)
    used = sizes > 0
    mean_p = np.bincount(group, weights=p, minlength=CALIBRATION_GROUPS)[used] / sizes[used]
    share = np.bincount(group, weights=y, minlength=CALIBRATION_GROUPS)[used] / sizes[used]
    ax.plot([0, 1], [0, 1], color="#888", linestyle="--", label=plot_text(line_label), zorder=1)
    ax.scatter(mean_p, share, s=20 + 180 * sizes[used] / sizes.max(), color=LINE, alpha=0.8,
               label=plot_text(data_label), zorder=2)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    return {"shown": int(finite.sum()), "total": len(series.y), "method": "groups"}


def _titles(ax, words: Words, title: str | None = None) -> None:
    ax.set_xlabel(plot_text(words.x))
    ax.set_ylabel(plot_text(words.y))
    if title:
        ax.set_title(plot_text(title), pad=18 if ax.get_legend() is not None else 6)


def _density(ax, x: np.ndarray, y: np.ndarray) -> None:
    """A 2-D histogram of (x, y): darker where more rows fall (log scale)."""
    from matplotlib.colors import LogNorm

    keep = np.isfinite(x) & np.isfinite(y)
    ax.hexbin(x[keep], y[keep], gridsize=60, cmap="Greys", norm=LogNorm(), mincnt=1, linewidths=0)


def convergence_figure(steps: np.ndarray, loss: np.ndarray, grad_norm: np.ndarray, val_loss: np.ndarray | None,
                       words: tuple[Words, Words]):
    """Loss (and validation loss) and gradient norm per step, log scale; non-positive values left out."""
    plt = pyplot()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=WIDE, layout="constrained")
    loss_words, grad_words = words
    ax_loss.plot(steps, np.where(loss > 0, loss, np.nan), color=LINE, label=plot_text(loss_words.legend[0]))
    if val_loss is not None and np.any(np.isfinite(val_loss)):
        ax_loss.plot(steps, np.where(val_loss > 0, val_loss, np.nan), color=SECOND,
                     label=plot_text(loss_words.legend[1]))
        _legend_above(ax_loss, 2)
    ax_grad.plot(steps, np.where(grad_norm > 0, grad_norm, np.nan), color="#2e7d32")
    for ax, w in ((ax_loss, loss_words), (ax_grad, grad_words)):
        if np.any(np.isfinite(ax.lines[0].get_ydata())):
            ax.set_yscale("log")
        _titles(ax, w, w.title)
    return fig


def fit_figure(series: FitSeries, words: Words) -> tuple[object, dict]:
    """The data and the fitted curve with its band (one input), or actual against predicted.

    Returns the figure and how its rows were drawn: ``{"shown", "total", "method"}``.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=TALL, layout="constrained")
    data_label, fit_label, band_label = (words.legend + ("", "", ""))[:3]
    n = len(series.y)
    if series.x is not None:
        to_x = (lambda v: _as_dates(v, series.date_origin)) if series.date_origin else (lambda v: v)
        rows = sample_rows(n)
        x, y = (series.x, series.y) if rows is None else (series.x[rows], series.y[rows])
        ax.scatter(to_x(x), y, color=POINTS, label=plot_text(data_label), zorder=2, **point_style(len(y)))
        if series.band is not None:
            bx, low, high = series.band
            ax.fill_between(to_x(bx), low, high, color=BAND, alpha=0.2, linewidth=0, label=plot_text(band_label),
                            zorder=1)
        if series.curve is not None:
            cx, cy = series.curve
        else:
            order = np.argsort(series.x, kind="stable")
            cx, cy = series.x[order], series.predicted[order]
        ax.plot(to_x(cx), cy, color=LINE, linewidth=2, label=plot_text(fit_label), zorder=3)
        if series.date_origin:
            _date_axis(ax)
        how = {"shown": len(y), "total": n, "method": "all" if rows is None else "sample"}
    elif series.binary:
        how = _calibration(ax, series, data_label, fit_label)
    else:
        finite = np.isfinite(series.y) & np.isfinite(series.predicted)
        if not finite.any():
            raise ValueError("no row has a finite prediction")
        lo = float(min(series.y[finite].min(), series.predicted[finite].min()))
        hi = float(max(series.y[finite].max(), series.predicted[finite].max()))
        if n > SAMPLE_ABOVE:
            _density(ax, series.y, series.predicted)
            how = {"shown": n, "total": n, "method": "density"}
        else:
            ax.scatter(series.y, series.predicted, color=LINE, label=plot_text(data_label), zorder=2,
                       **point_style(n))
            how = {"shown": n, "total": n, "method": "all"}
        ax.plot([lo, hi], [lo, hi], color="#888", linestyle="--", label=plot_text(fit_label), zorder=3)
    _legend_above(ax)
    _titles(ax, words, words.title)
    _plain_ticks(ax)
    return fig, how


def residuals_figure(predicted: np.ndarray, residual: np.ndarray, words: tuple[Words, Words]) -> tuple[object, dict]:
    """Residual against fitted value (points, or a 2-D histogram for many rows) and their histogram."""
    finite = np.isfinite(residual) & np.isfinite(predicted)
    if not finite.any():
        raise ValueError("every residual is NaN or infinite")
    plt = pyplot()
    fig, (ax_scatter, ax_hist) = plt.subplots(1, 2, figsize=WIDE, layout="constrained")
    n = int(finite.sum())
    if n > SAMPLE_ABOVE:
        _density(ax_scatter, predicted[finite], residual[finite])
        how = {"shown": n, "total": len(residual), "method": "density"}
    else:
        ax_scatter.scatter(predicted[finite], residual[finite], color=LINE, **point_style(n))
        how = {"shown": n, "total": len(residual), "method": "all"}
    ax_scatter.axhline(0.0, color="#888", linestyle="--", linewidth=1)
    counts, edges = np.histogram(residual[finite], bins=int(min(40, max(5, n // 4))))
    ax_hist.stairs(counts, edges, fill=True, color=LINE, alpha=0.8)
    for ax, w in zip((ax_scatter, ax_hist), words):
        _titles(ax, w, w.title)
        _plain_ticks(ax)
    return fig, how


def trajectory_figure(steps: np.ndarray, values: np.ndarray, names: list[str], words: Words):
    """Each parameter's value per step, one small panel each, three to a row."""
    plt = pyplot()
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 1.9 * rows + 0.3), squeeze=False, layout="constrained")
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.axis("off")
            continue
        ax.plot(steps, values[:, k], color=LINE, marker="." if len(steps) < 40 else None)
        ax.set_title(plot_text(names[k]))
        ax.set_xlabel(plot_text(words.x))
    return fig


def drift_figure(series: list[DriftSeries], words: Words, band_se: float = 2.0):
    """Each parameter at every recorded fit, with a band of ±``band_se`` standard errors; one small
    panel each, three to a row; the latest fit is the last point, drawn in the alert colour when
    it drifted. ``words``: x is the time axis's title, legend the (value, band) entries."""
    plt = pyplot()
    cols = min(3, len(series))
    rows = -(-len(series) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 1.85 * rows + 0.45), squeeze=False, layout="constrained")
    value_label, band_label = (words.legend + ("", ""))[:2]
    for k, ax in enumerate(axes.flat):
        if k >= len(series):
            ax.axis("off")
            continue
        one = series[k]
        times = one.times.astype("datetime64[ms]").astype(object)
        ax.fill_between(times, one.values - band_se * one.stderr, one.values + band_se * one.stderr, color=BAND,
                        alpha=0.18, linewidth=0, label=plot_text(band_label) if k == 0 else None)
        ax.plot(times, one.values, color=LINE, marker="o", markersize=3, linewidth=1.2,
                label=plot_text(value_label) if k == 0 else None)
        if one.drifted:
            ax.plot(times[-1:], one.values[-1:], linestyle="none", marker="o", markersize=6, color=ALERT, zorder=4)
        ax.set_title(plot_text(one.name), color=ALERT if one.drifted else INK)
        _date_axis(ax)
        ax.tick_params(axis="x", labelsize=6.5)
    if words.x:
        fig.supxlabel(plot_text(words.x), fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside upper left", ncol=2, frameon=False)
    return fig
