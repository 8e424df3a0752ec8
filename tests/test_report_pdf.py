"""report.pdf typeset with fpdf2: embedded fonts, page numbers, tables that wrap and repeat, no overflow, order."""

from __future__ import annotations

import io

import numpy as np
import pytest

from workbench.report import plots
from workbench.report.blocks import Code, Figure, Paragraph, ReportContent, Section, Table
from workbench.report.pdf import MARGIN, column_widths, render_pdf

SHA = "81e90798173d7ba0300cf68b07ddc9610a9b00c8392e2cf012709667787089c8"
A4_WIDTH_PT = 595.28


@pytest.fixture(scope="module")
def figure_png(tmp_path_factory):
    x = np.linspace(0, 10, 50)
    series = plots.FitSeries(y=x, predicted=x, x=x)
    path = tmp_path_factory.mktemp("pdf") / "fit.png"
    return plots.save_png(lambda: plots.fit_figure(series, plots.Words("t", "x", "y", ("d", "f")))[0], path)


def _content(figure_png, language="en", rows=8) -> ReportContent:
    words = {"en": ("Fit report: sales", "Summary", "The model explains 99.8% of the variation in units.",
                    "Parameters", "Reproducibility"),
             "ja": ("フィット報告書: sales", "要約", "モデルは販売数の変動の99.8%を説明します。", "パラメータ", "再現性")}
    title, summary, sentence, parameters, repro = words[language]
    table = Table(("Parameter", "Meaning", "Value"),
                  tuple((f"p{i}", "price elasticity of weekly units " * (1 + i % 3), f"{i * 1.5:.3f}")
                        for i in range(rows)), caption="caption", numeric=(False, False, True))
    return ReportContent(
        language=language, title=title, subtitle="26 November 2026",
        manager=[Section("summary", summary, [Paragraph(sentence, "summary"), Paragraph("Beware.", "alert"),
                                              Figure(figure_png, "The data and the fit.")]),
                 Section("parameters", parameters, [table])],
        appendix=[Section("reproducibility", repro, [Table(("Item", "Detail"), (("SHA-256", SHA * 3),)),
                                                     Code("name: sales\n" + "x" * 300, "config")])],
        footer=f"workbench · data SHA-256 {SHA}")


def _reader(data: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data))


def _fonts(reader) -> list[tuple[str, bool]]:
    """(base font name, has an embedded font file) of every font used."""
    found = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            embedded = descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile2", "/FontFile3"))
            found.append((str(font["/BaseFont"]), embedded))
    return found


def test_english_pdf_embeds_dejavu_and_numbers_its_pages(figure_png):
    reader = _reader(render_pdf(_content(figure_png)))
    n = len(reader.pages)
    for k, page in enumerate(reader.pages, start=1):
        assert f"Page {k} of {n}" in page.extract_text()
    fonts = _fonts(reader)
    assert fonts and all(embedded for _, embedded in fonts)
    assert any("DejaVuSans" in name for name, _ in fonts)
    assert reader.metadata.title == "Fit report: sales"


def test_japanese_pdf_text_is_japanese_in_the_embedded_cjk_font(figure_png):
    reader = _reader(render_pdf(_content(figure_png, "ja")))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "モデルは販売数の変動の99.8%を説明します。" in text.replace("\n", "")
    assert "技術付録" in text and "1 / " in text
    assert any("IPAexGothic" in name and embedded for name, embedded in _fonts(reader))


def test_manager_part_comes_first_and_the_appendix_starts_its_own_page(figure_png):
    reader = _reader(render_pdf(_content(figure_png)))
    pages = [page.extract_text() for page in reader.pages]
    first_appendix = next(k for k, text in enumerate(pages) if "Technical appendix" in text)
    assert first_appendix >= 1 and "Parameters" in "".join(pages[:first_appendix])
    assert "Reproducibility" not in "".join(pages[:first_appendix])
    assert pages[first_appendix].split("Technical appendix")[0].strip() == ""     # the page begins with it


def test_small_manager_part_fits_one_page_with_its_figure(figure_png):
    reader = _reader(render_pdf(_content(figure_png, rows=4)))
    first = reader.pages[0]
    assert "Parameters" in first.extract_text()
    assert len(first.images) == 1                      # the PNG drawn once, embedded as is


def test_long_tables_continue_on_the_next_page_with_their_header(figure_png):
    reader = _reader(render_pdf(_content(figure_png, rows=80)))
    with_rows = [page.extract_text() for page in reader.pages if "p79" in page.extract_text()
                 or "p40" in page.extract_text()]
    assert len(with_rows) >= 2
    assert all("Parameter" in text and "Meaning" in text for text in with_rows)


def test_no_text_runs_past_the_margins(figure_png):
    reader = _reader(render_pdf(_content(figure_png, rows=30)))
    limit = A4_WIDTH_PT - MARGIN * 72 / 25.4 + 2

    for page in reader.pages:
        ends = []

        def visit(text, cm, tm, font_dict, font_size):
            if text.strip():
                ends.append(tm[4] * cm[0] + cm[4])     # where the run starts, in points

        page.extract_text(visitor_text=visit)
        assert ends and min(ends) >= MARGIN * 72 / 25.4 - 2 and max(ends) < limit
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert SHA * 3 in text                              # the unbreakable value wrapped, not cut
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()]
    assert max(len(line) for line in lines) < 130


def test_column_widths_give_narrow_columns_what_they_need():
    widths = column_widths([20.0, 300.0, 18.0], 170.0)
    assert sum(widths) == pytest.approx(170.0)
    assert widths[0] >= 20.0 and widths[2] >= 18.0 and widths[1] == pytest.approx(132.0)
    assert column_widths([10.0, 10.0], 100.0) == [50.0, 50.0]


def test_a_real_fit_writes_the_pdf_in_its_language(tmp_path):
    from cli_helpers import write_config, write_csv
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    x = np.linspace(1, 10, 25)
    write_csv(tmp_path, "line.csv", "price,units", zip(x, (40 - 2.5 * x + np.sin(7 * x)).round(4)))
    config = load_config(write_config(tmp_path, """
        data: {path: line.csv, units: {price: USD}}
        model: {type: linear, inputs: [price], target: units}
        report: {language: ja}
        output: {dir: out, formats: [pdf], plots: false}
    """))
    outcome = run_fit(config, tmp_path / "out")
    reader = _reader((outcome.out_dir / "report.pdf").read_bytes())
    text = "".join(page.extract_text() for page in reader.pages)
    assert "フィット報告書" in text and "技術付録" in text
    assert any("IPAexGothic" in name and embedded for name, embedded in _fonts(reader))
    assert sum(len(page.images) for page in reader.pages) >= 3
    assert not list(outcome.out_dir.glob("*.png"))         # plots: false leaves no PNG behind
