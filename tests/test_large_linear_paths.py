"""The fast paths of a large linear fit give the numbers of the general paths they replace.

* a built-in linear or polynomial model hands back its design matrix (``design_matrix``) instead
  of the engine's forward-mode Jacobian: the same X, the same prediction, the same triangle;
* a chunked loss without its gradient (``ChunkedObjective.loss_value``) is the loss of
  ``value_and_grad`` and of the unchunked objective;
* the predictions file is the same table whatever its size.
"""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import load_config
from workbench.pipeline.chunks import ChunkedObjective, design_triangle
from workbench.pipeline.prepare import prepare


def _data(folder, n=300, seed=11):
    rng = np.random.default_rng(seed)
    x0, x1, x2 = rng.normal(size=(3, n)) * [[1.0], [30.0], [0.01]]
    t = np.linspace(1.0, 900.0, n)
    w = rng.uniform(0.5, 2.0, n)
    y = 1.5 * x0 - 0.02 * x1 + 40.0 * x2 + 0.7 + rng.normal(0.0, 0.2, n)
    curve = 1e-6 * t ** 2 - 0.01 * t + 2.0 + rng.normal(0.0, 0.05, n)
    lines = ["x0,x1,x2,t,w,y,curve"] + [",".join(repr(float(v)) for v in row)
                                        for row in zip(x0, x1, x2, t, w, y, curve)]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")


LINEAR = "name: lin\ndata: {path: d.csv}\nmodel: {type: linear, inputs: [x0, x1, x2], target: y}\n"
STANDARDIZED = ("name: lin\ndata: {path: d.csv}\n"
                "model: {type: linear, inputs: [x0, x1, x2], target: y, standardize: true}\n")
FIXED = LINEAR + "params: {coef_x1: {init: -0.02, fixed: true}}\n"
WEIGHTED = LINEAR + "loss: {name: mse, weights: w}\n"
POLY = "name: poly\ndata: {path: d.csv}\nmodel: {type: polynomial, inputs: [t], degree: 3, target: curve}\n"
POLY_STD = ("name: poly\ndata: {path: d.csv}\n"
            "model: {type: polynomial, inputs: [t], degree: 3, target: curve, standardize: true}\n")
CASES = {"linear": LINEAR, "standardized": STANDARDIZED, "fixed": FIXED, "weighted": WEIGHTED,
         "polynomial": POLY, "polynomial-standardized": POLY_STD}


def _prepared(folder, text, *overrides):
    _data(folder)
    path = folder / "c.yaml"
    path.write_text(text + "output: {plots: false}\n")
    return prepare(load_config(path, list(overrides)))


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_a_built_in_models_design_matrix_is_the_engines_jacobian_of_its_prediction(tmp_path, text, monkeypatch):
    prepared = _prepared(tmp_path, text)
    objective = prepared.objective
    x = np.asarray(prepared.x0, dtype=float) * 1.3 + 0.1       # anywhere: X does not depend on θ
    fast_prediction, fast = objective.prediction_and_design(x)
    monkeypatch.setattr(type(prepared.model), "design_matrix", None)       # the engine's forward mode
    engine_prediction, engine = objective.prediction_and_design(x)
    assert fast.shape == engine.shape == (objective.n_rows, objective.n_params)
    np.testing.assert_allclose(fast, engine, rtol=1e-13, atol=0.0)
    scale = np.max(np.abs(engine_prediction))
    np.testing.assert_allclose(fast_prediction, engine_prediction, rtol=0.0, atol=1e-13 * scale)


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_the_design_triangle_from_the_design_matrix_equals_the_engines(tmp_path, text, monkeypatch):
    prepared = _prepared(tmp_path, text)
    objective, x0 = prepared.objective, np.asarray(prepared.x0, dtype=float)
    fast = design_triangle(objective, x0)
    monkeypatch.setattr(type(prepared.model), "design_matrix", None)       # the engine's path
    engine = design_triangle(objective, x0)
    signs = np.sign(np.diag(fast)) * np.sign(np.diag(engine))
    # RᵀR = [X | r]ᵀW[X | r]: the triangles agree to rounding, row signs aside.
    scale = np.abs(engine).max(axis=0)
    assert np.max(np.abs(fast * signs[:, None] - engine) / scale) < 1e-10


def test_a_formula_model_takes_the_engines_design():
    from workbench.models.formula_model import FormulaModel

    assert not hasattr(FormulaModel, "design_matrix")


@pytest.mark.parametrize("overrides", [(), ("loss.name=sse",), ("loss.regularization.l2=0.5",)],
                         ids=["mse", "sse", "l2"])
def test_a_chunked_loss_without_gradient_is_the_loss_of_value_and_grad(tmp_path, overrides):
    prepared = _prepared(tmp_path, WEIGHTED, *overrides)
    objective = prepared.objective
    chunked = ChunkedObjective(objective, 37)
    x = np.asarray(prepared.x0, dtype=float) + 0.05
    value = chunked.loss_value(x)
    assert value == pytest.approx(chunked.value_and_grad(x)[0], rel=1e-13)
    assert value == pytest.approx(objective.loss_value(x), rel=1e-12)
    assert value != pytest.approx(chunked.loss_value(x + 0.1), rel=1e-6)


@pytest.mark.parametrize("text", [LINEAR, POLY], ids=["linear", "polynomial"])
def test_the_closed_form_in_chunks_gives_the_whole_solve(tmp_path, text):
    from workbench.pipeline.fit import run_fit

    _data(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(text + "output: {plots: false}\n")
    whole = run_fit(load_config(path, []), tmp_path / "whole", reports=False)
    chunked = run_fit(load_config(path, ["execution.chunk_rows=29"]), tmp_path / "chunked", reports=False)
    assert chunked.result["message"].startswith("solved in closed form")
    for name, value in whole.result["params"].items():
        assert chunked.result["params"][name] == pytest.approx(value, rel=1e-10, abs=1e-12), name
        assert chunked.result["stderr"][name] == pytest.approx(whole.result["stderr"][name], rel=1e-9), name
    assert chunked.result["loss"] == pytest.approx(whole.result["loss"], rel=1e-12)
    assert [h["loss"] for h in chunked.history] == pytest.approx([h["loss"] for h in whole.history], rel=1e-12)


def test_predictions_parquet_keeps_every_column_value_and_type(tmp_path):
    import pyarrow.parquet as pq

    from workbench.pipeline.outputs import write_predictions
    from workbench.pipeline.results import Labels

    rng = np.random.default_rng(2)
    n = 5_000
    codes = (rng.uniform(size=n) < 0.2).astype(np.int8)
    predictions = {"row": np.arange(2, n + 2), "x": np.round(rng.normal(size=n), 3), "prediction": rng.normal(size=n),
                   "residual": rng.normal(size=n), "set": Labels(codes, ["train", "validation"])}
    path = write_predictions(tmp_path, predictions, "parquet")
    table = pq.read_table(path)
    assert table.column_names == list(predictions)
    for name in ("row", "x", "prediction", "residual"):
        got = table.column(name).to_numpy()
        assert got.dtype == np.asarray(predictions[name]).dtype, name
        np.testing.assert_array_equal(got, predictions[name])
    assert str(table.schema.field("set").type).startswith("dictionary")
    assert table.column("set").to_pylist() == list(predictions["set"])
    stored = pq.ParquetFile(path).metadata.row_group(0)
    kinds = {stored.column(i).path_in_schema: stored.column(i).compression for i in range(stored.num_columns)}
    assert kinds["prediction"] == "UNCOMPRESSED" and kinds["row"] == "ZSTD"    # measured floats stored plain


# ---- the fit's own gradient check: cheaper, and still catching a wrong rule --------------------

def _decay_project(folder, n):
    rng = np.random.default_rng(3)
    x = np.linspace(0, 8, n)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0, 0.02, n)
    (folder / "decay.csv").write_text("x,y\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(x, y)))
    path = folder / "decay.yaml"
    path.write_text('name: decay\ndata: {path: decay.csv}\nmodel: {formula: "y ~ a * exp(-b * x) + c"}\n'
                    "params: {a: 3.0, b: {init: 0.4, min: 0}, c: 1.0}\noptimizer: {name: lm, max_steps: 200}\n"
                    "output: {dir: out, plots: false}\n")
    return path


def _wrong_exp(monkeypatch, below: float = np.inf):
    """exp whose derivative rule is 5% too large where its input is below ``below`` (everywhere by default)."""
    from workbench import engine as ad
    from workbench.engine.graph import Primitive

    wrong = Primitive("bad_exp", np.exp, vjp=lambda g, ans, x: g * ans * np.where(x < below, 1.05, 1.0),
                      jvp=lambda t, ans, x: t * ans, elementwise=True)
    monkeypatch.setattr(ad, "exp", wrong)


@pytest.mark.parametrize("below", [np.inf, -1.0], ids=["everywhere", "on-part-of-the-rows"])
def test_a_fits_own_check_names_a_wrong_rule(tmp_path, monkeypatch, below):
    import json

    from cli_helpers import run_main

    config = _decay_project(tmp_path, 40)
    _wrong_exp(monkeypatch, below)
    assert run_main("fit", str(config), "--no-reports", "-q") == 1
    check = json.loads((tmp_path / "out" / "result.json").read_text())["gradient_check"]
    assert check["verdict"] == "failed" and check["failed_primitives"] == ["bad_exp"]


def test_a_fits_own_check_of_many_rows_names_a_wrong_rule_and_reuses_the_fits_loss(tmp_path, monkeypatch):
    from workbench.pipeline.fit import run_fit

    config = load_config(_decay_project(tmp_path, 12_000), ["execution.chunk_rows=4096"])
    right = run_fit(config, tmp_path / "right", reports=False)
    assert right.result["gradient_check"]["verdict"] == "verified"
    init, fitted = right.gradcheck.points
    assert fitted.loss == right.result["loss"]
    assert init.loss == pytest.approx(right.prepared.objective.loss_value(right.prepared.x0), rel=1e-12)
    _wrong_exp(monkeypatch)
    wrong = run_fit(config, tmp_path / "wrong", reports=False)
    assert wrong.result["gradient_check"]["verdict"] == "failed"
    assert wrong.result["gradient_check"]["failed_primitives"] == ["bad_exp"]


def test_chunks_are_visited_with_blas_on_one_thread(tmp_path):
    import threadpoolctl
    prepared = _prepared(tmp_path, LINEAR)

    def blas_threads(part):
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    inside = ChunkedObjective(prepared.objective, 100).map_chunks(blas_threads)
    assert len(inside) == 3 and all(threads == [1] * len(threads) for threads in inside)


def test_an_inputs_spread_summed_in_blocks_is_numpys_standard_deviation():
    from workbench.models.builtin import SPREAD_ROWS, spread

    rng = np.random.default_rng(8)
    values = rng.normal(size=3 * SPREAD_ROWS + 17) * 7.0 + 1e4
    assert spread(values) == pytest.approx(float(np.std(values)), rel=1e-13)
    assert spread(np.full(10, 3.0)) == 1.0 and spread(np.array([1.0, np.inf])) == 1.0
