"""The learner's path: each step's test runs on the learner's solution, ``docs/learn/mine/stepN.py``,
when it exists, and on the reference solution in ``docs/learn/solutions/`` otherwise."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

LEARN = Path(__file__).resolve().parent


def load_step(number: int):
    """The module for step ``number``: the learner's if written, else the reference solution."""
    mine = LEARN / "mine" / f"step{number}.py"
    path = mine if mine.exists() else LEARN / "solutions" / f"step{number}.py"
    folder = str(path.parent)
    if folder not in sys.path:        # a step may import an earlier one (step5 imports step3)
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"learn_step{number}_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def step():
    return load_step
