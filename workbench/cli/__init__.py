"""The ``workbench`` command line: one small module per command.

Every command module imports only click at import time; the work (pandas, matplotlib, the
engine) is imported inside the command, so ``workbench --help`` starts fast.

Errors: a ``WorkbenchError`` becomes one line on stderr and its exit code (see
``workbench.errors``); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import click

from workbench import __version__
from workbench.errors import EXIT_BAD_INPUT, WorkbenchError


class _State:
    debug = False


STATE = _State()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Fit models to spreadsheet data from YAML configs, check gradients, run sweeps."""
    STATE.debug = debug


def _register() -> None:
    from workbench.cli import commands  # noqa: F401  (registers the subcommands)

    for command in commands.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and map errors to exit codes."""
    _register()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        STATE.debug = True
    try:
        status = cli.main(args=args, prog_name="workbench", standalone_mode=False)
    except WorkbenchError as err:
        if STATE.debug:
            raise
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as err:
        # One line, like every other bad-input error; `--help` shows the usage.
        where = f"{err.ctx.command_path}: " if err.ctx is not None else ""
        click.echo(f"error: {where}{err.format_message()} (see --help)", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT if err.exit_code == 2 else err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
