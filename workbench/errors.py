"""The workbench's error types, each tied to the exit status it means.

Exit codes are part of the interface (see README): 0 success, 1 a check or a sweep member
failed, 2 bad input, 3 diverged, 4 not converged under ``--strict``, 5 drift against the
history, 70 an internal error (a bug: ``--debug`` shows the traceback), 74 the machine failed
the job (disk full, an output location that cannot be written, for every command), 75 another
run holds the lock,
130 interrupted. The CLI turns any ``WorkbenchError`` into one line on stderr and its exit code;
a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_NOT_CONVERGED = 4
EXIT_DRIFT = 5
EXIT_INTERNAL = 70          # sysexits' EX_SOFTWARE
EXIT_IO = 74                # sysexits' EX_IOERR
EXIT_LOCKED = 75            # sysexits' EX_TEMPFAIL
EXIT_INTERRUPTED = 130      # 128 + SIGINT, as shells report it


class WorkbenchError(Exception):
    """Base class: carries the exit code the CLI should return."""

    exit_code = EXIT_FAILED


class InputError(WorkbenchError, ValueError):
    """Bad input: a config, data file, formula or option that cannot be used.

    The message is one line naming where the problem is: the file, the config key
    (dotted path), the column or the spreadsheet row. ``where`` is prefixed to it.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        self.detail = message               # the message without ``where``
        super().__init__(f"{where}: {message}" if where else message)


class DivergedError(WorkbenchError):
    """The loss became NaN or infinite; the last finite parameters are kept."""

    exit_code = EXIT_DIVERGED


class NotConvergedError(WorkbenchError):
    """Raised only under ``--strict`` when the optimizer stopped without converging."""

    exit_code = EXIT_NOT_CONVERGED


class DriftError(WorkbenchError):
    """The fit completed, but its parameters or metrics moved beyond the history's threshold."""

    exit_code = EXIT_DRIFT


class InfrastructureError(WorkbenchError):
    """The machine failed the job (disk full, store unwritable), not the input."""

    exit_code = EXIT_IO


class OutputError(InfrastructureError):
    """An output file or folder could not be written: a full disk, a read-only or unwritable
    location, one that cannot be created. Raised by ``workbench.atomic`` for every command, so
    that one rule holds everywhere: exit 74 and one line ``cannot write <file>: <reason>``
    (``consequence`` adds what became of the earlier outputs)."""

    def __init__(self, path, reason: str, consequence: str | None = None):
        self.path = path
        self.reason = reason
        self.consequence = consequence
        super().__init__(f"cannot write {path}: {reason}" + (f"; {consequence}" if consequence else ""))

    @classmethod
    def from_os_error(cls, path, err: OSError) -> "OutputError":
        return cls(path, err.strerror or str(err) or type(err).__name__)


class InterruptedRun(WorkbenchError):
    """SIGINT or SIGTERM stopped the run; what was safely written is named in the message."""

    exit_code = EXIT_INTERRUPTED


class LockedError(WorkbenchError):
    """Another process holds the lock on this sweep."""

    exit_code = EXIT_LOCKED


def did_you_mean(name: str, choices) -> str:
    """A ' (did you mean X?)' suffix for the closest choice, or '' when none is close."""
    import difflib

    name = str(name)
    if len(name) > _LONGEST_SUGGESTED:      # difflib is quadratic; a long text is no typo of a name
        return ""
    close = difflib.get_close_matches(name, [str(c) for c in choices if len(str(c)) <= _LONGEST_SUGGESTED],
                                      n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" (did you mean {close[0]!r}?)"
    return " (did you mean " + ", ".join(repr(c) for c in close[:-1]) + f" or {close[-1]!r}?)"


_LONGEST_SUGGESTED = 200


def env_limit(name: str, default: int) -> int:
    """A size limit: the environment variable ``name`` (a positive integer) or ``default``.

    Limits on what a config may contain are set by whoever runs the workbench, never by the
    config itself, so a hostile file cannot lift its own limits. ``0`` is not accepted: a limit
    of nothing would refuse every input.
    """
    import os

    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise InputError(f"must be a positive whole number, got {os.environ[name]!r}",
                         where=f"environment variable {name}")
    return int(text)
