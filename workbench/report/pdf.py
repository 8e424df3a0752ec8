"""report.pdf: the same content as report.html, on A4 pages drawn with matplotlib's PDF backend.

No external program is needed (no LaTeX, no browser, no wkhtmltopdf). Text is laid out by a small
flowing writer: headings, wrapped paragraphs, tables and pictures go down the page and continue
on a new one when the page is full. Each major part starts on its own page, so a small model's
report always has the same six pages: summary, data and model; parameters, quality and gradient
check; convergence and fit; residuals and trajectories; the graph; reproducibility.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

A4 = (8.27, 11.69)                    # inches
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 0.085, 0.06, 0.06
INK, MUTED, ACCENT, BAD = "#1d2430", "#5d6878", "#1f5fa8", "#b3261e"
USABLE_PT = (1 - 2 * MARGIN_X) * A4[0] * 72


def _line_height(size: float) -> float:
    return size * 1.45 / 72 / A4[1]


def _wrap(text: str, size: float, width_fraction: float = 1.0, mono: bool = False) -> list[str]:
    chars = max(10, int(USABLE_PT * width_fraction / (size * (0.6 if mono else 0.52))))
    lines = []
    for paragraph in str(text).splitlines() or [""]:
        lines += textwrap.wrap(paragraph, chars, break_long_words=True, replace_whitespace=False) or [""]
    return lines


class PageWriter:
    """Flows text, tables and pictures down A4 pages of a PdfPages file."""

    def __init__(self, pdf, footer: str):
        self.pdf, self.footer = pdf, footer
        self.fig = None
        self.pages = 0
        self.y = 0.0

    def new_page(self) -> None:
        from matplotlib.figure import Figure

        self._flush()
        self.fig = Figure(figsize=A4)
        self.pages += 1
        self.y = 1 - MARGIN_TOP
        self.fig.text(MARGIN_X, MARGIN_BOTTOM / 2, self.footer, fontsize=7, color=MUTED)
        self.fig.text(1 - MARGIN_X, MARGIN_BOTTOM / 2, f"page {self.pages}", fontsize=7, color=MUTED, ha="right")

    def _flush(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    def _room(self, height: float) -> None:
        if self.fig is None or self.y - height < MARGIN_BOTTOM:
            self.new_page()

    def text(self, text: str, size: float = 9.5, color: str = INK, weight: str = "normal",
             mono: bool = False, indent: float = 0.0) -> None:
        for line in _wrap(text, size, 1 - indent, mono):
            self._room(_line_height(size))
            self.y -= _line_height(size)
            self.fig.text(MARGIN_X + indent, self.y, line, fontsize=size, color=color, weight=weight,
                          family="DejaVu Sans Mono" if mono else "DejaVu Sans")
        self.y -= _line_height(size) * 0.3

    def heading(self, text: str, size: float = 13) -> None:
        self._room(_line_height(size) * 4)
        self.y -= _line_height(size) * 0.8
        self.text(text, size=size, color=ACCENT, weight="bold")
        self.fig.add_artist(_rule(self.y + _line_height(size) * 0.15))

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], size: float = 8.5) -> None:
        """Columns at fixed fractions of the width; long cells are cut with an ellipsis."""
        def draw(cells, weight, color):
            self._room(_line_height(size))
            self.y -= _line_height(size)
            x = MARGIN_X
            for cell, width in zip(cells, widths):
                room = max(4, int(USABLE_PT * width / (size * 0.5)))
                cell = str(cell)
                cell = cell if len(cell) <= room else cell[:room - 1] + "…"
                self.fig.text(x, self.y, cell, fontsize=size, weight=weight, color=color)
                x += width * (1 - 2 * MARGIN_X)
        if header:
            draw(header, "bold", INK)
        for row in rows:
            draw(row, "normal", BAD if row and str(row[-1]).upper().startswith(("FAIL", "AT ")) else INK)
        self.y -= _line_height(size) * 0.5

    def image(self, png: bytes, max_height: float = 0.42) -> None:
        import matplotlib.image as mpimg

        pixels = mpimg.imread(io.BytesIO(png), format="png")
        width = 1 - 2 * MARGIN_X
        height = width * pixels.shape[0] / pixels.shape[1] * A4[0] / A4[1]
        if height > max_height:
            width, height = width * max_height / height, max_height
        self._room(height)
        self.y -= height
        ax = self.fig.add_axes((0.5 - width / 2, self.y, width, height))
        ax.imshow(pixels, interpolation="none")    # embedded as is, not resampled
        ax.axis("off")
        self.y -= _line_height(8)

    def close(self) -> int:
        self._flush()
        return self.pages


def _rule(y: float):
    from matplotlib.lines import Line2D

    return Line2D([MARGIN_X, 1 - MARGIN_X], [y - 0.004, y - 0.004], color=ACCENT, linewidth=1.2)


def _figure(w: PageWriter, f, max_height: float) -> None:
    w.text(f.title, size=11, weight="bold")
    if f.png:
        w.image(f.png, max_height)
        w.text(f.caption, size=8, color=MUTED)
    else:
        w.text(f.error or "not drawn", size=9, color=BAD)


def _summary_page(w: PageWriter, c: dict) -> None:
    w.new_page()
    w.text(c["title"], size=20, weight="bold")
    w.text(c["date"], size=9, color=MUTED)
    w.heading("Summary")
    for sentence in c["sentences"]:
        w.text(sentence, size=11)
    for alert in c["alerts"]:
        w.text("Warning: " + alert, size=10, color=BAD, weight="bold")
    for note in c["notes"]:
        w.text("• " + note, size=8.5, color=MUTED)
    w.heading("Data")
    w.table([], [[k, v] for k, v in c["data"]["rows"]], [0.28, 0.72], size=9)
    for line in c["data"]["dropped"]:
        w.text("• " + line, size=8.5, color=MUTED)
    w.heading("Model and loss")
    w.table([], [[k, v] for k, v in c["model"]["rows"]], [0.28, 0.72], size=9)


def _numbers_page(w: PageWriter, c: dict) -> None:
    w.new_page()
    w.heading("Parameters")
    w.table(["Parameter", "Value", "Std. error", "95% interval", "Note"],
            [[p["name"], p["value"], p["stderr"], p["interval"], p["flag"].upper()] for p in c["parameters"]["rows"]],
            [0.22, 0.18, 0.15, 0.3, 0.15])
    if c["parameters"]["more"]:
        w.text(c["parameters"]["more"], size=8.5, color=MUTED)
    w.text("Correlations above 0.5", size=10, weight="bold")
    if c["correlations"]:
        w.table(["Parameter", "Parameter", "Correlation"], [[r["a"], r["b"], r["r"]] for r in c["correlations"]],
                [0.3, 0.3, 0.4])
    else:
        w.text("None.", size=9, color=MUTED)
    w.heading("Fit quality")
    by_label = {q["label"]: q["value"] for q in c["validation"]}
    header = ["Measure", "Fitted rows"] + (["Validation rows"] if by_label else []) + ["Meaning"]
    widths = [0.2, 0.14] + ([0.14] if by_label else []) + [0.52 if by_label else 0.66]
    w.table(header, [[q["label"], q["value"]] + ([by_label.get(q["label"], "—")] if by_label else []) + [q["meaning"]]
                     for q in c["quality"]], widths)
    w.heading("Gradient check")
    check = c["gradcheck"]
    if check is None:
        w.text("The gradient check was not run for this report.", color=MUTED)
        return
    w.text("All checks passed." if check["passed"] else "A check FAILED.", weight="bold",
           color=INK if check["passed"] else BAD)
    w.table(["Point", "Gradient", "Worst/tol", "Jacobian", "Worst/tol", "Forward", "Nodes", "Verdict"],
            [[p["label"], p["gradient"], p["worst_gradient"], p["jacobian"], p["worst_jacobian"], p["forward"],
              p["nodes"], p["verdict"].upper()] for p in check["points"]],
            [0.17, 0.09, 0.11, 0.11, 0.11, 0.09, 0.22, 0.1])
    w.text("Tolerance: " + check["tolerance"], size=7.5, color=MUTED)


def _footer_page(w: PageWriter, c: dict) -> None:
    w.new_page()
    w.heading("Reproducibility")
    for key, value in c["footer"]:
        w.text(key, size=9, weight="bold")
        w.text(value, size=8, mono=True, indent=0.03)
    w.text("Configuration as resolved", size=9, weight="bold")
    w.text(c["config_yaml"], size=7.5, mono=True, indent=0.03)


def write_pdf(content: dict, target: Path) -> int:
    """Write ``content`` (see ``workbench.report.content``) as a PDF; returns the page count."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    from workbench.atomic import atomic_path

    by_key = {f.key: f for f in content["figures"]}
    with atomic_path(Path(target)) as tmp:
        with PdfPages(tmp, metadata={"Title": content["title"], "Creator": "workbench"}) as pdf:
            w = PageWriter(pdf, f"{content['title']} · {content['date']}")
            _summary_page(w, content)
            _numbers_page(w, content)
            for keys in (("convergence", "fit"), ("residuals", "trajectories")):
                w.new_page()
                w.heading("Plots")
                for key in keys:
                    if key in by_key:
                        _figure(w, by_key[key], 0.36)
            w.new_page()
            w.heading("Computational graph at the solution")
            graph = content.get("graph")
            if graph is not None and graph.png:
                w.image(graph.png, 0.72)
                w.text(graph.caption, size=8, color=MUTED)
            elif graph is not None:
                w.text(graph.error or "not drawn", size=9, color=BAD)
            _footer_page(w, content)
            pages = w.close()
    return pages
