"""The ``workbench`` command line: one small module per command.

Every command module imports only click at import time; the work (pandas, matplotlib, the
engine) is imported inside the command, so ``workbench --help`` starts fast.

Errors: ``main`` is the one failure boundary. A ``WorkbenchError`` becomes one line on stderr
and its exit code (see ``workbench.errors``); an unexpected exception becomes one line naming it
and exit 70; ``--debug`` adds the traceback. Outputs that the machine cannot take (a full disk, an
unwritable or uncreatable location) arrive here as ``OutputError`` from ``workbench.atomic``, the
one writer every command uses: exit 74 and ``cannot write <file>: <reason>``, whatever the
command. A machine ``OSError`` that escapes some other way ends the same (74).
"""

from __future__ import annotations

import sys

import click

from workbench import __version__
from workbench.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_IO, WorkbenchError


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
    """Console-script entry point: run the CLI; every way it can end is one exit status.

    This is the one failure boundary of the command line: expected failures (a ``WorkbenchError``,
    bad usage, an interrupt) print one line and exit with their documented code; anything else
    is a bug or a machine failure and prints one line naming the exception, then exits 70
    (``EXIT_INTERNAL``), or 74 (``EXIT_IO``) when the disk is full or unwritable. ``--debug``
    adds the traceback, and the exit status stays the same.
    """
    _register()
    args = list(sys.argv[1:] if argv is None else argv)
    STATE.debug = "--debug" in args
    try:
        status = cli.main(args=args, prog_name="workbench", standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as err:       # noqa: BLE001 - the boundary: everything ends in one line
        status = _report_failure(err)
    sys.exit(status if isinstance(status, int) else 0)


_MACHINE_ERRNOS = ("ENOSPC", "EDQUOT", "EROFS", "EIO")


def _report_failure(err: BaseException) -> int:
    """Print what ended the run (one line, or the traceback under ``--debug``); its exit status."""
    import errno

    if isinstance(err, BrokenPipeError):
        _silence_stdout()              # the reader went away (``| head``): nothing left to say
        return EXIT_IO
    status, line, unexpected = _classify(err, errno)
    if STATE.debug:
        import traceback

        traceback.print_exception(err)
    elif unexpected:
        line += " (run `workbench --debug ...` to see the traceback)"
    click.echo(line, err=True)
    return status


def _classify(err: BaseException, errno) -> tuple[int, str, bool]:
    """(exit status, the one line, whether it was unexpected) for an exception that ended a command."""
    if isinstance(err, WorkbenchError):
        return err.exit_code, f"error: {_one_line(str(err))}", False
    if isinstance(err, click.exceptions.Abort):     # click's form of Ctrl-C (or end of input at a prompt)
        interrupted = isinstance(err.__cause__ or err.__context__, KeyboardInterrupt)
        return EXIT_INTERRUPTED, "interrupted" if interrupted else "aborted", False
    if isinstance(err, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted", False
    if isinstance(err, click.UsageError):
        # One line, like every other bad-input error; `--help` shows the usage.
        where = f"{err.ctx.command_path}: " if err.ctx is not None else ""
        return EXIT_BAD_INPUT, f"error: {where}{_one_line(err.format_message())} (see --help)", False
    if isinstance(err, click.ClickException):
        status = EXIT_BAD_INPUT if err.exit_code == 2 else err.exit_code
        return status, f"error: {_one_line(err.format_message())}", False
    if isinstance(err, OSError) and errno.errorcode.get(err.errno or -1) in _MACHINE_ERRNOS:
        target = f" {err.filename}" if err.filename else ""
        return EXIT_IO, f"error: cannot write{target}: {err.strerror or err}", False
    if isinstance(err, MemoryError):
        return EXIT_INTERNAL, "error: internal error: out of memory (MemoryError)", True
    if isinstance(err, RecursionError):
        return EXIT_INTERNAL, "error: internal error: nested too deeply (RecursionError)", True
    detail = _one_line(str(err))
    return EXIT_INTERNAL, f"error: internal error: {type(err).__name__}" + (f": {detail}" if detail else ""), True


def _one_line(text: str, width: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[:width - 3] + "..."


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass             # stdout is not a real file (a test's buffer): nothing will flush to a pipe
