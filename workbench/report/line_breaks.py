"""Where a line of Japanese may break: between two wide characters, never inside a number.

Japanese has no spaces, so a PDF library wrapping "by character" breaks anywhere, also inside
``0.0529`` or ``(±1.1e−5)``: a manager then reads "0.05" at the end of one line and "29" at the
start of the next. ``break_lines`` keeps every run of narrow characters (digits, Latin words,
signs and brackets around them) whole, lets a line break before or after any wide character, and
never starts a line with closing punctuation (、。」) — the first rule of Japanese line breaking.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["break_lines"]

_NO_LINE_START = set("、。，．・：；？！）」』】〉》〕ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ%)]}")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Wide characters one by one, narrow runs whole; closing punctuation joined to what precedes."""
    tokens: list[str] = []
    for char in text:
        if tokens and char in _NO_LINE_START:
            tokens[-1] += char
        elif _wide(char) or char == " " or not tokens or _wide(tokens[-1][-1]) or tokens[-1][-1] == " ":
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` cut into lines no wider than ``width`` (as ``measure`` says); a narrow run wider
    than a whole line is cut where it must be."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            if measure(line + token) <= width or not line:
                line += token
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
            while measure(line) > width and len(line) > 1:     # only a run longer than a line
                cut = len(line) - 1
                while cut > 1 and measure(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines
