"""Regression tests for the analyst-loop findings of QA (/work/qa/findings.md, issues 11, 16, 9).

Each test names the finding it pins down (#2, #7, ...): the behaviour QA saw was wrong, and the
test fails on the code before the fix.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError

STATUS = "Status,x\nwon,1\nWon,2\n won ,3\nlost,4\nWON,5\nlost,6\nwon,7\nopen,8\nopen,9\n"


@pytest.fixture
def status_csv(tmp_path):
    path = tmp_path / "status.csv"
    path.write_text(STATUS)
    return path


def _status_config(tmp_path, derive: str, model: str = "{type: linear, inputs: [x], target: won}"):
    return write_config(tmp_path, f"""
        data: {{path: status.csv, derive: {{won: "{derive}"}}}}
        model: {model}
        output: {{plots: false}}
        """)


# ---- #2: a quoted text that is no value of its column; a constant target ------------------------

def test_quoted_text_matching_no_value_is_refused_naming_key_column_and_values(tmp_path, status_csv):
    done = run_cli("validate", str(_status_config(tmp_path, "Status == 'wonn'")))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line
    assert "data.derive.won: 'wonn' is not a value of Status (did you mean 'won'?)" in line
    assert "its values are: won, lost, open, Won, WON" in line


def test_in_list_is_refused_only_when_no_listed_text_is_a_value(status_csv):
    with pytest.raises(InputError, match=r"'closed' is not a value of Status"):
        load_dataset({"path": status_csv, "derive": {"shut": "Status in ['closed', 'shut']"}}, ["shut"])
    ds = load_dataset({"path": status_csv, "derive": {"done": "Status in ['lost', 'closed']"}}, ["done"])
    assert ds.columns["done"].tolist() == [0, 0, 0, 1, 0, 1, 0, 0, 0]
    assert ds.warnings == ["data.derive.done: 'closed' is not a value of Status (no row matches it)"]


def test_constant_target_is_refused_naming_the_target_and_its_derivation(tmp_path, status_csv):
    done = run_cli("fit", str(_status_config(tmp_path, "x > 0")), "--out", str(tmp_path / "out"), "--no-reports")
    assert done.returncode == 2
    assert ("model.target: the target 'won' is 1 in every one of the 9 rows fitted (derived as 'x > 0' in "
            "data.derive.won): nothing can be fitted to a constant") in done.stderr
    assert not (tmp_path / "out").exists()


def test_constant_target_of_a_formula_is_refused(tmp_path):
    (tmp_path / "flat.csv").write_text("x,y\n1,3\n2,3\n3,3\n4,3\n")
    config = write_config(tmp_path, """
        data: flat.csv
        model: {formula: "y ~ a * x + b"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert "model.formula: the target 'y' is 3 in every one of the 4 rows fitted" in done.stderr


# ---- #7: values that differ from the quoted text only in case or spaces --------------------------

def test_case_and_space_variants_are_warned_about_in_validate_and_fit(tmp_path, status_csv):
    config = _status_config(tmp_path, "Status == 'won'")
    expected = ("data.derive.won: Status has values that differ from 'won' only in case or spaces: 'Won' (1 row), "
                "'WON' (1 row); they do not count as 'won' (to match them, compare lower(Status) == 'won')")
    checked = run_cli("validate", str(config))
    assert checked.returncode == 0, checked.stderr
    assert f"warning   {expected}" in checked.stdout
    fitted = run_cli("fit", str(config), "--out", str(tmp_path / "out"), "--no-reports")
    assert fitted.returncode == 0, fitted.stderr
    assert f"warning: {expected}" in fitted.stdout
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert expected in result["warnings"]
    predictions = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert predictions["won"].tolist() == [1, 0, 1, 0, 0, 0, 1, 0, 0]      # the comparison stays exact


def test_lower_compares_text_without_regard_to_case(status_csv):
    ds = load_dataset({"path": status_csv, "derive": {"won": "lower(Status) == 'won'"}}, ["won"])
    assert ds.columns["won"].tolist() == [1, 1, 1, 0, 1, 0, 1, 0, 0]
    assert ds.warnings == []


def test_lower_takes_one_text_column(status_csv):
    with pytest.raises(InputError, match=r"lower\(\) takes 1 argument, a text column"):
        load_dataset({"path": status_csv, "derive": {"won": "lower('won') == 'won'"}}, ["won"])


def test_text_differing_only_in_case_from_every_value_is_refused_with_the_lower_hint(status_csv):
    with pytest.raises(InputError) as caught:
        load_dataset({"path": status_csv, "derive": {"open": "Status == 'OPEN'"}}, ["open"])
    assert ("'OPEN' is not a value of Status, but 'open' (2 rows) differ from it only in case or spaces "
            "(to match them, compare lower(Status) == 'open')") in str(caught.value)


# ---- #6: predict from a fit that did not converge ----------------------------------------------

@pytest.fixture
def unconverged_run(tmp_path):
    x = np.linspace(0, 4, 20)
    pd.DataFrame({"x": x, "y": 3.0 * np.exp(-0.7 * x) + 0.5}).to_csv(tmp_path / "decay.csv", index=False)
    config = write_config(tmp_path, """
        data: decay.csv
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1, b: 0.1, c: 0}
        optimizer: {name: gd, max_steps: 3}
        output: {plots: false}
        """)
    out = tmp_path / "run"
    done = run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q")
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "result.json").read_text())["status"] == "max_steps"
    pd.DataFrame({"x": [0.5, 1.5]}).to_csv(tmp_path / "new.csv", index=False)
    return out


def test_predict_refuses_a_fit_that_did_not_converge_naming_its_status(tmp_path, unconverged_run):
    done = run_cli("predict", str(unconverged_run), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 2
    assert "the fit did not converge (status max_steps: reached max_steps = 3" in done.stderr
    assert "give --force" in done.stderr
    assert not (tmp_path / "p.csv").exists()


def test_predict_with_force_warns_once_and_labels_every_row(tmp_path, unconverged_run):
    done = run_cli("predict", str(unconverged_run), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv"),
                   "--force")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: the fit did not converge (status max_steps") == 1
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["fit_status"].tolist() == ["max_steps", "max_steps"]
    assert written["prediction"].notna().all() and written["ci_lower"].notna().all()


def test_api_load_predict_refuses_an_unconverged_fit_unless_forced(unconverged_run):
    import workbench

    fitted = workbench.load(unconverged_run)
    rows = pd.DataFrame({"x": [0.5, 1.5]})
    with pytest.raises(InputError, match=r"did not converge \(status max_steps"):
        fitted.predict(rows)
    with pytest.warns(UserWarning, match=r"did not converge \(status max_steps"):
        table = fitted.predict(rows, intervals=True, force=True)
    assert table["fit_status"].tolist() == ["max_steps", "max_steps"]


# ---- #15: the date format the fit inferred is the one predict reads with -----------------------

def test_predict_reads_dates_in_the_format_the_fit_inferred(tmp_path):
    days = pd.date_range("2023-01-02", periods=30, freq="3D")
    sales = 100 + 2.0 * np.arange(30)
    pd.DataFrame({"Date": days.strftime("%m/%d/%Y"), "sales": sales}).to_csv(tmp_path / "us.csv", index=False)
    config = write_config(tmp_path, """
        data: us.csv
        model: {type: linear, inputs: [Date], target: sales}
        output: {plots: false}
        """)
    out = tmp_path / "run"
    assert run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q").returncode == 0
    spec = json.loads((out / "result.json").read_text())["prediction"]
    assert spec["date_formats"] == {"Date": "%m/%d/%Y"}
    # 08/01/2023 alone reads as 1 August or 8 January; the fit's format decides
    (tmp_path / "next.csv").write_text("Date\n08/01/2023\n08/02/2023\n")
    done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    predicted = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy()
    expected_days = (pd.to_datetime(["2023-08-01", "2023-08-02"]) - days[0]).days.to_numpy()
    assert predicted == pytest.approx(100 + 2.0 / 3.0 * expected_days, rel=1e-6)
    # the extrapolation warning gives the fitted range as dates (#24)
    assert "Date 2023-01-02 to 2023-03-30" in done.stderr


# ---- #16: rows that cannot be predicted keep empty cells, counted by reason --------------------

def test_predict_leaves_rows_with_a_non_finite_derived_input_or_an_unseen_level_empty(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    region = np.array(["East", "North", "South"])[rng.integers(0, 3, n)]
    sessions = rng.integers(1, 50, n)
    y = 2.0 + 0.5 * np.log(sessions) + (region == "North") * 1.0 + rng.normal(0, 0.1, n)
    pd.DataFrame({"Sessions": sessions, "region": region, "y": y}).to_csv(tmp_path / "fit.csv", index=False)
    config = write_config(tmp_path, """
        data: {path: fit.csv, derive: {log_sessions: "log(Sessions)"}}
        model: {type: linear, inputs: [log_sessions, region], categorical: [region], target: y}
        output: {plots: false}
        """)
    out = tmp_path / "run"
    assert run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q").returncode == 0
    (tmp_path / "next.csv").write_text("Sessions,region\n10,East\n0,North\n12,Central\n5,South\n")
    done = run_cli("predict", str(out), str(tmp_path / "next.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    assert ("warning: 2 of 4 rows could not be predicted (1 non-finite number in log_sessions, 1 unseen level "
            "of region; first at row 3); their prediction cells are empty") in done.stderr
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["prediction"].isna().tolist() == [False, True, True, False]
    assert written["region"].tolist() == ["East", "North", "Central", "South"]
    assert "2 of 4 rows predicted" in done.stdout


# ---- #18: an Excel formula with no saved value ----------------------------------------------------

@pytest.fixture
def unsaved_formula_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["x", "y", "note"])
    for x in range(1, 9):
        sheet.append([x, 2.0 * x + 1, "ok"])
    sheet["B3"] = "=A3*2"          # openpyxl saves no value for a formula
    sheet["C4"] = "=UPPER(C2)"
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path


def test_formula_cell_without_saved_value_is_named_as_such(tmp_path, unsaved_formula_xlsx):
    config = write_config(tmp_path, """
        data: book.xlsx
        model: {type: linear, inputs: [x], target: y}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert ("book.xlsx row 3: 'y' is a formula with no saved value (=A3*2): open and save the file in Excel"
            in done.stderr)
    dropped = run_cli("validate", str(config), "--set", "data.unreadable=drop", "--set", "data.max_dropped=0.5")
    assert dropped.returncode == 0, dropped.stderr
    assert "1 of 8 rows dropped: 1 formula with no saved value in y; first at row 3" in dropped.stdout


def test_predict_copies_a_formula_cell_as_its_text_never_as_zero(tmp_path, unsaved_formula_xlsx):
    pd.DataFrame({"x": np.arange(1.0, 9.0), "y": 2.0 * np.arange(1.0, 9.0) + 1}).to_csv(tmp_path / "f.csv",
                                                                                      index=False)
    config = write_config(tmp_path, """
        data: f.csv
        model: {type: linear, inputs: [x], target: y}
        output: {plots: false}
        """)
    out = tmp_path / "run"
    assert run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q").returncode == 0
    done = run_cli("predict", str(out), str(unsaved_formula_xlsx), "--out", str(tmp_path / "p.xlsx"))
    assert done.returncode == 0, done.stderr
    written = pd.read_excel(tmp_path / "p.xlsx")
    assert written.loc[2, "note"] == "=UPPER(C2)"
    assert written.loc[1, "y"] == "=A3*2"
    assert written["prediction"].notna().all()


# ---- #19: API errors about a DataFrame name its index labels -------------------------------------

def test_api_fit_error_names_the_dataframe_index_label_not_a_file_row():
    import workbench

    frame = pd.DataFrame({"x": ["0.1abc", "2", "3", "4"], "y": [1.0, 2.0, 3.0, 4.0]}, index=[10, 11, 12, 13])
    with pytest.raises(InputError) as caught:
        workbench.fit({"model": {"formula": "y ~ a * x"}, "params": {"a": 1}}, data=frame)
    assert "data: index 10: 'x' is not a number: '0.1abc'" in str(caught.value)
    assert "row 2" not in str(caught.value)


def test_api_predict_warning_names_the_first_unpredicted_row_by_its_label():
    import workbench

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.1, 3.9, 6.2, 7.9]})
    fitted = workbench.fit({"model": {"formula": "y ~ a * x"}, "params": {"a": 1}}, data=frame)
    rows = pd.DataFrame({"x": [1.5, "n/a", "zz"]}, index=["p", "q", "r"])
    with pytest.warns(UserWarning, match=r"2 of 3 rows could not be predicted \(1 empty x, 1 unreadable number "
                                         r"in x; first at index 'q'\)"):
        values = fitted.predict(rows)
    assert np.isnan(values).tolist() == [False, True, True]


# ---- #24: forecasts every 12 hours write one date format -----------------------------------------

def test_forecast_every_12h_writes_one_date_format(tmp_path):
    days = pd.date_range("2024-01-01", periods=20, freq="D")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "y": 5 + 0.3 * np.arange(20)}).to_csv(tmp_path / "d.csv",
                                                                                          index=False)
    config = write_config(tmp_path, """
        data: d.csv
        model: {type: linear, inputs: [date], target: y}
        output: {plots: false}
        """)
    out = tmp_path / "run"
    assert run_cli("fit", str(config), "--out", str(out), "--no-reports", "-q").returncode == 0
    done = run_cli("predict", str(out), "--until", "2024-01-23", "--every", "12h", "--out", str(tmp_path / "h.csv"))
    assert done.returncode == 0, done.stderr
    stamps = pd.read_csv(tmp_path / "h.csv")["date"].tolist()
    assert stamps == ["2024-01-20 12:00:00", "2024-01-21 00:00:00", "2024-01-21 12:00:00", "2024-01-22 00:00:00",
                      "2024-01-22 12:00:00", "2024-01-23 00:00:00"]
    assert "date 2024-01-01 to 2024-01-20" in done.stderr


# ---- #20: message keys -------------------------------------------------------------------------

def test_formula_errors_are_keyed_model_formula(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n3,6\n")
    config = write_config(tmp_path, """
        data: d.csv
        model: {formula: "y ~ a**x +* 2"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert "config.yaml: model.formula: syntax error at column 11" in done.stderr


def test_predict_names_its_missing_data_argument_not_data_path(tmp_path, unconverged_run):
    done = run_cli("predict", str(unconverged_run), str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "p.csv"),
                   "--force")
    assert done.returncode == 2
    assert done.stderr.startswith("error: DATA: file not found: ")
    assert "data.path" not in done.stderr


def test_data_path_that_is_a_folder_says_so(tmp_path):
    config = write_config(tmp_path, """
        data: {path: .}
        model: {formula: "y ~ a * x"}
        """)
    done = run_cli("validate", str(config))
    assert done.returncode == 2
    assert "data.path: '.' is a folder: name a data file (.csv" in done.stderr


# ---- #21: --set values are ${VAR}-interpolated like config values ----------------------------------

def test_set_values_fill_in_environment_variables(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text("x,y\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n")
    config = write_config(tmp_path, """
        data: elsewhere.csv
        model: {formula: "y ~ a * x"}
        """)
    monkeypatch.setenv("F2_DATA_DIR", str(tmp_path / "sub"))
    done = run_cli("validate", str(config), "--set", "data.path=${F2_DATA_DIR}/d.csv", "--set",
                   "name=${F2_UNSET_NAME:-fallback}", "--show")
    assert done.returncode == 0, done.stderr
    assert f"path: {tmp_path / 'sub' / 'd.csv'}" in done.stdout
    assert "name: fallback" in done.stdout
    missing = run_cli("validate", str(config), "--set", "data.path=${F2_NOT_SET}/d.csv")
    assert missing.returncode == 2
    assert "the environment variable F2_NOT_SET is not set" in missing.stderr
    literal = run_cli("validate", str(config), "--set", "name=$${KEEP}", "--show")
    assert "name: ${KEEP}" in literal.stdout


# ---- #25: init writes names as text and backticks those that need them -----------------------------

def test_init_writes_non_ascii_names_as_text_and_backticks_names_with_spaces(tmp_path):
    (tmp_path / "store.csv").write_text("日付,Units Sold,広告費\n2024-01-01,10,3\n2024-01-02,12,4\n2024-01-03,15,5\n",
                                        encoding="utf-8")
    done = run_cli("init", "store.csv", "--target", "Units Sold", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "store.yaml").read_text(encoding="utf-8")
    assert '\\u' not in text
    assert 'inputs: ["日付", "広告費"]' in text
    assert 'formula: "`Units Sold` ~ a * 日付 + b"' in text
    assert run_cli("validate", "store.yaml", cwd=tmp_path).returncode == 0
