"""report.pdf: the blocks of a ``ReportContent`` laid out on A4 pages with fpdf2.

The same content as report.html, typeset by a PDF library rather than drawn as pictures: text is
real text (searchable, copyable), in a TrueType font embedded in the file (DejaVu Sans for
English, IPAexGothic for Japanese, from ``fonts.py``; the resolved config is set in the same
font with its indentation kept: each font parsed costs a tenth of a second). Tables wrap their
cells and repeat their header on a new page; figures are the PNG files already drawn (``figures.py``), never drawn again,
shrunk a little to stay beside their caption or moved to the next page; a heading is never left
alone at the foot of a page. The manager part flows from the first page; the technical appendix
starts on a fresh page under its own heading. Every page carries the title and "page n of N".
"""

from __future__ import annotations

from pathlib import Path

from workbench.report.blocks import Code, Figure, Paragraph, ReportContent, Section, Table
from workbench.report.fonts import font_face, needs_cjk
from workbench.report.i18n import Translator, translator
from workbench.report.line_breaks import break_lines

MARGIN, TOP, BOTTOM = 20.0, 16.0, 18.0          # mm
INK, MUTED, ACCENT, BAD = (29, 36, 48), (93, 104, 120), (31, 95, 168), (179, 38, 30)
HEADER_FILL = (232, 239, 248)
SIZES = {"title": 19, "subtitle": 9, "part": 15, "heading": 12.5, "summary": 10.5, "text": 9.5, "alert": 9.5,
         "note": 8.5, "table": 8.5, "caption": 8, "code": 7.5, "footer": 7.5}
LINE = 1.42                                      # line height as a multiple of the font size
KEEP_WITH_HEADING = 35.0                         # mm of room a heading needs below it, else a new page
MIN_FIGURE_SCALE = 0.7                           # a figure shrinks this far to stay on the page
MIN_COLUMN = 14.0                                # mm


def _mm(points: float) -> float:
    return points * LINE * 25.4 / 72


class _Document:
    """An FPDF with the report's fonts, page frame and a few layout verbs."""

    def __init__(self, content: ReportContent, tr: Translator):
        from fpdf import FPDF

        self.tr = tr
        self.pdf = pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(MARGIN, TOP, MARGIN)
        pdf.set_auto_page_break(True, margin=BOTTOM)
        pdf.set_title(content.title)
        pdf.set_creator("workbench")
        pdf.set_lang(content.language)
        face = font_face(content.language)
        pdf.add_font("body", "", str(face.regular))
        self.bold = face.bold is not None
        if self.bold:
            pdf.add_font("body", "B", str(face.bold))
        fallbacks = []
        if content.language != "ja" and needs_cjk(_all_text(content)):
            pdf.add_font("cjk", "", str(font_face("ja").regular))      # Japanese column names in an English report
            fallbacks = ["cjk"]
        elif content.language == "ja":
            fallbacks = ["body"]
        if fallbacks:
            pdf.set_fallback_fonts(fallbacks, exact_match=False)
        self.wrap = "CHAR" if content.language == "ja" else "WORD"
        self.running_title = content.title
        pdf.footer = self._footer
        pdf.alias_nb_pages()

    @property
    def width(self) -> float:
        return self.pdf.epw

    def room(self) -> float:
        """Millimetres left on the page above the bottom margin."""
        return self.pdf.page_break_trigger - self.pdf.get_y()

    def font(self, size: float, color=INK, bold: bool = False) -> None:
        self.pdf.set_font("body", "B" if bold and self.bold else "", size)
        self.pdf.set_text_color(*color)

    def _footer(self) -> None:
        pdf = self.pdf
        pdf.set_y(-BOTTOM + 6)
        self.font(SIZES["footer"], MUTED)
        page = self.tr("pdf.page", page=pdf.page_no(), pages="{nb}")
        pdf.cell(self.width * 0.75, 4, _fit(pdf, self.running_title, self.width * 0.72), align="L")
        pdf.cell(self.width * 0.25, 4, page, align="R")

    def text(self, text: str, size: float, color=INK, bold: bool = False, code: bool = False, indent: float = 0.0,
             after: float = 1.5) -> None:
        self.font(size, color, bold)
        self.pdf.set_x(MARGIN + indent)
        if self.wrap == "CHAR" and not code:      # Japanese: never break inside a number
            room = self.width - indent - 2 * self.pdf.c_margin - 0.01
            text = "\n".join(break_lines(text, room, self.pdf.get_string_width))
        self.pdf.multi_cell(self.width - indent, _mm(size), text, align="L", wrapmode="CHAR" if code else self.wrap,
                            new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(after)

    def rule(self, color=ACCENT, width: float = 0.5) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*color)
        pdf.set_line_width(width)
        y = pdf.get_y()
        pdf.line(MARGIN, y, MARGIN + self.width, y)
        pdf.ln(2.5)

    def heading(self, text: str, size: float = SIZES["heading"]) -> None:
        if self.room() < KEEP_WITH_HEADING:
            self.pdf.add_page()
        self.pdf.ln(2.5)
        self.text(text, size, ACCENT, bold=True, after=0.5)
        self.rule()


def _fit(pdf, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to ``width`` mm in the current font (one-line page footer)."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _all_text(content: ReportContent) -> str:
    parts = [content.title, content.subtitle, content.footer]
    for section in content.manager + content.appendix:
        parts.append(section.title)
        for block in section.blocks:
            if isinstance(block, Table):
                parts += list(block.columns) + [cell for row in block.rows for cell in row] + [block.caption]
            elif isinstance(block, (Paragraph, Code)):
                parts.append(block.text)
            elif isinstance(block, Figure):
                parts.append(block.caption)
    return "\n".join(parts)


def column_widths(natural: list[float], total: float) -> list[float]:
    """Widths (mm) summing to ``total``: narrow columns get what they need, wide ones share the rest."""
    n = len(natural)
    widths = [0.0] * n
    left, open_columns = total, n
    for k in sorted(range(n), key=lambda i: natural[i]):
        fair = left / open_columns
        widths[k] = max(MIN_COLUMN, min(natural[k], fair))
        left -= widths[k]
        open_columns -= 1
    spare = total - sum(widths)
    if spare > 0:                                   # everything fits: spread the rest evenly
        widths = [w + spare / n for w in widths]
    else:                                           # minimum widths overran: scale down
        widths = [w * total / sum(widths) for w in widths]
    return widths


def _table(doc: _Document, block: Table) -> None:
    from fpdf.fonts import FontFace

    pdf, size = doc.pdf, SIZES["table"]
    if not block.columns:
        return
    padding = 2.2
    doc.font(size, bold=True)
    natural = [pdf.get_string_width(h) + 2 * padding + 0.5 for h in block.columns]
    doc.font(size)
    for row in block.rows:
        for k, cell in enumerate(row[:len(natural)]):
            natural[k] = max(natural[k], pdf.get_string_width(str(cell)) + 2 * padding + 0.5)
    widths = column_widths(natural, doc.width)
    numeric = tuple(block.numeric) + (False,) * len(block.columns)
    if doc.room() < 3 * _mm(size) + 4:
        pdf.add_page()
    pdf.set_fill_color(255, 255, 255)
    heading_style = FontFace(emphasis="BOLD" if doc.bold else None, color=INK, fill_color=HEADER_FILL)
    with pdf.table(col_widths=widths, width=doc.width, text_align=["RIGHT" if numeric[k] else "LEFT"
                                                                   for k in range(len(widths))],
                   line_height=_mm(size), padding=(1.0, padding), headings_style=heading_style,
                   borders_layout="HORIZONTAL_LINES", wrapmode=doc.wrap, align="LEFT",
                   first_row_as_headings=True, repeat_headings=1, cell_fill_mode="NONE") as table:
        pdf.set_draw_color(190, 198, 210)
        pdf.set_line_width(0.2)
        rooms = [w - 2 * padding - 0.3 for w in widths]
        doc.font(size, bold=True)
        table.row(_cells_broken(doc, list(block.columns), rooms))
        doc.font(size)
        for row in block.rows:
            cells = [str(c) for c in row] + [""] * (len(block.columns) - len(row))
            table.row(_cells_broken(doc, cells[:len(block.columns)], rooms))
    pdf.ln(1.5)
    if block.caption:
        doc.text(block.caption, SIZES["caption"], MUTED)
    pdf.ln(1.5)


def _cells_broken(doc: _Document, cells: list[str], rooms: list[float]) -> list[str]:
    """Japanese cells cut into lines between wide characters, never inside a number (as the
    paragraphs are: ``line_breaks``), in the font set now; other languages wrap at spaces."""
    if doc.wrap != "CHAR":
        return cells
    measure = doc.pdf.get_string_width
    return ["\n".join(break_lines(cell, room, measure)) if measure(cell) > room else cell
            for cell, room in zip(cells, rooms)]


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read from its header."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _figure(doc: _Document, block: Figure) -> None:
    from workbench.report.plots import DPI

    pdf = doc.pdf
    pixels_w, pixels_h = _image_size(block.path)
    width = min(doc.width, pixels_w / DPI * 25.4)
    height = width * pixels_h / pixels_w
    caption_room = 2 * _mm(SIZES["caption"]) + 2
    height_limit = pdf.page_break_trigger - pdf.t_margin - caption_room
    if height > height_limit:
        width, height = width * height_limit / height, height_limit
    room = doc.room() - caption_room
    if height > room:
        if height * MIN_FIGURE_SCALE <= room:
            width, height = width * room / height, room
        else:
            pdf.add_page()
    pdf.image(str(block.path), x=MARGIN + (doc.width - width) / 2, w=width, h=height,
              alt_text=block.alt or block.caption)
    pdf.ln(1.5)
    if block.caption:
        doc.text(block.caption, SIZES["caption"], MUTED)
    pdf.ln(1.5)


def _paragraph(doc: _Document, block: Paragraph) -> None:
    if block.kind == "alert":
        pdf = doc.pdf
        top = pdf.get_y()
        doc.text(block.text, SIZES["alert"], BAD, bold=True, indent=3.0)
        if pdf.get_y() > top:                      # a bar beside the alert, on its page
            pdf.set_fill_color(*BAD)
            pdf.rect(MARGIN, top, 1.0, pdf.get_y() - top - 1.5, style="F")
            pdf.set_fill_color(255, 255, 255)
    else:
        color = MUTED if block.kind == "note" else INK
        doc.text(block.text, SIZES.get(block.kind, SIZES["text"]), color, after=2.0 if block.kind == "summary" else 1.5)


def _section(doc: _Document, section: Section) -> None:
    doc.heading(section.title)
    for block in section.blocks:
        if isinstance(block, Paragraph):
            _paragraph(doc, block)
        elif isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Figure):
            _figure(doc, block)
        elif isinstance(block, Code):
            if block.caption:
                doc.text(block.caption, SIZES["caption"], MUTED, after=0.5)
            doc.text(block.text, SIZES["code"], INK, code=True, indent=2.0)


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes (A4)."""
    tr = translator(content.language)
    doc = _Document(content, tr)
    pdf = doc.pdf
    pdf.add_page()
    doc.text(content.title, SIZES["title"], ACCENT, bold=True, after=0.5)
    if content.subtitle:
        doc.text(content.subtitle, SIZES["subtitle"], MUTED, after=3.0)
    for section in content.manager:
        _section(doc, section)
    if content.appendix:
        pdf.add_page()
        doc.text(tr("pdf.appendix"), SIZES["part"], ACCENT, bold=True, after=0.5)
        doc.rule(width=0.9)
        for section in content.appendix:
            _section(doc, section)
    if content.footer:
        pdf.ln(3)
        doc.rule(MUTED, 0.2)
        doc.text(content.footer, SIZES["footer"], MUTED)
    return bytes(pdf.output())


def write_pdf(content: ReportContent, target: Path) -> Path:
    """Write ``content`` as ``target`` (atomically); returns its path."""
    from workbench.atomic import write_bytes

    return write_bytes(Path(target), render_pdf(content))
