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
