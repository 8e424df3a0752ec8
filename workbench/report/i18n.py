"""Every word a report shows, looked up in one catalog per language.

A report never writes an English (or Japanese) sentence inline: it asks a ``Translator`` for a
message by key, and the catalogs in ``locales/`` hold the words (``locales/en.py``,
``locales/ja.py``: one ``MESSAGES`` dict each, the same keys in both, checked by the tests).
Messages are ``str.format`` templates with named fields, so word order is the language's own.

    tr = translator("ja")
    tr("quality.r2", share="99.8%", target="units")   # "このモデルはunitsの変動の99.8%を説明しています。"

Numbers have one formatter, ``text.number`` (with ``text.percent`` and ``text.share_text``): English
and Japanese business writing share their conventions (1,234.5 · 12.3% · −0.5), so what differs
between the languages, the words around a number (units, "percentage points", ポイント), is in
the catalogs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"


def catalog(language: str) -> dict[str, str]:
    """The ``MESSAGES`` dict of one language (``KeyError`` for a language we do not have)."""
    if language not in LANGUAGES:
        raise KeyError(language)
    return importlib.import_module(f"workbench.report.locales.{language}").MESSAGES


@dataclass(frozen=True)
class Translator:
    language: str
    messages: dict

    def __call__(self, key: str, **fields) -> str:
        return self.messages[key].format(**fields)


def translator(language: str = DEFAULT_LANGUAGE) -> Translator:
    return Translator(language, catalog(language))
