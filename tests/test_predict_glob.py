"""`workbench predict` on a glob of files predicts every file's rows with their own predictions
(it once wrote the first file's rows beside the last file's predictions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.cli_helpers import run_cli, write_config


def test_every_file_of_a_glob_gets_its_own_predictions(tmp_path):
    rng = np.random.default_rng(11)
    price = rng.uniform(1, 10, 60)
    units = 50 - 3 * price + rng.normal(0, 1.0, 60)
    pd.DataFrame({"price": price, "units": units}).to_csv(tmp_path / "sales.csv", index=False)
    config = write_config(tmp_path, f"""
        data: {tmp_path / 'sales.csv'}
        model: {{type: linear, inputs: [price], target: units}}
        output: {{plots: false}}
        """, name="fit.yaml")
    assert run_cli("fit", str(config), "--out", str(tmp_path / "run"), "--no-reports", "-q").returncode == 0
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
    config = write_config(tmp_path, f"""
        data: {tmp_path / 'fit.csv'}
        model: {{type: linear, inputs: [share], target: units}}
        output: {{plots: false}}
        """, name="fit.yaml")
    assert run_cli("fit", str(config), "--out", str(tmp_path / "run"), "--no-reports", "-q").returncode == 0
    pd.DataFrame({"share": ["23.2%", "50%"]}).to_csv(tmp_path / "ok.csv", index=False)
    pd.DataFrame({"share": [23.2, 50.0]}).to_csv(tmp_path / "plain.csv", index=False)

    fine = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "ok.csv"), "--out", str(tmp_path / "a.csv"))
    warned = run_cli("predict", str(tmp_path / "run"), str(tmp_path / "plain.csv"), "--out", str(tmp_path / "b.csv"))
    assert fine.returncode == 0 and "percentages" not in fine.stderr
    assert warned.returncode == 0 and "plain.csv column 'share' holds plain numbers" in warned.stderr
