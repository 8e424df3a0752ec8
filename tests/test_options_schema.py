"""One schema for options: the optimizer and schedule tables in ``workbench.optim`` are the only
source of truth, and whatever ``validate`` accepts, ``fit`` accepts (never exit 2)."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import run_cli, write_config, write_csv
from workbench.config.export import json_schema
from workbench.config.schema import BY_PATH, Range
from workbench.optim.options import OPTIMIZER_NAMES, OPTION_SPECS
from workbench.optim.schedules import SCHEDULE_KEY_SPECS, SCHEDULE_KEYS

DATA_ROWS = [(x, round(2.0 * x + 1.0 + 0.1 * (-1) ** x, 3)) for x in range(12)]


def test_every_optimizer_row_of_the_config_schema_is_generated_from_the_option_table():
    for spec in OPTION_SPECS:
        key = BY_PATH[f"optimizer.{spec.name}"]
        assert key.help == spec.help
        if spec.kind in ("int", "number"):
            assert key.kind == spec.kind
            assert key.check == Range(spec.low, spec.high, spec.low_open, spec.high_open)
            assert (key.when is not None) == spec.strict
    assert BY_PATH["optimizer.name"].choices == OPTIMIZER_NAMES


def test_every_schedule_row_says_which_schedules_take_it_and_its_range():
    assert BY_PATH["optimizer.schedule.name"].choices == tuple(SCHEDULE_KEYS)
    for name, spec in SCHEDULE_KEY_SPECS.items():
        key = BY_PATH[f"optimizer.schedule.{name}"]
        assert set(key.when.values) == {s for s, keys in SCHEDULE_KEYS.items() if name in keys}
        assert key.check == Range(spec.low, spec.high, spec.low_open)


def test_the_json_schema_carries_the_ranges_of_the_option_tables():
    optimizer = json_schema()["properties"]["optimizer"]["anyOf"][1]["properties"]
    schedule = optimizer["schedule"]["anyOf"][1]["properties"]
    assert schedule["gamma"]["exclusiveMinimum"] == 0 and schedule["gamma"]["maximum"] == 1
    assert optimizer["momentum"]["exclusiveMaximum"] == 1
    assert optimizer["lr"]["exclusiveMinimum"] == 0


@pytest.fixture()
def project(tmp_path):
    write_csv(tmp_path, "line.csv", "x,y", DATA_ROWS)
    return tmp_path


def test_a_step_schedule_growing_the_rate_is_refused_by_validate_naming_the_key(project):
    config = write_config(project, """
        data: line.csv
        model: {formula: "y ~ a * x + b"}
        optimizer: {name: gd, schedule: {name: step, gamma: 1.5}}
        """)
    run = run_cli("validate", str(config))
    assert run.returncode == 2
    assert "optimizer.schedule.gamma" in run.stderr and "(0, 1]" in run.stderr


def test_a_warmup_longer_than_the_cosine_is_refused_by_validate(project):
    config = write_config(project, """
        data: line.csv
        model: {formula: "y ~ a * x + b"}
        optimizer: {name: adam, max_steps: 1000, schedule: {name: warmup_cosine, total_steps: 10}}
        """)
    run = run_cli("validate", str(config))
    assert run.returncode == 2
    assert "optimizer.schedule.total_steps" in run.stderr and "warmup_steps (50)" in run.stderr


def _number(spec) -> st.SearchStrategy:
    """Values in and out of range, of the right and the wrong type."""
    if spec.kind == "int":
        return st.integers(-2, 8)
    return st.one_of(st.sampled_from([0.0, 1.0, 1e-12, 0.5, 1.5, -0.1, 1e3]), st.floats(-1.0, 2.0))


def _schedule() -> st.SearchStrategy:
    keys = {name: _number(spec) for name, spec in SCHEDULE_KEY_SPECS.items()}
    return st.builds(lambda name, extra: {"name": name, **extra}, st.sampled_from(list(SCHEDULE_KEYS)),
                     st.dictionaries(st.sampled_from(list(keys)), st.integers(1, 40) | st.floats(0.0, 1.5),
                                     max_size=3))


OPTION_VALUES = {spec.name: _number(spec) for spec in OPTION_SPECS if spec.kind in ("int", "number")}
OPTION_VALUES["max_steps"] = st.integers(0, 12)   # fits in this test stay tiny
OPTION_VALUES["time_limit"] = st.sampled_from([-1.0, 0.0, 30.0])


@st.composite
def fit_configs(draw) -> dict:
    optimizer = draw(st.dictionaries(st.sampled_from(list(OPTION_VALUES)), st.nothing(), max_size=0))
    for key in draw(st.lists(st.sampled_from(list(OPTION_VALUES)), max_size=4, unique=True)):
        optimizer[key] = draw(OPTION_VALUES[key])
    name = draw(st.sampled_from((None,) + OPTIMIZER_NAMES))
    if name is not None:
        optimizer["name"] = name
    if draw(st.booleans()):
        optimizer["schedule"] = draw(_schedule())
    loss = {"name": draw(st.sampled_from(["mse", "sse", "mae", "huber"]))}
    if draw(st.booleans()):
        loss["regularization"] = {"l2": draw(st.sampled_from([0.0, 0.1, -1.0]))}
    config = {"data": "line.csv", "model": {"formula": "y ~ a * x + b"}, "loss": loss, "optimizer": optimizer,
              "output": {"plots": False}}   # the fit is what is tested, not its pictures
    if draw(st.booleans()):
        config["validation"] = 0.25
    return config


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=fit_configs())
def test_any_config_that_validate_accepts_fit_accepts(project, config):
    path = project / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    validated = run_cli("validate", str(path))
    if validated.returncode == 2:
        return
    assert validated.returncode == 0, validated.stderr
    fitted = run_cli("fit", str(path), "--no-reports", "--out", str(project / "out"))
    assert fitted.returncode in (0, 3, 4), (config, fitted.stderr)
    result = json.loads((project / "out" / "result.json").read_text())
    assert result["status"] in ("converged", "max_steps", "diverged", "stalled", "time_limit", "early_stopped")
