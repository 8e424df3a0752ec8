"""The subcommands, in the order ``workbench --help`` lists them.

Each module imports only click at import time; a command imports what it needs when it runs.
"""

from __future__ import annotations

from workbench.cli import (check_cmd, fit_cmd, graph_cmd, history_cmd, init_cmd, predict_cmd, runs_cmd, schema_cmd,
                           sweep_cmd, validate_cmd)

COMMANDS = [module.command for module in (fit_cmd, predict_cmd, validate_cmd, check_cmd, graph_cmd, sweep_cmd, runs_cmd,
                                          history_cmd, init_cmd, schema_cmd)]
