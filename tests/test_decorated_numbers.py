"""Currency, percent, trailing-minus and accounting-parenthesis numbers read in C give exactly what
the careful per-cell parser gives, or are left to it (NaN): never another number."""

import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data.cells import MISSING, OK, _decorated_numbers, convert_texts, parse_number

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=7)
MARKS = st.sampled_from(["", "$", "¥", "€", "£", "-", "+", "−", "$-", "- ", "¥ ", "--", "+-"])
CORES = st.one_of(
    DIGITS,
    st.builds(lambda a, b: f"{a}.{b}", DIGITS, DIGITS),
    st.builds(lambda a, b: f"{a},{b}", DIGITS, DIGITS),
    st.builds(lambda a, b, c: f"{int(a) % 999 + 1},{b[:3].ljust(3, '0')}.{c}", DIGITS, DIGITS, DIGITS),
    st.builds(lambda a, b, c: f"{int(a) % 999 + 1}.{b[:3].ljust(3, '0')},{c}", DIGITS, DIGITS, DIGITS),
    st.builds(lambda a, b: f"{int(a) % 999 + 1} {b[:3].ljust(3, '0')}", DIGITS, DIGITS),
    st.builds(lambda a, e: f"{a}e{e[:2]}", DIGITS, DIGITS),
    st.sampled_from(["abc", "1-2", "1..2", ".5", "12.", "(", "%", "inf", "nan", "1e400", "0,123"]),
)


@st.composite
def decorated(draw) -> str:
    text = draw(MARKS) + draw(CORES) + draw(MARKS)
    if draw(st.booleans()):
        text += draw(st.sampled_from(["%", " %"]))
    if draw(st.booleans()):
        text = "(" + text + ")"
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(decorated(), min_size=1, max_size=40), st.sampled_from([(".", None), (",", None), (".", ","),
                                                                         (",", ".")]))
def test_decorated_cells_read_in_c_are_the_careful_parsers_numbers(texts, convention):
    decimal, thousands = convention
    got = _decorated_numbers(pa.array(texts), decimal, thousands)
    for text, number in zip(texts, got):
        if math.isfinite(number):
            assert number == parse_number(text, decimal, thousands), text


def test_a_column_of_currency_percent_and_parentheses_converts_as_cell_by_cell():
    texts = ["¥1,995", "12.5%", "(1,234.50)", "1234-", "$ 7", "n/a", "-12-", "abc", None, "1e400%"]
    converted = convert_texts(pa.array(texts), ".", None)
    expected = [1995.0, 0.125, -1234.5, -1234.0, 7.0]
    assert converted.values[:5].tolist() == expected
    assert converted.status[:5].tolist() == [OK] * 5
    assert converted.status[5] == MISSING and converted.status[8] == MISSING
    assert np.isnan(converted.values[5:]).all()
    assert converted.status[6] > MISSING and converted.status[7] > MISSING and converted.status[9] > MISSING
