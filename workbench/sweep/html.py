"""``sweep.html``: one self-contained page (inline CSS, images as data URIs, nothing fetched).

It shows the counts, the best run, the leaderboard, the metric against each swept key, and the
convergence curves (from each run's ``history.csv``) of the best runs overlaid. Plots are drawn
with matplotlib's object API (no pyplot, no global state), imported only here.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from pathlib import Path

from workbench.sweep.leaderboard import leaderboard_rows, metric_value
from workbench.sweep.members import describe_overrides
from workbench.sweep.state import SweepState, summary_payload

TEMPLATE = "sweep.html.j2"
CURVES = 5
MAX_TABLE_ROWS = 500


def _png_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)   # fixed margins: "tight" would draw everything twice
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.4, 3.6))
    fig.subplots_adjust(left=0.15, right=0.97, top=0.95, bottom=0.17)
    return fig, fig.subplots()


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _wide_positive(values) -> bool:
    return bool(values) and min(values) > 0 and max(values) / min(values) > 50


def _metric_against(state: SweepState, key: str, points: list[tuple], best_key: str | None) -> str:
    """Scatter of the metric against one swept key (categories for non-numeric values)."""
    fig, ax = _figure()
    xs = [p[0] for p in points]
    if all(_is_number(x) for x in xs):
        positions = [float(x) for x in xs]
        if _wide_positive(positions):
            ax.set_xscale("log")
    else:
        labels = list(dict.fromkeys(json.dumps(x) if not isinstance(x, str) else x for x in xs))
        index = {label: i for i, label in enumerate(labels)}
        positions = [index[json.dumps(x) if not isinstance(x, str) else x] for x in xs]
        crowded = len(labels) > 4 or max(len(label) for label in labels) > 12
        ax.set_xticks(range(len(labels)), [label[:24] for label in labels], rotation=30 if crowded else 0,
                      ha="right" if crowded else "center", fontsize=8 if crowded else None)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        if crowded:
            fig.subplots_adjust(bottom=0.3)
    ys = [p[1] for p in points]
    ax.scatter(positions, ys, s=22, alpha=0.75, color="#3465a4")
    for pos, y, run_key in zip(positions, ys, (p[2] for p in points)):
        if run_key == best_key:
            ax.scatter([pos], [y], s=140, marker="*", color="#cc0000", zorder=3, label="best")
    if _wide_positive(ys):
        ax.set_yscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel(state.metric)
    ax.grid(alpha=0.3)
    if best_key is not None and best_key in [p[2] for p in points]:
        ax.legend(loc="best", fontsize=8)
    return _png_uri(fig)


def metric_plots(state: SweepState) -> list[dict]:
    best = state.best()
    done = [r for r in state.records if r.status == "done" and metric_value(r.metrics, state.metric) is not None]
    keys = list(state.space_keys) + (["config"] if state.show_config else [])
    plots = []
    for key in keys:
        if key == "config":
            points = [(Path(r.config_path).name, metric_value(r.metrics, state.metric), r.key) for r in done]
        else:
            points = [(r.overrides[key], metric_value(r.metrics, state.metric), r.key)
                      for r in done if key in r.overrides]
        if points:
            plots.append({"title": f"{state.metric} against {key}",
                          "uri": _metric_against(state, key, points, best.key if best else None)})
    return plots


def _history(folder: Path) -> tuple[list[float], list[float]]:
    steps, losses = [], []
    try:
        with open(folder / "history.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                try:
                    step, loss = float(row["step"]), float(row["loss"])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isfinite(loss):
                    steps.append(step)
                    losses.append(loss)
    except OSError:
        pass
    return steps, losses


def convergence_plot(state: SweepState, ranked: list) -> str | None:
    """Loss against step for the best few finished runs, overlaid."""
    curves = []
    for record in ranked:
        if record.status != "done" or len(curves) == CURVES:
            continue
        steps, losses = _history(state.out_dir / (record.result_dir or f"runs/{record.key}"))
        if steps:
            curves.append((record, steps, losses))
    if not curves:
        return None
    fig, ax = _figure()
    for record, steps, losses in curves:
        label = record.key[:8] + (f" {describe_overrides(record.overrides)}" if record.overrides else "")
        ax.plot(steps, losses, linewidth=1.3, label=label[:60])
    if all(v > 0 for _, _, losses in curves for v in losses):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _png_uri(fig)


def render(state: SweepState) -> str:
    import jinja2

    from workbench.sweep.leaderboard import rank

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    header, rows = leaderboard_rows(state.records, state.space_keys, state.metric, state.goal,
                                    show_config=state.show_config, digits=6)
    summary = summary_payload(state)
    return env.get_template(TEMPLATE).render(
        summary=summary, header=header, rows=rows[:MAX_TABLE_ROWS], hidden_rows=max(0, len(rows) - MAX_TABLE_ROWS),
        metric_plots=metric_plots(state), convergence=convergence_plot(state, rank(state.records, state.metric,
                                                                                   state.goal)),
        best_overrides=summary["best"]["label"] if summary["best"] else "")


def write_report(path: Path, state: SweepState) -> Path:
    from workbench.atomic import write_text

    return write_text(path, render(state))
