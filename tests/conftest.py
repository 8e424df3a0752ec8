"""Shared test set-up: make the helper modules in tests/ importable, and keep plots headless."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def cluster():
    """A LocalCluster of two worker processes, shared by the tests of one test process (starting
    one takes seconds)."""
    import distributed
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as running:
        yield running
