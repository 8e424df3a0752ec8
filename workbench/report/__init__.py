"""Reports of a fit: report.html, report.pdf and results.xlsx, with their plots and sentences.

``write_reports(outcome, formats)`` is what ``workbench fit`` calls once the numbers are on disk.
The content is gathered once (``content.py``: sentences, tables, the gradient check's verdict)
and the pictures are drawn once (``figures.py``), then each format lays them out:

* ``html.py`` + ``templates/``: one self-contained file, images as data URIs, CSS inline;
* ``pdf.py``: A4 pages drawn with matplotlib's PDF backend (no external program);
* ``xlsx.py``: Summary, Parameters, Predictions and History sheets for Excel users.

``graph.py`` renders DOT (Graphviz when installed, a matplotlib layout otherwise) and
``model_graph.py`` records a fit's computational graph for it. A picture that cannot be drawn
becomes a sentence saying so; it never loses the rest of the report.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import InputError, did_you_mean

FORMATS = ("html", "pdf", "xlsx")
FILE_NAMES = {"html": "report.html", "pdf": "report.pdf", "xlsx": "results.xlsx"}

__all__ = ["FORMATS", "FILE_NAMES", "write_reports", "check_formats"]


def check_formats(formats) -> tuple[str, ...]:
    """The formats, validated (InputError naming ``output.formats`` for an unknown one)."""
    formats = tuple(str(f).lower() for f in formats)
    for f in formats:
        if f not in FORMATS:
            raise InputError(f"unknown report format {f!r}{did_you_mean(f, FORMATS)}; formats are "
                             f"{', '.join(FORMATS)}", where="output.formats")
    return tuple(dict.fromkeys(formats))


def write_reports(outcome, formats=FORMATS, out_dir: Path | str | None = None) -> list[Path]:
    """Write the chosen report formats for ``outcome`` to ``out_dir`` (default: the fit's folder)."""
    from workbench.atomic import ensure_dir, write_text

    formats = check_formats(formats)
    if not formats:
        return []
    out = ensure_dir(Path(out_dir) if out_dir is not None else outcome.out_dir)
    written: list[Path] = []
    if "html" in formats or "pdf" in formats:
        from workbench.report.content import report_content
        from workbench.report.figures import graph_entry, report_figures

        content = report_content(outcome, report_figures(outcome), graph_entry(outcome))
        if "html" in formats:
            from workbench.report.html import render_report_html

            written.append(write_text(out / FILE_NAMES["html"], render_report_html(content)))
        if "pdf" in formats:
            from workbench.report.pdf import write_pdf

            write_pdf(content, out / FILE_NAMES["pdf"])
            written.append(out / FILE_NAMES["pdf"])
    if "xlsx" in formats:
        from workbench.report.xlsx import write_xlsx

        written.append(write_xlsx(outcome, out / FILE_NAMES["xlsx"]))
    return written
