"""Japanese paragraphs in the PDF break between wide characters, never inside a number."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.report.line_breaks import break_lines

SENTENCE = ("このモデルはUnitsの変動の98.8%を説明しています。Priceが1増えるごとに、Unitsは平均して0.0529減少"
            "します(±1.1e−5)。注文日が1日進むごとに、Unitsは0.0200増加します(±3.6e−5)。")
NUMBERS = re.findall(r"\(±[\d.e−]+\)|[\d.]+%?", SENTENCE)


def width(text: str) -> float:           # wide characters count 2, narrow 1, as on the page
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def test_numbers_stay_whole_and_lines_fit():
    for room in range(12, 60):
        lines = break_lines(SENTENCE, room, width)
        assert "".join(lines) == SENTENCE
        assert all(width(line) <= room for line in lines)
        for number in NUMBERS:
            assert any(number in line for line in lines), (room, number, lines)


def test_a_line_never_starts_with_closing_punctuation():
    for room in range(16, 40):           # every narrow run fits a line (a longer one is cut anywhere)
        for line in break_lines(SENTENCE, room, width)[1:]:
            assert line[0] not in "、。)%", (room, line)


def test_a_run_longer_than_a_line_is_cut_rather_than_overflowing():
    lines = break_lines("値は12345678901234567890です", 10, width)
    assert all(width(line) <= 10 for line in lines) and "".join(lines) == "値は12345678901234567890です"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="あいう、。0123456789.%()ab ", max_size=80), st.integers(min_value=4, max_value=40))
def test_any_text_is_kept_and_fits(text, room):
    lines = break_lines(text, room, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(width(line) <= room for line in lines)


def test_japanese_table_cells_are_cut_between_wide_characters(tmp_path):
    from workbench.report.blocks import ReportContent
    from workbench.report.i18n import translator
    from workbench.report.pdf import _cells_broken, _Document

    content = ReportContent(language="ja", title="t", subtitle="", manager=[], appendix=[], footer="")
    doc = _Document(content, translator("ja"))
    doc.font(8.5)
    cell = "−123,883,496〜−122,392,261"
    room = doc.pdf.get_string_width(cell) * 0.6
    (broken,) = _cells_broken(doc, [cell], [room])
    assert broken.split("\n") == ["−123,883,496〜", "−122,392,261"]
