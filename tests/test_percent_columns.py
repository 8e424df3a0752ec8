"""A column written as percentages (23.2%) is read as 0.232, recorded in result.json's
``data.percent_columns``, and its effect is stated per percentage point (value and interval ÷100)
in both languages; a column mixing cells with and without % is read as it is, with a warning."""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pytest

from cli_helpers import write_config, write_csv
from workbench.report.i18n import translator
from workbench.report.text import number, parse_number

NUMBER = r"−?[\d,]+(?:\.\d+)?(?:e−?\d+)?"


def _discount_rows(mixed: bool = False):
    rng = np.random.default_rng(7)
    discount = rng.uniform(0.0, 0.4, 40).round(3)
    noise = rng.normal(0, 1.0, 40)
    units = 50 + 76.6 * discount + noise
    cells = [f"{100 * d:.1f}%" for d in discount]
    if mixed:
        cells[5] = f"{discount[5]:.3f}"      # one cell written as a fraction, without %
    return list(zip(cells, units.round(3)))


def _fit(folder, language: str, rows, reports: bool = True) -> dict:
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    write_csv(folder, "sales.csv", "Discount,Units", rows)
    config = write_config(folder, f"""
        name: sales_{language}
        data: {{path: sales.csv}}
        model: {{type: linear, inputs: [Discount], target: Units}}
        report: {{language: {language}, appendix: false}}
        output: {{dir: out_{language}, formats: [html], plots: false}}
    """, name=f"{language}.yaml")
    run_fit(load_config(config), folder / f"out_{language}", reports=reports)
    return json.loads((folder / f"out_{language}" / "result.json").read_text(encoding="utf-8"))


def _param(result: dict, name: str) -> dict:
    with_interval = {row["name"]: row for row in result.get("params_table") or []}
    return with_interval.get(name) or {"value": result["params"][name], "stderr": result["stderr"][name]}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_effect_of_a_percentage_column_is_per_percentage_point(tmp_path, language):
    result = _fit(tmp_path, language, _discount_rows())
    assert result["data"]["percent_columns"] == ["Discount"]
    slope, stderr = result["params"]["coef_Discount"], result["stderr"]["coef_Discount"]
    assert slope == pytest.approx(76.6, rel=0.1)              # read as fractions: 23.2% is 0.232

    tr = translator(language)
    page = html.unescape((tmp_path / f"out_{language}" / "report.html").read_text(encoding="utf-8"))
    opening = tr("effect.each.percent", column="Discount")
    said = re.findall(re.escape(opening) + r"[^)]*\)", page)      # up to the interval's closing bracket
    assert said, f"no sentence opening with {opening!r}"
    assert tr("effect.each.number", column="Discount", unit="") not in page
    amount, spread = [parse_number(n) for n in re.findall(NUMBER, said[0][len(opening):])][:2]
    assert amount == pytest.approx(slope / 100, rel=5e-3)      # 0.766 per point, not 76.6
    assert spread == pytest.approx(stderr / 100, rel=5e-2)
    assert number(slope / 100, 3) in said[0]

    meaning = tr("meaning.slope", target="Units", column="Discount", unit=" " * (language == "en")
                 + tr("unit.percent_whole"))
    assert meaning in page                                    # the coefficient itself is per 100 points


def test_effect_per_point_of_a_logistic_odds_ratio_is_exp_of_slope_over_100():
    from workbench.report.effects import input_effects

    rng = np.random.default_rng(3)
    share = rng.uniform(0, 0.5, 300)
    covariance = np.diag([0.04, 0.25])

    def logit(x, columns):
        return x[0] + x[1] * columns["share"]

    whole, = input_effects(logit, [0.2, 3.0], {"share": share}, ["share"], covariance, 1.96,
                           binary=True, logit=True)
    point, = input_effects(logit, [0.2, 3.0], {"share": share}, ["share"], covariance, 1.96,
                           binary=True, logit=True, steps={"share": 0.01})
    assert (whole.kind, point.kind) == ("odds_ratio", "odds_ratio")
    assert point.value == pytest.approx(math.exp(3.0 / 100), rel=1e-7)
    assert point.low == pytest.approx(math.exp((3.0 - 1.96 * 0.5) / 100), rel=1e-6)
    assert point.high == pytest.approx(math.exp((3.0 + 1.96 * 0.5) / 100), rel=1e-6)
    assert point.importance == pytest.approx(whole.importance)   # the order of the sentences is kept


def test_no_clear_effect_per_point_keeps_the_interval_test(tmp_path):
    from workbench.report.effects import Effect
    from workbench.report.sentences import effect_sentence

    effect = Effect("Discount", "slope", 0.002, 0.004, -0.006, 0.01, 1.0, 0.01)
    for language in ("en", "ja"):
        tr = translator(language)
        said = effect_sentence(effect, "Units", tr, kinds={"Discount": ("percent", {})})
        assert said == tr("effect.none", name="Discount", target="Units", per=tr("effect.per.percent"),
                          low=number(-0.006, 3), high=number(0.01, 3))


def test_plain_numbers_are_no_percent_column(tmp_path):
    rows = [(f"{d:.3f}", u) for d, u in ((0.1, 3.0), (0.2, 4.1), (0.3, 4.9), (0.4, 6.2), (0.5, 7.0))]
    result = _fit(tmp_path, "en", rows, reports=False)
    assert result["data"]["percent_columns"] == []


def test_a_column_mixing_percent_and_plain_cells_is_read_as_written_and_warned(tmp_path):
    rows = _discount_rows(mixed=True)
    result = _fit(tmp_path, "en", rows, reports=False)
    assert result["data"]["percent_columns"] == []
    warning, = [w for w in result["warnings"] if "mixes percentages" in w]
    assert "'Discount'" in warning
    assert f"row 2: {rows[0][0]}" in warning and f"row 7: {rows[5][0]}" in warning


def test_careful_per_cell_path_notes_percentages_too():
    """Python cells (Excel text cells, or cells pyarrow did not read) are looked at one by one."""
    from pathlib import Path

    from workbench.data.cells import convert_numbers
    from workbench.data.columns import percent_columns

    class Raw:
        arrays = None
        path = Path("book.xlsx")
        row_numbers = np.arange(2, 6)
        cells = {"Share": np.array(["12%", " 3.5 % ", None, "(1.5%)"], dtype=object),
                 "Mixed": np.array(["12%", 0.4, "1.5%", None], dtype=object)}

        def cell(self, name, i):
            return self.cells[name][i]

    raw = Raw()
    converted = {name: convert_numbers(raw.cells[name]) for name in raw.cells}
    assert converted["Share"].values[[0, 1, 3]] == pytest.approx([0.12, 0.035, -0.015])
    percent, warnings = percent_columns(raw, ["Share", "Mixed"], converted)
    assert percent == ["Share"]
    assert warnings == [w for w in warnings if "'Mixed'" in w and "row 2: 12%" in w and "row 3: 0.4" in w]
    assert len(warnings) == 1


def _glob_fit(folder, files: dict[str, list]) -> dict:
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    (folder / "parts").mkdir()
    for name, rows in files.items():
        write_csv(folder / "parts", name, "Discount,Units", rows)
    config = write_config(folder, """
        name: glob
        data: {path: parts/*.csv}
        model: {type: linear, inputs: [Discount], target: Units}
        output: {dir: out, plots: false}
    """, name="glob.yaml")
    run_fit(load_config(config), folder / "out", reports=False)
    return json.loads((folder / "out" / "result.json").read_text(encoding="utf-8"))


def test_a_glob_of_files_that_all_write_percentages_keeps_the_percent_column(tmp_path):
    rows = _discount_rows()
    result = _glob_fit(tmp_path, {"a.csv": rows[:20], "b.csv": rows[20:]})
    assert result["data"]["percent_columns"] == ["Discount"]


def test_a_glob_where_only_some_files_write_percentages_is_read_as_written_and_warned(tmp_path):
    rows = _discount_rows()
    as_fractions = [(f"{float(cell.rstrip('%')) / 100:.3f}", units) for cell, units in rows[20:]]
    result = _glob_fit(tmp_path, {"a.csv": rows[:20], "b.csv": as_fractions})
    assert result["data"]["percent_columns"] == []
    assert any("'Discount' is written as percentages in a.csv but not in b.csv" in w for w in result["warnings"])


def _workbook(path, formats: dict[int, str]):
    import openpyxl

    rng = np.random.default_rng(3)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Discount", "Markup", "Units"])
    for i in range(40):
        discount, markup = float(rng.uniform(0, 0.4)), float(rng.uniform(5, 30))
        sheet.append([discount, markup, 50 + 76.6 * discount + 0.5 * markup + float(rng.normal(0, 1))])
        for column, fmt in formats.items():
            sheet.cell(row=i + 2, column=column).number_format = fmt
    book.save(path)


def test_an_excel_column_shown_as_percentages_is_a_percent_column(tmp_path):
    from workbench.config import load_config
    from workbench.pipeline.fit import run_fit

    _workbook(tmp_path / "sales.xlsx", {1: "0.0%", 2: '0"%"'})     # Markup: a literal %, not ×100
    config = write_config(tmp_path, """
        name: xl
        data: {path: sales.xlsx}
        model: {type: linear, inputs: [Discount, Markup], target: Units}
        output: {dir: out, plots: false}
    """, name="xl.yaml")
    run_fit(load_config(config), tmp_path / "out", reports=False)
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["data"]["percent_columns"] == ["Discount"]
    assert result["params"]["coef_Discount"] == pytest.approx(76.6, rel=0.05)    # read as stored: 0.232


def test_a_percent_number_is_a_float_that_survives_pickling():
    import pickle

    from workbench.data.cells import PercentNumber

    value = pickle.loads(pickle.dumps(PercentNumber(0.232)))
    assert isinstance(value, PercentNumber) and value == 0.232 and float(value) * 2 == 0.464
