"""results.xlsx read back with openpyxl: labels, number formats, Excel dates, chart, frozen headers, caps, text cells."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.report import xlsx


def _fit(folder, language="en"):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    days = np.arange(40)
    dates = [(dt.date(2024, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in days]
    sales = 120 + 2.5 * days + np.random.default_rng(2).normal(0, 1.5, days.size)
    write_csv(folder, "sales.csv", "day,sales", zip(dates, sales.round(3)))
    config = load_config(write_config(folder, f"""
        data: {{path: sales.csv, units: {{sales: pcs}}}}
        model: {{formula: "sales ~ a + b * day"}}
        params: {{a: 100, b: 1}}
        report: {{language: {language}}}
        output: {{dir: out, formats: [xlsx], plots: false}}
    """))
    return run_fit(config, folder / "out")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    import openpyxl

    outcome = _fit(tmp_path_factory.mktemp("xlsx"))
    return outcome, openpyxl.load_workbook(outcome.out_dir / "results.xlsx")


def test_summary_rows_are_labelled_for_people_and_equal_result_json(fitted):
    outcome, book = fitted
    result = json.loads((outcome.out_dir / "result.json").read_text())
    assert book.sheetnames == ["Summary", "Parameters", "Predictions", "History"]
    sheet = book["Summary"]
    rows = {r[0].value: r[1] for r in sheet.iter_rows(min_row=2)}
    assert not any(str(label).startswith(("metrics.", "data.")) for label in rows)
    same = dict(rel=1e-15, abs=0)       # xlsxwriter writes 16 significant digits (Excel keeps 15)
    assert rows["R²"].value == pytest.approx(result["metrics"]["r2"], **same)
    assert rows["RMSE"].value == pytest.approx(result["metrics"]["rmse"], **same)
    assert rows["Final loss"].value == pytest.approx(result["loss"], **same)
    assert rows["Rows used"].value == result["data"]["rows_used"] == 40
    assert rows["Converged"].value == "yes"
    assert rows["R²"].number_format == "#,##0.0000"        # 0.99…: four significant digits
    assert sheet.freeze_panes == "A2"


def test_parameter_formats_follow_the_standard_error(fitted):
    outcome, book = fitted
    sheet = book["Parameters"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Parameter", "Value", "Standard error"]
    by_name = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    for row in outcome.params_table:
        cells = by_name[row["name"]]
        assert cells[1].value == pytest.approx(row["value"], rel=1e-15)
        assert cells[2].value == pytest.approx(row["stderr"], rel=1e-15)
        decimals = len(cells[1].number_format.partition(".")[2])
        assert decimals == max(0, 1 - int(np.floor(np.log10(row["stderr"]))))   # two digits of the error
    assert sheet.freeze_panes == "B2"


def test_number_format_by_magnitude_and_error():
    assert xlsx.number_format(1234.5678) == "#,##0"
    assert xlsx.number_format(0.031234) == "#,##0.00000"
    assert xlsx.number_format(1.2345, 0.0123) == "#,##0.000"
    assert xlsx.number_format(5203.1, 89.5) == "#,##0"
    assert xlsx.number_format(3.1e-7) == "0.000E+00"
    assert xlsx.number_format(2.5e12, 1e9) == "0.0000E+00"        # 2.5000E+12 ± 0.0010E+12
    assert xlsx.number_format(0) == "0" and xlsx.number_format(float("nan")) == "General"


def test_dates_are_excel_dates_and_the_chart_is_native(fitted):
    outcome, book = fitted
    sheet = book["Predictions"]
    header = [c.value for c in sheet[1]]
    assert header == ["Row", "sales (pcs)", "day", "Prediction", "Residual", "Set"]
    first, last = sheet.cell(row=2, column=3), sheet.cell(row=41, column=3)
    assert first.is_date and first.value == dt.datetime(2024, 1, 1)
    assert last.value == dt.datetime(2024, 2, 9) and first.number_format == "yyyy-mm-dd"
    np.testing.assert_allclose([sheet.cell(row=r, column=4).value for r in range(2, 42)],
                               outcome.predictions["prediction"], rtol=1e-15)
    assert sheet.freeze_panes == "A2"
    assert len(sheet._charts) == 1
    assert sheet.column_dimensions["B"].width >= len("sales (pcs)")


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    import openpyxl

    outcome = _fake_outcome(5, name="=HYPERLINK(\"http://x\",\"y\")", warning="+cmd|' /C calc'!A0")
    xlsx.write_xlsx(outcome, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "-", "@"))]
    assert {c.value for c in risky} >= {"=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@col", "-x"}
    assert all(c.data_type == "s" for c in risky)


def test_sheets_are_capped_at_excels_rows_and_say_where_every_row_is(tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 50)
    outcome = _fake_outcome(120)
    xlsx.write_xlsx(outcome, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    sheet = book["Predictions"]
    assert sheet.max_row == 50
    assert sheet["A1"].value == "Only the first 48 of 120 rows fit in an Excel sheet; every row is in predictions.csv."
    assert sheet["A2"].value == "Row" and sheet.freeze_panes == "A3"
    assert sheet.cell(row=50, column=1).value == 49          # the 48th data row is spreadsheet row 49
    summary = [r[1].value for r in book["Summary"].iter_rows(min_row=2) if r[0].value == "Warning"]
    assert any("predictions.csv" in str(v) for v in summary)
    assert book["History"].max_row == 4             # 3 steps: not capped


def test_labels_follow_the_report_language(tmp_path):
    import openpyxl

    outcome = _fit(tmp_path, language="ja")
    book = openpyxl.load_workbook(outcome.out_dir / "results.xlsx")
    assert book.sheetnames == ["概要", "パラメータ", "予測", "履歴"]
    labels = [r[0].value for r in book["概要"].iter_rows(min_row=2)]
    assert "決定係数 R²" in labels and "使用した行数" in labels


def _fake_outcome(n: int, name: str = "fake", warning: str = "a warning"):
    """The attributes write_xlsx reads, without a fit."""
    rows = np.arange(2, n + 2)
    x = np.linspace(0, 1, n)
    config = SimpleNamespace(report=SimpleNamespace(language="en"), data=SimpleNamespace(units={}))
    prepared = SimpleNamespace(config=config, dataset=SimpleNamespace(date_columns={}),
                               model=SimpleNamespace(target="@col", inputs=("-x",), binary=False))
    predictions = {"row": rows, "-x": x, "@col": 2 * x, "prediction": 2 * x, "residual": 0 * x,
                   "set": np.array(["train"] * n)}
    result = {"name": name, "loss": 0.0, "converged": True, "metrics": {"r2": 1.0, "n": n},
              "warnings": [warning], "data": {"rows_used": n}}
    params = [{"name": "b", "value": 2.0, "stderr": 0.01, "ci_low": 1.98, "ci_high": 2.02, "min": None, "max": None,
               "fixed": False}]
    history = [{"step": k, "loss": 10.0 ** -k, "grad_norm": 1.0} for k in range(3)]
    return SimpleNamespace(prepared=prepared, predictions=predictions, result=result, params_table=params,
                           history=history)
