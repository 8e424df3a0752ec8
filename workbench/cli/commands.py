"""The list of subcommands, in the order ``workbench --help`` shows them.

A command module that is not written yet is simply skipped, so the CLI keeps working while
the project grows.
"""

from __future__ import annotations

import importlib

_MODULES = ("fit", "validate", "init", "schema", "check", "graph", "sweep", "runs")

COMMANDS = []
for _name in _MODULES:
    try:
        _module = importlib.import_module(f"workbench.cli.{_name}_cmd")
    except ModuleNotFoundError as _err:
        if _err.name != f"workbench.cli.{_name}_cmd":
            raise
        continue
    COMMANDS.append(_module.command)
