"""Reading costs and messages: a decorated number does not make a CSV import pandas, a workbook is
opened once for its values and number formats, and a column of a glob's file that holds no
number names that file."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import ROOT, run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError


def test_decorated_numbers_are_read_without_importing_pandas():
    script = ("import sys\n"
              "from workbench.data.arrow import string_array\n"
              "from workbench.data.cells import convert_texts\n"
              "read = convert_texts(string_array(['1', '(2)', '3%', '$4', '5-', '+-6']))\n"
              "print(read.values.tolist(), 'pandas' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1.0, -2.0, 0.03, 4.0, -5.0, nan] False"


def test_a_workbook_is_opened_once_for_its_values_and_percent_formats(tmp_path, monkeypatch):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["discount", "units"])
    for k in range(1, 7):
        sheet.append([k / 100, 50 + k])
        sheet.cell(row=k + 1, column=1).number_format = "0.0%"
    book.save(tmp_path / "d.xlsx")
    opened = []
    load_workbook = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(k) or load_workbook(*a, **k))
    data = load_dataset({"path": tmp_path / "d.xlsx"}, ["discount", "units"])
    assert len(opened) == 1
    assert data.percent_columns == ["discount"]
    np.testing.assert_allclose(data.columns["discount"], np.arange(1, 7) / 100)


def _glob_of_three(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("x,y\n1,3\n2,5\n3,7\n")
    (tmp_path / "parts" / "b.csv").write_text("x,y\n4,9\n5,11\n6,13\n")
    (tmp_path / "parts" / "c_text.csv").write_text("x,y\nabc,15\ndef,17\nghi,19\n")


def test_a_glob_files_text_column_is_named_with_its_file(tmp_path):
    _glob_of_three(tmp_path)
    with pytest.raises(InputError) as info:
        load_dataset({"path": tmp_path / "parts" / "*.csv"}, ["x", "y"])
    assert str(info.value) == "data: column 'x' in c_text.csv is not numeric (e.g. row 2: 'abc')"


def test_fit_on_a_glob_names_the_file_whose_column_holds_no_number(tmp_path):
    _glob_of_three(tmp_path)
    config = write_config(tmp_path, """
        data: {path: parts/*.csv}
        model: {type: linear, inputs: [x], target: y}
        output: {plots: false}
        """, name="c.yaml")
    done = run_cli("fit", str(config), "--out", str(tmp_path / "out"), "--no-reports", "-q", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "column 'x' in c_text.csv is not numeric (e.g. row 2: 'abc')" in done.stderr
