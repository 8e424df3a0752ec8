"""For random numeric tables written as American or European CSV, or as a workbook, the values read
back are the originals, or reading stops with exit 2: never different numbers (issue 16)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import load_dataset
from workbench.errors import EXIT_BAD_INPUT, InputError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALUES = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
# how a column is written: shortest repr, fixed decimals, or fixed decimals with thousands grouped
STYLES = st.sampled_from(["repr", "0", "2", "3", "4", ",0", ",2", ",3"])


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 3))
    n_rows = draw(st.integers(1, 8))
    columns = [draw(st.lists(VALUES, min_size=n_rows, max_size=n_rows)) for _ in range(n_cols)]
    styles = [draw(STYLES) for _ in range(n_cols)]
    return columns, styles


def american(value: float, style: str) -> str:
    if style == "repr":
        return repr(value)
    grouped = style.startswith(",")
    return f"{value:{',' if grouped else ''}.{style.lstrip(',')}f}"


def european(text: str) -> str:
    return text.translate(str.maketrans({",": ".", ".": ","}))


def csv_text(columns, styles, convention: str) -> tuple[str, list[list[float]]]:
    """The file's text and the numbers its cells mean (what a reader must return)."""
    delimiter = "," if convention == "us" else ";"
    names = [f"c{j}" for j in range(len(columns))]
    lines, meant = [delimiter.join(names)], [[] for _ in columns]
    for i in range(len(columns[0])):
        cells = []
        for j, (column, style) in enumerate(zip(columns, styles)):
            text = american(column[i], style)
            meant[j].append(float(text.replace(",", "")))
            if convention == "eu":
                text = european(text)
            cells.append(f'"{text}"' if delimiter in text else text)
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n", meant


def read_back_or_exit_2(path: Path, n_cols: int):
    try:
        ds = load_dataset({"path": path}, [f"c{j}" for j in range(n_cols)])
    except InputError as err:
        assert err.exit_code == EXIT_BAD_INPUT
        return None
    return [ds.columns[f"c{j}"].tolist() for j in range(n_cols)]


@SETTINGS
@given(tables(), st.sampled_from(["us", "eu"]))
def test_csv_values_read_back_exactly_or_exit_2(table, convention):
    columns, styles = table
    text, meant = csv_text(columns, styles, convention)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text)
        got = read_back_or_exit_2(path, len(columns))
    if got is not None:
        assert got == meant, text


@SETTINGS
@given(tables(), st.booleans())
def test_workbook_values_read_back_exactly_or_exit_2(table, as_european_text):
    columns, styles = table
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"c{j}" for j in range(len(columns))])
    meant = [[] for _ in columns]
    for i in range(len(columns[0])):
        row = []
        for j, (column, style) in enumerate(zip(columns, styles)):
            text = american(column[i], style)
            meant[j].append(float(text.replace(",", "")) if as_european_text else column[i])
            row.append(european(text) if as_european_text else column[i])
        sheet.append(row)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.xlsx"
        book.save(path)
        if not as_european_text:       # a number cell means what the file stores (openpyxl rounds some)
            stored = openpyxl.load_workbook(path).active
            meant = [[float(stored.cell(i + 2, j + 1).value) for i in range(len(columns[0]))]
                     for j in range(len(columns))]
        got = read_back_or_exit_2(path, len(columns))
    if got is not None:
        assert got == meant


def test_a_table_of_ambiguous_european_values_exits_2_rather_than_guessing(tmp_path):
    text, _ = csv_text([[3.931, 1.5], [2.25, 12.0]], ["3", "2"], "eu")       # 2,25 decides: decimal comma
    path = tmp_path / "t.csv"
    path.write_text(text)
    np.testing.assert_array_equal(read_back_or_exit_2(path, 2), [[3.931, 1.5], [2.25, 12.0]])
    path.write_text("c0;c1\n3,931;1,250\n")
    assert read_back_or_exit_2(path, 2) is None
