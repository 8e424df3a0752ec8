"""The value kinds of the schema: how each is checked and normalised, and its JSON Schema.

Each kind is a pair written side by side: ``coerce`` (value as read from YAML -> normalised
value, or ``BadValue`` with the message) and ``fragment`` (its JSON Schema). Coercion is lenient
where YAML is surprising: ``1e-3`` (a string to YAML 1.1) is a number, ``2019`` is a valid column
name, ``1000.0`` a valid step count. The JSON Schema is the strict form an editor should suggest.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Callable

from workbench.config.schema import Key, Pattern, Range
from workbench.errors import did_you_mean

_LONGEST_NUMBER_TEXT = 400
_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


class BadValue(Exception):
    """A value that does not fit its key; ``at`` locates it inside a list (``[2]``)."""

    def __init__(self, message: str, at: str = ""):
        super().__init__(message)
        self.message, self.at = message, at


def show(value: Any) -> str:
    """A value as the user would recognise it from their YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10 ** 30:
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, (int, float, str)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _expect(expected: str, value: Any) -> BadValue:
    return BadValue(f"must be {expected}, got {show(value)}")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and len(value) <= _LONGEST_NUMBER_TEXT and _NUMBER_TEXT.fullmatch(value):
            return float(value)
    except OverflowError:             # an int past float's range: not a usable number either
        return math.inf if value > 0 else -math.inf
    return None


def _range_phrase(key: Key, integer: bool) -> str:
    check = key.check if isinstance(key.check, Range) else Range()
    return check.describe(integer)


def _check_range(key: Key, number: float, integer: bool, shown: Any) -> None:
    if not math.isfinite(number):
        raise BadValue(f"must be a finite number, got {show(shown)}")
    if isinstance(key.check, Range) and not key.check.holds(number):
        raise _expect(_range_phrase(key, integer), shown)


def coerce_number(key: Key, value: Any) -> float:
    number = _as_number(value)
    if number is None:
        raise _expect(_range_phrase(key, False), value)
    _check_range(key, number, False, value)
    return number


def coerce_int(key: Key, value: Any) -> int:
    number = _as_number(value)
    if number is None or (math.isfinite(number) and number != int(number)):
        raise _expect(_range_phrase(key, True), value)
    _check_range(key, number, True, value)
    return int(number)


def coerce_str(key: Key, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)                 # a column named 2019
    expected = key.check.meaning if isinstance(key.check, Pattern) else "a string"
    if not isinstance(value, str) or (isinstance(key.check, Pattern) and not key.check.holds(value)):
        raise _expect(expected, value)
    return value


def coerce_bool(key: Key, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _expect("true or false", value)
    return value


def coerce_choice(key: Key, value: Any) -> str:
    if isinstance(value, str) and value in key.choices:
        return value
    if not isinstance(value, str):
        raise _expect(f"one of {', '.join(key.choices)}", value)
    exact = value.strip().lower()         # 'Adam', 'LM ': names are lower case
    hint = f" (did you mean {exact!r}?)" if exact in key.choices else did_you_mean(exact, key.choices)
    raise BadValue(f"unknown {key.noun or 'value'} {value!r}{hint}; choose one of {', '.join(key.choices)}")


def _items(value: Any, expected: str) -> list:
    if not isinstance(value, (list, tuple)) or not value:
        raise _expect(expected, value)
    return list(value)


def coerce_str_list(key: Key, value: Any) -> tuple[str, ...]:
    expected = "a column name or a non-empty list of column names"
    items = [value] if isinstance(value, (str, int)) and not isinstance(value, bool) else _items(value, expected)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(coerce_str(key, item))
        except BadValue as bad:
            raise BadValue(bad.message, at=f"[{i}]" if isinstance(value, (list, tuple)) else "") from None
    return tuple(out)


def coerce_int_list(key: Key, value: Any) -> tuple[int, ...]:
    each = _range_phrase(key, True).split(" ", 1)[1]        # "a positive integer" -> "positive integer"
    items = _items(value, f"a non-empty list of {each}s")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(coerce_int(key, item))
        except BadValue as bad:
            raise BadValue(bad.message, at=f"[{i}]") from None
    return tuple(out)


def coerce_choice_list(key: Key, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise _expect(f"a list of {', '.join(key.choices)}", value)
    out: list[str] = []
    for i, item in enumerate(value):
        try:
            choice = coerce_choice(key, item)
        except BadValue as bad:
            raise BadValue(bad.message, at=f"[{i}]") from None
        if choice not in out:
            out.append(choice)
    return tuple(out)


def coerce_sheet(key: Key, value: Any) -> str | int:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise _expect("a sheet name or a position (1 = first)", value)


def coerce_iso_date(key: Key, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    raise _expect("an ISO date such as 2024-01-31, or null", value)


def _range_json(check: Any) -> dict:
    if not isinstance(check, Range):
        return {}
    out: dict[str, float] = {}
    if check.low is not None:
        out["exclusiveMinimum" if check.low_open else "minimum"] = check.low
    if check.high is not None:
        out["exclusiveMaximum" if check.high_open else "maximum"] = check.high
    return out


def _string_json(key: Key) -> dict:
    out: dict[str, Any] = {"type": ["string", "integer"]}
    if isinstance(key.check, Pattern):
        out["pattern"] = f"^(?:{key.check.regex})$"
    return out


Coerce = Callable[[Key, Any], Any]
KINDS: dict[str, tuple[Coerce, Callable[[Key], dict]]] = {
    "str": (coerce_str, _string_json),
    "int": (coerce_int, lambda k: {"type": "integer", **_range_json(k.check)}),
    "number": (coerce_number, lambda k: {"type": "number", **_range_json(k.check)}),
    "bool": (coerce_bool, lambda k: {"type": "boolean"}),
    "choice": (coerce_choice, lambda k: {"enum": list(k.choices)}),
    "str_list": (coerce_str_list, lambda k: {"anyOf": [{"type": ["string", "integer"]}, {
        "type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1}]}),
    "int_list": (coerce_int_list, lambda k: {"type": "array", "minItems": 1,
                                             "items": {"type": "integer", **_range_json(k.check)}}),
    "choice_list": (coerce_choice_list, lambda k: {"type": "array", "items": {"enum": list(k.choices)}}),
    "sheet": (coerce_sheet, lambda k: {"anyOf": [{"type": "string", "minLength": 1},
                                                 {"type": "integer", "minimum": 1}]}),
    "iso_date": (coerce_iso_date, lambda k: {"anyOf": [{"type": "string", "format": "date"},
                                                       {"type": "null"}]}),
}


def coerce(key: Key, value: Any) -> Any:
    """The normalised value for ``key``; ``BadValue`` with the message when it does not fit."""
    return KINDS[key.kind][0](key, value)


def fragment(key: Key) -> dict:
    """The JSON Schema of one value of ``key``'s kind (without description or default)."""
    return KINDS[key.kind][1](key)
