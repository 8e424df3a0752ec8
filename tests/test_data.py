"""Reading spreadsheet exports: delimiters, headers below title rows, numbers typed as text, dates,
sheets, filters, dropped rows with their spreadsheet row numbers, and every error message."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import openpyxl
import pytest

from workbench.data import DataConfig, load_dataset, numeric_columns, read_columns, read_table
from workbench.data.cells import parse_number
from workbench.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def message(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


# ---- the shipped example data ----------------------------------------------------------------------

def test_example_sales_loads_with_row_numbers_and_file_hash():
    path = ROOT / "data" / "example_sales.csv"
    ds = load_dataset({"path": path}, ["units", "price"])
    assert list(ds.columns) == ["units", "price"]
    assert ds.n == ds.n_rows_read == 60 and ds.n_dropped == 0 and ds.dropped == []
    assert ds.all_columns == ["week", "price", "units", "ads"]
    assert ds.row_numbers[0] == 2 and ds.row_numbers[-1] == 61
    assert ds.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ds.columns["price"].dtype == np.float64
    assert 2 <= ds.columns["price"].min() and ds.columns["price"].max() <= 12
    assert ds.sheet is None and ds.header_row == 1


def test_example_data_follow_their_generating_curves():
    sales = load_dataset({"path": ROOT / "data" / "example_sales.csv"}, ["price", "units"])
    curve = 5200 * sales.columns["price"] ** -1.3 + 150
    assert np.std(sales.columns["units"] - curve) < 40
    decay = load_dataset({"path": ROOT / "data" / "decay.csv"}, ["x", "y"])
    assert decay.n == 40
    assert np.max(np.abs(decay.columns["y"] - (3.2 * np.exp(-0.45 * decay.columns["x"]) + 0.8))) < 0.15


# ---- text files: delimiters, headers, encodings ---------------------------------------------------

@pytest.mark.parametrize("name,text,options", [
    ("semi.csv", "x;y\n1,5;2\n2,5;3\n", {"decimal": ","}),
    ("tabs.txt", "x\ty\n1.5\t2\n2.5\t3\n", {}),
    ("pipes.txt", "x|y\n1.5|2\n2.5|3\n", {}),
    ("data.tsv", "x\ty\n1.5\t2\n2.5\t3\n", {}),
    ("given.txt", "x:y\n1.5:2\n2.5:3\n", {"delimiter": ":"}),
    ("named.csv", "x\ty\n1.5\t2\n2.5\t3\n", {"delimiter": "tab"}),
    ("cp1252.csv", "x,y,note\n1.5,2,caf\xe9\n2.5,3,\xe9t\xe9\n", {}),
])
def test_delimiter_is_detected_or_taken_from_options(tmp_path, name, text, options):
    encoding = "cp1252" if "cp1252" in name else "utf-8"
    ds = load_dataset({"path": write(tmp_path, name, text, encoding), **options}, ["x", "y"])
    np.testing.assert_array_equal(ds.columns["x"], [1.5, 2.5])
    np.testing.assert_array_equal(ds.columns["y"], [2.0, 3.0])


def test_title_rows_above_the_header_are_skipped_and_row_numbers_count_them(tmp_path):
    path = write(tmp_path, "report.csv", "Weekly sales report\nexported 2024-03-01\n\nprice,units\n2,10\n\n3,8\n")
    for options in ({}, {"header_row": 4}):
        ds = load_dataset({"path": path, **options}, ["units"])
        assert ds.header_row == 4
        np.testing.assert_array_equal(ds.row_numbers, [5, 7])
        np.testing.assert_array_equal(ds.columns["units"], [10, 8])


def test_a_title_row_taken_as_header_gets_a_hint(tmp_path):
    path = write(tmp_path, "t.csv", "Sales report\nprice,units\n1,2\n")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "header_row": 1}, ["price"])
    assert message(info) == ("data: column 'price' not found in t.csv; columns are: Sales report, column 2 "
                             "(is row 1 the header? if not, set data.header_row)")


def test_header_row_pointing_at_an_empty_or_missing_row_is_an_error(tmp_path):
    path = write(tmp_path, "t.csv", "title\n\nx,y\n1,2\n")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "header_row": 2}, ["x"])
    assert message(info) == "data.header_row: row 2 of t.csv is empty"
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "header_row": 9}, ["x"])
    assert message(info) == "data.header_row: t.csv has no row 9 (its last row is 4)"


def test_duplicate_and_unnamed_columns_get_names(tmp_path):
    path = write(tmp_path, "dup.csv", "x,x,,\n1,2,3,\n4,5,6,\n")
    assert read_columns({"path": path}) == ["x", "x.1", "column 3"]


def test_utf16_export_with_bom_is_read(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("größe\tgewicht\n1\t2\n3\t4\n".encode("utf-16"))
    ds = load_dataset({"path": path}, ["größe", "gewicht"])
    np.testing.assert_array_equal(ds.columns["größe"], [1, 3])


# ---- numbers typed as text ------------------------------------------------------------------------

@pytest.mark.parametrize("text,decimal,thousands,expected", [
    ("1234.5", None, None, 1234.5), ("  7 ", None, None, 7.0), ("1,234.50", None, None, 1234.5),
    ("$1,234.50", None, None, 1234.5), ("-$5", None, None, -5.0), ("$-5", None, None, -5.0),
    ("€ 12", None, None, 12.0), ("£3.10", None, None, 3.1), ("¥1000", None, None, 1000.0),
    ("12%", None, None, 0.12), ("-2.5 %", None, None, -0.025), ("(1,234.50)", None, None, -1234.5),
    ("($12)", None, None, -12.0), ("1234-", None, None, -1234.0), ("\u22123", None, None, -3.0),
    ("1.5e3", None, None, 1500.0), (".5", None, None, 0.5), ("1 234 567", None, None, 1234567.0),
    ("1'234.5", None, None, 1234.5), ("1.234,5", ",", None, 1234.5), ("1234,5", ",", None, 1234.5),
    ("12,5 €", ",", ".", 12.5), ("1.234", ",", ".", 1234.0), ("1.234", None, None, 1.234),
    ("1,5", None, None, None), ("abc", None, None, None), ("inf", None, None, None),
    ("12 apples", None, None, None), ("--5", None, None, None), ("(-5)", None, None, None),
])
def test_parse_number_reads_spreadsheet_text(text, decimal, thousands, expected):
    value = parse_number(text, decimal, thousands)
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected, rel=1e-15)


def test_currency_percent_and_thousands_columns_load_as_numbers(tmp_path):
    path = write(tmp_path, "money.csv", 'price,share,profit\n"$1,234.50",12%,(300)\n$99,5.5%,"1,000"\n')
    ds = load_dataset({"path": path}, ["price", "share", "profit"])
    np.testing.assert_allclose(ds.columns["price"], [1234.5, 99.0])
    np.testing.assert_allclose(ds.columns["share"], [0.12, 0.055])
    np.testing.assert_allclose(ds.columns["profit"], [-300.0, 1000.0])


def test_european_decimal_and_thousands_options(tmp_path):
    path = write(tmp_path, "eu.csv", "preis;menge\n1.234,50;3\n12,5;4\n")
    ds = load_dataset({"path": path, "decimal": ",", "thousands": "."}, ["preis", "menge"])
    np.testing.assert_allclose(ds.columns["preis"], [1234.5, 12.5])


# ---- dates ----------------------------------------------------------------------------------------

def test_iso_date_column_becomes_days_since_its_earliest_date(tmp_path):
    path = write(tmp_path, "d.csv", "day,y\n2024-01-03,1\n2024-01-01,2\n2024-01-05 12:00,3\n")
    ds = load_dataset({"path": path}, ["day", "y"])
    np.testing.assert_allclose(ds.columns["day"], [2.0, 0.0, 4.5])
    assert ds.date_columns == {"day": "2024-01-01"}


def test_date_origin_and_non_iso_dates_named_in_options(tmp_path):
    path = write(tmp_path, "d.csv", "day,y\n03/15/2024,1\n03/16/2024,2\nsoon,3\n")
    ds = load_dataset({"path": path, "dates": {"day": "2024-03-01"}, "unreadable": "drop", "max_dropped": 0.5},
                      ["day", "y"])
    np.testing.assert_allclose(ds.columns["day"], [14.0, 15.0])
    assert ds.date_columns == {"day": "2024-03-01"}
    assert ds.dropped == [(4, "'day' is not a date: 'soon'")]


def test_bad_date_origin_and_unknown_date_column_are_errors(tmp_path):
    path = write(tmp_path, "d.csv", "day,y\n2024-01-01,1\n")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "dates": {"day": "first of May"}}, ["day"])
    assert message(info).startswith("data.dates.day: origin must be an ISO date like 2024-01-31, got 'first of May'")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "dates": {"dya": None}}, ["y"])
    assert message(info) == "data.dates.dya: no column 'dya' in d.csv (did you mean 'day'?)"


# ---- columns, missing values, filters -------------------------------------------------------------

@pytest.fixture
def sales(tmp_path):
    rows = ["week,price,units,region", "1,2.5,100,1", "2,,90,2", "3,abc,80,3", "4,3.5,,1", "5,4.0,70,3",
            "6,4.5,65,1"]
    return write(tmp_path, "sales.csv", "\n".join(rows) + "\n")


def test_missing_column_names_the_closest_and_lists_all(sales):
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales}, ["units", "prise"])
    assert message(info) == ("data: column 'prise' not found in sales.csv (did you mean 'price'?); "
                             "columns are: week, price, units, region")


def test_rows_with_missing_or_bad_values_are_dropped_with_reasons(sales):
    ds = load_dataset({"path": sales, "unreadable": "drop", "max_dropped": 0.5}, ["price", "units"])
    np.testing.assert_array_equal(ds.row_numbers, [2, 6, 7])
    np.testing.assert_array_equal(ds.columns["price"], [2.5, 4.0, 4.5])
    assert ds.n_rows_read == 6 and ds.n_dropped == 3
    assert ds.dropped == [(3, "missing 'price'"), (4, "'price' is not a number: 'abc'"), (5, "missing 'units'")]


def test_only_the_first_ten_dropped_rows_are_listed(tmp_path):
    path = write(tmp_path, "gaps.csv", "x,y\n" + "".join(f"{i},\n" if i % 2 else f"{i},{i}\n" for i in range(40)))
    ds = load_dataset({"path": path, "max_dropped": 0.5}, ["x", "y"])
    assert ds.n_dropped == 20 and len(ds.dropped) == 10
    assert ds.dropped[0] == (3, "missing 'y'") and ds.dropped[-1] == (21, "missing 'y'")


def test_missing_error_names_file_row_column_and_value(sales):
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "missing": "error"}, ["units", "price"])
    assert message(info) == "data: sales.csv row 3: missing 'price' (set data.missing: drop to skip such rows)"
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "missing": "error", "where": "week != 2"}, ["units", "price"])
    assert message(info) == ("data: sales.csv row 4: 'price' is not a number: 'abc' "
                             "(set data.unreadable: drop to skip such rows)")


def test_column_without_any_number_is_an_error_even_when_dropping(tmp_path):
    path = write(tmp_path, "r.csv", "price,region,empty\n1,north,\n2,south,\n")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path}, ["price", "region"])
    assert message(info) == "data: column 'region' is not numeric (e.g. row 2: 'north')"
    with pytest.raises(InputError) as info:
        load_dataset({"path": path, "columns": {"empty": "blank"}}, ["price", "blank"])
    assert message(info) == "data: column 'blank' in r.csv has no values"


def test_where_filter_counts_filtered_rows_with_their_reason(sales):
    ds = load_dataset({"path": sales, "where": "region != 3 and week >= 1", "max_dropped": 0.5}, ["price", "units"])
    np.testing.assert_array_equal(ds.row_numbers, [2, 7])
    assert ds.n_dropped == 4
    assert ds.dropped == [(3, "missing 'price'"), (4, "filtered out by where"), (5, "missing 'units'"),
                          (6, "filtered out by where")]
    assert "region" not in ds.columns


def test_where_filter_errors(sales):
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "where": "regoin == 1"}, ["price"])
    assert message(info) == ("data.where: unknown column 'regoin' (did you mean 'region'?); "
                             "columns are: week, price, units, region")
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "where": "price * 2"}, ["price"])
    assert message(info) == "data.where: must be a condition such as 'price > 0', got 'price * 2'"
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "where": "price > foo(1)"}, ["price"])
    assert message(info).startswith("data.where: unknown function 'foo' at column 9")


def test_a_filter_that_leaves_no_rows_is_an_error(sales):
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "where": "week > 100"}, ["units"])
    assert message(info) == "data: no rows left in sales.csv: 6 read, all dropped (e.g. row 2: filtered out by where)"


def test_columns_are_renamed_before_use(sales):
    ds = load_dataset({"path": sales, "columns": {"units": "sold"}, "max_dropped": 0.2}, ["sold"])
    assert ds.all_columns == ["week", "price", "sold", "region"]
    np.testing.assert_array_equal(ds.columns["sold"], [100, 90, 80, 70, 65])
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, "columns": {"unit": "sold"}}, ["sold"])
    assert message(info) == ("data.columns.unit: no column 'unit' to rename in sales.csv (did you mean 'units'?); "
                             "columns are: week, price, units, region")
    with pytest.raises(InputError, match="renaming gives two columns called 'price'"):
        load_dataset({"path": sales, "columns": {"units": "price"}}, ["price"])


def test_config_objects_and_dataclasses_are_accepted(sales):
    as_object = SimpleNamespace(path=sales, sheet=None, header_row=None, decimal=None, thousands=None,
                                delimiter=None, columns={}, where="region == 1", dates={}, missing="drop",
                                unreadable="error", max_dropped=0.1)
    assert load_dataset(as_object, ["price"]).row_numbers.tolist() == [2, 5, 7]
    assert load_dataset(DataConfig(path=sales), ["week"]).n == 6


@pytest.mark.parametrize("options,expected", [
    ({"missing": "skip"}, "data.missing: must be 'drop' or 'error', got 'skip'"),
    ({"decimal": ",,"}, "data.decimal: must be one character, got ',,'"),
    ({"decimal": ",", "thousands": ","}, "data.thousands: decimal and thousands separators are both ','"),
    ({"header_row": 0}, "data.header_row: must be a row number (1 = first), got 0"),
    ({"delimiter": "||"}, "data.delimiter: must be one character or tab/comma/semicolon/pipe/space, got '||'"),
    ({"sheet": "Sheet1"}, "data.sheet: sales.csv is a text file: only Excel workbooks have sheets"),
    ({"wher": "x > 0"}, "data.wher: unknown key (did you mean 'where'?)"),
])
def test_invalid_options_name_their_key(sales, options, expected):
    with pytest.raises(InputError) as info:
        load_dataset({"path": sales, **options}, ["price"])
    assert message(info) == expected


# ---- files that cannot be used ------------------------------------------------------------------

def test_unusable_files_name_the_path(tmp_path):
    cases = {
        tmp_path / "nope.csv": f"data.path: file not found: {tmp_path / 'nope.csv'}",
        write(tmp_path, "empty.csv", "  \n"): f"data.path: {tmp_path / 'empty.csv'} is empty",
        write(tmp_path, "head.csv", "x,y\n\n"): "data.path: head.csv has a header (row 1) but no data rows below it",
        write(tmp_path, "data.json", "{}"): "data.path: data.json: unsupported file type '.json' (use .csv .tsv .txt "
                                            ".xlsx .xlsm .parquet)",
        write(tmp_path, "old.xls", "x"): "data.path: old.xls: the old .xls format is not supported; save it as .xlsx "
                                         "or CSV",
        write(tmp_path, "book.csv", "PK\x03\x04rest"): "data.path: book.csv looks like an Excel workbook: rename it "
                                                        "to .xlsx",
    }
    (tmp_path / "folder.csv").mkdir()
    cases[tmp_path / "folder.csv"] = f"data.path: {tmp_path / 'folder.csv'} is a folder, not a data file"
    for path, expected in cases.items():
        with pytest.raises(InputError) as info:
            load_dataset({"path": path}, ["x"])
        assert message(info) == expected


def test_corrupt_workbook_is_an_input_error(tmp_path):
    path = write(tmp_path, "broken.xlsx", "not a zip file")
    with pytest.raises(InputError) as info:
        load_dataset({"path": path}, ["x"])
    assert message(info).startswith("data.path: cannot read broken.xlsx as an Excel workbook")


# ---- Excel ------------------------------------------------------------------------------------------

@pytest.fixture
def workbook(tmp_path):
    """A report sheet with a title above the header, real dates, currency text and a blank row,
    and a second sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet["A1"] = "Sales report, Q1 2024"
    sheet.append([])
    sheet.append(["Date", "Unit Price", "Units", "Note"])                 # row 3
    sheet.append([dt.datetime(2024, 1, 1), "$1,200.00", 10, "ok"])       # row 4
    sheet.append([dt.datetime(2024, 1, 8), 3.5, None, "no count"])       # row 5
    sheet.append([])                                                      # row 6
    sheet.append([dt.datetime(2024, 1, 15), "(12.50)", 7, None])         # row 7
    sheet.append([dt.datetime(2024, 1, 22, 12), "€ 4", 9.0, "x"])        # row 8
    other = book.create_sheet("Costs")
    other.append(["x", "cost"])
    other.append([1, 2.5])
    other.append([2, 3.5])
    path = tmp_path / "sales.xlsx"
    book.save(path)
    return path


def test_excel_sheet_with_title_dates_and_currency_text(workbook):
    ds = load_dataset({"path": workbook, "max_dropped": 0.25}, ["Date", "Unit Price", "Units"])
    assert ds.sheet == "Report" and ds.header_row == 3
    np.testing.assert_array_equal(ds.row_numbers, [4, 7, 8])
    np.testing.assert_allclose(ds.columns["Date"], [0.0, 14.0, 21.5])
    np.testing.assert_allclose(ds.columns["Unit Price"], [1200.0, -12.5, 4.0])
    np.testing.assert_allclose(ds.columns["Units"], [10, 7, 9])
    assert ds.date_columns == {"Date": "2024-01-01"}
    assert ds.dropped == [(5, "missing 'Units'")] and ds.n_rows_read == 4
    assert ds.sha256 == hashlib.sha256(workbook.read_bytes()).hexdigest()


def test_excel_header_row_option_and_date_origin(workbook):
    ds = load_dataset({"path": workbook, "header_row": 3, "dates": {"Date": "2023-12-31"}}, ["Date"])
    np.testing.assert_allclose(ds.columns["Date"], [1.0, 8.0, 15.0, 22.5])


@pytest.mark.parametrize("sheet", ["Costs", 2, "2"])
def test_excel_sheet_by_name_or_position(workbook, sheet):
    ds = load_dataset({"path": workbook, "sheet": sheet}, ["x", "cost"])
    assert ds.sheet == "Costs"
    np.testing.assert_array_equal(ds.columns["cost"], [2.5, 3.5])
    np.testing.assert_array_equal(ds.row_numbers, [2, 3])


def test_missing_sheet_lists_the_sheets(workbook):
    with pytest.raises(InputError) as info:
        load_dataset({"path": workbook, "sheet": "Cost"}, ["x"])
    assert message(info) == "data.sheet: no sheet 'Cost' in sales.xlsx (did you mean 'Costs'?); sheets are: Report, Costs"
    with pytest.raises(InputError) as info:
        load_dataset({"path": workbook, "sheet": 3}, ["x"])
    assert message(info) == "data.sheet: sales.xlsx has 2 sheet(s), so there is no sheet 3; sheets are: Report, Costs"


def test_read_table_keeps_raw_cells_and_spreadsheet_rows(workbook):
    frame = read_table({"path": workbook})
    assert list(frame.columns) == ["Date", "Unit Price", "Units", "Note"]
    assert list(frame.index) == [4, 5, 7, 8] and frame.index.name == "row"
    assert frame.loc[4, "Unit Price"] == "$1,200.00" and frame.loc[5, "Units"] is None
    assert frame.loc[8, "Date"] == dt.datetime(2024, 1, 22, 12)


def test_numeric_columns_include_dates_and_text_numbers(workbook, sales):
    assert numeric_columns(workbook) == ["Date", "Unit Price", "Units"]
    assert numeric_columns(workbook, sheet="Costs") == ["x", "cost"]
    assert numeric_columns(sales) == ["week", "price", "units", "region"]


def test_a_changed_file_is_read_again(tmp_path):
    path = write(tmp_path, "t.csv", "x\n1\n")
    assert load_dataset({"path": path}, ["x"]).columns["x"].tolist() == [1.0]
    path.write_text("x\n2\n")
    assert load_dataset({"path": path}, ["x"]).columns["x"].tolist() == [2.0]


def test_importing_data_and_formula_does_not_import_pandas():
    code = "import sys, workbench.data, workbench.formula; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_a_plain_numeric_csv_is_read_without_pandas(tmp_path):
    import subprocess
    import sys

    (tmp_path / "plain.csv").write_text("x,y\n1,2.5\n2,-3e-2\n3, 4 \n")
    code = ("import sys\nfrom workbench.data import load_dataset\n"
            f"ds = load_dataset({{'path': {str(tmp_path / 'plain.csv')!r}}}, ['x', 'y'])\n"
            "print(ds.columns['y'].tolist(), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[2.5, -0.03, 4.0] False"


def test_plain_looking_text_that_is_not_a_number_is_still_reported(tmp_path):
    from workbench.data import load_dataset

    (tmp_path / "odd.csv").write_text("x,y\n1,2\n2,1.2.3\n3,4\n")
    ds = load_dataset({"path": str(tmp_path / "odd.csv"), "unreadable": "drop", "max_dropped": 0.5}, ["x", "y"])
    assert ds.n == 2 and ds.dropped[0][0] == 3 and "1.2.3" in ds.dropped[0][1]
