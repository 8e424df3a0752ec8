"""Stand-in runners for the sweep tests, importable by worker processes (local and Dask),
and the small helpers the sweep tests share (a real config and data, store and marker readers).

A runner gets the ``RunTask`` and a folder and returns ``result.json``'s payload, like the real
``fit_runner``. These score a run from its overrides so the tests know the right ranking:
``loss = |log10(optimizer.lr) + 2|`` (best at lr = 0.01). ``optimizer.max_steps`` selects a
failure: 13 raises ``DivergedError`` (after writing result.json), 17 raises a plain bug, 666
kills the worker process; ``hungry`` adds 99 (asks for 64 GiB) and 98 (never ends). Every execution leaves a marker file in ``$WORKBENCH_TEST_MARKERS``
so tests can count how often each run really executed.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from workbench.errors import DivergedError

MARKERS_ENV = "WORKBENCH_TEST_MARKERS"
SLEEP_ENV = "WORKBENCH_TEST_SLEEP"


def _mark(task) -> None:
    folder = os.environ.get(MARKERS_ENV)
    if folder:
        Path(folder, f"{task.key}.{os.getpid()}.{uuid.uuid4().hex[:6]}").touch()


def score(overrides: dict) -> float:
    return abs(math.log10(float(overrides.get("optimizer.lr", 1.0))) + 2.0)


def scored(task, out_dir: Path) -> dict:
    _mark(task)
    loss = score(task.overrides)
    steps = task.overrides.get("optimizer.max_steps")
    result = {"name": task.name, "loss": loss, "val_loss": None, "converged": True, "iterations": 5,
              "elapsed_s": 0.001, "metrics": {"n": 10, "r2": 1.0 - loss / 10, "rmse": math.sqrt(loss)},
              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}
    (out_dir / "result.json").write_text(json.dumps(result))
    (out_dir / "history.csv").write_text("step,loss\n" + "".join(
        f"{i},{loss + 2.0 ** -i}\n" for i in range(6)))
    if steps == 13:
        raise DivergedError("the fit diverged at step 13: the loss became NaN")
    if steps == 17:
        raise ZeroDivisionError("float division by zero\nsecond line")
    if steps == 666:
        os._exit(9)
    return result


def hungry(task, out_dir: Path) -> dict:
    """``optimizer.max_steps`` 99 asks for 64 GiB; 98 never ends; the others score as usual."""
    steps = task.overrides.get("optimizer.max_steps")
    if steps == 99:
        import numpy as np

        np.ones(1 << 36, dtype=np.uint8)
    if steps == 98:
        while True:
            time.sleep(0.01)
    return scored(task, out_dir)


def sleepy(task, out_dir: Path) -> dict:
    time.sleep(float(os.environ.get(SLEEP_ENV, "0.3")))
    return scored(task, out_dir)


DECAY = """
    name: decay
    data:
      path: decay.csv
    model:
      formula: "y ~ a * exp(-b * x) + c"
    params:
      a: 1.0
      b: {init: 0.1, min: 0}
      c: 0.0
    loss: mse
    optimizer:
      name: gd                # reads optimizer.lr, which the stand-in runners score by (lm would drop it)
      max_steps: 1000
    seed: 0
"""


def make_sweep(folder: Path, space: str, extra: str = "", name: str = "sweep.yaml") -> Path:
    """decay.csv, decay.yaml and a sweep file over ``space`` (YAML lines) writing to ``out/``."""
    import numpy as np

    x = np.linspace(0, 8, 30)
    rows = "\n".join(f"{xi:.4f},{3.2 * np.exp(-0.45 * xi) + 0.8:.5f}" for xi in x)
    (folder / "decay.csv").write_text("x,y\n" + rows + "\n")
    (folder / "decay.yaml").write_text(textwrap.dedent(DECAY).lstrip())
    path = folder / name
    path.write_text(f"name: t\nbase: decay.yaml\noutput: out\nspace:\n{textwrap.indent(space.strip(), '  ')}\n"
                    + textwrap.dedent(extra))
    return path


def executions(markers: Path) -> Counter:
    """How many times each run key was executed (one marker per execution)."""
    return Counter(p.name.split(".")[0] for p in markers.iterdir())


def store_rows(out: Path) -> dict:
    """The run store's rows by key, read with plain sqlite3."""
    with sqlite3.connect(out / "runs.sqlite") as conn:
        rows = conn.execute("SELECT key, status, attempts, error, metrics, overrides FROM runs").fetchall()
    return {r[0]: {"status": r[1], "attempts": r[2], "error": r[3], "metrics": json.loads(r[4] or "null"),
                   "overrides": json.loads(r[5])} for r in rows}


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    """A folder collecting one marker per execution, passed to the workers by environment."""
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv(MARKERS_ENV, str(folder))
    return folder


def quiet_run(path: Path, runner: str = "sweep_runners:scored", workers: int = 2, **options):
    """``run_sweep`` in-process with a stand-in runner."""
    from workbench.sweep.orchestrator import run_sweep
    from workbench.sweep.plan import plan_sweep

    return run_sweep(plan_sweep(path), quiet=True, runner=runner, workers=workers, **options)
