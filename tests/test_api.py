"""The Python API: workbench.fit / load / Fit, against the command line on the same data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import workbench
from tests.cli_helpers import run_cli, write_config
from workbench.errors import InputError

FORMULA = {"model": {"formula": "y ~ a * exp(-b * x)"}, "params": {"a": 1, "b": 0.1}}


@pytest.fixture(scope="module")
def frame():
    x = np.linspace(0, 5, 30)
    return pd.DataFrame({"x": x, "y": 2 * np.exp(-0.5 * x) + 0.01 * np.sin(7 * x)})


@pytest.fixture(scope="module")
def fitted(frame):
    return workbench.fit(FORMULA, data=frame, optimizer={"name": "lm"})


def test_a_dict_config_with_a_dataframe_fits_like_the_command_line(tmp_path, frame, fitted):
    frame.to_csv(tmp_path / "d.csv", index=False)
    config = write_config(tmp_path, f"""
        data: {tmp_path / 'd.csv'}
        model: {{formula: "y ~ a * exp(-b * x)"}}
        params: {{a: 1, b: 0.1}}
        optimizer: lm
        output: {{plots: false}}
        """)
    assert run_cli("fit", str(config), "--out", str(tmp_path / "cli"), "--no-reports", "-q").returncode == 0
    cli = json.loads((tmp_path / "cli" / "result.json").read_text())
    assert fitted.converged and fitted.result["optimizer"] == "lm"
    assert fitted.params == pytest.approx(cli["params"], rel=1e-12)
    assert fitted.stderr == pytest.approx(cli["stderr"], rel=1e-9)
    assert fitted.params["a"] == pytest.approx(2.0, abs=0.01) and fitted.params["b"] == pytest.approx(0.5, abs=0.01)


def test_summary_states_the_numbers(fitted):
    text = fitted.summary()
    assert f"{fitted.params['a']:.8g}" in text and f"{fitted.stderr['b']:.4g}" in text
    assert "converged after" in text and "rows 30" in text


def test_predict_returns_an_array_and_intervals_a_dataframe(fitted):
    new = pd.DataFrame({"x": [1.0, 6.0, None]}, index=[10, 11, 12])
    values = fitted.predict(new)
    a, b = fitted.params["a"], fitted.params["b"]
    assert values[:2] == pytest.approx(a * np.exp(-b * np.array([1.0, 6.0])), rel=1e-12)
    assert math.isnan(values[2])
    table = fitted.predict(new, intervals=True)
    assert list(table.index) == [10, 11, 12]
    assert list(table.columns) == ["x", "prediction", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
                                   "outside_fitted_range"]
    assert table["prediction"].to_numpy()[:2] == pytest.approx(values[:2])
    assert (table["ci_lower"] < table["prediction"]).iloc[:2].all()
    assert (table["pi_upper"] > table["ci_upper"]).iloc[:2].all()
    assert table["outside_fitted_range"].tolist() == [False, True, False]


def test_write_then_load_gives_the_same_fit(tmp_path, fitted):
    folder = fitted.write(tmp_path / "x", reports=False)
    names = {p.name for p in folder.iterdir()}
    assert {"result.json", "params.csv", "predictions.csv", "history.csv", "manifest.json", "fit.png"} <= names
    loaded = workbench.load(folder)
    assert loaded.params == fitted.params and loaded.converged
    new = pd.DataFrame({"x": [0.5, 2.5]})
    assert loaded.predict(new) == pytest.approx(fitted.predict(new), rel=1e-15)
    done = run_cli("predict", str(folder), "--until", "2024-01-01", "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2          # the CLI reads the same folder (and refuses --until here)


def test_a_config_file_with_overrides(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False)
    config = write_config(tmp_path, """
        data: d.csv
        model: {formula: "y ~ a * exp(-b * x)"}
        params: {a: 1, b: 0.1}
        optimizer: {name: adam, max_steps: 5}
        """)
    fit = workbench.fit(str(config), optimizer={"name": "lm", "max_steps": 200})
    assert fit.result["optimizer"] == "lm" and fit.result["name"] == "config" and fit.converged


def test_bad_input_raises_input_error(frame):
    with pytest.raises(InputError, match="optimizer"):
        workbench.fit(FORMULA, data=frame, optimizer={"name": "newton"})
    with pytest.raises(InputError, match="must be a config file's path or a mapping"):
        workbench.fit(3)


def test_importing_workbench_loads_neither_the_api_nor_pandas():
    import subprocess
    import sys

    probe = ("import sys, workbench; print('pandas' in sys.modules, 'workbench.api' in sys.modules, "
             "callable(workbench.fit))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]
