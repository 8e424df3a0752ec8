"""A unit after a number: Japanese sets wide units (日, 円) without a space, Latin ones with one."""

from workbench.report.i18n import translator
from workbench.report.text import unit_suffix


def test_japanese_wide_units_follow_the_number_without_a_space():
    ja = translator("ja")
    assert unit_suffix("日", ja) == "日"
    assert unit_suffix("円", ja) == "円"
    assert unit_suffix("kg", ja) == " kg"
    assert unit_suffix(None, ja) == ""


def test_english_units_always_take_a_space():
    en = translator("en")
    assert unit_suffix("日", en) == " 日"
    assert unit_suffix("USD", en) == " USD"
    assert unit_suffix("", en) == ""
