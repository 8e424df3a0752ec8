"""`workbench fit`, `validate`, `init`, `schema` as a user runs them: outputs, exit codes, errors."""

from __future__ import annotations

import json

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
    assert result["optimizer"] == "lbfgs" and result["converged"], result["message"]
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


def test_an_infinite_derivative_at_the_start_is_bad_input_naming_it(tmp_path):
    x = np.linspace(1, 5, 20)
    write_csv(tmp_path, "grow.csv", "x,y", zip(x, np.exp(x)))
    config = write_config(tmp_path, """
        data: {path: grow.csv}
        model: {formula: "y ~ sqrt(a) * x"}
        params: {a: 0}
        optimizer: {name: gd, max_steps: 2000}
        output: {dir: out, formats: []}
    """)
    # The loss is finite at a = 0 but its derivative is not (sqrt at 0): no step can be taken, so
    # the start is refused like log(-x) (exit 2 naming the sub-expression), not a divergence (3).
    proc = run_cli("fit", str(config), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "the derivative of sqrt is infinite (a = 0), in sqrt(a)" in proc.stderr and "Warning" not in proc.stderr
    assert not (tmp_path / "out").exists()


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
    proc = run_cli("init", "sales.csv", "--target", "units", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sales.yaml").exists()
    assert run_cli("validate", "sales.yaml", cwd=tmp_path).returncode == 0
    assert run_cli("init", "sales.csv", "--target", "units", cwd=tmp_path).returncode == 2   # no silent overwrite


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


def test_excel_export_with_title_rows_currency_text_and_a_named_sheet(tmp_path):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["Quarterly sales export"])
    sheet.append([])
    sheet.append(["Date", "Unit Price", "Units sold"])
    for i in range(30):
        price = 2 + 0.3 * i
        sheet.append([dt.date(2024, 1, 1) + dt.timedelta(days=7 * i), f"${price:,.2f}",
                      f"{5000 * price ** -1.2 + 100:,.0f}"])
    sheet.append([dt.date(2024, 9, 1), "n/a", "12"])
    book.create_sheet("Notes")
    book.save(tmp_path / "sales.xlsx")
    config = write_config(tmp_path, """
        data: {path: sales.xlsx, sheet: Sales, header_row: 3}
        model: {formula: "`Units sold` ~ a * `Unit Price`**b + c"}
        params: {a: 1000, b: -1, c: 0}
        output: {dir: out, formats: []}
    """)
    proc = run_cli("validate", str(config), cwd=tmp_path)
    assert proc.returncode == 0 and "30 used, 1 dropped" in proc.stdout and "row 34" in proc.stdout
    assert run_cli("fit", str(config), "-q", cwd=tmp_path).returncode == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["params"]["b"] == pytest.approx(-1.2, abs=0.01)
    wrong_sheet = write_config(tmp_path, config.read_text().replace("sheet: Sales", "sheet: Sale"), "wrong.yaml")
    proc = run_cli("fit", str(wrong_sheet), cwd=tmp_path)
    assert proc.returncode == 2 and "wrong.yaml: data.sheet" in proc.stderr and "'Sales'" in proc.stderr
    typo = write_config(tmp_path, config.read_text().replace("`Unit Price`", "`Unit Prise`"), "typo.yaml")
    proc = run_cli("fit", str(typo), cwd=tmp_path)
    assert proc.returncode == 2 and "'Unit Prise' not found" in proc.stderr and "'Unit Price'" in proc.stderr


BUILTIN_TRUTHS = {   # model -> (the curve the data follows, the parameters it should recover)
    "{type: linear, inputs: [x], target: y}": (lambda x: 2 + 3 * x, {"intercept": 2, "coef_x": 3}),
    "{type: polynomial, input: x, target: y, degree: 2}": (lambda x: 1 - x + 0.5 * x**2, {"c2": 0.5}),
    "{type: exponential, input: x, target: y}": (lambda x: 3 * np.exp(-0.4 * x) + 1, {"b": -0.4}),
    "{type: power, input: x, target: y}": (lambda x: 2 * x**1.5, {"b": 1.5}),
    "{type: gaussian, input: x, target: y}": (lambda x: 5 * np.exp(-0.5 * ((x - 4) / 1.2) ** 2) + 1,
                                             {"center": 4, "sigma": 1.2}),
    "{type: michaelis_menten, input: x, target: y}": (lambda x: 8 * x / (2 + x), {"vmax": 8, "km": 2}),
    "{type: mlp, inputs: [x], target: y, hidden: [8]}": (lambda x: np.sin(x), {}),
}


@pytest.mark.parametrize("model", sorted(BUILTIN_TRUTHS))
def test_every_builtin_model_fits_without_params(tmp_path, model):
    curve, truth = BUILTIN_TRUTHS[model]
    x = np.linspace(0.5, 8, 60)
    y = curve(x) + np.random.default_rng(0).normal(0, 0.01, x.size)
    write_csv(tmp_path, "d.csv", "x,y", zip(x, y))
    config = write_config(tmp_path, f"data: {{path: d.csv}}\nmodel: {model}\noutput: {{dir: out, formats: []}}\n")
    proc = run_cli("fit", str(config), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["metrics"]["r2"] > 0.99
    for name, value in truth.items():
        assert result["params"][name] == pytest.approx(value, rel=0.02), name


def test_logistic_model_with_cross_entropy_reports_probabilities(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 200)
    b = (rng.uniform(size=x.size) < 1 / (1 + np.exp(-(x - 5)))).astype(int)
    write_csv(tmp_path, "b.csv", "x,b", zip(x.round(4), b))
    config = write_config(tmp_path, "data: {path: b.csv}\nmodel: {type: logistic, inputs: [x], target: b}\n"
                                    "loss: cross_entropy\noutput: {dir: out, formats: []}\n")
    assert run_cli("fit", str(config), "-q", cwd=tmp_path).returncode == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["params"]["coef_x"] == pytest.approx(1.0, abs=0.4)
    assert result["stderr"]["coef_x"] > 0 and 0.7 < result["metrics"]["accuracy"] <= 1.0
    predictions = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    column = predictions[0].split(",").index("prediction")
    assert all(0.0 <= float(line.split(",")[column]) <= 1.0 for line in predictions[1:])


def test_validation_share_is_held_out_and_reported(tmp_path, decay_data):
    text = DECAY.replace("seed: 0", "seed: 0\n    validation: 0.25").replace("name: lm", "name: adam").replace(
        "max_steps: 1000", "max_steps: 3000\n      lr: 0.05\n      patience: 50")
    config = write_config(tmp_path, text)
    proc = run_cli("fit", str(config), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out" / "decay"
    result = json.loads((out / "result.json").read_text())
    assert result["metrics"]["n"] + result["validation_metrics"]["n"] == 30
    assert result["validation_metrics"]["n"] in (7, 8)
    assert result["val_loss"] is not None and result["val_loss"] < 0.01
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",")[4] == "val_loss" and history[-1].split(",")[4] != ""
    sets = (out / "predictions.csv").read_text()
    assert sets.count(",validation") == result["validation_metrics"]["n"]


def test_same_config_and_seed_give_the_same_numbers(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY.replace("name: lm", "name: gd\n      batch_size: 8\n      lr: 0.05"))
    results = []
    for out in ("one", "two"):
        assert run_cli("fit", str(config), "-q", "--out", out, cwd=tmp_path).returncode == 0
        results.append(json.loads((tmp_path / out / "result.json").read_text()))
    assert results[0]["params"] == results[1]["params"] and results[0]["loss"] == results[1]["loss"]


def test_an_option_the_chosen_optimizer_ignores_is_named(tmp_path, decay_data):
    config = write_config(tmp_path, DECAY)
    proc = run_cli("fit", str(config), "--set", "optimizer.lr=0.1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: optimizer.lr is set but lm does not use it" in proc.stdout
