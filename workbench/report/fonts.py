"""The fonts a report draws and embeds, per language: one place for both the plots and the PDF.

English uses DejaVu Sans, which matplotlib ships; Japanese uses IPAexGothic, which the
``matplotlib-fontja`` package ships (found on disk, not imported: importing it would change
matplotlib's global settings for the whole process).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


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


def monospace_face() -> FontFace:
    return FontFace("DejaVu Sans Mono", _matplotlib_font("DejaVuSansMono.ttf"), None)
