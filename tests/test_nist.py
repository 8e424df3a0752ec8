"""NIST StRD accuracy: every dataset from both starting points to ≥ 6 digits, and the certified
standard errors to 3 digits, through the whole fit pipeline (config → data → formula → LM)."""

from __future__ import annotations

import pytest

from nist_problems import NIST_DIR, config_dict, lre, load_problem, problem_names
from workbench.config import parse_config
from workbench.pipeline.fit import run_fit

CASES = [(name, start) for name in problem_names() for start in ("start1", "start2")]


@pytest.mark.parametrize("name,start", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_nist_problem_reaches_certified_values(name, start, tmp_path):
    problem = load_problem(name)
    raw = config_dict(problem, start, str(NIST_DIR / f"{name}.csv"))
    config = parse_config(raw, base_dir=tmp_path, source=f"{name}.yaml", default_name=name)
    outcome = run_fit(config, tmp_path / "out", reports=False)
    fitted = outcome.result["params"]
    digits = {p: lre(fitted[p], c) for p, c in zip(problem["params"], problem["certified_values"])}
    assert min(digits.values()) >= 6, f"{name} {start}: LRE per parameter {digits}"
    stderr = outcome.result["stderr"]
    se_digits = {p: lre(stderr[p], c) for p, c in zip(problem["params"], problem["certified_std_devs"])}
    assert min(se_digits.values()) >= 3, f"{name} {start}: standard-error LRE {se_digits}"
    assert outcome.result["converged"]
