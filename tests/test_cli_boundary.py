"""The CLI's one failure boundary: every way a command can end is one line and a documented status.

Expected failures print ``error: ...`` and their own code; an unexpected exception prints one line
naming its type and message, points to ``--debug``, and exits 70; ``--debug`` shows the traceback
with the same status. The README's table lists every status the CLI can return.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

import workbench.config
from cli_helpers import run_cli
from workbench import errors
from workbench.errors import (EXIT_INTERNAL, EXIT_IO, DivergedError, DriftError, InfrastructureError,
                              InputError, InterruptedRun, LockedError, NotConvergedError)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    path = tmp_path / "c.yaml"
    path.write_text("data: d.csv\nmodel: {formula: 'y ~ a * x'}\n")
    return path


def _raising(monkeypatch, exc: BaseException) -> None:
    def load_config(*args, **kwargs):
        raise exc

    monkeypatch.setattr(workbench.config, "load_config", load_config)


def _one_line(stderr: str) -> str:
    stderr = stderr.lstrip("\n")          # click starts a fresh line after the ^C of an interrupt
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr.strip()


def test_unexpected_exception_is_one_line_naming_it_and_exits_70(monkeypatch, config):
    _raising(monkeypatch, ZeroDivisionError("float division by zero"))
    proc = run_cli("validate", str(config))
    assert proc.returncode == EXIT_INTERNAL == 70
    assert _one_line(proc.stderr) == ("error: internal error: ZeroDivisionError: float division by zero "
                                      "(run `workbench --debug ...` to see the traceback)")


def test_debug_shows_the_traceback_with_the_same_status(monkeypatch, config):
    _raising(monkeypatch, KeyError("boom"))
    proc = run_cli("--debug", "validate", str(config))
    assert proc.returncode == 70
    assert "Traceback (most recent call last)" in proc.stderr and "KeyError: 'boom'" in proc.stderr


@pytest.mark.parametrize("exc, line", [
    (MemoryError(), "error: internal error: out of memory (MemoryError)"),
    (RecursionError("maximum recursion depth exceeded"), "error: internal error: nested too deeply (RecursionError)"),
])
def test_memory_and_recursion_errors_are_one_line(monkeypatch, config, exc, line):
    _raising(monkeypatch, exc)
    proc = run_cli("validate", str(config))
    assert proc.returncode == 70
    assert _one_line(proc.stderr).startswith(line)


def test_disk_full_escaping_a_command_exits_74_naming_the_file(monkeypatch, config):
    _raising(monkeypatch, OSError(errno.ENOSPC, "No space left on device", "reports/x/result.json"))
    proc = run_cli("validate", str(config))
    assert proc.returncode == EXIT_IO == 74
    assert _one_line(proc.stderr) == "error: cannot write reports/x/result.json: No space left on device"


def test_multi_line_messages_are_folded_into_one_line(monkeypatch, config):
    _raising(monkeypatch, ValueError("first line\nsecond line\n   third"))
    proc = run_cli("validate", str(config))
    assert _one_line(proc.stderr).startswith("error: internal error: ValueError: first line second line third")


@pytest.mark.parametrize("exc, status", [
    (InputError("bad", where="c.yaml: seed"), 2), (DivergedError("diverged at step 3"), 3),
    (NotConvergedError("not converged"), 4), (DriftError("drifted"), 5),
    (InfrastructureError("store unwritable"), 74), (LockedError("locked"), 75),
    (InterruptedRun("interrupted; last parameters in x"), 130), (KeyboardInterrupt(), 130),
])
def test_each_expected_failure_has_its_status_and_one_line(monkeypatch, config, exc, status):
    _raising(monkeypatch, exc)
    proc = run_cli("validate", str(config))
    assert proc.returncode == status
    line = _one_line(proc.stderr)
    assert "--debug" not in line and "internal error" not in line
    assert line == (f"error: {exc}" if status != 130 or str(exc) else "interrupted")


def test_usage_errors_exit_2_in_one_line(tmp_path):
    proc = run_cli("fit", "--no-such-option", "x.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert _one_line(proc.stderr).endswith("(see --help)")
    proc = run_cli("no-such-command", cwd=tmp_path)
    assert proc.returncode == 2 and _one_line(proc.stderr).startswith("error:")


def test_readme_exit_table_lists_every_status_the_cli_can_return():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Exit codes"):]
    table = table[:table.index("\n## ", 5)]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    defined = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert documented == defined == {0, 1, 2, 3, 4, 5, 70, 74, 75, 130}
