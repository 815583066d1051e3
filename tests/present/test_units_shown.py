"""Every place a value is shown formats it by the metric's unit (issue 16): charts, scorecards, summaries, CLI."""

from __future__ import annotations

import re

import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb.cli import main
from twibox_nb.model.units import format_change, format_value
from twibox_nb.present.goals import Goal
from twibox_nb.present.scorecard import Scorecard

from ..conftest import NOW


@pytest.fixture(scope="module")
def spend(conn):
    return tb.fetch_metric(library.get("Total spend"), conn, "last_30_days", compare="previous_period", now=NOW)


@pytest.fixture(scope="module")
def rate(conn):
    return tb.fetch_metric(library.get("Delivery rate"), conn, "last_30_days", compare="previous_period", now=NOW)


@pytest.fixture(scope="module")
def duration(conn):
    return tb.fetch_metric(library.get("Average call duration"), conn, "last_7_days", now=NOW)


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def main_layer(spec: dict) -> dict:
    return next(layer for layer in layers(spec) if "strokeDash" not in layer.get("encoding", {"strokeDash": 1})
                and layer["mark"]["type"] in ("bar", "line"))  # fmt: skip


def rows_of(spec: dict, layer: dict) -> list[dict]:
    data = layer.get("data", spec.get("data"))
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


def test_the_value_axis_is_titled_by_name_and_unit_and_labelled_in_the_currency(spend):
    spec = spend.chart().to_dict()
    y = main_layer(spec)["encoding"]["y"]
    assert y["title"] == "Total spend (USD)"  # not "sum of price"
    assert y["axis"]["labelExpr"].startswith("'$' + format(datum.value")


def test_tooltips_show_each_value_as_the_scorecard_writes_it(spend):
    spec = spend.chart().to_dict()
    layer = main_layer(spec)
    shown = {t["field"]: t.get("title") for t in layer["encoding"]["tooltip"]}
    assert shown["value_text"] == "Total spend (USD)"
    rows = rows_of(spec, layer)
    assert rows and all(r["value_text"] == format_value(r["value"], "USD") for r in rows)
    assert all(re.fullmatch(r"\$[0-9,]+\.\d\d", r["value_text"]) for r in rows if r["value"] is not None)


def test_a_rate_changes_in_points_on_its_badge_and_reads_in_percent(rate):
    summary = rate.summary
    assert summary.unit == "percent" and summary.change is not None
    spec = rate.chart().to_dict()
    (badge,) = [layer for layer in layers(spec) if "badge" in str(layer.get("encoding", {}))]
    text = rows_of(spec, badge)[0]["badge"]
    assert text.endswith(" vs previous period") and format_change(summary.change, "percent") in text
    assert re.search(r"[+−]\d+\.\d pt", text)
    y = main_layer(spec)["encoding"]["y"]
    assert y["title"] == "Delivery rate (%)" and y["axis"]["labelExpr"].endswith("+ '%'")
    assert re.fullmatch(r"\d+\.\d\d% [▲▼=] [+−±][\d.]+ pt vs \d+\.\d\d%", str(summary))


def test_a_goal_label_is_in_the_unit(spend):
    spec = spend.chart(goal=Goal("stay_below", 2.5, "month")).to_dict()
    (rule,) = [layer for layer in layers(spec) if layer["encoding"].get("y", {}).get("field") == "goal"]
    dash = rule["encoding"]["strokeDash"]  # named in the legend, never written over the data
    assert dash["field"] == "label" and dash["scale"]["domain"] == ["goal $2.50"]
    assert [r["goal_text"] for r in rows_of(spec, rule)] == ["$2.50"]


def test_durations_read_in_minutes_and_seconds(duration):
    text = str(duration.summary)
    assert re.fullmatch(r"(\d+ min( \d\d s)?|\d+ s)", text), text
    assert main_layer(duration.chart().to_dict())["encoding"]["y"]["title"] == "Average call duration (seconds)"


def test_the_scorecard_formats_every_cell_by_unit(conn):
    card = Scorecard(["Total spend", "Delivery rate", "Messages sent"], conn, date_range="last_30_days", now=NOW)
    spend, rate, sent = card.rows
    html = card.to_html()
    assert f">{format_value(spend.current, 'USD')}<" in html and format_value(spend.current, "USD").startswith("$")
    assert f">{format_value(rate.current, 'percent')}<" in html and rate.change_label.endswith(" pt")
    assert spend.change_label.endswith("%") and " pt" not in spend.change_label
    assert f">{format_value(sent.current, 'count')}<" in html
    assert card.to_frame()["unit"].tolist() == ["USD", "percent", "count"]
    assert f"Delivery rate: {format_value(rate.current, 'percent')} vs" in repr(card)


def test_the_metric_result_says_its_value_in_its_unit(spend):
    line = next(line for line in repr(spend).splitlines() if line.strip().startswith("value:"))
    assert re.search(r"value:\s+\$[0-9,]+\.\d\d [▲▼=] [+−±]\$[0-9,.]+ \([+−][\d.]+%\) vs \$[0-9,]+\.\d\d$", line)


def test_the_command_line_prints_values_in_the_unit(capsys):
    now = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["fetch", "Total spend", "--sandbox", "--now", now, "--range", "last_7_days", "--quiet"]) == 0
    out, err = capsys.readouterr()
    values = [line.split()[-1] for line in out.splitlines()[1:] if line.strip()]
    assert values and all(re.fullmatch(r"\$[0-9,]+\.\d\d|–", v) for v in values), out
    assert re.search(r"value:\s+\$", err)


def test_a_chosen_locale_reaches_the_axes_the_tooltips_and_the_scorecard(conn):
    from twibox_nb.model.units import set_locale
    from twibox_nb.present.chart_export import to_svg

    previous = set_locale("de_DE")
    try:
        spend = tb.fetch_metric(library.get("Total spend"), conn, "last_30_days", now=NOW)
        chart = spend.chart()
        svg = to_svg(chart)
        assert re.search(r">\d+,\d+\xa0\$<", svg) and ">28. Okt.<" in svg  # German separators, month names, order
        assert not re.search(r">\$\d", svg)  # the dollar sign goes after the number in German
        rows = rows_of(chart.to_dict(), main_layer(chart.to_dict()))
        assert all(r["value_text"].endswith("\xa0$") and "," in r["value_text"] for r in rows if r["value"])
        card = Scorecard(["Total spend"], conn, "last_30_days", now=NOW)
        assert format_value(card.rows[0].current, "USD") in card.to_html() and "\xa0$" in card.to_html()
    finally:
        set_locale(previous)
    assert ">$" in to_svg(spend.chart())  # English again


def test_an_alert_says_its_threshold_and_value_in_the_unit(spend):
    from twibox_nb.present.alerts import Alert, check

    checked = check(Alert("above", 2.5), spend)
    assert checked.fired is True
    value = format_value(spend.summary.current, "USD")
    assert str(checked) == f"alert FIRED: the metric goes above $2.50 (value {value})"
    assert Alert("change_above", 25).describe() == "changes by more than 25.00% vs the previous period"
