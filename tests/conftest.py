"""Shared test set-up: make the helper modules in tests/ importable, and keep plots headless."""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

os.environ.setdefault("MPLBACKEND", "Agg")
