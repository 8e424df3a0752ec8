"""The YAML config contract: reading, ``--set`` overrides, validation, JSON Schema.

Public API (other modules code against these names)::

    load_config(path, overrides=()) -> Config       # read YAML (base: merged, ${VAR}), apply --set, validate
    read_config_mapping(path) -> dict               # the raw mapping a file stands for (bases, ${VAR})
    load_yaml_file(path, limits=None, noun=...)     # any YAML file under the limits (sweep files too)
    parse_config(raw, *, base_dir, source="<config>", default_name="run") -> Config
    parse_set_option("optimizer.lr=0.01") -> ("optimizer.lr", 0.01)
    apply_overrides(raw, {"optimizer.lr": 0.01}) -> dict
    check_key("optimizer.lr", raw=None)             # InputError with a did-you-mean if not a key
    json_schema() -> dict                           # JSON Schema, draft 2020-12
    to_yaml(config_or_raw) -> str
    key_reference() / format_key_reference()       # every key with type, default and help

Every bad input is an ``InputError`` whose one-line message names the file and the dotted key,
e.g. ``decay.yaml: optimizer.lr: must be a positive number, got -0.01``. All keys, their
types, defaults and checks live in one table, ``workbench.config.schema.SCHEMA``.
"""

from workbench.config.export import format_key_reference, json_schema, key_reference, to_yaml
from workbench.config.inherit import read_config_mapping
from workbench.config.load import load_config, parse_config, read_yaml
from workbench.config.reader import YamlLimits, load_yaml_file, load_yaml_text
from workbench.config.overrides import apply_overrides, check_key, parse_set_option
from workbench.config.sections import (Config, DataConfig, LossConfig, ModelConfig, OptimizerConfig,
                                       OutputConfig, ParamSpec)

__all__ = [
    "Config", "DataConfig", "ModelConfig", "ParamSpec", "LossConfig", "OptimizerConfig", "OutputConfig",
    "load_config", "parse_config", "read_yaml", "read_config_mapping", "load_yaml_file", "load_yaml_text",
    "YamlLimits", "parse_set_option", "apply_overrides", "check_key",
    "json_schema", "to_yaml", "key_reference", "format_key_reference",
]
