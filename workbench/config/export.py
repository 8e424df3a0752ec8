"""The config written out: JSON Schema, YAML text and a key reference, all from the schema table.

* ``json_schema()``: a JSON Schema (draft 2020-12) for editors. It is generated from the same
  rows that validate, and is slightly stricter than validation where YAML is lenient (numbers
  must be YAML numbers: ``1.0e-3`` rather than ``1e-3``) and more lenient where a rule spans
  sections (cross-key rules such as "init within [min, max]" are not expressed).
* ``to_yaml(config_or_raw)``: a resolved ``Config`` (defaults filled in) or a raw mapping as
  YAML text, keys in schema order; ``data.path`` is written as it is stored.
* ``key_reference()``: every key with its type, default and help, for ``workbench validate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from workbench.config.schema import BY_PATH, CHILDREN, ROOT, SCHEMA, Derived, Key, Range
from workbench.config.sections import Config
from workbench.config.values import fragment

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _plain(value: Any) -> Any:
    """Tuples, paths and nested mappings as plain YAML/JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _default(key: Key) -> Any:
    return key.default.otherwise if isinstance(key.default, Derived) else _plain(key.default)


def _nullable(schema: dict) -> dict:
    """``null`` means "not given" in a config, so every optional key accepts it."""
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return {**schema, "type": [*kinds, "null"]}
    return {**schema, "anyOf": [*schema.get("anyOf", []), {"type": "null"}]}


def _applicability(child: Key) -> dict:
    """'``child`` only when a sibling has one of some values', as if/then (absent sibling: allowed)."""
    sibling = child.when.path.rpartition(".")[2]
    return {"if": {"properties": {sibling: {"not": {"enum": [*child.when.values, None]}}},
                   "required": [sibling]},
            "then": {"not": {"required": [child.name]}}}


def _section_schema(key: Key) -> dict:
    children = CHILDREN[key.path]
    out: dict[str, Any] = {"type": "object", "properties": {c.name: _node(c) for c in children},
                           "additionalProperties": False}
    required = [c.name for c in children if c.required]
    if required:
        out["required"] = required
    if key.one_of:
        out["oneOf"] = [{"required": [name]} for name in key.one_of]
    rules = [_applicability(c) for c in children
             if c.when is not None and c.when.path.rpartition(".")[0] == key.path]
    if rules:
        out["allOf"] = rules
    if key.shorthand is not None:
        short = fragment(BY_PATH[f"{key.path}.{key.shorthand}".lstrip(".")])
        out = {"anyOf": [short, out]}
    return out


def _node(key: Key) -> dict:
    if key.kind == "section":
        out = _section_schema(key)
    elif key.kind == "map":
        out = {"type": "object", "additionalProperties": _node(BY_PATH[f"{key.path}.*"])}
        if key.names is not None:
            out["propertyNames"] = {"pattern": f"^(?:{key.names.regex})$"}
    else:
        out = fragment(key)
    if key.help:
        out = {"description": key.help, **out}
    if key.default is not None:
        out["default"] = _default(key)
    return out if key.required or key.name == "*" else _nullable(out)


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a fit config."""
    root = _section_schema(ROOT)
    root["properties"] = {"base": _BASE_SCHEMA, **root["properties"]}
    return {"$schema": SCHEMA_DIALECT, "title": "workbench fit config", "description": ROOT.help, **root}


_BASE_SCHEMA = {   # read by config/inherit.py before validation, so it has no row in the schema table
    "description": "Config file(s) this one starts from, relative to this file; merged key by key, "
                   "this file wins.",
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}


def _ordered(value: Any, key: Key | None) -> Any:
    """``value`` with mapping keys in schema order (unknown keys last, as they were)."""
    if not isinstance(value, Mapping) or key is None or key.kind not in ("section", "map"):
        return _plain(value)
    if key.kind == "map":
        item = BY_PATH[f"{key.path}.*"]
        return {str(k): _ordered(v, item) for k, v in value.items()}
    rank = {c.name: i for i, c in enumerate(CHILDREN[key.path])}
    names = sorted(value, key=lambda k: rank.get(str(k), len(rank)))
    prefix = f"{key.path}." if key.path else ""
    return {str(k): _ordered(value[k], BY_PATH.get(prefix + str(k))) for k in names}


def to_yaml(config_or_raw: Config | Mapping) -> str:
    """YAML text of a resolved ``Config`` or of a raw config mapping (keys in schema order)."""
    import yaml

    mapping = config_or_raw.resolved if isinstance(config_or_raw, Config) else config_or_raw
    return yaml.safe_dump(_ordered(mapping, ROOT), sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)


def _type_text(key: Key) -> str:
    if key.kind in ("choice", "choice_list"):
        text = " | ".join(key.choices)
        return f"list of {text}" if key.kind == "choice_list" else text
    if key.kind in ("int", "number", "int_list"):
        phrase = (key.check if isinstance(key.check, Range) else Range()).describe(key.kind != "number")
        return f"list of {phrase.split(' ', 1)[1]}s" if key.kind == "int_list" else phrase.split(" ", 1)[1]
    words = {"str": "text", "bool": "true | false", "section": "section", "map": "mapping",
             "str_list": "column or list of columns", "sheet": "name or position (1 = first)",
             "iso_date": "ISO date or null"}
    text = words[key.kind]
    return f"{text} or {key.shorthand}" if key.shorthand else text


def key_reference() -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) for every key, in schema order; ``*`` stands for any name."""
    rows = []
    for key in SCHEMA:
        default = "" if key.default is None else str(_default(key))
        if key.required:
            default = "(required)"
        if key.when is not None:
            default = f"{default}; {key.when.explain()}".lstrip("; ")
        rows.append((key.path, _type_text(key), default, key.help))
    return rows


def format_key_reference() -> str:
    """``key_reference()`` as aligned plain text."""
    rows = key_reference()
    width = max(len(r[0]) for r in rows)
    lines = []
    for path, kind, default, text in rows:
        extra = f" [{default}]" if default else ""
        lines.append(f"{path:<{width}}  {kind}{extra}\n{'':<{width}}  {text}".rstrip())
    return "\n".join(lines) + "\n"
