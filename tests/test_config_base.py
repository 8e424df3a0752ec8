"""Reusable configs (issue 11, item 4): ``base:`` chains, ``${VAR}`` interpolation, ``validate --show``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from cli_helpers import run_cli
from workbench.config import load_config
from workbench.config.inherit import deep_merge, read_config_mapping
from workbench.errors import InputError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def chain(tmp_path):
    """common.yaml <- team/team.yaml <- team/regions/north.yaml, data beside common.yaml."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text("x,y\n1,2\n2,4\n3,6.5\n")
    _write(tmp_path / "common.yaml", """
        data: data/sales.csv
        model: {formula: "y ~ a * x + b"}
        params: {a: 1.0, b: {init: 0.0, min: -5}}
        loss: huber
        optimizer: {name: lbfgs, max_steps: 50}
        output: {dir: out/common}
    """)
    _write(tmp_path / "team" / "team.yaml", """
        base: ../common.yaml
        params: {b: {max: 5}}
        loss: {delta: 2.0}
        optimizer: {max_steps: 80}
    """)
    return _write(tmp_path / "team" / "regions" / "north.yaml", """
        base: ../team.yaml
        optimizer: {lr: 0.5}
        seed: 3
    """)


def test_chain_of_three_files_merges_with_the_child_winning(chain, tmp_path):
    config = load_config(chain)
    assert config.name == "north"
    assert config.params["a"].init == 1.0
    assert (config.params["b"].init, config.params["b"].min, config.params["b"].max) == (0.0, -5.0, 5.0)
    assert (config.loss.name, config.loss.delta) == ("huber", 2.0)          # shorthand merged with keys
    assert (config.optimizer.name, config.optimizer.max_steps, config.optimizer.lr) == ("lbfgs", 80, 0.5)
    assert config.seed == 3
    assert "base" not in config.raw


def test_paths_resolve_against_the_file_that_wrote_them(chain, tmp_path):
    config = load_config(chain)
    assert config.data.path == (tmp_path / "data" / "sales.csv").resolve()
    assert config.output.dir == (tmp_path / "out" / "common").resolve()


def test_child_path_is_relative_to_the_child(chain, tmp_path):
    (chain.parent / "north.csv").write_text("x,y\n1,2\n")
    chain.write_text(chain.read_text() + "data: north.csv\n")
    assert load_config(chain).data.path == (chain.parent / "north.csv").resolve()


def test_scalar_or_list_replaces_and_a_list_of_bases_applies_in_order(tmp_path):
    _write(tmp_path / "a.yaml", "output: {formats: [html, pdf]}\nseed: 1\n")
    _write(tmp_path / "b.yaml", "seed: 2\n")
    merged = read_config_mapping(_write(tmp_path / "c.yaml", "base: [a.yaml, b.yaml]\noutput: {formats: [xlsx]}\n"))
    assert merged == {"output": {"formats": ["xlsx"]}, "seed": 2}


def test_merge_expands_a_shorthand_on_either_side():
    assert deep_merge({"loss": {"name": "huber", "delta": 2}}, {"loss": "mse"}) == {"loss": {"name": "mse", "delta": 2}}
    assert deep_merge({"params": {"a": 1.0}}, {"params": {"a": {"min": 0}}}) == {"params": {"a": {"init": 1.0, "min": 0}}}


def test_cycles_are_refused_naming_the_loop(tmp_path):
    a = _write(tmp_path / "a.yaml", "base: b.yaml\nseed: 1\n")
    _write(tmp_path / "b.yaml", "base: a.yaml\nseed: 2\n")
    with pytest.raises(InputError) as info:
        load_config(a)
    assert "base files form a cycle" in str(info.value)
    assert f"{a.resolve()} -> {(tmp_path / 'b.yaml').resolve()} -> {a.resolve()}" in str(info.value)
    itself = _write(tmp_path / "self.yaml", "base: self.yaml\n")
    with pytest.raises(InputError, match="cycle"):
        load_config(itself)


def test_missing_or_malformed_base_is_named(tmp_path):
    child = _write(tmp_path / "c.yaml", "base: nope.yaml\n")
    with pytest.raises(InputError, match=r"c.yaml: base nope.yaml: config file not found"):
        load_config(child)
    child.write_text("base: 3\n")
    with pytest.raises(InputError, match=r"c.yaml: base: must be a config file path or a list of them, got 3"):
        load_config(child)


@pytest.fixture
def env_config(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    return _write(tmp_path / "c.yaml", """
        name: ${RUN_NAME:-nightly}
        data: ${DATA_DIR}/d.csv
        model: {formula: "y ~ a * x"}
        optimizer: {max_steps: "${STEPS:-25}"}
    """)


def test_variables_are_filled_in_with_defaults(env_config, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RUN_NAME", raising=False)
    monkeypatch.setenv("STEPS", "")
    config = load_config(env_config)
    assert (config.name, config.data.path, config.optimizer.max_steps) == ("nightly", tmp_path / "d.csv", 25)
    monkeypatch.setenv("RUN_NAME", "weekly")
    assert load_config(env_config).name == "weekly"


def test_unset_variable_is_exit_2_naming_it_and_the_key(env_config, monkeypatch):
    monkeypatch.delenv("DATA_DIR", raising=False)
    proc = run_cli("validate", str(env_config))
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {env_config}: data: the environment variable DATA_DIR is not set "
                           f"(set it, or write ${{DATA_DIR:-default}})\n")


def test_dollar_escape_and_malformed_references(tmp_path):
    path = _write(tmp_path / "c.yaml", "name: cost$${x}\n")
    assert read_config_mapping(path)["name"] == "cost${x}"
    path.write_text("name: ${1x}\n")
    with pytest.raises(InputError, match=r"c.yaml: name: a '\$\{' that is not"):
        read_config_mapping(path)


def test_validate_show_prints_the_resolved_config(chain, monkeypatch):
    proc = run_cli("validate", str(chain), "--show", "--set", "seed=9")
    assert proc.returncode == 0, proc.stderr
    shown = yaml.safe_load(proc.stdout)
    assert shown["name"] == "north" and shown["seed"] == 9
    assert shown["optimizer"]["max_steps"] == 80 and shown["optimizer"]["lr"] == 0.5
    assert (shown["loss"]["name"], shown["loss"]["delta"], shown["loss"]["regularization"]["l2"]) == ("huber", 2.0, 0.0)
    assert Path(shown["data"]["path"]).is_absolute() and "base" not in shown


def test_readme_documents_shell_completion():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "_WORKBENCH_COMPLETE=bash_source workbench" in readme


def test_shell_completion_completes_command_names(monkeypatch, tmp_path):
    monkeypatch.setenv("_WORKBENCH_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "workbench val")
    monkeypatch.setenv("COMP_CWORD", "1")
    proc = run_cli(cwd=tmp_path, process=True)          # click writes completions to the real stdout
    assert proc.returncode == 0 and proc.stdout.strip() == "plain,validate"


def test_json_schema_accepts_base():
    from workbench.config import json_schema

    base = json_schema()["properties"]["base"]
    assert {"type": "string"} in base["anyOf"] and "description" in base
