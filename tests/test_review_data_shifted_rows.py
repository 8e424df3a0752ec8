"""A row shifted by an unquoted separator leaves a number right of the header's last name, in a row
longer than the header: refused naming the row, even when every row is shifted. A note there, a
sheet's cell beside the table, and a quoted cell across lines after an inch mark are read."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import run_cli, write_config
from workbench.data import load_dataset
from workbench.errors import InputError


def _write(tmp_path, text: str):
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _load(tmp_path, text: str):
    return load_dataset({"path": _write(tmp_path, text)}, ["x", "y"])


def test_every_row_with_an_unquoted_thousands_separator_is_refused_not_read_as_its_first_digits(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,926,3853\n2,500,5001\n3,390,4781\n4,120,8241\n", encoding="utf-8")
    config = write_config(tmp_path, """
        data: {path: d.csv}
        model: {type: linear, inputs: [x], target: y}
        output: {plots: false}
        """, name="c.yaml")
    done = run_cli("fit", str(config), "--out", str(tmp_path / "out"), "--no-reports", "-q")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "d.csv row 2 has 3 values but the header (row 1) names 2 columns ('1,926,3853')" in lines[0]
    assert "quote such values, set data.delimiter, or name the extra column in the header" in lines[0]


def test_a_decimal_comma_split_by_the_delimiter_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"d\.csv row 3 has 3 values .* names 2 columns \('3,12,5'\)"):
        _load(tmp_path, "x,y\n1,2\n3,12,5\n4,8\n")


def test_every_row_shifted_into_a_trailing_empty_field_is_refused(tmp_path):
    # every line ends with the delimiter: a shifted row is longer by one, its number under no name
    with pytest.raises(InputError, match=r"d\.csv row 2 has 3 values but the header \(row 1\) names 2 columns"):
        _load(tmp_path, "x,y,\n1,926,3853,\n2,500,5001,\n3,390,4781,\n")


def test_the_count_of_values_is_of_filled_cells(tmp_path):
    with pytest.raises(InputError, match=r"d\.csv row 3 has 3 values but"):
        _load(tmp_path, "x,y\n1,2\n3,,1,234\n4,8\n")


def test_a_text_note_beside_one_row_is_read(tmp_path):
    data = _load(tmp_path, "x,y\n1,3\n2,5\n3,7,outlier?\n4,9\n5,11\n")
    np.testing.assert_array_equal(data.columns["x"], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(data.columns["y"], [3, 5, 7, 9, 11])


def test_a_note_in_a_cell_beside_a_sheets_table_is_read(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["x", "y"])
    for x in range(1, 9):
        sheet.append([x, 2 * x + 1])
    sheet["D8"] = "checked by Ann"
    sheet["D9"] = 5                    # no separator shifts a sheet's cells: a number there is read too
    book.save(tmp_path / "d.xlsx")
    data = load_dataset({"path": tmp_path / "d.xlsx"}, ["x", "y"])
    np.testing.assert_array_equal(data.columns["x"], np.arange(1, 9))
    np.testing.assert_array_equal(data.columns["y"], 2 * np.arange(1, 9) + 1)


def test_an_inch_mark_then_a_last_cell_across_lines_is_read(tmp_path):
    data = load_dataset({"path": _write(tmp_path, 'x,y,note\n1,3,a 5" screen\n2,5,b\n3,7,c\n4,9,"two\nlines"\n')},
                        ["x", "y"])
    np.testing.assert_array_equal(data.columns["x"], [1, 2, 3, 4])
    np.testing.assert_array_equal(data.row_numbers, [2, 3, 4, 5])


def test_a_quote_left_open_after_an_inch_mark_is_still_named(tmp_path):
    with pytest.raises(InputError, match=r"d\.csv line 4: a quote \(\"\) opened there is never closed"):
        load_dataset({"path": _write(tmp_path, 'x,y,note\n1,3,a 5" screen\n2,5,b\n3,7,"two\n4,9,d\n')}, ["x", "y"])

