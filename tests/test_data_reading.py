"""Reading numbers and dates that is never silently wrong (issue 16): the decimal mark decided from
every value of the file, one date format per column, overflow and NaN text refused, every dropped
row counted by reason, and a refusal above data.max_dropped. Each case read wrongly before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def error_of(options: dict, columns: list[str]) -> str:
    with pytest.raises(InputError) as info:
        load_dataset(options, columns)
    text = str(info.value)
    assert "\n" not in text
    return text


def european_decay(folder: Path, rows: int = 40) -> Path:
    x = np.linspace(0.1, 4.0, rows)
    y = 3.2 * np.exp(-0.45 * x) + 0.8
    lines = ["x;y"] + [f"{a:.3f};{b:.3f}".replace(".", ",") for a, b in zip(x, y)]
    return write(folder, "eu.csv", "\n".join(lines) + "\n")


# ---- decimal and thousands separators ----------------------------------------------------------

def test_european_csv_with_three_decimals_reads_decimal_commas(tmp_path):
    ds = load_dataset({"path": european_decay(tmp_path)}, ["x", "y"])
    x = np.linspace(0.1, 4.0, 40)
    np.testing.assert_allclose(ds.columns["x"], np.round(x, 3))
    np.testing.assert_allclose(ds.columns["y"], np.round(3.2 * np.exp(-0.45 * x) + 0.8, 3))
    assert ds.columns["y"].max() < 4.0           # 3,931 is 3.931, not 3931


def test_a_column_of_ambiguous_values_takes_the_convention_of_the_others(tmp_path):
    path = write(tmp_path, "eu.csv", "x;y\n0,100;3,931\n0,354;3,761\n")
    ds = load_dataset({"path": path}, ["y"] + ["x"])
    np.testing.assert_allclose(ds.columns["y"], [3.931, 3.761])
    us = write(tmp_path, "us.csv", 'x,y\n0.5,"3,931"\n1.25,"1,000"\n')
    np.testing.assert_allclose(load_dataset({"path": us}, ["x", "y"]).columns["y"], [3931.0, 1000.0])


def test_ambiguous_values_alone_ask_for_the_decimal_mark_with_an_example_row(tmp_path):
    path = write(tmp_path, "amb.csv", "x;y\n1;3,931\n2;4,250\n")
    message = error_of({"path": path}, ["x", "y"])
    assert message.startswith("data: amb.csv 'y' row 2: '3,931': is that number written with a decimal comma "
                              "or a thousands separator?")
    assert "set data.decimal" in message and "data.thousands" in message
    ds = load_dataset({"path": path, "decimal": ","}, ["y"])
    np.testing.assert_allclose(ds.columns["y"], [3.931, 4.25])
    ds = load_dataset({"path": path, "thousands": ","}, ["y"])
    np.testing.assert_allclose(ds.columns["y"], [3931.0, 4250.0])


def test_dotted_thousands_in_a_semicolon_file_are_not_read_as_decimals(tmp_path):
    path = write(tmp_path, "eu.csv", "menge;preis\n1.234;0,5\n2.500;1,25\n")
    np.testing.assert_allclose(load_dataset({"path": path}, ["menge"]).columns["menge"], [1234.0, 2500.0])
    alone = write(tmp_path, "alone.csv", "menge;n\n1.234;1\n2.500;2\n")
    assert "is that number written with a decimal comma" in error_of({"path": alone}, ["menge"])


def test_columns_proving_opposite_conventions_are_an_error(tmp_path):
    path = write(tmp_path, "mixed.csv", "a;b\n0,5;12.5\n1,5;13.25\n")
    assert error_of({"path": path}, ["a", "b"]) == (
        "data: mixed.csv mixes number conventions: 'b' row 2: '12.5' has a decimal dot, 'a' row 2: '0,5' "
        "a decimal comma; set data.decimal and data.thousands")


# ---- dates ----------------------------------------------------------------------------------------

MIXED_DATES = ["2024-01-01", "01/02/2024", "20240107", "Jan 4 2024", "05.01.2024"]


def test_mixed_date_formats_name_two_rows_that_disagree(tmp_path):
    rows = [f"{MIXED_DATES[i % 5]},{i}" for i in range(40)]
    path = write(tmp_path, "d.csv", "date,y\n" + "\n".join(rows) + "\n")
    message = error_of({"path": path}, ["date", "y"])
    assert message.startswith("data.dates.date: d.csv column 'date' mixes date formats: row 2 '2024-01-01' is "
                              "%Y-%m-%d, row ")
    assert "set data.dates.date: {format: ...}" in message


def test_an_eight_digit_date_is_never_a_number(tmp_path):
    path = write(tmp_path, "d.csv", "date,y\n20240107,1\n20240110,2\n")
    ds = load_dataset({"path": path, "dates": {"date": {"format": "%Y%m%d"}}}, ["date", "y"])
    np.testing.assert_allclose(ds.columns["date"], [0.0, 3.0])
    iso = write(tmp_path, "iso.csv", "date,y\n2024-01-01,1\n20240107,2\n2024-01-09,3\n")
    message = error_of({"path": iso}, ["date", "y"])
    assert "mixes date formats" in message and "'20240107' is %Y%m%d" in message


def test_a_date_format_in_the_config_reads_the_column(tmp_path):
    path = write(tmp_path, "d.csv", "day,y\n05.01.2024,1\n07.01.2024,2\n")
    ds = load_dataset({"path": path, "dates": {"day": {"format": "%d.%m.%Y", "origin": "2024-01-01"}}}, ["day"])
    np.testing.assert_allclose(ds.columns["day"], [4.0, 6.0])


def test_day_or_month_first_is_asked_when_no_value_decides(tmp_path):
    path = write(tmp_path, "d.csv", "day,y\n01/02/2024,1\n03/04/2024,2\n")
    message = error_of({"path": path}, ["day", "y"])
    assert message.startswith("data.dates.day: d.csv column 'day': dates such as '01/02/2024' (row 2) read "
                              "differently as %d/%m/%Y or %m/%d/%Y")
    decided = write(tmp_path, "e.csv", "day,y\n01/02/2024,1\n03/14/2024,2\n")
    np.testing.assert_allclose(load_dataset({"path": decided}, ["day"]).columns["day"], [0.0, 72.0])


# ---- overflow, NaN text, and the missing policies --------------------------------------------------

def test_overflow_to_infinity_is_an_error_naming_the_row(tmp_path):
    path = write(tmp_path, "big.csv", "x,y\n1,2\n2,1e400\n3,4\n4,5\n5,6\n")
    assert error_of({"path": path}, ["x", "y"]) == ("data: big.csv row 3: 'y' is not a finite number: '1e400' "
                                                    "(set data.unreadable: drop to skip such rows)")


def test_nan_text_is_an_error_naming_the_row(tmp_path):
    path = write(tmp_path, "nan.csv", "x,y\n1,2\n2,NaN\n3,4\n")
    assert error_of({"path": path}, ["x", "y"]) == ("data: nan.csv row 3: 'y' is not a number: 'NaN' "
                                                    "(set data.unreadable: drop to skip such rows)")


def test_unreadable_values_are_dropped_and_counted_under_an_explicit_policy(tmp_path):
    rows = [f"{i},{i * 2}" for i in range(20)] + ["20,1e400", "21,nan", "22,"]
    path = write(tmp_path, "p.csv", "x,y\n" + "\n".join(rows) + "\n")
    ds = load_dataset({"path": path, "unreadable": "drop", "max_dropped": 0.2}, ["x", "y"])
    assert ds.n == 20
    assert ds.summary == {"rows_read": 23, "rows_used": 20,
                          "dropped": {"total": 3, "by_reason": {"non-finite number in y": 1,
                                                                "unreadable number in y": 1, "empty y": 1},
                                      "first_row": 22}}


# ---- the account of dropped rows -----------------------------------------------------------------

def sessions_file(folder: Path) -> Path:
    rows = []
    for i in range(891):
        sessions = "" if i % 38 == 10 and i < 880 else str(100 + i)
        date = "someday" if i in (400, 500, 600, 700, 800) else f"2024-01-{1 + i % 28:02d}"
        rows.append(f"{date},{sessions},{i % 7}")
    return write(folder, "visits.csv", "date,Sessions,y\n" + "\n".join(rows) + "\n")


def test_dropped_rows_are_counted_by_reason_with_the_first_row_and_one_sentence(tmp_path):
    ds = load_dataset({"path": sessions_file(tmp_path), "unreadable": "drop"}, ["Sessions", "date", "y"])
    assert ds.summary == {"rows_read": 891, "rows_used": 863,
                          "dropped": {"total": 28, "by_reason": {"empty Sessions": 23, "unreadable date in date": 5},
                                      "first_row": 12}}
    assert ds.summary_sentence == ("28 of 891 rows dropped: 23 empty Sessions, 5 unreadable dates in date; "
                                   "first at row 12")


def test_more_dropped_rows_than_max_dropped_are_refused(tmp_path):
    rows = [f"{i},{'' if i % 4 == 0 else i}" for i in range(20)]
    path = write(tmp_path, "gaps.csv", "x,y\n" + "\n".join(rows) + "\n")
    assert error_of({"path": path}, ["x", "y"]) == (
        "data: gaps.csv: 5 of 20 rows dropped: 5 empty y; first at row 2; that is more than data.max_dropped "
        "(10%) of the rows: fix the file, or raise data.max_dropped (a share, e.g. 0.5)")
    assert load_dataset({"path": path, "max_dropped": 0.25}, ["x", "y"]).n == 15


def test_rows_a_where_filter_leaves_out_do_not_count_against_max_dropped(tmp_path):
    path = write(tmp_path, "w.csv", "x,y\n" + "\n".join(f"{i},{i}" for i in range(10)) + "\n")
    ds = load_dataset({"path": path, "where": "x < 3"}, ["y"])
    assert ds.n == 3 and ds.summary["dropped"]["by_reason"] == {"filtered out by where": 7}


# ---- through the CLI -------------------------------------------------------------------------------

def test_fit_of_a_european_csv_recovers_the_curve_and_reports_the_rows(tmp_path):
    european_decay(tmp_path)
    config = write_config(tmp_path, """
        data: eu.csv
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: 0.1, c: 0.0}
        """)
    done = run_cli("fit", str(config), "--no-reports", "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["params"]["a"] == pytest.approx(3.2, abs=0.01)
    assert result["params"]["b"] == pytest.approx(0.45, abs=0.01)
    assert result["data"]["dropped"] == {"total": 0, "by_reason": {}, "first_row": None}
    assert result["data"]["dropped_summary"] == "all 40 rows used"


def test_validate_says_how_many_rows_were_dropped_and_why(tmp_path):
    sessions_file(tmp_path)
    config = write_config(tmp_path, """
        data: {path: visits.csv, unreadable: drop}
        model: {formula: "y ~ a * Sessions + b * date + c"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 0, done.stderr
    assert "28 of 891 rows dropped: 23 empty Sessions, 5 unreadable dates in date; first at row 12" in done.stdout


def test_fit_refuses_overflow_with_exit_2_naming_the_row(tmp_path):
    write(tmp_path, "big.csv", "x,y\n1,2\n2,1e400\n3,4\n4,5\n5,6\n")
    config = write_config(tmp_path, """
        data: big.csv
        model: {formula: "y ~ a * x + b"}
        """)
    done = run_cli("fit", str(config), "--no-reports", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "big.csv row 3: 'y' is not a finite number: '1e400'" in done.stderr
    assert "Traceback" not in done.stderr
