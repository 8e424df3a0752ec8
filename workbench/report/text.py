"""Numbers and name lists as a report reader wants to see them, in the report's language.

This is the one place a report formats a number: ``number`` gives a few significant digits with
thousands grouped, ``count`` a whole count, ``percent``/``share_text`` a share. English and
Japanese business writing share these conventions (1,234.5 · 12.3% · −0.5); the words around
numbers come from the catalogs, so ``names_list`` and ``steps`` take the report's ``Translator``.
"""

from __future__ import annotations

import math
import unicodedata

DASH = "—"
MAX_NAMES = 8           # a list of names longer than this is cut, and the rest counted


def number(value, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits: 1,234.6 · 0.0312 · 3.1e−7 · — for none/NaN."""
    if value is None:
        return DASH
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return DASH if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e9 or magnitude < 1e-3:
        mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
        return f"{mantissa}e{int(exponent)}".replace("-", "−")
    decimals = max(0, digits - 1 - int(math.floor(math.log10(magnitude))))
    return f"{value:,.{decimals}f}".replace("-", "−")


def count(n: int) -> str:
    """A whole number of things, every digit kept and grouped: 1,048,575."""
    return f"{int(n):,}"


def percent(share: float, decimals: int = 1) -> str:
    """0.9723 -> 97.2%."""
    return f"{100.0 * share:.{decimals}f}%".replace("-", "−")


def share_text(share: float) -> str:
    """A share as a percentage that never rounds up to 100% unless it is 1 (0.9996 -> 99.96%)."""
    shown = percent(share)
    for decimals in (2, 3):
        if share < 1 and shown.startswith("100"):
            shown = percent(share, decimals)
    return shown


def parse_number(text: str) -> float:
    """The inverse of ``number`` for tests and checks: '−1,234.5' -> -1234.5, '3.1e−7' -> 3.1e-07."""
    return float(text.replace("−", "-").replace(",", ""))


def names_list(names, tr, limit: int = MAX_NAMES) -> str:
    """a · a and b · a, b and c · a, …, h and 4 more (words from the catalog)."""
    names = [str(n) for n in names]
    if len(names) > limit:
        return tr("list.more", names=tr("list.sep").join(names[:limit]), n=len(names) - limit)
    if len(names) <= 1:
        return "".join(names)
    return tr("list.and", first=tr("list.sep").join(names[:-1]), last=names[-1])


def steps(count: int, tr) -> str:
    return tr("steps.one" if count == 1 else "steps.many", n=count)


def unit_suffix(unit: str | None, tr) -> str:
    """' USD' after a number or '1' when the column has a unit, else nothing. A unit written in
    wide (CJK) characters has its own key: Japanese sets 3日 and 5円 without a space, 5 kg with one."""
    if not unit:
        return ""
    wide = unicodedata.east_asian_width(unit[0]) in ("W", "F")
    return tr("unit.suffix_wide" if wide else "unit.suffix", unit=unit)
