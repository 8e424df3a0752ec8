"""One catalog per language with the same keys and fields; a Japanese report leaves no English sentence."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser

import numpy as np
import pytest

from workbench.report.i18n import LANGUAGES, catalog, translator


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_exists_in_every_language_with_the_same_fields():
    english = catalog("en")
    for language in LANGUAGES:
        messages = catalog(language)
        assert set(messages) == set(english), (language, set(messages) ^ set(english))
        for key, template in messages.items():
            assert _fields(template) == _fields(english[key]), (language, key)
            assert template.strip() or key == "sentence.join", (language, key)


def test_catalogs_have_no_key_written_twice():
    import ast
    from pathlib import Path

    import workbench.report.locales as locales

    for language in LANGUAGES:
        tree = ast.parse((Path(locales.__file__).parent / f"{language}.py").read_text(encoding="utf-8"))
        keys = [k.value for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys]
        assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]


def test_japanese_messages_are_japanese():
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    english = catalog("en")
    for key, template in catalog("ja").items():
        if template == english[key]:
            continue                     # symbols and names that read the same (R², AIC, formats)
        assert japanese.search(template) or not re.search(r"[A-Za-z]{4,}", re.sub(r"\{\w+\}", "", template)), key


class _Visible(HTMLParser):
    """The text a reader sees: no <style>, no <pre> (the resolved config is YAML, not a sentence)."""

    def __init__(self):
        super().__init__()
        self.skip, self.text, self.lang = 0, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("style", "pre", "code", "script"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "pre", "code", "script"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.text.append(data.strip())


def english_fragments(min_words: int = 3) -> set[str]:
    """Runs of at least ``min_words`` words of the English catalog, between its {fields}."""
    out = set()
    for template in catalog("en").values():
        for piece in re.split(r"\{\w+\}", template):
            words = re.findall(r"[A-Za-z][A-Za-z'’-]*", piece)
            if len(words) >= min_words:
                out.add(" ".join(words))
    return out


@pytest.fixture(scope="module")
def japanese_report(tmp_path_factory):
    from cli_helpers import write_config, write_csv
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit
    from workbench.report.content import report_content
    from workbench.report.html import render_report_html

    folder = tmp_path_factory.mktemp("ja")
    rng = np.random.default_rng(5)
    price = rng.uniform(10, 100, 80)
    write_csv(folder, "sales.csv", "price,units", zip(price.round(3), (500 * price ** -0.6 + rng.normal(0, 0.2, 80)).round(4)))
    config = load_config(write_config(folder, """
        name: sales
        data: {path: sales.csv, units: {price: 円, units: 個}}
        model: {formula: "units ~ a * price ** b + c"}
        params: {a: 300, b: -0.5, c: 0}
        report: {language: ja}
        output: {dir: out, formats: [], plots: false}
    """))
    outcome = run_fit(config, folder / "out", reports=False)
    return outcome, render_report_html(report_content(outcome))


def test_japanese_html_says_lang_ja_and_leaves_no_english_sentence(japanese_report):
    _, html = japanese_report
    page = _Visible()
    page.feed(html)
    assert page.lang == "ja"
    visible = " ".join(page.text)
    normalized = " ".join(re.findall(r"[A-Za-z][A-Za-z'’-]*", visible))
    left = [fragment for fragment in english_fragments() if fragment in normalized]
    assert left == [], left
    assert "要約" in visible and "技術付録" in visible and "パラメータ" in visible


def test_the_english_check_would_catch_an_english_sentence(japanese_report):
    """The check above is not vacuous: the same report in English is full of catalog fragments."""
    outcome, _ = japanese_report
    import dataclasses

    from workbench.report.content import build_content, report_inputs
    from workbench.report.html import render_report_html

    inputs = report_inputs(outcome)
    english_config = dataclasses.replace(inputs.config, report=dataclasses.replace(inputs.config.report, language="en"))
    html = render_report_html(build_content(dataclasses.replace(inputs, config=english_config)))
    page = _Visible()
    page.feed(html)
    normalized = " ".join(re.findall(r"[A-Za-z][A-Za-z'’-]*", " ".join(page.text)))
    assert page.lang == "en"
    assert len([f for f in english_fragments() if f in normalized]) >= 20


def test_japanese_sentences_carry_units_and_numbers_formatted_for_the_locale(japanese_report):
    outcome, html = japanese_report
    tr = translator("ja")
    assert "円増えるごとに" in html.replace(" ", "") and "個" in html
    assert tr("steps.many", n=12) == "12ステップ"
    assert tr("list.and", first="a、b", last="c") == "a、bとc"


def test_numbers_have_one_formatter_shared_by_both_languages():
    """text.py formats every number; the Translator carries words only (no second, unused formatter)."""
    import ast
    from pathlib import Path

    from workbench.report import text
    from workbench.report.i18n import Translator

    assert not hasattr(Translator, "number") and not hasattr(Translator, "percent")
    report = Path(text.__file__).parent
    for path in report.glob("*.py"):
        if path.name in ("text.py", "xlsx.py"):          # xlsx formats numbers only to size its columns
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
                spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
                assert not any(c in spec for c in ",efg%"), (path.name, spec)
    assert (text.number(-1234.5678), text.count(1_048_575), text.percent(0.1234)) == ("−1,235", "1,048,575", "12.3%")
