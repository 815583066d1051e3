"""Scorecards: values, comparisons coloured by trend, sparklines, self-contained HTML."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from twibox_nb._exceptions import SpecError
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Count, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.present.goals import Goal
from twibox_nb.present.scorecard import COLOURS, Scorecard, format_number, sparkline_svg

from ..conftest import MESSAGES_REQUEST, NOW

REQUEST = MESSAGES_REQUEST
MESSAGES = MetricSpec("Messages", REQUEST, value=Count(), date=Field("date_sent"), favourable_trend="up")
FAILED = MetricSpec(
    "Failed messages",
    REQUEST,
    value=Count(),
    date=Field("date_sent"),
    favourable_trend="down",
    expression='messages[status = "failed"].{"date": date_sent, "value": 1}',
)


@pytest.fixture(scope="module")
def card(sandbox):
    return Scorecard([MESSAGES, FAILED], connect(sandbox=sandbox), date_range="last_7_days", now=NOW)


def test_values_and_comparisons_come_from_the_metrics(sandbox, card):
    week = len(sandbox.truth.sids("messages", NOW.date() - timedelta(days=7), NOW.date()))
    before = len(sandbox.truth.sids("messages", NOW.date() - timedelta(days=14), NOW.date() - timedelta(days=7)))
    row = card.rows[0]
    assert (row.current, row.compared_with, row.change) == (week, before, week - before)
    assert row.favourable is ((week - before) > 0)
    assert len(row.sparkline) == 7 and sum(row.sparkline) == week
    frame = card.to_frame()
    assert frame["metric"].tolist() == ["Messages", "Failed messages"]


def test_change_is_coloured_by_each_metrics_favourable_trend(card):
    html = card.to_html()
    for row in card.rows:
        arrow = "▲" if row.change > 0 else "▼"
        assert re.search(rf'color:{COLOURS[row.favourable]};font-weight:600">{arrow}', html)
    failed = card.rows[1]
    assert failed.favourable is (failed.change < 0)  # fewer failures is good


def test_html_is_self_contained_small_and_marked_as_sandbox(card):
    html = card.to_html()
    assert "<script" not in html and "<link" not in html and "@import" not in html
    urls = set(re.findall(r'https?://[^"\s<]+', html))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, which is never fetched
    assert len(html) < 20_000 and html.count("<svg") == 2
    assert "SANDBOX" in html and "<table" in html
    assert card._repr_html_() == html


def test_compare_with_goals(sandbox):
    result = fetch_metric(MESSAGES, connect(sandbox=sandbox), "this_month", now=NOW)
    target = result.summary.current * 2
    card = Scorecard([result], compare="goal", goals={"Messages": Goal("reach", target, "month")})
    row = card.rows[0]
    assert row.compared_with == target and row.current == result.summary.current
    assert row.change is None and row.change_pct is None  # no "+-50 %": the standing says it
    assert row.change_label == "50.00% of the goal" and row.favourable is False  # 88% of the month gone
    assert "✗ 50.00% of the goal" in card.to_html()
    with pytest.raises(SpecError, match="needs a goal"):
        Scorecard([result], compare="goal")


def test_a_level_per_interval_is_compared_per_interval_not_with_the_total(sandbox):
    result = fetch_metric(MESSAGES, connect(sandbox=sandbox), "this_month", now=NOW)
    daily = result.data.set_index("date")["value"]
    level = float(daily.median())  # about half the days stay below it
    card = Scorecard([result], compare="goal", goals={"Messages": Goal("stay_below", level, "month")})
    row = card.rows[0]
    kept = int((daily <= level).sum())
    assert row.change_label == f"{kept} of {len(daily)} days kept" and 0 < kept < len(daily)
    assert row.change is None and row.favourable is False  # a day missed: not met
    assert row.compared_text == f"≤ {level:,.0f} per day" if level.is_integer() else row.compared_text.startswith("≤")
    html = card.to_html()
    assert f"{kept} of {len(daily)} days kept" in html and "%</span>" not in html  # never total-vs-level


def test_truncated_metrics_say_so(sandbox):
    capped = MESSAGES.replace(request=RequestSpec(REQUEST.path, params={"PageSize": "20"}, max_pages=1))
    with pytest.warns(UserWarning):
        card = Scorecard([capped], connect(sandbox=sandbox), date_range="last_7_days", now=NOW)
    assert "incomplete" in card.rows[0].note and "incomplete" in card.to_html()


def test_formatting_helpers():
    assert (format_number(1234.0), format_number(1234.5), format_number(0.01234), format_number(None)) == (
        "1,234",
        "1,234.5",
        "0.0123",
        "–",
    )
    assert "<polyline" in sparkline_svg([1, 3, 2]) and "<polyline" not in sparkline_svg([1])


def test_a_goal_has_a_column_of_its_own_beside_the_comparison(sandbox):
    conn = connect(sandbox=sandbox)
    goals = {"Messages": Goal("stay_above", 1, "month"), "Failed messages": Goal("stay_below", 0, "month")}
    card = Scorecard([MESSAGES, FAILED], conn, "this_month", goals=goals, now=NOW)
    messages, failed = card.rows
    assert messages.change is not None and messages.compared_with is not None  # still the previous period
    assert messages.goal == f"≥ 1 per day: {len(messages.sparkline)} of {len(messages.sparkline)} days kept"
    kept = sum(v <= 0 for v in failed.sparkline)
    assert failed.goal == f"≤ 0 per day: {kept} of {len(failed.sparkline)} days kept" and kept < len(failed.sparkline)
    assert messages.goal_met is True and failed.goal_met is False
    html = card.to_html()
    assert '<th style="' in html and ">goal</th>" in html and f"✓ {messages.goal}" in html
    assert "width:100%" in html  # full width: the scorecard spans the board, not a third of it
    assert card.to_frame()["goal"].tolist() == [messages.goal, failed.goal]
    assert ">goal</th>" not in Scorecard([MESSAGES], conn, "last_7_days", now=NOW).to_html()
