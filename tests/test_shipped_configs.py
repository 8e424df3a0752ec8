"""Every config shipped in configs/ loads, and its data is found and prepared."""

from __future__ import annotations

import pytest

from cli_helpers import ROOT
from workbench.config import load_config
from workbench.pipeline.prepare import prepare

FIT_CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if "sweep" not in p.name)


@pytest.mark.parametrize("path", FIT_CONFIGS, ids=[str(p.relative_to(ROOT)) for p in FIT_CONFIGS])
def test_shipped_config_prepares(path):
    prepared = prepare(load_config(path))
    assert prepared.dataset.n > len(prepared.x0)


def test_nist_configs_are_those_the_generator_writes(tmp_path):
    from nist_problems import write_example_configs

    for fresh in write_example_configs(tmp_path):
        assert fresh.read_text() == (ROOT / "configs" / "nist" / fresh.name).read_text(), fresh.name
