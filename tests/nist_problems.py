"""The NIST StRD nonlinear regression problems shipped in data/nist/, as fit configs.

Shared by the accuracy test (tests/test_nist.py), the benchmark (benchmarks/fit_bench.py) and the
generator of configs/nist/*.yaml.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NIST_DIR = ROOT / "data" / "nist"


def problem_names() -> list[str]:
    return sorted(p.stem for p in NIST_DIR.glob("*.json"))


def load_problem(name: str) -> dict:
    return json.loads((NIST_DIR / f"{name}.json").read_text())


def config_dict(problem: dict, start: str, data_path: str, **optimizer) -> dict:
    """A fit config for one problem from NIST's ``start1`` or ``start2``."""
    return {
        "name": f"{problem['name']}-{start}",
        "data": {"path": data_path},
        "model": {"formula": f"{problem['y_column']} ~ {problem['formula']}"},
        "params": {p: v for p, v in zip(problem["params"], problem[start])},
        "loss": "sse",
        "optimizer": {"name": "lm", **optimizer},
        "output": {"plots": False, "formats": []},
    }


def lre(estimate: float, certified: float) -> float:
    """Log relative error: the number of correct significant digits, capped at 11."""
    if estimate == certified:
        return 11.0
    if not math.isfinite(estimate):
        return 0.0
    rel = abs(estimate - certified) / abs(certified)
    return min(11.0, -math.log10(rel)) if rel > 0 else 11.0


def write_example_configs(folder: Path = ROOT / "configs" / "nist") -> list[Path]:
    """Write configs/nist/<NAME>.yaml (NIST's far start; the near one in a comment)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in problem_names():
        problem = load_problem(name)
        raw = config_dict(problem, "start1", f"../../data/nist/{name}.csv")
        raw["name"] = name.lower()
        raw["output"] = {"dir": f"../../reports/nist/{name.lower()}"}
        near = ", ".join(f"{p}: {v}" for p, v in zip(problem["params"], problem["start2"]))
        certified = ", ".join(f"{p}: {v}" for p, v in zip(problem["params"], problem["certified_values"]))
        header = (f"# NIST StRD {name} ({problem['level']} difficulty, {problem['model_class']}).\n"
                  f"# Starting values: NIST's start 1 (far). Start 2 (near): {near}\n"
                  f"# Certified values: {certified}\n"
                  f"# Run: workbench fit configs/nist/{name}.yaml\n")
        path = folder / f"{name}.yaml"
        path.write_text(header + yaml.safe_dump(raw, sort_keys=False, width=120))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_example_configs():
        print(written_path.relative_to(ROOT))
