"""Self-contained HTML: report.html (from a ``ReportContent``) and gradcheck.html, via jinja2 templates.

One file each, openable offline and printable on A4: the stylesheet is inlined from
``templates/report.css`` and every picture is a ``data:image/png;base64`` URI read from the PNG
already drawn, so nothing is ever fetched from anywhere (no script, no font, no image link).
Autoescaping is on: every value from the user (column names, formulas, file paths) is text,
never markup. The page's language is the content's (``<html lang="ja">``); the few words the
layout adds (the appendix heading, "Warning") come from the same catalog. A page with Japanese
text carries the Japanese font, cut down to its characters (``fonts.web_font``), as a fallback
behind the reader's own fonts, so no machine shows empty boxes for it.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from workbench import __version__
from workbench.report.blocks import Code, Figure, Paragraph, ReportContent, Table
from workbench.report.fonts import needs_cjk, web_font
from workbench.report.i18n import translator
from workbench.report.text import number

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(version=__version__, fmt=number)
    return env


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _block(block) -> dict:
    """A block as the template's plain dict (``type`` picks its macro)."""
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "text": block.text, "kind": block.kind}
    if isinstance(block, Table):
        numeric = tuple(block.numeric) + (False,) * (len(block.columns) - len(block.numeric))
        return {"type": "table", "columns": list(zip(block.columns, numeric)), "caption": block.caption,
                "rows": [list(zip(row, numeric)) for row in block.rows]}
    if isinstance(block, Figure):
        return {"type": "figure", "uri": data_uri(Path(block.path).read_bytes()), "caption": block.caption,
                "alt": block.alt or block.caption, "key": Path(block.path).stem}
    if isinstance(block, Code):
        return {"type": "code", "text": block.text, "caption": block.caption}
    raise TypeError(f"not a report block: {block!r}")


def _sections(sections) -> list[dict]:
    return [{"key": s.key, "title": s.title, "blocks": [_block(b) for b in s.blocks]} for s in sections]


def render_report_html(content: ReportContent) -> str:
    """The fit report as one HTML document; with Japanese text, the font for it inside."""
    tr = translator(content.language)
    template = _environment().get_template("report.html")
    fields = {"c": content, "manager": _sections(content.manager), "appendix": _sections(content.appendix),
              "words": {"appendix": tr("appendix.title"), "appendix_intro": tr("appendix.intro"),
                        "warning": tr("alert.label")}}
    page = template.render(font=None, **fields)
    if not needs_cjk(page):
        return page
    font = "data:font/woff;base64," + base64.b64encode(web_font(page)).decode("ascii")
    return template.render(font=font, **fields)


def render_gradcheck_html(report, config=None, *, tolerance: str | None = None) -> str:
    """The full gradient-check tables of ``workbench check`` as one HTML document.

    ``tolerance`` is the tolerances in words (the check's own statement); when not given it is
    read from ``report.tolerance`` if the report carries it.
    """
    tolerance = tolerance if tolerance is not None else str(getattr(report, "tolerance", "") or "")
    return _environment().get_template("gradcheck.html").render(
        r=report, tolerance=tolerance, date=dt.datetime.now().strftime("%d %B %Y, %H:%M"))
