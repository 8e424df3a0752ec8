"""The fonts a report draws and embeds, per language: one place for both the plots and the PDF.

English uses DejaVu Sans, which matplotlib ships; Japanese uses IPAexGothic, which the
``matplotlib-fontja`` package ships (found on disk, not imported: importing it would change
matplotlib's global settings for the whole process).

``web_font(text)`` is the Japanese font cut down to the characters of ``text`` (a WOFF file of a
few dozen kilobytes instead of 6 MB), for report.html to carry inside itself: a reader whose
machine has no Japanese font (a server, a fresh Linux desktop) still sees every character.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

CJK = re.compile(r"[\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]")


@dataclass(frozen=True)
class FontFace:
    family: str                 # the name matplotlib knows it by
    regular: Path
    bold: Path | None           # None: the PDF emphasises with size and colour instead


def _matplotlib_font(name: str) -> Path:
    spec = importlib.util.find_spec("matplotlib")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name


def _fontja_font() -> Path:
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the Japanese font needs the matplotlib-fontja package (pip install matplotlib-fontja)")
    return Path(spec.origin).parent / "fonts" / "ipaexg.ttf"


def font_face(language: str) -> FontFace:
    """The text font of a report in ``language`` ("en" or "ja")."""
    if language == "ja":
        return FontFace("IPAexGothic", _fontja_font(), None)
    return FontFace("DejaVu Sans", _matplotlib_font("DejaVuSans.ttf"), _matplotlib_font("DejaVuSans-Bold.ttf"))


def needs_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def web_font(text: str) -> bytes:
    """IPAexGothic as WOFF holding only the glyphs of ``text`` (and printable ASCII)."""
    import io

    from fontTools import subset

    options = subset.Options()
    options.flavor, options.layout_features, options.hinting, options.name_IDs = "woff", [], False, []
    font = subset.load_font(str(font_face("ja").regular), options, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(c) for c in text} | set(range(32, 127))))
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()
