"""``workbench history --html``: one small self-contained page, each parameter over time.

For every config name in the history and each of its parameters, a chart of the recorded
values with the band value ± 2 standard errors (where the fit had one); converged fits are dots,
others crosses, fits flagged for drift are red. Pictures are PNG embedded as data URIs, so the
page is one file to mail or open anywhere. matplotlib is imported only here, when a page is drawn.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from pathlib import Path

from workbench.atomic import write_text
from workbench.history.store import FitRow
from workbench.history.table import param_names, table_lines

MAX_CHARTS = 60
BAND_SE = 2.0

_STYLE = """body{font-family:"Segoe UI","Helvetica Neue",Arial,"Hiragino Sans","Yu Gothic","Meiryo",
"IPAexGothic",sans-serif;margin:2em;color:#1f2933}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}img{max-width:100%}
pre{font-size:.8em;background:#f5f7fa;padding:.8em;overflow-x:auto}.note{color:#52606d}"""


def write_page(path: Path, rows: list[FitRow], source: str) -> Path:
    """Write the page for ``rows`` (from the history file ``source``) to ``path`` atomically."""
    names = list(dict.fromkeys(row.name for row in rows))
    parts = [f"<h1>Refit history: {html.escape(source)}</h1>",
             f"<p class=note>{len(rows)} fit(s) of {len(names)} config(s); the band is the value ± "
             f"{BAND_SE:g} standard errors; crosses did not converge, red fits were flagged for drift.</p>"]
    charts = 0
    for name in names:
        fits = [row for row in rows if row.name == name]
        parts.append(f"<h2>{html.escape(name)}</h2>")
        for param in param_names(fits):
            if charts == MAX_CHARTS:
                parts.append(f"<p class=note>only the first {MAX_CHARTS} charts are drawn</p>")
                break
            charts += 1
            parts.append(f'<img alt="{html.escape(param)} over time" src="data:image/png;base64,'
                         f'{_chart_png(fits, param)}">')
    parts.append("<h2>Fits</h2><pre>" + html.escape("\n".join(table_lines(rows))) + "</pre>")
    page = ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Refit history</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    return write_text(Path(path), page)


def _chart_png(fits: list[FitRow], param: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    points = [(datetime.fromisoformat(f.time), f.params[param], f.stderr.get(param), f)
              for f in fits if f.params.get(param) is not None]
    fig, ax = plt.subplots(figsize=(7, 2.6), dpi=100)
    try:
        banded = [(t, v, se) for t, v, se, _ in points if se is not None]
        if banded:
            times, values, errors = zip(*banded)
            ax.fill_between(times, [v - BAND_SE * s for v, s in zip(values, errors)],
                            [v + BAND_SE * s for v, s in zip(values, errors)], color="#9fb3c8", alpha=0.45,
                            linewidth=0, label=f"± {BAND_SE:g} se")
        ax.plot([p[0] for p in points], [p[1] for p in points], color="#334e68", linewidth=1)
        for t, value, _, fit in points:
            colour = "#c62828" if fit.drift else "#334e68"
            ax.plot([t], [value], marker="o" if fit.converged else "x", color=colour, markersize=4)
        ax.set_title(param, loc="left", fontsize=10)
        ax.tick_params(labelsize=8)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
