"""Self-contained HTML: report.html and gradcheck.html, rendered from jinja2 templates.

One file each, openable offline and printable on A4: the stylesheet is inlined from
``templates/report.css`` and every picture is a ``data:image/png;base64`` URI, so nothing is ever
fetched from anywhere (no script, no font, no image link). Autoescaping is on: every value from
the user (column names, formulas, file paths) is text, never markup.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from workbench import __version__
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


def _picture(figure) -> dict | None:
    if figure is None:
        return None
    return {"key": figure.key, "title": figure.title, "caption": figure.caption, "png": figure.png,
            "error": figure.error, "uri": data_uri(figure.png) if figure.png else ""}


def render_report_html(content: dict) -> str:
    """The fit report as one HTML document (see ``workbench.report.content``)."""
    view = dict(content)
    view["figures"] = [_picture(f) for f in content["figures"]]
    view["graph"] = _picture(content.get("graph"))
    view["validation_by_label"] = {q["label"]: q["value"] for q in content.get("validation") or []}
    return _environment().get_template("report.html").render(c=view)


def render_gradcheck_html(report, config=None) -> str:
    """The full gradient-check tables of ``workbench check`` as one HTML document."""
    from workbench.pipeline.check import tolerance_statement

    return _environment().get_template("gradcheck.html").render(
        r=report, tolerance=tolerance_statement()["text"], date=dt.datetime.now().strftime("%d %B %Y, %H:%M"))
