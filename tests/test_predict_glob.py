"""`workbench predict` on a glob of files predicts every file's rows with their own predictions
(it once wrote the first file's rows beside the last file's predictions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.cli_helpers import run_cli, write_config


def _fit_linear(folder, data_file: str, column: str) -> None:
    """Fit units on ``column`` of ``folder/data_file`` into ``folder/run``, without reports."""
    config = write_config(folder, f"""
        data: {folder / data_file}
        model: {{type: linear, inputs: [{column}], target: units}}
        output: {{plots: false}}
        """, name="fit.yaml")
    assert run_cli("fit", str(config), "--out", str(folder / "run"), "--no-reports", "-q").returncode == 0


def test_every_file_of_a_glob_gets_its_own_predictions(tmp_path):
    rng = np.random.default_rng(11)
    price = rng.uniform(1, 10, 60)
    units = 50 - 3 * price + rng.normal(0, 1.0, 60)
    pd.DataFrame({"price": price, "units": units}).to_csv(tmp_path / "sales.csv", index=False)
    _fit_linear(tmp_path, "sales.csv", "price")
    (tmp_path / "new").mkdir()
    parts = {"a.csv": [1.0, 2.0], "b.csv": [5.0, 6.0, 7.0], "c.csv": [9.5]}
    for name, prices in parts.items():
        pd.DataFrame({"price": prices}).to_csv(tmp_path / "new" / name, index=False)

    done = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "new" / "*.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    joined = pd.read_csv(tmp_path / "p.csv")
    assert joined["file"].tolist() == ["a.csv"] * 2 + ["b.csv"] * 3 + ["c.csv"]
    assert joined["price"].tolist() == [1.0, 2.0, 5.0, 6.0, 7.0, 9.5]
    one_by_one = []
    for name in parts:
        single = tmp_path / f"p_{name}"
        assert run_cli("predict", str(tmp_path / "run"), str(tmp_path / "new" / name), "--out", str(single)).returncode == 0
        one_by_one += pd.read_csv(single)["prediction"].tolist()
    assert np.allclose(joined["prediction"], one_by_one, rtol=0, atol=0)
    assert "6 of 6 rows predicted" in done.stdout


def test_a_percentage_input_given_as_plain_numbers_is_warned_about(tmp_path):
    rng = np.random.default_rng(12)
    share = rng.uniform(0.05, 0.4, 40)
    units = 20 + 30 * share + rng.normal(0, 0.5, 40)
    pd.DataFrame({"share": [f"{100 * v:.1f}%" for v in share], "units": units}).to_csv(tmp_path / "fit.csv",
                                                                                        index=False)
    _fit_linear(tmp_path, "fit.csv", "share")
    pd.DataFrame({"share": ["23.2%", "50%"]}).to_csv(tmp_path / "ok.csv", index=False)
    pd.DataFrame({"share": [23.2, 50.0]}).to_csv(tmp_path / "plain.csv", index=False)

    fine = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "ok.csv"), "--out", str(tmp_path / "a.csv"))
    warned = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "plain.csv"), "--out", str(tmp_path / "b.csv"))
    assert fine.returncode == 0 and "percentages" not in fine.stderr
    assert warned.returncode == 0 and "plain.csv column 'share' holds plain numbers" in warned.stderr


def test_new_rows_that_cannot_decide_their_decimal_mark_take_the_fits(tmp_path):
    rng = np.random.default_rng(13)
    price = rng.uniform(1000, 5000, 40)
    units = 10 + 0.01 * price + rng.normal(0, 0.5, 40)
    european = [f"{p:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") for p in price]
    pd.DataFrame({"price": european, "units": [f"{u:.3f}".replace(".", ",") for u in units]}).to_csv(
        tmp_path / "fit.csv", sep=";", index=False)
    _fit_linear(tmp_path, "fit.csv", "price")
    (tmp_path / "new.csv").write_text("price\n1.234\n2.500\n", encoding="utf-8")     # alone: 1.234 or 1234?

    done = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "p.csv", dtype=str)["price"].tolist() == ["1.234", "2.500"]   # as written
    predicted = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy()
    fit = __import__("json").loads((tmp_path / "run" / "result.json").read_text(encoding="utf-8"))
    expected = fit["params"]["intercept"] + fit["params"]["coef_price"] * np.array([1234.0, 2500.0])
    assert np.allclose(predicted, expected)


def test_a_file_of_a_glob_that_cannot_be_read_is_one_line_about_the_data_argument(tmp_path):
    rng = np.random.default_rng(14)
    price = rng.uniform(1, 10, 40)
    pd.DataFrame({"price": price, "units": 50 - 3 * price + rng.normal(0, 1.0, 40)}).to_csv(tmp_path / "sales.csv",
                                                                                             index=False)
    _fit_linear(tmp_path, "sales.csv", "price")
    (tmp_path / "new").mkdir()
    pd.DataFrame({"price": [1.0, 2.0]}).to_csv(tmp_path / "new" / "a.csv", index=False)
    pd.DataFrame({"price": ["cheap", "dear", "free"]}).to_csv(tmp_path / "new" / "b.csv", index=False)
    pd.DataFrame({"price": [9.5]}).to_csv(tmp_path / "new" / "c.csv", index=False)

    done = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "new" / "*.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and not lines[0].startswith("error: data:")   # predict has no data key
    assert "'price' in b.csv" in lines[0]                                                 # the file named
    assert not (tmp_path / "p.csv").exists()
