"""Units and counts after numbers: Japanese sets wide units (日, 円) without a space, Latin ones with
one; row counts are grouped (300,000) in both languages."""

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


def test_row_counts_are_grouped_like_every_other_number():
    from workbench.report.pieces import measure_rows

    rows = measure_rows({"n": 300000, "rmse": 4.183}, None, ("rmse", "n"), translator("ja"), "Units", None)
    assert dict((label, value) for label, value, _ in rows)[translator("ja")("measure.n")] == "300,000"


def test_odds_ratios_near_one_show_the_digits_that_part_them_from_one():
    from workbench.report.effects import Effect
    from workbench.report.sentences import effect_sentence

    effect = Effect("Preis", "odds_ratio", 1.00213, 0.0001, 1.0019, 1.0023, 1.0)
    sentence = effect_sentence(effect, "Kauf", translator("en"))
    assert "1.0021" in sentence and "1.0019" in sentence and "1.0023" in sentence
    assert "1.00 to 1.00" not in sentence


def test_the_dropped_rows_sentence_groups_its_counts():
    from workbench.data.summary import RowAccount

    assert RowAccount(180000, 180000, {}, None).sentence() == "all 180,000 rows used"
    assert RowAccount(12000, 10000, {"empty y": 2000}, 5).sentence().startswith("2,000 of 12,000 rows dropped")
