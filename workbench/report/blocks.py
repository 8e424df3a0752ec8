"""What a report says, as typed blocks that every renderer (HTML, PDF) lays out the same way.

``content.py`` builds a ``ReportContent`` from a fit's numbers (result.json and the arrays it
summarises); ``html.py`` and ``pdf.py`` only lay the blocks out. A renderer never invents a
sentence: every word it shows comes from a block, and every block's words come from the
translation catalogs (``i18n.py``). The manager part comes first; the technical appendix after it
(empty when ``report.appendix`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: str = "text"          # "text", "summary" (the headline sentences), "alert", "note"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]        # already formatted for the report's language
    caption: str = ""
    numeric: tuple[bool, ...] = ()           # per column: right-align (numbers)


@dataclass(frozen=True)
class Figure:
    path: Path                  # a PNG already drawn (report/plots), never drawn again by a renderer
    caption: str
    alt: str = ""


@dataclass(frozen=True)
class Code:
    text: str                   # preformatted (the resolved config, a trace)
    caption: str = ""


Block = Paragraph | Table | Figure | Code


@dataclass
class Section:
    key: str                    # stable id ("summary", "parameters", ...) for anchors and tests
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class ReportContent:
    language: str               # "en" or "ja": <html lang>, fonts, number formats
    title: str
    subtitle: str               # date and data file, already formatted
    manager: list[Section]
    appendix: list[Section]
    footer: str                 # reproducibility line(s)
