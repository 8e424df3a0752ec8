"""The fast paths of reading a CSV (issue 15) decide exactly what the careful rules of issue 16
decide: the decimal-mark votes of plain numbers (with dots, or with commas throughout) read from
the string buffers agree with the regular expressions of ``column_votes``; numbers read once while
voting are the column's values only under their own decimal mark; spreadsheet row numbers stay
right whichever way lines are counted; an ambiguous value anywhere in a long column still stops
reading with the same message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data import load_dataset
from workbench.data.arrow import null_where_empty, string_array
from workbench.data.arrow_csv import _line_numbers, _may_need_trimming, read_text_table
from workbench.data.cells import BAD, MISSING, NOT_FINITE, OK, convert_texts
from workbench.data.separators import column_votes, plain_number_votes, text_cores
from workbench.errors import InputError

AMBIGUOUS_MESSAGE = "is that number written with a decimal comma or a thousands separator?"


def write(folder: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def error_of(options: dict, columns: list[str]) -> str:
    with pytest.raises(InputError) as info:
        load_dataset(options, columns)
    return str(info.value)


def trimmed_column(texts: list[str]):
    """A column as the fast reader holds it: trimmed text, null where empty."""
    import pyarrow.compute as pc

    return null_where_empty(pc.utf8_trim_whitespace(string_array(texts)))


# ---- the votes of plain numbers, from the buffers ------------------------------------------------

def regex_votes(texts: list[str]) -> tuple:
    """(first dot-only, first comma-only, first ambiguous, whether it has a comma) by the careful
    regular expressions, as indices of ``texts``."""
    present = [i for i, t in enumerate(texts) if t.strip()]
    votes = column_votes(text_cores([texts[i] for i in present]))
    at = [None if k is None else present[k] for k in (votes.dot_only, votes.comma_only, votes.ambiguous)]
    return (*at, votes.ambiguous_has_comma)


def buffer_votes(read) -> tuple:
    votes = read.votes
    return votes.dot_only, votes.comma_only, votes.ambiguous, votes.ambiguous_has_comma


plain_number = st.builds(
    lambda sign, whole, fraction, exponent, pad: f"{pad}{sign}{whole}{fraction}{exponent}{pad[::-1]}",
    st.sampled_from(["", "+", "-"]),
    st.sampled_from(["0", "1", "7", "12", "99", "123", "999", "1234", "00", "012"]),
    st.sampled_from(["", ".", ".5", ".12", ".234", ".500", ".2345", ".000"]),
    st.sampled_from(["", "", "", "e3", "E-2", "e+10"]),
    st.sampled_from(["", "", " ", "\t"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(plain_number, st.just(""), st.just("  ")), min_size=1, max_size=12),
       st.integers(0, 3), st.booleans())
def test_buffer_votes_of_plain_numbers_equal_the_regular_expressions(texts, skip, commas):
    if commas:
        texts = [t.replace(".", ",") for t in texts]
    column = trimmed_column(texts)
    expected = regex_votes(texts[skip:]) if skip < len(texts) else (None, None, None, False)
    read = plain_number_votes(column.slice(skip))
    assert buffer_votes(read) == expected
    assert read.decimal in ((",", None) if commas else (".", None))
    for value, text in zip(read.values, texts[skip:]):
        assert (np.isnan(value) and not text.strip()) or value == float(text.replace(",", "."))


@pytest.mark.parametrize("text, ambiguous", [
    ("1.234", True), ("-1.234", True), ("+12.345", True), ("999.999", True), (" 123.456 ", True),
    ("0.123", False), ("01.234", False), ("1234.567", False), ("1.2345", False), ("1.23", False),
    ("1.234e3", False), ("-0.500", False), ("+1234.500", False), (".234", False), ("1.", False)])
def test_the_dotted_thousands_shape_is_exact(text, ambiguous):
    votes = plain_number_votes(trimmed_column(["5", text, "7"])).votes
    assert votes.ambiguous == (1 if ambiguous else None)
    assert votes.dot_only == (None if ambiguous else 1)
    votes = plain_number_votes(trimmed_column(["5", text.replace(".", ","), "7"])).votes
    assert (votes.ambiguous, votes.ambiguous_has_comma) == ((1, True) if ambiguous else (None, False))
    assert votes.comma_only == (None if ambiguous else 1) and votes.dot_only is None


def test_a_column_that_is_not_all_plain_numbers_is_left_to_the_regular_expressions():
    assert plain_number_votes(trimmed_column(["1.5", "1,5"])) is None
    assert plain_number_votes(trimmed_column(["1.5", "$2"])) is None
    assert plain_number_votes(trimmed_column(["1,5", "1 234,5"])) is None


def test_the_first_unambiguous_dot_is_found_far_down_a_long_column():
    texts = ["1.234"] * 200_000 + ["2.5", "3.125"]
    read = plain_number_votes(trimmed_column(texts))
    assert (read.votes.dot_only, read.votes.ambiguous) == (200_000, 0)
    assert read.values[-1] == 3.125 and read.values[0] == 1.234


# ---- numbers read while voting, reused only under a decimal dot ---------------------------------

@pytest.mark.parametrize("decimal", [None, "."])
def test_reused_numbers_equal_a_fresh_conversion(decimal):
    texts = ["1.5", "", "nan", "1e400", "-2e-3", "inf", "7", "  ", "-1.234"]
    column = trimmed_column(texts)
    read = plain_number_votes(column).values
    reused, fresh = convert_texts(column, decimal, None, read), convert_texts(column, decimal)
    np.testing.assert_array_equal(reused.values, fresh.values)
    np.testing.assert_array_equal(reused.status, fresh.status)
    assert list(reused.status) == [OK, MISSING, BAD, NOT_FINITE, OK, BAD, OK, MISSING, OK]


@pytest.mark.parametrize("texts, decimal, thousands, holds", [
    (["1.234", "12.500"], ",", None, False), (["1.234", "12.500"], ".", None, True),
    (["1,234", "12,5"], ".", None, False), (["1,234", "12,5"], ",", None, True), (["1,234", "12,5"], ",", ".", True),
    (["1,234", "12,5"], ",", "e", False), (["12", "-3e5"], ",", None, True), (["12", "-3e5"], ".", ",", True)])
def test_numbers_read_while_voting_hold_only_under_their_own_decimal_mark(texts, decimal, thousands, holds):
    from workbench.data.columns import _holds
    from workbench.data.separators import Convention

    read = plain_number_votes(trimmed_column(texts))
    assert _holds(read, Convention(decimal, thousands)) is holds


def test_a_plain_column_takes_the_decimal_comma_another_column_proves(tmp_path):
    path = write(tmp_path, "eu.csv", "a;b\n1,5;1.234\n2,25;-12.500\n3;+7.000\n")
    ds = load_dataset({"path": path}, ["b", "a"])
    np.testing.assert_array_equal(ds.columns["b"], [1234.0, -12500.0, 7000.0])
    np.testing.assert_array_equal(ds.columns["a"], [1.5, 2.25, 3.0])


@pytest.mark.parametrize("options", [{"decimal": ","}, {"thousands": "."}])
def test_a_plain_column_under_a_configured_decimal_comma(tmp_path, options):
    path = write(tmp_path, "eu.csv", "x;y\n1.500;2\n12.250;3\n")
    np.testing.assert_array_equal(load_dataset({"path": path, **options}, ["x"]).columns["x"], [1500.0, 12250.0])


def test_a_plain_decimal_comma_column_takes_the_decimal_dot_another_column_proves(tmp_path):
    path = write(tmp_path, "mixed.csv", 'a\tb\n1.5\t1,234\n2.25\t-12,500\n')
    np.testing.assert_array_equal(load_dataset({"path": path}, ["b", "a"]).columns["b"], [1234.0, -12500.0])


def test_a_european_file_of_plain_decimal_commas(tmp_path):
    path = write(tmp_path, "eu.csv", "x;y;z\n0,125;1,234;7\n-1,5e3;+12,5; 8 \n;,5;9\n")
    ds = load_dataset({"path": path, "max_dropped": 0.5}, ["x", "y", "z"])
    np.testing.assert_array_equal(ds.columns["x"], [0.125, -1500.0])
    np.testing.assert_array_equal(ds.columns["y"], [1.234, 12.5])
    np.testing.assert_array_equal(ds.columns["z"], [7.0, 8.0])


def test_plain_numbers_with_signs_exponents_spaces_and_empty_cells(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n +1.5e2 ,1\n,2\n-0.25\t,3\n 7 ,4\n1.234,5\n")
    ds = load_dataset({"path": path, "max_dropped": 0.5}, ["x", "y"])
    np.testing.assert_array_equal(ds.columns["x"], [150.0, -0.25, 7.0, 1.234])
    np.testing.assert_array_equal(ds.row_numbers, [2, 4, 5, 6])
    assert ds.summary["dropped"]["by_reason"] == {"empty x": 1}


# ---- an ambiguous value anywhere in a long column -------------------------------------------------

def long_semicolon_file(folder: Path, rows: int, odd_at: int, odd: str, filler: str = "5") -> Path:
    lines = ["x;y"] + [f"{odd if i == odd_at else filler};{i}" for i in range(rows)]
    return write(folder, "long.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize("odd_at", [0, 150_000, 299_999])
def test_one_ambiguous_value_among_integers_stops_reading_and_names_its_row(tmp_path, odd_at):
    path = long_semicolon_file(tmp_path, 300_000, odd_at, "-1.234")
    message = error_of({"path": path}, ["x", "y"])
    assert message == (f"data: long.csv 'x' row {odd_at + 2}: '-1.234': {AMBIGUOUS_MESSAGE} Nothing in the file "
                       f"decides it; set data.decimal (and data.thousands), e.g. decimal: ',' and thousands: "
                       f"'.' for European exports")


def test_one_ambiguous_comma_value_at_the_end_of_integers_stops_reading(tmp_path):
    path = long_semicolon_file(tmp_path, 300_000, 299_999, "1,234")
    message = error_of({"path": path}, ["y", "x"])
    assert message.startswith(f"data: long.csv 'x' row 300001: '1,234': {AMBIGUOUS_MESSAGE}")


def test_one_decimal_dot_at_the_end_decides_a_long_column_of_ambiguous_values(tmp_path):
    path = long_semicolon_file(tmp_path, 500_000, 499_999, "2.5", filler="1.234")
    ds = load_dataset({"path": path}, ["x", "y"])
    assert ds.columns["x"][0] == 1.234 and ds.columns["x"][-1] == 2.5 and ds.n == 500_000
    np.testing.assert_array_equal(ds.columns["y"], np.arange(500_000))
    np.testing.assert_array_equal(ds.row_numbers, np.arange(2, 500_002))


def test_one_decimal_comma_at_the_end_decides_a_long_column_of_ambiguous_values(tmp_path):
    path = long_semicolon_file(tmp_path, 300_000, 299_999, "2,5", filler="1.234")
    x = load_dataset({"path": path}, ["x"]).columns["x"]
    assert x[0] == 1234.0 and x[-1] == 2.5


def test_one_odd_value_at_the_end_of_a_long_column_is_counted_and_dropped(tmp_path):
    path = long_semicolon_file(tmp_path, 300_000, 299_999, "1e400", filler="0.5")
    assert error_of({"path": path}, ["x"]) == (
        "data: long.csv row 300001: 'x' is not a finite number: '1e400' (set data.unreadable: drop to skip "
        "such rows)")
    ds = load_dataset({"path": path, "unreadable": "drop"}, ["x"])
    assert ds.n == 299_999 and ds.summary["dropped"]["by_reason"] == {"non-finite number in x": 1}


# ---- spreadsheet row numbers and trimming ---------------------------------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_row_numbers_count_blank_lines_with_either_line_end(tmp_path, newline):
    path = write(tmp_path, "b.csv", "x,y\n1,2\n\n3,abc\n4,5\n", newline)
    assert error_of({"path": path}, ["x", "y"]).startswith("data: b.csv row 4: 'y' is not a number: 'abc'")
    flat = write(tmp_path, "f.csv", "x,y\n1,2\n3,abc\n4,5", newline)
    assert error_of({"path": flat}, ["x", "y"]).startswith("data: f.csv row 3: 'y' is not a number: 'abc'")


def test_line_numbers_when_records_equal_lines_and_when_they_cannot_be_counted():
    np.testing.assert_array_equal(_line_numbers(b"a\nb\r\nc", 3), [1, 2, 3])
    np.testing.assert_array_equal(_line_numbers(b"a\n\nb\n", 2), [1, 3])
    assert _line_numbers(b"x\ra\n\nb\n", 3) is None        # a bare carriage return ends a record too


def test_a_quote_after_a_delimiter_and_spaces_is_read_the_careful_way(tmp_path):
    data = b'x,y\n1, "a,b"\n2,"c"\n'
    assert read_text_table(data, tmp_path / "q.csv", lambda head: ",", None, "data") is None
    names, columns = read_text_table(b'"x","y"\n1,"2"\n', tmp_path / "q.csv", lambda head: ",", None, "data")[1:3]
    assert names == ("x", "y") and columns["y"].to_pylist() == ["2"]


def test_a_file_with_bare_carriage_returns_is_read_the_careful_way(tmp_path):
    data = b"x,y\n1,2\r3,4\n\n5,6\n"
    assert read_text_table(data, tmp_path / "cr.csv", lambda head: ",", None, "data") is None


def test_a_column_read_in_several_blocks_is_joined_trimmed_and_emptied_once():
    import pyarrow as pa

    from workbench.data.arrow_csv import _trimmed_columns

    blocks = [pa.chunked_array([string_array(["1", " 2", ""]), string_array(["3\u00a0", "4"])]),
              pa.chunked_array([string_array(["a", "b", "c"]), string_array(["d", "e"])])]
    first, second = _trimmed_columns(blocks)
    assert first.to_pylist() == ["1", "2", None, "3", "4"] and second.to_pylist() == list("abcde")
    assert blocks == [None, None]                        # each read column let go of once trimmed


@pytest.mark.parametrize("texts, needed", [
    (["1", "22", ""], False), ([" 1", "2"], True), (["1", "2\t"], True), (["1", "\u00a02"], True),
    (["1", "2\u3000"], True), (["", "", "3"], False)])
def test_only_columns_with_space_like_edges_are_trimmed(texts, needed):
    assert _may_need_trimming(string_array(texts)) is needed
