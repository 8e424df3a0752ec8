"""The report's pictures: readable with many points, literal text, real dates, Japanese glyphs, typed results."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.report import plots
from workbench.report.plots import FitSeries, Words


def _series(n: int, date_origin: str | None = None) -> FitSeries:
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 100.0, n)
    y = 2.0 + 0.5 * x + rng.normal(0, 1, n)
    grid = np.linspace(0.0, 100.0, 50)
    curve = 2.0 + 0.5 * grid
    return FitSeries(y=y, predicted=2.0 + 0.5 * x, x=x, curve=(grid, curve), band=(grid, curve - 1, curve + 1),
                     date_origin=date_origin)


WORDS = Words("Data and fitted curve", "x", "y", ("data", "fit", "95% band"))


def test_text_with_dollars_underscores_and_carets_is_drawn_literally(tmp_path):
    from matplotlib.text import Text

    name = r"$x_1^2$ \alpha"
    assert plots.plot_text(name) == r"\$x_1^2\$ \alpha"
    shown, is_math = Text(text=plots.plot_text(name))._preprocess_math(plots.plot_text(name))
    assert (shown, is_math) == (name, False)
    words = Words(name, name, name, (name, name, name))
    path = plots.save_png(lambda: plots.fit_figure(_series(30), words)[0], tmp_path / "fit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_large_data_is_drawn_from_a_fixed_sample_never_every_point():
    plt = plots.pyplot()
    n = plots.SAMPLE_ABOVE + 30_000
    fig, how = plots.fit_figure(_series(n), WORDS)
    try:
        assert how == {"shown": plots.SAMPLE_SIZE, "total": n, "method": "sample"}
        offsets = fig.axes[0].collections[0].get_offsets()
        assert len(offsets) == plots.SAMPLE_SIZE
    finally:
        plt.close(fig)
    again = plots.sample_rows(n)
    assert np.array_equal(again, plots.sample_rows(n)) and np.all(np.diff(again) > 0)
    assert plots.sample_rows(plots.SAMPLE_ABOVE) is None


def test_many_residuals_become_a_2d_histogram():
    from matplotlib.collections import PolyCollection

    plt = plots.pyplot()
    n = plots.SAMPLE_ABOVE + 1
    predicted = np.linspace(0, 1, n)
    fig, how = plots.residuals_figure(predicted, np.sin(50 * predicted), (WORDS, WORDS))
    try:
        assert how["method"] == "density" and how["total"] == n
        assert any(isinstance(c, PolyCollection) for c in fig.axes[0].collections)    # hexbin cells
    finally:
        plt.close(fig)


def test_many_points_are_smaller_and_lighter_than_few():
    few, many = plots.point_style(50), plots.point_style(5000)
    assert many["s"] < few["s"] / 3 and many["alpha"] < few["alpha"] / 3
    assert many["s"] >= 1.5 and many["alpha"] >= 0.15


def test_fit_line_is_drawn_above_the_points_and_the_legend_above_the_axes():
    plt = plots.pyplot()
    fig, _ = plots.fit_figure(_series(900), WORDS)
    try:
        ax = fig.axes[0]
        fig.canvas.draw()
        line, points = ax.lines[0], ax.collections[0]
        assert line.get_zorder() > points.get_zorder() and line.get_linewidth() >= 2
        legend_box = ax.get_legend().get_window_extent()
        assert legend_box.y0 >= ax.get_window_extent().y1 - 1          # outside the plotting area
    finally:
        plt.close(fig)


def test_a_date_input_is_drawn_on_a_date_axis():
    import matplotlib.dates as mdates

    plt = plots.pyplot()
    fig, _ = plots.fit_figure(_series(40, date_origin="2024-01-01"), WORDS)
    try:
        ax = fig.axes[0]
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
        first = mdates.num2date(ax.lines[0].get_xdata(orig=False)[0])
        assert first.date().isoformat() == "2024-01-01"
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert any(label.startswith("2024") for label in labels), labels
    finally:
        plt.close(fig)


def test_japanese_words_are_drawn_with_the_cjk_font(tmp_path):
    words = Words("データと当てはめ曲線", "価格", "売上", ("データ", "当てはめ", "95%信頼帯"))
    for language in ("ja", "en"):        # an English report may still have Japanese column names
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            plots.save_png(lambda: plots.fit_figure(_series(30), words)[0], tmp_path / f"{language}.png", language)
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert missing == [], missing


def test_pngs_are_sized_for_a4_at_one_resolution(tmp_path):
    path = plots.save_png(lambda: plots.fit_figure(_series(30), WORDS)[0], tmp_path / "fit.png")
    head = path.read_bytes()[:24]
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width == round(plots.WIDTH * plots.DPI)
    assert height == round(plots.TALL[1] * plots.DPI)


def test_pngs_have_no_alpha_channel_and_a_white_page(tmp_path):
    """An alpha channel costs the PDF library a slow split into an image and a mask, for nothing."""
    from PIL import Image

    path = plots.save_png(lambda: plots.fit_figure(_series(30), WORDS)[0], tmp_path / "fit.png")
    assert path.read_bytes()[25] == 2                 # PNG colour type 2: RGB, no alpha
    with Image.open(path) as image:
        assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)
        assert round(image.info["dpi"][0]) == plots.DPI


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    folder = tmp_path_factory.mktemp("plots")
    x = np.linspace(0, 8, 30)
    write_csv(folder, "decay.csv", "x,y", zip(x.round(4), (3.2 * np.exp(-0.45 * x) + 0.8 +
                                                         np.random.default_rng(1).normal(0, 0.02, x.size)).round(5)))
    config = load_config(write_config(folder, """
        data: {path: decay.csv, units: {x: hours}}
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: {init: 0.1, min: 0}, c: 0.0}
        output: {dir: out, formats: [], plots: false}
    """))
    return run_fit(config, folder / "out")


def test_draw_figures_returns_typed_paths_and_reasons(outcome, tmp_path):
    import dataclasses

    from workbench.report.figures import APPENDIX_KEYS, PLOT_KEYS, draw_figures

    figures = draw_figures(outcome, tmp_path, PLOT_KEYS + ("trajectories",))
    assert [d.key for d in figures.drawn] == ["convergence", "fit", "residuals", "trajectories"]
    assert figures.paths == [tmp_path / f"{k}.png" for k in ("convergence", "fit", "residuals", "trajectories")]
    fit = figures.get("fit")
    assert fit.band and (fit.shown, fit.total, fit.method) == (30, 30, "all")
    assert figures.problems() == []
    broken = dataclasses.replace(outcome, predictions=dict(outcome.predictions))
    broken.predictions["residual"] = np.full(30, np.nan)
    again = draw_figures(broken, tmp_path / "b", ("residuals",), already=figures.__class__(figures.drawn[:2]))
    assert [d.key for d in again.drawn] == ["convergence", "fit", "residuals"]
    assert again.get("residuals").path is None
    assert again.problems() == ["Residuals could not be drawn: every residual is NaN or infinite"]
    assert set(APPENDIX_KEYS) == {"trajectories", "graph"}


def test_fit_band_on_the_grid_matches_the_band_at_the_rows(outcome):
    from workbench.report.figures import confidence_band, fit_series

    series = fit_series(outcome)
    grid, low, high = series.band
    row_low, row_high = confidence_band(outcome)
    x = outcome.prepared.dataset.columns["x"]
    np.testing.assert_allclose(np.interp(x, grid, high - low), row_high - row_low, rtol=2e-2)
    assert series.curve is not None and len(series.curve[0]) == len(grid)
