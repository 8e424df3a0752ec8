"""Derived columns (data.derive) and categorical inputs (model.categorical)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli_helpers import run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError

LEADS = """date,Status,Price,Sessions,region
2024-01-03,won,1200,10,North
2024-01-04,lost,1500,4,South
2024-01-05,won,900,12,East
2024-01-08,lost,2100,3,North
2024-02-09,won,1100,9,South
2024-02-10,lost,1800,5,East
2024-03-11,open,1000,11,North
"""


@pytest.fixture
def leads(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    return path


def _load(path, derive, columns, **options):
    return load_dataset({"path": path, "derive": derive, **options}, columns)


def test_text_comparison_gives_one_and_zero(leads):
    ds = _load(leads, {"won": "Status == 'won'", "not_lost": "Status != 'lost'"}, ["won", "not_lost"])
    assert ds.columns["won"].tolist() == [1, 0, 1, 0, 1, 0, 0]
    assert ds.columns["not_lost"].tolist() == [1, 0, 1, 0, 1, 0, 1]


def test_arithmetic_logs_and_date_parts(leads):
    ds = _load(leads, {"price_k": "Price / 1000", "log_sessions": "log(Sessions)", "month": "month(date)",
                       "weekday": "weekday(date)", "doy": "dayofyear(date)", "year": "year(date)",
                       "day": "day(date)"},
               ["price_k", "log_sessions", "month", "weekday", "doy", "year", "day"])
    assert ds.columns["price_k"] == pytest.approx([1.2, 1.5, 0.9, 2.1, 1.1, 1.8, 1.0])
    assert ds.columns["log_sessions"] == pytest.approx(np.log([10, 4, 12, 3, 9, 5, 11]))
    assert ds.columns["month"].tolist() == [1, 1, 1, 1, 2, 2, 3]
    assert ds.columns["weekday"].tolist() == [2, 3, 4, 0, 4, 5, 0]     # 2024-01-03 was a Wednesday
    assert ds.columns["doy"].tolist() == [3, 4, 5, 8, 40, 41, 71]
    assert ds.columns["year"].tolist() == [2024] * 7
    assert ds.columns["day"].tolist() == [3, 4, 5, 8, 9, 10, 11]


def test_in_lists_boolean_operators_and_earlier_derived_columns(leads):
    ds = _load(leads, {"north_south": "region in ['North', 'South']", "east": "region not in ['North', 'South']",
                       "cheap_win": "Status == 'won' and Price < 1150", "either": "not (Sessions > 4) or month(date) == 3",
                       "price_k": "Price / 1000", "price_k2": "price_k * 2"},
               ["north_south", "east", "cheap_win", "either", "price_k2"])
    assert ds.columns["north_south"].tolist() == [1, 1, 0, 1, 1, 0, 1]
    assert ds.columns["east"].tolist() == [0, 0, 1, 0, 0, 1, 0]
    assert ds.columns["cheap_win"].tolist() == [0, 0, 1, 0, 1, 0, 0]
    assert ds.columns["either"].tolist() == [0, 1, 0, 1, 0, 0, 1]
    assert ds.columns["price_k2"] == pytest.approx([2.4, 3.0, 1.8, 4.2, 2.2, 3.6, 2.0])


def test_a_derived_column_can_filter_rows(leads):
    ds = _load(leads, {"won": "Status == 'won'"}, ["Price"], where="won == 1")
    assert ds.columns["Price"].tolist() == [1200, 900, 1100]


@pytest.mark.parametrize("derive, message", [
    ({"won": "Stats == 'won'"}, "data.derive.won: unknown column 'Stats' (did you mean 'Status'?)"),
    ({"b": "a * 2", "a": "Price"}, "data.derive.b: 'a' is derived after 'b'"),
    ({"Price": "Price * 2"}, "data.derive.Price: the file already has a column 'Price'"),
    ({"x": "Price == 'cheap'"}, "data.derive.x: 'Price' holds numbers: compare it with a number"),
    ({"x": "Price + 'a'"}, "data.derive.x: text in quotes is not allowed"),
    ({"x": "date"}, "data.derive.x: 'date' is a date, not a number"),
])
def test_bad_derived_columns_name_their_key(leads, derive, message):
    with pytest.raises(InputError) as info:
        _load(leads, derive, list(derive)[:1])
    assert message in str(info.value)


def test_a_result_that_is_not_finite_names_the_key_and_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Sessions,y\n3,1\n0,2\n5,3\n")
    with pytest.raises(InputError) as info:
        _load(path, {"log_sessions": "log(Sessions)"}, ["log_sessions"])
    text = str(info.value)
    assert text.startswith("data.derive.log_sessions: d.csv row 3: the result is not a finite number (-inf)")
    assert "Sessions = '0'" in text and "unreadable: drop" in text


def test_an_unreadable_input_names_the_key_and_row_or_is_dropped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Price,y\n1000,1\nabc,2\n3000,3\n,4\n")
    with pytest.raises(InputError) as info:
        _load(path, {"price_k": "Price / 1000"}, ["price_k"])
    assert "data.derive.price_k: d.csv row 3: an input is unreadable (Price = 'abc')" in str(info.value)
    ds = _load(path, {"price_k": "Price / 1000"}, ["price_k", "y"], unreadable="drop", max_dropped=0.6)
    assert ds.columns["price_k"].tolist() == [1.0, 3.0]
    assert ds.summary["dropped"]["by_reason"] == {"unreadable number in price_k": 1, "empty price_k": 1}


def test_empty_text_makes_the_derived_value_empty(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Status,y\nwon,1\n,2\nlost,3\n")
    ds = _load(path, {"won": "Status == 'won'"}, ["won", "y"], max_dropped=0.5)
    assert ds.columns["won"].tolist() == [1, 0]
    assert ds.dropped == [(3, "missing 'won'")]


def _categorical_config(tmp_path, leads):
    return write_config(tmp_path, f"""
        name: cat
        data:
          path: {leads}
          derive: {{won: "Status == 'won'", price_k: "Price / 1000"}}
        model: {{type: linear, inputs: [price_k, region], categorical: [region], target: won}}
        output: {{plots: false}}
        """)


def test_categorical_inputs_are_indicators_against_the_first_sorted_level(tmp_path, leads):
    config = _categorical_config(tmp_path, leads)
    out = tmp_path / "out"
    done = run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q")
    assert done.returncode == 0, done.stderr
    import json

    result = json.loads((out / "result.json").read_text())
    assert list(result["params"]) == ["intercept", "coef_price_k", "region[North]", "region[South]"]
    region = ["North", "South", "East", "North", "South", "East", "North"]
    won = np.array([1, 0, 1, 0, 1, 0, 0], dtype=float)
    price_k = np.array([1.2, 1.5, 0.9, 2.1, 1.1, 1.8, 1.0])
    design = np.column_stack([np.ones(7), price_k, [r == "North" for r in region], [r == "South" for r in region]])
    expected, *_ = np.linalg.lstsq(design, won, rcond=None)
    assert [result["params"][k] for k in result["params"]] == pytest.approx(expected, abs=1e-9)
    assert result["prediction"]["levels"] == {"region": ["East", "North", "South"]}


def test_validate_lists_derived_columns_and_levels(tmp_path, leads):
    done = run_cli("validate", str(_categorical_config(tmp_path, leads)))
    assert done.returncode == 0, done.stderr
    assert "derived   won = Status == 'won'" in done.stdout
    assert "derived   price_k = Price / 1000" in done.stdout
    assert "category  region: East (reference), North, South" in done.stdout


def test_categorical_needs_a_built_in_linear_or_logistic_model(tmp_path, leads):
    config = write_config(tmp_path, f"""
        data: {leads}
        model: {{formula: "Price ~ a * Sessions", categorical: [region]}}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert "model.categorical" in done.stderr
