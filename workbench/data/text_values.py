"""Quoted text in a derived column checked against the values the column really holds.

``won: "Status == 'wonn'"`` is a typo that gives 0 in every row; ``Status == 'won'`` silently
counts ``Won`` and ``WON`` as not won. Comparison stays exact (a derived value must mean what
it says), but when a fit reads its data ``check_quoted_texts`` looks at every quoted text that
is compared with a column (``==``, ``!=``, ``in``, ``not in``) and

* refuses (``InputError``) a text that is no value of the column, naming the key, the column
  and its most frequent values (for ``in`` lists: only when no listed text is a value, since a
  list may name a value this month's data lacks; the others get a warning);
* warns about values that differ from the text only in case or spaces (``'Won' (1 row)``), and
  says how to match them: ``lower(Status) == 'won'``.

New rows given to ``predict`` are not checked: they may lack a value the fit's data had.
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Mapping

import numpy as np

from workbench.errors import InputError, did_you_mean

__all__ = ["check_quoted_texts"]

MAX_VALUES_SHOWN = 10


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _comparisons(node) -> list[tuple[Any, tuple[str, ...], bool]]:
    """(compared node, quoted texts, is an ``in`` list) for every text comparison in ``node``."""
    from workbench.formula.ir import Compare, Member, Text, children

    found = []
    if isinstance(node, Compare) and len(node.operands) == 2 and any(isinstance(o, Text) for o in node.operands):
        texts = tuple(o.value for o in node.operands if isinstance(o, Text))
        found += [(o, texts, False) for o in node.operands if not isinstance(o, Text)]
    if isinstance(node, Member) and any(isinstance(v, Text) for v in node.values):
        found.append((node.operand, tuple(v.value for v in node.values if isinstance(v, Text)), True))
    for child in children(node):
        found += _comparisons(child)
    return found


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _listing(counts: Mapping[str, int]) -> str:
    ordered = [value for value, _ in sorted(counts.items(), key=lambda item: -item[1])]
    shown = ", ".join(ordered[:MAX_VALUES_SHOWN])
    return shown + (f", … ({len(ordered)} values)" if len(ordered) > MAX_VALUES_SHOWN else "")


def _near(counts: Mapping[str, int], text: str) -> dict[str, int]:
    return {value: n for value, n in counts.items() if value != text and _folded(value) == _folded(text)}


def _lowered_hint(subject: str, text: str) -> str:
    return f"to match them, compare lower({subject}) == {' '.join(text.split()).lower()!r}"


def check_quoted_texts(expression, evaluate: Callable[[Any], Any], where: str) -> list[str]:
    """Warnings about ``expression``'s quoted texts (see the module docstring); ``evaluate`` gives
    a sub-expression's values over the rows (text as an object array, None where empty)."""
    from workbench.formula.ir import render

    warnings = []
    for node, texts, listed in _comparisons(expression.expr):
        values = np.asarray(evaluate(node), dtype=object)
        if values.ndim != 1 or not all(isinstance(v, str) for v in values if v is not None):
            continue
        counts = collections.Counter(v for v in values if v is not None)
        subject = render(node)
        absent = [t for t in texts if counts.get(t, 0) == 0]
        for text in texts:
            near = _near(counts, text)
            if text in absent and (not listed or len(absent) == len(texts)):
                raise InputError(_absent_message(subject, text, counts, near), where=where)
            if text in absent:
                warnings.append(f"{where}: {text!r} is not a value of {subject} (no row matches it)")
            elif near:
                variants = ", ".join(f"{v!r} ({_rows(n)})" for v, n in near.items())
                warnings.append(f"{where}: {subject} has values that differ from {text!r} only in case or "
                                f"spaces: {variants}; they do not count as {text!r} ({_lowered_hint(subject, text)})")
    return warnings


def _absent_message(subject: str, text: str, counts: Mapping[str, int], near: Mapping[str, int]) -> str:
    if not counts:
        return f"{subject} has no values to compare with {text!r}"
    if near:
        variants = ", ".join(f"{v!r} ({_rows(n)})" for v, n in near.items())
        return (f"{text!r} is not a value of {subject}, but {variants} differ from it only in case or spaces "
                f"({_lowered_hint(subject, text)})")
    return (f"{text!r} is not a value of {subject}{did_you_mean(text, list(counts))}; its values are: "
            f"{_listing(counts)}")
