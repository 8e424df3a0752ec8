"""A fit stopped from outside keeps its last point: SIGINT and SIGTERM write it with the status
"interrupted" (exit 130), a time limit with the status "timeout" (exit 4), and no result.json
from an earlier run is left looking current."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import DECAY_CONFIG, ROOT, run_cli, write_decay_project

ENDLESS = """
    data: {path: decay.csv}
    model: {formula: "y ~ a * exp(-b * x) + c"}
    params: {a: 1.0, b: {init: 0.1, min: 0}, c: 0.0}
    optimizer: {name: adam, lr: 1.0e-7, max_steps: 1000000000, ftol: 0, gtol: 0, xtol: 0}
    output: {formats: [], plots: false}
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_decay_project(tmp_path, {"endless.yaml": ENDLESS, "quick.yaml": DECAY_CONFIG})


def _result(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


def test_sigint_in_process_writes_the_last_point_as_interrupted_over_the_previous_result(folder, monkeypatch):
    from workbench.pipeline import fit

    assert run_cli("fit", "quick.yaml", "--out", "out", "--no-reports", cwd=folder).returncode == 0
    assert _result(folder / "out")["status"] == "converged"
    original = fit._Monitor.__call__

    def interrupt_at_step_50(self, step, x, loss):
        if step == 50:
            os.kill(os.getpid(), signal.SIGINT)      # delivered to this (main) thread's handler
        return original(self, step, x, loss)

    monkeypatch.setattr(fit._Monitor, "__call__", interrupt_at_step_50)
    proc = run_cli("fit", "endless.yaml", "--out", "out", "--no-reports", cwd=folder)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted by SIGINT" in proc.stderr and "result.json" in proc.stderr
    result = _result(folder / "out")
    assert result["status"] == "interrupted" and result["converged"] is False
    assert 50 <= result["iterations"] <= 52
    assert result["name"] == "endless"          # the old, converged result is gone, not left looking current
    manifest = json.loads((folder / "out" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not list(folder.glob(".out.wb-*"))


def test_sigterm_to_a_real_fit_exits_130_with_the_last_point(folder):
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "fit", "endless.yaml", "--out", "out"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(4.0)     # imports, preparation, then the endless fit is under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted by SIGTERM" in err
    result = _result(folder / "out")
    assert result["status"] == "interrupted" and result["iterations"] > 0
    assert set(result["params"]) == {"a", "b", "c"}


def test_timeout_stops_the_fit_keeping_its_last_point_with_exit_4(folder):
    proc = run_cli("fit", "endless.yaml", "--out", "out", "--timeout", "0.5", cwd=folder)
    assert proc.returncode == 4, proc.stderr
    assert "time limit" in proc.stderr and "timeout 0.5 s" in proc.stderr
    result = _result(folder / "out")
    assert result["status"] == "timeout" and result["converged"] is False and result["iterations"] > 0


def test_bad_limit_values_are_bad_input(folder):
    proc = run_cli("fit", "quick.yaml", "--out", "out", "--max-memory", "lots", cwd=folder)
    assert proc.returncode == 2 and "--max-memory" in proc.stderr and "2GB" in proc.stderr
    assert not (folder / "out").exists()


def test_a_fit_over_its_memory_limit_exits_2_naming_max_memory_and_keeps_old_outputs(folder, monkeypatch):
    from workbench.pipeline import fit

    assert run_cli("fit", "quick.yaml", "--out", "out", "--no-reports", cwd=folder).returncode == 0
    before = (folder / "out" / "result.json").read_bytes()

    def allocate_too_much(self, step, x, loss):
        raise MemoryError()     # what numpy raises under RLIMIT_AS

    monkeypatch.setattr(fit._Monitor, "__call__", allocate_too_much)
    proc = run_cli("fit", "endless.yaml", "--out", "out", "--max-memory", "1GB", cwd=folder)
    assert proc.returncode == 2, proc.stderr
    assert "max_memory" in proc.stderr and "1 GB" in proc.stderr
    assert (folder / "out" / "result.json").read_bytes() == before


def test_memory_limit_caps_the_address_space_and_is_lifted_afterwards():
    import resource

    from workbench.pipeline.limits import memory_limit

    before = resource.getrlimit(resource.RLIMIT_AS)
    with memory_limit(64 << 20):
        with pytest.raises(MemoryError):
            np.ones(1 << 30, dtype=np.uint8)        # 1 GiB, far beyond 64 MiB of headroom
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert np.ones(1 << 27, dtype=np.uint8).sum() == 1 << 27
