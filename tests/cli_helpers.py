"""Running the CLI in tests: in-process through click's runner, or as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            process: bool = False) -> subprocess.CompletedProcess:
    """``workbench ARGS`` as a user would run it; returns what a finished process would.

    In-process by default (the same ``main`` the console script calls, with its exit status,
    stdout and stderr captured): a subprocess costs a Python start-up and the imports each time.
    ``process=True`` runs a real ``python -m workbench`` for what only a process shows (signals,
    locks, start-up imports).
    """
    if process:
        return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd or ROOT, capture_output=True,
                              text=True, timeout=timeout)
    return _run_in_process(list(args), Path(cwd or ROOT))


def _run_in_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    import workbench.cli as cli

    if hasattr(cli, "STATE"):
        cli.STATE.debug = False
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    status = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(args)
            except SystemExit as stop:
                code = stop.code
                status = code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["workbench", *args], status, out.getvalue(), err.getvalue())


def write_config(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_csv(folder: Path, name: str, header: str, rows) -> Path:
    path = folder / name
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return path


DECAY_CONFIG = """
    data: {path: decay.csv}
    model: {formula: "y ~ a * exp(-b * x) + c"}
    params: {a: 1.0, b: {init: 0.1, min: 0}, c: 0.0}
    output: {formats: [], plots: false}
"""


def write_decay_project(folder: Path, configs: dict[str, str] | None = None, rows: int = 30) -> Path:
    """``decay.csv`` (y = 3.2·exp(−0.45·x) + 0.8, no noise) and configs by file name
    (default: ``config.yaml`` fitting it quickly, no pictures); returns ``folder``."""
    import numpy as np

    x = np.linspace(0, 8, rows)
    write_csv(folder, "decay.csv", "x,y", ((f"{v:.4f}", f"{3.2 * np.exp(-0.45 * v) + 0.8:.5f}") for v in x))
    for name, text in (configs or {"config.yaml": DECAY_CONFIG}).items():
        write_config(folder, text, name)
    return folder


def run_main(*args: str) -> int:
    """``workbench ARGS`` through ``main`` in this process, output left to pytest's capture
    (so a test can read it with capsys, or swap an engine primitive first); returns the exit status."""
    from workbench.cli import main

    try:
        main(list(args))
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    raise AssertionError("workbench's main returned without an exit status")
