"""Numbers as a report reader wants to see them: a few significant digits, thousands grouped."""

from __future__ import annotations

import math

DASH = "—"


def number(value, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits: 1,234.6 · 0.0312 · 3.1e-07 · — for none/NaN."""
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


def percent(share: float, decimals: int = 1) -> str:
    """0.9723 -> 97.2%."""
    return f"{100.0 * share:.{decimals}f}%".replace("-", "−")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def names_list(names) -> str:
    """a · a and b · a, b and c."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
