"""`workbench predict`: intervals against statsmodels and an independent delta method, files, dates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import run_cli, write_config
from workbench.stats import t_quantile


def _fit(tmp_path, config_text: str, name: str = "run"):
    config = write_config(tmp_path, config_text, name=f"{name}.yaml")
    out = tmp_path / name
    done = run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def linear_run(tmp_path):
    rng = np.random.default_rng(3)
    price, ads = rng.uniform(1, 10, 40), rng.uniform(0, 5, 40)
    units = 50 - 3 * price + 2 * ads + rng.normal(0, 1.5, 40)
    pd.DataFrame({"price": price, "ads": ads, "units": units}).to_csv(tmp_path / "sales.csv", index=False)
    out = _fit(tmp_path, f"""
        data: {tmp_path / 'sales.csv'}
        model: {{type: linear, inputs: [price, ads], target: units}}
        output: {{plots: false}}
        """)
    new = pd.DataFrame({"price": [2.0, 5.5, 12.0], "ads": [1.0, 4.0, 2.5]})
    new.to_csv(tmp_path / "next.csv", index=False)
    return out, (price, ads, units), new


def test_linear_intervals_match_statsmodels_ols(tmp_path, linear_run):
    sm = pytest.importorskip("statsmodels.api")
    out, (price, ads, units), new = linear_run
    done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    ols = sm.OLS(units, sm.add_constant(np.column_stack([price, ads]))).fit()
    frame = ols.get_prediction(sm.add_constant(new.to_numpy(), has_constant="add")).summary_frame(alpha=0.05)
    assert got["prediction"].to_numpy() == pytest.approx(frame["mean"].to_numpy(), rel=1e-9)
    assert got["ci_lower"].to_numpy() == pytest.approx(frame["mean_ci_lower"].to_numpy(), rel=1e-7)
    assert got["ci_upper"].to_numpy() == pytest.approx(frame["mean_ci_upper"].to_numpy(), rel=1e-7)
    assert got["pi_lower"].to_numpy() == pytest.approx(frame["obs_ci_lower"].to_numpy(), rel=1e-7)
    assert got["pi_upper"].to_numpy() == pytest.approx(frame["obs_ci_upper"].to_numpy(), rel=1e-7)
    assert got["outside_fitted_range"].tolist() == [False, False, True]
    assert "1 of 3 rows have inputs outside the fitted range" in done.stderr
    assert done.stderr.count("warning:") == 1


def test_nonlinear_intervals_match_an_independent_delta_method(tmp_path):
    x = np.linspace(0, 4, 25)
    y = 3 * np.exp(-0.7 * x) + 0.5 + 0.05 * np.cos(5 * x)
    pd.DataFrame({"x": x, "y": y}).to_csv(tmp_path / "d.csv", index=False)
    out = _fit(tmp_path, f"""
        data: {tmp_path / 'd.csv'}
        model: {{formula: "y ~ a * exp(-b * x) + c"}}
        params: {{a: 1, b: 0.3, c: 0}}
        output: {{plots: false}}
        """)
    pd.DataFrame({"x": [0.5, 2.0, 3.5]}).to_csv(tmp_path / "new.csv", index=False)
    assert run_cli("predict", str(out), str(tmp_path / "new.csv"), "--out", str(tmp_path / "f.csv")).returncode == 0
    got = pd.read_csv(tmp_path / "f.csv")
    p = json.loads((out / "result.json").read_text())["params"]
    a, b, c = p["a"], p["b"], p["c"]

    def jacobian(xs):
        e = np.exp(-b * xs)
        return np.column_stack([e, -a * xs * e, np.ones_like(xs)])

    residual = y - (a * np.exp(-b * x) + c)
    s2 = residual @ residual / (len(x) - 3)
    j = jacobian(x)
    cov = s2 * np.linalg.inv(j.T @ j)
    xs = np.array([0.5, 2.0, 3.5])
    g = jacobian(xs)
    se = np.sqrt(np.einsum("ij,jk,ik->i", g, cov, g))
    t = t_quantile(0.975, len(x) - 3)
    mean = a * np.exp(-b * xs) + c
    assert got["prediction"].to_numpy() == pytest.approx(mean, rel=1e-12)
    assert got["ci_lower"].to_numpy() == pytest.approx(mean - t * se, rel=1e-6)
    assert got["ci_upper"].to_numpy() == pytest.approx(mean + t * se, rel=1e-6)
    assert got["pi_upper"].to_numpy() == pytest.approx(mean + t * np.sqrt(se ** 2 + s2), rel=1e-6)


def test_predict_to_xlsx_reads_back_with_pandas(tmp_path, linear_run):
    out, _, new = linear_run
    csv_done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "f.csv"))
    done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "forecast.xlsx"))
    assert csv_done.returncode == 0 and done.returncode == 0, done.stderr
    book = pd.read_excel(tmp_path / "forecast.xlsx")
    text = pd.read_csv(tmp_path / "f.csv")
    assert list(book.columns) == ["price", "ads", "prediction", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
                                  "outside_fitted_range"]
    assert book["price"].tolist() == new["price"].tolist()          # numbers, not text
    assert book["prediction"].to_numpy() == pytest.approx(text["prediction"].to_numpy(), rel=1e-12)
    assert book["pi_upper"].to_numpy() == pytest.approx(text["pi_upper"].to_numpy(), rel=1e-12)


def test_missing_columns_are_exit_2_naming_them(tmp_path, linear_run):
    out, _, _ = linear_run
    (tmp_path / "bad.csv").write_text("cost,reach\n1,2\n")
    done = run_cli("predict", str(out), str(tmp_path / "bad.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2
    assert "bad.csv lacks the columns the model needs: price, ads" in done.stderr
    assert not (tmp_path / "f.csv").exists()


def test_rows_with_empty_inputs_keep_empty_predictions(tmp_path, linear_run):
    out, _, _ = linear_run
    (tmp_path / "gaps.csv").write_text("price,ads\n2,1\n,3\n4,2\n")
    done = run_cli("predict", str(out), str(tmp_path / "gaps.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    assert got["prediction"].isna().tolist() == [False, True, False]
    assert "1 of 3 rows could not be predicted" in done.stderr


def test_bad_output_suffix_and_foreign_folders_are_exit_2(tmp_path, linear_run):
    out, _, _ = linear_run
    done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "f.json"))
    assert done.returncode == 2 and "--out: must end in .csv or .xlsx" in done.stderr
    done = run_cli("predict", str(tmp_path), str(tmp_path / "next.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2 and "no result.json" in done.stderr


def _daily(tmp_path):
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    sales = 100 + 2.0 * np.arange(30) + np.random.default_rng(0).normal(0, 1, 30)
    pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "sales": sales}).to_csv(tmp_path / "daily.csv", index=False)
    return _fit(tmp_path, f"""
        data: {tmp_path / 'daily.csv'}
        model: {{type: linear, inputs: [day], target: sales}}
        output: {{plots: false}}
        """, name="daily")


def test_dates_are_read_with_the_fits_origin(tmp_path):
    out = _daily(tmp_path)
    result = json.loads((out / "result.json").read_text())
    assert result["prediction"]["date_origins"] == {"day": "2024-01-01"}
    (tmp_path / "feb.csv").write_text("day\n2024-02-05\n2024-01-11\n")
    done = run_cli("predict", str(out), str(tmp_path / "feb.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    p = result["params"]
    assert got["prediction"].to_numpy() == pytest.approx(p["intercept"] + p["coef_day"] * np.array([35, 10]))
    assert got["outside_fitted_range"].tolist() == [True, False]


def test_until_every_forecasts_a_date_range(tmp_path):
    out = _daily(tmp_path)
    done = run_cli("predict", str(out), "--until", "2024-02-14", "--every", "7d", "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    assert got["day"].tolist() == ["2024-02-06", "2024-02-13"]         # a step after the last fitted day, 01-30
    p = json.loads((out / "result.json").read_text())["params"]
    assert got["prediction"].to_numpy() == pytest.approx(p["intercept"] + p["coef_day"] * np.array([36, 43]))
    assert (got["pi_lower"] < got["ci_lower"]).all() and (got["ci_upper"] < got["pi_upper"]).all()


def test_until_needs_a_single_date_input(tmp_path, linear_run):
    out, _, _ = linear_run
    done = run_cli("predict", str(out), "--until", "2024-02-14", "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2 and "--until: --until needs a model whose one input is a date column" in done.stderr
    done = run_cli("predict", str(out), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2 and "give a DATA file" in done.stderr


def test_logistic_models_give_probabilities_within_their_interval(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 200)
    won = (rng.uniform(size=200) < 1 / (1 + np.exp(-(0.5 + 1.5 * x)))).astype(int)
    status = np.where(won == 1, "won", "lost")
    pd.DataFrame({"x": x, "Status": status}).to_csv(tmp_path / "leads.csv", index=False)
    out = _fit(tmp_path, f"""
        data: {{path: {tmp_path / 'leads.csv'}, derive: {{won: "Status == 'won'"}}}}
        model: {{type: logistic, inputs: [x], target: won}}
        output: {{plots: false}}
        """)
    (tmp_path / "new.csv").write_text("x\n-1\n0\n2\n")      # no Status column: the target is not needed
    done = run_cli("predict", str(out), str(tmp_path / "new.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    assert "pi_lower" not in got.columns and "prediction" not in got.columns
    p = json.loads((out / "result.json").read_text())["params"]
    expected = 1 / (1 + np.exp(-(p["intercept"] + p["coef_x"] * np.array([-1, 0, 2]))))
    assert got["probability"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert ((0 < got["ci_lower"]) & (got["ci_lower"] < got["probability"]) & (got["probability"] < got["ci_upper"])
            & (got["ci_upper"] < 1)).all()
