"""Units: every metric says what its value is, and every number reads in its unit (issue 16)."""

from __future__ import annotations

import json

import pytest

from twibox_nb import library
from twibox_nb._exceptions import SpecError
from twibox_nb.aggregate.frames import summarize
from twibox_nb.model import units
from twibox_nb.model.calculated import CalculatedMetric
from twibox_nb.model.spec import Field, MetricSpec, RequestSpec
from twibox_nb.model.units import (
    check_unit,
    currency_affixes,
    format_change,
    format_change_pct,
    format_value,
    guess_unit,
    set_locale,
    unit_title,
)

CALLS = RequestSpec("/2010-04-01/Accounts/{AccountSid}/Calls.json")


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (65.8213, "USD", "$65.82"),
        (633.7, "USD", "$633.70"),
        (1234567.891, "USD", "$1,234,567.89"),
        (-3.1, "USD", "-$3.10"),
        (88.9926, "percent", "88.99%"),
        (100, "percent", "100.00%"),
        (183.15, "seconds", "3 min 03 s"),
        (180, "seconds", "3 min"),
        (45, "seconds", "45 s"),
        (4.25, "seconds", "4.2 s"),
        (3725, "seconds", "1 h 02 min"),
        (3203, "minutes", "53 h 23 min"),
        (2.5, "minutes", "2 min 30 s"),
        (3203, "count", "3,203"),
        (20.7833, "count", "20.78"),
        (1280, "segments", "1,280 segments"),
        (12, "calls", "12 calls"),
        (20.7833, None, "20.78"),
        (0.0079, None, "0.0079"),
        (None, "USD", "–"),
        (float("nan"), "percent", "–"),
        (float("inf"), None, "–"),
    ],
)
def test_each_unit_reads_as_people_write_it(value, unit, text):
    assert format_value(value, unit) == text


def test_changes_are_signed_in_the_unit_and_percentages_change_in_points():
    assert format_change(1.206, "percent") == "+1.2 pt"
    assert format_change(-2.46, "percent") == "−2.5 pt"
    assert format_change(3.1, "USD") == "+$3.10" and format_change(-3.1, "USD") == "−$3.10"
    assert format_change(12, "seconds") == "+12 s" and format_change(0, None) == "±0"
    assert (format_change_pct(1.4012), format_change_pct(-20), format_change_pct(None)) == ("+1.4%", "−20.0%", "–")


def test_the_summary_headline_formats_by_unit():
    assert str(summarize(88.9926, 87.7866, "up", "percent")) == "88.99% ▲ +1.2 pt vs 87.79%"
    spend = summarize(65.82, 62.7, "down", "USD")
    assert str(spend) == "$65.82 ▲ +$3.12 (+5.0%) vs $62.70" and spend.favourable is False
    assert summarize(90.0, 80.0, "up", "percent").change_label == "+10.0 pt"
    assert summarize(120.0, 100.0, "up").change_label == "+20.0%"
    assert summarize(5.0, 0.0, "up", "count").change_label == "+5"  # no percentage from nothing


def test_a_locale_can_be_chosen_and_english_is_the_default():
    assert units.get_locale() == "en"
    assert format_value(1234.5, "EUR", locale="de_DE") == "1.234,50\xa0€"
    assert format_value(88.9926, "percent", locale="de_DE") == "88,99\xa0%"
    assert format_value(183.15, "seconds", locale="fr") == "3 min 03 s"  # SI symbols in every language
    previous = set_locale("de_DE")
    try:
        headline = str(summarize(1236.0, 1000.0, "up", "EUR"))
        assert headline == "1.236,00\xa0€ ▲ +236,00\xa0€ (+23,6\xa0%) vs 1.000,00\xa0€"
    finally:
        set_locale(previous)
    assert format_value(1234.5) == "1,234.5"
    with pytest.raises(SpecError, match="not a locale Babel knows"):
        set_locale("xx_NOPE")


def test_currency_affixes_follow_the_locale():
    assert currency_affixes("USD") == ("$", "")
    assert currency_affixes("EUR", "de_DE") == ("", "\xa0€")
    assert currency_affixes("GBP", "en_GB") == ("£", "")


@pytest.mark.parametrize(
    ("field", "record", "unit"),
    [
        ("price", {"price": "-0.0079", "price_unit": "USD"}, "USD"),
        ("price", {"price": "-0.0079", "price_unit": "eur"}, "EUR"),  # usage records write it in lower case
        ("price", None, "USD"),
        ("price", {"price_unit": "not money"}, "USD"),
        ("duration", {"duration": "12"}, "seconds"),
        ("num_segments", {}, "segments"),
        ("usage", {"usage": "31", "usage_unit": "minutes"}, "minutes"),
        (None, None, "count"),
        ("status", {"status": "sent"}, None),
    ],
)
def test_a_unit_is_guessed_from_the_field(field, record, unit):
    assert guess_unit(field, record) == unit


def test_a_count_aggregation_counts_whatever_its_field():
    assert guess_unit("price", {"price_unit": "USD"}, aggregation="count") == "count"


@pytest.mark.parametrize(
    "bad", [7, True, ["USD"], "x" * 41, "US\nD", "\x00", {"unit": "USD"}],
)
def test_a_unit_that_is_not_one_is_refused_with_what_to_use(bad):
    with pytest.raises(SpecError) as caught:
        check_unit("unit", bad)
    assert caught.value.field == "unit" and "currency code such as USD" in caught.value.detail


def test_blank_units_are_no_unit():
    assert (check_unit("u", None), check_unit("u", ""), check_unit("u", "  ")) == (None, None, None)


def test_unit_titles_name_the_metric_and_its_unit():
    assert unit_title("Call spend", "USD") == "Call spend (USD)"
    assert unit_title("Delivery rate", "percent") == "Delivery rate (%)"
    assert unit_title("Messages", "count") == "Messages" and unit_title("Spend", None) == "Spend"


# --- the file format ---------------------------------------------------------------------------


def test_a_metric_file_keeps_its_unit():
    spec = MetricSpec("Average call duration", CALLS, value=Field("duration"), aggregation="average", unit="seconds")
    data = json.loads(spec.to_json())
    assert data["unit"] == "seconds" and list(data).index("unit") == list(data).index("aggregation") + 1
    assert MetricSpec.from_json(spec.to_json()) == spec and MetricSpec.from_json(spec.to_json()).unit == "seconds"


def test_an_older_file_without_a_unit_reads_as_a_plain_number_and_saves_back_unchanged(tmp_path):
    text = MetricSpec("Calls", CALLS).to_json() + "\n"
    assert '"unit"' not in text  # version 1 files written before units existed look like this
    spec = MetricSpec.from_json(text)
    assert spec.unit is None and spec.value_unit is None
    written = spec.save(tmp_path / "calls.json")
    assert written.read_text() == text  # byte for byte: no key appears by reading and saving


def test_a_refused_unit_in_a_file_names_the_key():
    data = json.loads(MetricSpec("Calls", CALLS).to_json())
    data["unit"] = {"currency": "USD"}
    with pytest.raises(SpecError) as caught:
        MetricSpec.from_dict(data)
    assert caught.value.field == "unit"


def test_a_calculated_metric_says_its_unit_or_infers_it():
    sent, delivered = library.get("Messages sent"), library.get("Messages delivered")
    rate = CalculatedMetric("Rate", "ratio", (delivered, sent), scale=100)
    assert rate.unit is None and rate.value_unit == "percent"
    assert CalculatedMetric("Share", "ratio", (delivered, sent)).value_unit is None  # a fraction, not %
    spend = CalculatedMetric("Spend", "sum", (library.get("SMS spend"), library.get("Call spend")))
    assert spend.value_unit == "USD"
    mixed = CalculatedMetric("Mixed", "sum", (library.get("SMS spend"), library.get("Messages sent")))
    assert mixed.value_unit is None
    told = rate.replace(unit="count")
    assert CalculatedMetric.from_json(told.to_json(), library.get).unit == "count"


def test_every_library_metric_has_a_unit():
    table = library.list()
    assert table["unit"].notna().all(), table.loc[table["unit"].isna(), "name"].tolist()
    by_name = dict(zip(table["name"], table["unit"], strict=True))
    assert by_name["Total spend"] == "USD" and by_name["Delivery rate"] == "percent"
    assert by_name["Average call duration"] == "seconds" and by_name["Call minutes"] == "minutes"
    assert by_name["Segments sent"] == "segments" and by_name["Messages by status"] == "count"
