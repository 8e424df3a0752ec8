"""Every word a report shows, looked up in one catalog per language.

A report never writes an English (or Japanese) sentence inline: it asks a ``Translator`` for a
message by key, and the catalogs in ``locales/`` hold the words (``locales/en.py``,
``locales/ja.py``: one ``MESSAGES`` dict each, the same keys in both, checked by the tests).
Messages are ``str.format`` templates with named fields, so word order is the language's own.

    tr = translator("ja")
    tr("quality.explains", share="99.8%", target="units")

Numbers are formatted for the language by ``tr.number`` and ``tr.percent``.
"""

from __future__ import annotations

import importlib
import math
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

    def number(self, value, digits: int = 4) -> str:
        """``value`` to ``digits`` significant digits, thousands grouped; '–' for None or NaN."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        value = float(value)
        if value == 0:
            return "0"
        magnitude = math.floor(math.log10(abs(value)))
        if -4 <= magnitude < 15:
            decimals = max(digits - 1 - magnitude, 0)
            return f"{value:,.{decimals}f}"
        return f"{value:.{digits - 1}e}"

    def percent(self, share, decimals: int = 1) -> str:
        if share is None or not math.isfinite(float(share)):
            return "–"
        return f"{100 * float(share):.{decimals}f}%"


def translator(language: str = DEFAULT_LANGUAGE) -> Translator:
    return Translator(language, catalog(language))
