"""`workbench fit`, `validate`, `init`, `schema` as a user runs them: outputs, exit codes, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cli_helpers import ROOT, run_cli, write_config, write_csv


@pytest.fixture
def decay_data(tmp_path):
    rng = np.random.default_rng(1)
    x = np.linspace(0, 8, 30)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, x.size)
    return write_csv(tmp_path, "decay.csv", "x,y", zip(x.round(4), y.round(5)))


DECAY = """
    name: decay
    data:
      path: decay.csv
    model:
      formula: "y ~ a * exp(-b * x) + c"
    params:
      a: 1.0
      b: {init: 0.1, min: 0}
      c: 0.0
    loss: mse
    optimizer:
      name: lm
      max_steps: 1000
    seed: 0
    output:
      dir: out/decay
      formats: []
"""


def test_fit_writes_every_output_and_recovers_parameters(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY)
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out" / "decay"
    for name in ("result.json", "params.csv", "predictions.csv", "history.csv", "convergence.png",
                 "fit.png", "residuals.png"):
        assert (out / name).stat().st_size > 0, name
    result = json.loads((out / "result.json").read_text())
    assert result["converged"] is True
    assert abs(result["params"]["a"] - 3.2) < 0.05
    assert abs(result["params"]["b"] - 0.45) < 0.01
    assert all(result["stderr"][p] > 0 for p in "abc")
    assert set(result["metrics"]) >= {"n", "r2", "rmse", "mae", "aic", "bic", "reduced_chi_square"}
    assert result["metrics"]["r2"] > 0.99
    assert "converged" in proc.stdout and "±" not in proc.stderr
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_set_overrides_a_key_and_out_overrides_the_folder(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY)
    proc = run_cli("fit", str(config), "--set", "optimizer.name=lbfgs", "--set", "optimizer.max_steps=500",
                   "--out", str(tmp_path / "elsewhere"), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "elsewhere" / "result.json").read_text())
    assert result["optimizer"] == "lbfgs"
    assert abs(result["params"]["b"] - 0.45) < 0.02
    assert proc.stdout == ""


def test_fixed_parameter_keeps_its_value(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY.replace("c: 0.0", "c: {init: 0.8, fixed: true}"))
    assert run_cli("fit", str(config), "-q", cwd=tmp_path).returncode == 0
    result = json.loads((tmp_path / "out" / "decay" / "result.json").read_text())
    assert result["params"]["c"] == 0.8 and result["stderr"]["c"] is None


def test_bound_is_honoured(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY.replace("b: {init: 0.1, min: 0}", "b: {init: 0.1, min: 0, max: 0.3}"))
    assert run_cli("fit", str(config), "-q", cwd=tmp_path).returncode == 0
    result = json.loads((tmp_path / "out" / "decay" / "result.json").read_text())
    assert result["params"]["b"] <= 0.3 + 1e-12
    assert result["params"]["b"] == pytest.approx(0.3, abs=1e-6)


BAD_INPUTS = {
    "missing data file": (DECAY.replace("decay.csv", "nope.csv"), "nope.csv"),
    "missing column": (DECAY.replace("y ~ a * exp(-b * x)", "y ~ a * exp(-b * xx)").replace("a: 1.0", "a: 1.0\n  xx: 1"), None),
    "formula syntax": (DECAY.replace("exp(-b * x) + c", "exp(-b * x) + + * c"), "formula"),
    "unknown function": (DECAY.replace("exp(-b", "foo(-b"), "foo"),
    "attribute access": (DECAY.replace("exp(-b * x)", "x.__class__"), "formula"),
    "dunder name": (DECAY.replace("exp(-b * x)", "__import__(x)"), "formula"),
    "unknown key": (DECAY.replace("loss: mse", "los: mse"), "did you mean"),
    "negative learning rate": (DECAY.replace("max_steps: 1000", "lr: -0.1"), "optimizer.lr"),
    "min above max": (DECAY.replace("b: {init: 0.1, min: 0}", "b: {init: 0.1, min: 1, max: 0}"), "params.b"),
    "init outside bounds": (DECAY.replace("b: {init: 0.1, min: 0}", "b: {init: -1, min: 0}"), "params.b"),
    "unknown optimizer": (DECAY.replace("name: lm", "name: newton"), "optimizer"),
    "unknown loss": (DECAY.replace("loss: mse", "loss: msa"), "loss"),
    "yaml syntax": (DECAY.replace("loss: mse", "loss: [mse"), "line"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(tmp_path, decay_data, case):
    text, expected = BAD_INPUTS[case]
    config = write_config(tmp_path, text)
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 2, (case, proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    if expected:
        assert expected in lines[0], lines[0]
    assert not (tmp_path / "out").exists(), "a failed run must not leave outputs"


def test_missing_column_suggests_the_closest_name(tmp_path):
    write_csv(tmp_path, "sales.csv", "price,units", [(1, 10), (2, 8), (3, 7), (4, 5)])
    config = write_config(tmp_path, """
        data: {path: sales.csv}
        model: {type: linear, inputs: [prise], target: units}
    """)
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 2 and "prise" in proc.stderr and "price" in proc.stderr


def test_too_few_rows(tmp_path):
    write_csv(tmp_path, "tiny.csv", "x,y", [(1, 2), (2, 3)])
    config = write_config(tmp_path, 'data: {path: tiny.csv}\nmodel: {formula: "y ~ a*x**2 + b*x + c"}\n')
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 2 and "rows" in proc.stderr


def test_divergence_exits_3_and_keeps_last_finite_parameters(tmp_path):
    x = np.linspace(1, 5, 20)
    write_csv(tmp_path, "grow.csv", "x,y", zip(x, np.exp(x)))
    config = write_config(tmp_path, """
        data: {path: grow.csv}
        model: {formula: "y ~ a * x"}
        params: {a: 1.5}
        optimizer: {name: gd, lr: 10.0, max_steps: 2000}
        output: {dir: out, formats: []}
    """)
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "step" in proc.stderr and "Warning" not in proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert math.isfinite(result["params"]["a"])
    assert result["diverged_at"] is not None


def test_not_converged_is_exit_0_but_4_with_strict(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY.replace("name: lm", "name: gd").replace(
        "max_steps: 1000", "max_steps: 5\n      lr: 0.001"))
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 0 and "DID NOT CONVERGE" in proc.stdout
    assert run_cli("fit", str(config), "--strict", "-q", cwd=tmp_path).returncode == 4


def test_validate_prints_what_it_understood(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY)
    proc = run_cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for expected in ("30 used", "a * exp(", "start 0.1", "min 0"):
        assert expected in proc.stdout, proc.stdout
    assert not (tmp_path / "out").exists()


def test_init_writes_a_config_that_validates(tmp_path):
    write_csv(tmp_path, "sales.csv", "price,ads,units", [(p, p % 3, 100 - 5 * p) for p in range(1, 12)])
    proc = run_cli("init", "sales.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sales.yaml").exists()
    assert run_cli("validate", "sales.yaml", cwd=tmp_path).returncode == 0
    assert run_cli("init", "sales.csv", cwd=tmp_path).returncode == 2   # no silent overwrite


def test_schema_is_json(tmp_path):
    proc = run_cli("schema")
    schema = json.loads(proc.stdout)
    assert "properties" in schema and "model" in schema["properties"]


def test_help_does_not_import_pandas_or_matplotlib():
    import subprocess
    import sys

    code = ("import sys; from workbench.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'matplotlib', 'scipy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and "workbench" in proc.stdout
