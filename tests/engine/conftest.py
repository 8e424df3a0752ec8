"""Engine test set-up: make the helper modules in tests/engine/ (engine_reference) importable."""

from __future__ import annotations

import sys
from pathlib import Path

ENGINE_TESTS_DIR = Path(__file__).resolve().parent
if str(ENGINE_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(ENGINE_TESTS_DIR))
