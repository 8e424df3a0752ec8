"""`workbench check`: every method agrees on a correct model, a broken rule is caught and named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_cli, run_main, write_config, write_csv
from workbench import engine as ad
from workbench.engine.graph import Primitive


@pytest.fixture
def decay(tmp_path):
    rng = np.random.default_rng(1)
    x = np.linspace(0, 8, 30)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, x.size)
    write_csv(tmp_path, "decay.csv", "x,y", zip(x.round(4), y.round(5)))
    return write_config(tmp_path, """
        name: decay
        data: {path: decay.csv}
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: {init: 0.1, min: 0}, c: 0.0}
        optimizer: {name: lm, max_steps: 200}
        output: {dir: out, formats: []}
    """)


def test_check_fits_first_and_every_method_agrees(decay, tmp_path, capsys):
    assert run_main("check", str(decay), "--rows", "4") == 0
    out = tmp_path / "out"
    assert (out / "result.json").exists(), "--at both fits first when there is no fit"
    report = json.loads((out / "gradcheck.json").read_text())
    assert report["passed"] is True and report["failing_primitives"] == []
    assert [p["at"] for p in report["points"]] == ["init", "fit"]
    for point in report["points"]:
        assert [r["parameter"] for r in point["gradient"]] == ["a", "b", "c"]
        for row in point["gradient"] + point["jacobian"]:
            assert row["passed"] and row["score"] <= 1
            assert row["forward"] == pytest.approx(row["reverse"], rel=1e-9, abs=1e-12)
        assert sorted({r["row"] for r in point["jacobian"]}) == [2, 12, 21, 31]   # spreadsheet rows
        assert point["node_rules"] > 5 and point["direction"]["passed"]
    printed = capsys.readouterr().out
    assert "gradient check at the starting point" in printed and "gradient check at the fitted point" in printed
    assert (out / "gradcheck.html").read_text().count("<table") >= 4


def test_gradient_and_jacobian_equal_the_closed_forms(decay, tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.check import check_point
    from workbench.pipeline.prepare import prepare

    prepared = prepare(load_config(decay))
    x0 = prepared.x0
    a, b, c = x0
    xs, ys = prepared.objective.columns["x"], prepared.objective.target
    e = np.exp(-b * xs)
    r = a * e + c - ys
    expected = 2 / len(xs) * np.array([np.sum(r * e), np.sum(r * -a * xs * e), np.sum(r)])
    point = check_point(prepared, x0, "init", rows=2)
    np.testing.assert_allclose([row.reverse for row in point.gradient], expected, rtol=1e-12)
    np.testing.assert_allclose([row.central for row in point.gradient], expected, rtol=1e-6)
    first = [row for row in point.jacobian if row.row == 2]
    np.testing.assert_allclose([row.reverse for row in first], [e[0], -a * xs[0] * e[0], 1.0], rtol=1e-12)


def test_a_broken_rule_fails_with_exit_1_and_is_named(decay, tmp_path, monkeypatch, capsys):
    bad_exp = Primitive("bad_exp", np.exp, vjp=lambda g, ans, x: g * ans * 1.01,
                        jvp=lambda t, ans, x: t * ans, elementwise=True)
    monkeypatch.setattr(ad, "exp", bad_exp)
    assert run_main("check", str(decay), "--at", "init") == 1
    captured = capsys.readouterr()
    assert "the rule of bad_exp is wrong" in captured.err
    assert "the rule of bad_exp DISAGREES with its forward" in captured.out
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    assert report["passed"] is False and report["failing_primitives"] == ["bad_exp"]
    point = report["points"][0]
    verdicts = {r["parameter"]: r["passed"] for r in point["gradient"]}
    assert verdicts == {"a": True, "b": False, "c": True}    # only b is differentiated through exp's input
    failing = point["node_failures"][0]
    assert failing["primitive"] == "bad_exp"
    assert failing["analytic"] == pytest.approx(1.01 * failing["numeric"], rel=1e-6)
    assert "bad_exp" in (tmp_path / "out" / "gradcheck.html").read_text()


def test_at_fit_before_any_fit_exits_2_with_one_line(decay, tmp_path):
    proc = run_cli("check", str(decay), "--at", "fit", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "result.json" in lines[0] and "workbench fit" in lines[0]
    assert not (tmp_path / "out" / "gradcheck.json").exists()


def test_at_fit_uses_the_last_fit(decay, tmp_path):
    assert run_cli("fit", str(decay), "-q", cwd=tmp_path).returncode == 0
    fitted = json.loads((tmp_path / "out" / "result.json").read_text())["params"]
    proc = run_cli("check", str(decay), "--at", "fit", "--rows", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "gradcheck.json").read_text())
    (point,) = report["points"]
    assert point["at"] == "fit" and point["jacobian"] == []
    assert point["loss"] == pytest.approx(json.loads((tmp_path / "out" / "result.json").read_text())["loss"])
    assert set(fitted) == {"a", "b", "c"}


def test_compact_check_samples_at_most_twenty_parameters(tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.check import COMPACT_MAX_PARAMS, check_point
    from workbench.pipeline.prepare import prepare

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 40)
    write_csv(tmp_path, "wave.csv", "x,y", zip(x, np.sin(x)))
    config = write_config(tmp_path, """
        data: {path: wave.csv}
        model: {type: mlp, inputs: [x], target: y, hidden: [8]}
        output: {formats: []}
    """)
    prepared = prepare(load_config(config))
    assert prepared.objective.n_params == 25
    point = check_point(prepared, prepared.x0, "init", rows=1, max_params=COMPACT_MAX_PARAMS)
    names = [r.parameter for r in point.gradient]
    assert len(names) == 20 and names[0] == "W1[0,0]" and names[-1] == "b2[0]"
    assert point.passed and point.n_params == 25
