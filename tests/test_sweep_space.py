"""Sweep files and search spaces: grid and random expansion, and every malformed sweep file."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from workbench.errors import InputError
from workbench.sweep.space import (Choice, IntUniform, LogUniform, Uniform, grid_points, parse_dimension,
                                   random_points)
from workbench.sweep.spec import load_sweep


def _sweep(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    (folder / "base.yaml").touch()
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_grid_is_the_product_with_the_last_key_fastest():
    space = {"a": Choice((1, 2)), "b": Choice(("x", "y", "z"))}
    assert grid_points(space) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"},
                                  {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]


def test_grid_keeps_list_values_whole():
    space = {"model.hidden": parse_dimension([[16], [32, 32]], "space.model.hidden")}
    assert grid_points(space) == [{"model.hidden": [16]}, {"model.hidden": [32, 32]}]


def test_random_points_are_reproducible_by_seed_and_differ_between_seeds():
    space = {"lr": LogUniform(1e-4, 1e-1), "n": IntUniform(1, 5), "w": Uniform(-1.0, 1.0),
             "opt": Choice(("adam", "lbfgs"))}
    first, again, other = random_points(space, 20, seed=7), random_points(space, 20, seed=7), random_points(space, 20, seed=8)
    assert first == again
    assert first != other
    assert len(first) == 20


def test_random_points_stay_within_their_distributions():
    space = {"lr": LogUniform(1e-4, 1e-1), "n": IntUniform(1, 3), "w": Uniform(-1.0, 1.0),
             "opt": Choice(("adam", "lbfgs"))}
    points = random_points(space, 400, seed=0)
    assert all(1e-4 <= p["lr"] <= 1e-1 for p in points)
    assert {p["n"] for p in points} == {1, 2, 3}          # int_uniform includes both ends
    assert all(-1 <= p["w"] <= 1 for p in points)
    assert {p["opt"] for p in points} == {"adam", "lbfgs"}
    # log-uniform: about half the draws below the geometric midpoint 10**-2.5
    below = sum(p["lr"] < 10 ** -2.5 for p in points) / len(points)
    assert 0.4 < below < 0.6


def test_drawn_floats_are_rounded_to_six_significant_digits():
    points = random_points({"lr": LogUniform(1e-4, 1e-1)}, 5, seed=3)
    for p in points:
        assert float(f"{p['lr']:.6g}") == p["lr"]


@pytest.mark.parametrize("value, message", [
    ([], "empty"),
    ({"log_uniform": [0, 1]}, "positive"),
    ({"uniform": [2, 1]}, "low < high"),
    ({"uniform": [1]}, "two numbers"),
    ({"int_uniform": [1.5, 3]}, "two integers"),
    ({"log_normal": [1, 2]}, "unknown distribution"),
    (3, "expected a list"),
])
def test_malformed_dimensions_are_named(value, message):
    with pytest.raises(InputError, match=message) as err:
        parse_dimension(value, "sweep.yaml: space.optimizer.lr")
    assert str(err.value).startswith("sweep.yaml: space.optimizer.lr: ")


def test_sweep_file_is_read_with_paths_relative_to_it(tmp_path):
    (tmp_path / "cfgs").mkdir()
    for name in ("b.yaml", "a.yaml"):
        (tmp_path / "cfgs" / name).touch()
    path = _sweep(tmp_path, """
        name: tuning
        base: base.yaml
        configs: [cfgs/*.yaml]
        strategy: random
        trials: 4
        seed: 11
        space:
          optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}
          optimizer.name: [adam, lbfgs]
        metric: r2
        output: out/tuning
    """)
    spec = load_sweep(path)
    assert spec.name == "tuning"
    assert spec.configs == [tmp_path / "base.yaml", tmp_path / "cfgs" / "a.yaml", tmp_path / "cfgs" / "b.yaml"]
    assert spec.output == tmp_path / "out" / "tuning"
    assert spec.goal_for(spec.metric) == "max"
    assert spec.points() == load_sweep(path).points()
    assert len(spec.points()) == 4 and all(set(p) == {"optimizer.lr", "optimizer.name"} for p in spec.points())


def test_configs_alone_make_one_point_per_config(tmp_path):
    (tmp_path / "c1.yaml").touch()
    spec = load_sweep(_sweep(tmp_path, "configs: ['c*.yaml']\n"))
    assert spec.name == "sweep" and spec.points() == [{}] and spec.configs == [tmp_path / "c1.yaml"]


@pytest.mark.parametrize("text, where, message", [
    ("base: base.yaml\nspace: {}\n", "space", "empty space"),
    ("base: base.yaml\n", "space", "empty space"),
    ("base: base.yaml\nstrategy: random\nspace: {optimizer.lr: [0.1]}\n", "trials", "needs trials"),
    ("base: base.yaml\nstrategy: random\ntrials: 0\nspace: {optimizer.lr: [0.1]}\n", "trials", "positive"),
    ("base: base.yaml\nspace: {optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}}\n", "space.optimizer.lr",
     "a grid needs a list"),
    ("base: base.yaml\ntrials: 3\nspace: {optimizer.lr: [0.1]}\n", "trials", "only for strategy: random"),
    ("base: base.yaml\nstrategy: bayes\nspace: {optimizer.lr: [0.1]}\n", "strategy", "not one of grid, random"),
    ("base: base.yaml\nspace: {optimizer.lr: [0.1]}\nmetric: rsme\n", "metric", "did you mean 'rmse'"),
    ("base: missing.yaml\nspace: {optimizer.lr: [0.1]}\n", "base", "no such config file"),
    ("configs: [nothing/*.yaml]\n", "configs", "matches no file"),
    ("base: base.yaml\nspaec: {optimizer.lr: [0.1]}\n", None, "did you mean 'space'"),
    ("space: {optimizer.lr: [0.1]}\n", None, "nothing to run"),
    ("base: base.yaml\nspace: {optimizer.lr: [0.1]}\nrun_reports: yes please\n", "run_reports", "true or false"),
])
def test_bad_sweep_files_are_one_line_naming_file_and_key(tmp_path, text, where, message):
    path = _sweep(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        load_sweep(path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(str(path) + (f": {where}:" if where else ":"))


def test_unreadable_sweep_files(tmp_path):
    with pytest.raises(InputError, match="no such sweep file"):
        load_sweep(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("space: [unclosed\n")
    with pytest.raises(InputError, match="YAML syntax error at line 2"):
        load_sweep(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="must be a mapping"):
        load_sweep(listed)


def test_log_uniform_draws_cover_the_decades_evenly():
    draws = [p["lr"] for p in random_points({"lr": LogUniform(1e-4, 1e-1)}, 3000, seed=1)]
    decades = [sum(10 ** (-4 + d) <= v < 10 ** (-3 + d) for v in draws) for d in range(3)]
    assert all(abs(n / len(draws) - 1 / 3) < 0.04 for n in decades), decades
    assert math.isclose(sum(decades), len(draws), abs_tol=1)
