"""``--set KEY=VALUE`` overrides: parsing them, checking their keys, applying them to a mapping.

Keys are dotted paths of the schema (``optimizer.lr``, ``params.b.min``, ``data.columns.Old``);
values are read as YAML scalars or flow values (``0.01``, ``true``, ``[16, 8]``,
``{name: huber, delta: 2}``), with ``${VAR}`` and ``${VAR:-default}`` filled in from the
environment as in a config file (``inherit.interpolate``; ``$${`` is a literal ``${``); an empty
value means "not given" (the default applies). Sweeps use
the same functions for their ``space`` keys.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from workbench.config.inherit import interpolate
from workbench.config.reader import load_yaml_text, shorten
from workbench.config.schema import ROOT, Key, child_key, child_names
from workbench.config.validate import join, unknown_key_message
from workbench.config.values import show
from workbench.errors import InputError, did_you_mean

_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_set_option(text: str) -> tuple[str, Any]:
    """``"optimizer.lr=0.01"`` -> ``("optimizer.lr", 0.01)``; the value is read as YAML, under the
    same limits as a config file (size, depth, aliases, keys given twice)."""
    key, sep, value_text = text.partition("=")
    key = key.strip()
    shown = f"--set {shorten(text)}"
    if not sep or not key:
        raise InputError("expected KEY=VALUE, e.g. --set optimizer.lr=0.01", where=shown)
    if any(ch.isspace() for ch in key):
        raise InputError(f"a key has no spaces: {shorten(key)!r}", where=shown)
    if not value_text.strip():
        return key, None
    try:
        value = load_yaml_text(value_text, source="value")
    except InputError as err:
        hint = " (put quotes around a value with special characters)" if "syntax" in err.detail else ""
        detail = str(err).removeprefix("value: ")          # keeps the key inside the value, if any
        raise InputError(f"cannot read the value as YAML: {detail}{hint}", where=shown) from None
    return key, interpolate(value, shown, key)      # ${VAR} as in a config file's values


def _key_for(dotted: str) -> list[Key]:
    """The schema rows along ``dotted`` (one per part); ``InputError`` naming the first bad part."""
    parts = dotted.split(".")
    if not dotted or any(not part.strip() for part in parts):
        raise InputError("not a config key: expected a dotted path such as optimizer.lr", where=dotted or "''")
    rows, key, walked = [], ROOT, ""
    for part in parts:
        if key.kind not in ("section", "map"):
            raise InputError(f"{walked} holds a single value, so {dotted} cannot be set", where=dotted)
        if key.kind == "map" and key.names is not None and not key.names.holds(part):
            raise InputError(f"the name must be {key.names.meaning}", where=join(walked, part))
        child = child_key(key, part)
        if child is None:
            raise InputError(unknown_key_message(part, child_names(key)), where=join(walked, part))
        rows.append(child)
        key, walked = child, join(walked, part)
    return rows


def _formula_names(raw: Mapping) -> list[str] | None:
    model = raw.get("model")
    formula = model.get("formula") if isinstance(model, Mapping) else None
    if not isinstance(formula, str) or "~" not in formula:
        return None
    return list(dict.fromkeys(_NAME_TOKEN.findall(formula.split("~", 1)[1])))


def check_key(dotted: str, raw: Mapping | None = None) -> None:
    """``InputError`` (with a did-you-mean) unless ``dotted`` is a key a config accepts.

    Any name is accepted under ``params``, ``data.columns`` and ``data.dates``. Given the raw
    config, a parameter name that the formula does not contain but that is close to one it
    does (``params.alpah`` for ``alpha``) is taken for a typo.
    """
    _key_for(dotted)
    parts = dotted.split(".")
    names = _formula_names(raw) if raw is not None and parts[0] == "params" and len(parts) > 1 else None
    if names is not None and parts[1] not in names:
        hint = did_you_mean(parts[1], names)
        if hint:
            raise InputError(f"the formula has no name {parts[1]!r}{hint}", where=f"params.{parts[1]}")


def apply_overrides(raw: Mapping, overrides: Mapping[str, Any]) -> dict:
    """A deep copy of ``raw`` with each dotted key set to its value, in order.

    Missing sections are created; a section written as a scalar shorthand (``loss: mse``,
    ``a: 1.0`` under params) is expanded first, so ``loss.delta=2`` gives
    ``{name: mse, delta: 2}``.
    """
    result = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        rows = _key_for(dotted)
        parts = dotted.split(".")
        node, walked = result, ""
        for part, row in zip(parts[:-1], rows[:-1]):
            walked = join(walked, part)
            current = node.get(part)
            if current is None:
                current = {}
            elif isinstance(current, Mapping):
                current = dict(current)
            elif row.shorthand is not None:
                current = {row.shorthand: current}
            else:
                raise InputError(f"holds {show(current)}, which has no keys to set", where=walked)
            node[part] = current
            node = current
        node[parts[-1]] = copy.deepcopy(value)
    return result
