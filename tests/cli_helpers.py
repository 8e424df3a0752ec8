"""Running the CLI in tests: in-process through click's runner, or as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m workbench ARGS`` as a user would run it; returns the completed process."""
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout)


def write_config(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_csv(folder: Path, name: str, header: str, rows) -> Path:
    path = folder / name
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return path
