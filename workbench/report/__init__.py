"""Reports of a fit: report.html, report.pdf and results.xlsx, with their plots and sentences.

``write_reports(outcome, formats, figures=...)`` is what ``workbench fit`` calls once the numbers
are on disk. The pictures are drawn once (``figures.py`` with ``plots.py``: PNG files, handed on
as a typed ``Figures``), the content is gathered once (``content.py``: a ``blocks.ReportContent``
of sentences, tables and figures, in the report's language), then each format lays it out:

* ``html.py`` + ``templates/``: one self-contained file, images as data URIs, CSS inline;
* ``pdf.py``: A4 pages typeset with fpdf2, the font embedded (no external program);
* ``xlsx.py``: Summary, Parameters, Predictions and History sheets for Excel users.

``graph.py`` renders DOT (Graphviz when installed, a matplotlib layout otherwise) and
``model_graph.py`` records a fit's computational graph for it. A picture that cannot be drawn
becomes a sentence saying so; it never loses the rest of the report. The report imports nothing
from the pipeline: it reads the outcome it is given.
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


def write_reports(outcome, formats=FORMATS, out_dir: Path | str | None = None, figures=None) -> list[Path]:
    """Write the chosen report formats for ``outcome`` to ``out_dir`` (default: the fit's folder).

    ``figures`` (``figures.Figures``) are pictures the fit has drawn already; the report draws
    only the ones still missing (the appendix's trajectories and graph; the drift chart when a
    history holds earlier fits), into a temporary folder (the HTML and the PDF embed them).
    """
    import tempfile

    from workbench.atomic import ensure_dir, write_text

    formats = check_formats(formats)
    if not formats:
        return []
    out = ensure_dir(Path(out_dir) if out_dir is not None else outcome.out_dir)
    written: list[Path] = []
    if "html" in formats or "pdf" in formats:
        from workbench.report.content import report_content
        from workbench.report.figures import APPENDIX_KEYS, DRIFT_KEYS, PLOT_KEYS, draw_figures, has_drift_history

        with_appendix = getattr(getattr(outcome.prepared.config, "report", None), "appendix", True)
        keys = PLOT_KEYS + (DRIFT_KEYS if has_drift_history(outcome.result) else ()) + \
            (APPENDIX_KEYS if with_appendix else ())
        with tempfile.TemporaryDirectory(prefix="workbench-figures-") as scratch:
            drawn = draw_figures(outcome, Path(scratch), keys, already=figures)
            content = report_content(outcome, drawn)
            if "html" in formats:
                from workbench.report.html import render_report_html

                written.append(write_text(out / FILE_NAMES["html"], render_report_html(content)))
            if "pdf" in formats:
                from workbench.report.pdf import write_pdf

                written.append(write_pdf(content, out / FILE_NAMES["pdf"]))
    if "xlsx" in formats:
        from workbench.report.xlsx import write_xlsx

        written.append(write_xlsx(outcome, out / FILE_NAMES["xlsx"]))
    return written
