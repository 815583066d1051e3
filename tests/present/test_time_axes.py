"""Honest time axes (issue 16): ticks per interval, partial periods compared like for like, nothing drawn
for intervals that have not started, goal labels off the data."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb.aggregate.combine import interval_series
from twibox_nb.present.chart_data import chart_data
from twibox_nb.present.chart_export import to_svg
from twibox_nb.present.scorecard import Scorecard
from twibox_nb.present.time_axis import FORMATS

from ..conftest import NOW  # 2026-11-27 15:30 UTC, a Friday

BY_STATUS = library.get("Messages by status")


def x_axis(chart) -> tuple[dict, dict]:
    """The main layer's x encoding and its axis."""
    spec = chart.to_dict()
    for layer in spec.get("layer", [spec]):
        x = layer.get("encoding", {}).get("x", {})
        if x.get("field") in ("date", "mid") and layer["mark"]["type"] in ("bar", "line"):
            return x, x.get("axis", {})
    raise AssertionError("no main layer")


def ticks(axis: dict) -> list[pd.Timestamp]:
    return [pd.Timestamp(v, unit="ms", tz="UTC") for v in axis["values"]]


@pytest.fixture(scope="module")
def weekly(conn):
    return tb.fetch_metric(BY_STATUS, conn, "last_30_days", "week", compare="previous_period", now=NOW)


@pytest.fixture(scope="module")
def this_month(conn):
    return tb.fetch_metric(library.get("Messages sent"), conn, "this_month", "day", compare="previous_period", now=NOW)


@pytest.mark.parametrize(
    ("date_range", "interval", "count"),
    [("last_7_days", "day", 7), ("last_30_days", "week", 5), ("last_90_days", "month", 4), ("this_year", "quarter", 4)],
)
def test_one_tick_per_interval_at_its_middle_in_one_format(conn, date_range, interval, count):
    result = tb.fetch_metric(BY_STATUS, conn, date_range, interval, now=NOW)
    x, axis = x_axis(result.chart())
    starts = chart_data(result).intervals["start"]
    assert len(axis["values"]) == count == len(starts)
    ends = chart_data(result).intervals["end"]
    assert ticks(axis) == list(starts + (ends - starts) / 2)  # the middle: under the bar, at the line's point
    assert axis["labelExpr"].endswith(f"'{FORMATS[interval]}')") and axis["labelAngle"] == 0
    assert x["title"] == ("week starting Monday (UTC)" if interval == "week" else f"{interval} (UTC)")


def test_weekly_ticks_read_as_the_monday_each_week_starts(weekly):
    _, axis = x_axis(weekly.chart())
    mondays = [t - pd.Timedelta(days=3.5) for t in ticks(axis)]
    assert all(m.weekday() == 0 and (m.hour, m.minute) == (0, 0) for m in mondays)
    svg = to_svg(weekly.chart())
    shown = [f"{m:%b %d}" for m in mondays]
    assert all(f">{label}<" in svg for label in shown), shown  # rendered by Vega, as written
    assert not re.search(r">(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", svg)  # no daily ticks on a weekly chart


def test_many_intervals_label_every_kth_and_fit_the_width(conn):
    result = tb.fetch_metric(BY_STATUS, conn, "last_90_days", "day", now=NOW)
    _, axis = x_axis(result.chart(width=640))
    assert 640 // 52 - 1 <= len(axis["values"]) <= 640 // 52
    steps = {b - a for a, b in zip(ticks(axis), ticks(axis)[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() == pd.Timedelta(days=8)  # every 8th of 90 days


def test_a_cut_week_is_compared_with_the_same_part_of_the_previous_period(weekly):
    data = chart_data(weekly)
    cut = data.intervals[data.intervals["status"] == "partial"]
    assert len(cut) == 2  # the range starts on a Wednesday and ends on a Friday
    shift = pd.Timestamp(weekly.date_range.start) - pd.Timestamp(weekly.previous.date_range.start)
    rows = weekly.previous.rows
    start, end = pd.Timestamp(weekly.date_range.start), pd.Timestamp(weekly.date_range.end)
    drawn = data.previous.groupby("date")["value"].sum()
    for begin, finish in zip(cut["start"], cut["end"], strict=True):
        low, high = max(begin, start) - shift, min(finish, end) - shift
        same_part = float(rows.loc[(rows["date"] >= low) & (rows["date"] < high), "value"].sum())
        assert drawn[begin] == same_part
    whole = weekly.previous.data.groupby("date")["value"].sum()
    first_days = (min(cut["end"].iloc[0], end) - start).days
    assert drawn[cut["start"].iloc[0]] < whole.iloc[0] or first_days == 7  # not the whole week against a part
    subtitle = weekly.chart().to_dict()["title"]["subtitle"]
    assert "shaded intervals are compared with the same part of the previous period" in subtitle


def test_the_day_in_progress_is_compared_with_the_same_hours_of_its_twin(this_month):
    data = chart_data(this_month)
    today = pd.Timestamp("2026-11-27", tz="UTC")
    (twin,) = data.previous.loc[data.previous["date"] == today, "value"].tolist()
    rows = this_month.previous.rows
    oct_27 = pd.Timestamp("2026-10-27", tz="UTC")
    assert twin == float(((rows["date"] >= oct_27) & (rows["date"] < oct_27 + pd.Timedelta(hours=15.5))).sum())


def test_intervals_that_have_not_started_are_not_zeros(this_month, conn):
    assert this_month.data["date"].max() == pd.Timestamp("2026-11-27", tz="UTC")  # not the 28th to 30th
    assert len(this_month.data) == 27 and this_month.data["value"].notna().all()
    assert len(interval_series(this_month)) == 27
    data = chart_data(this_month)
    assert data.main["date"].max() == data.previous["date"].max() == pd.Timestamp("2026-11-27", tz="UTC")
    card = Scorecard([this_month], conn)
    assert len(card.rows[0].sparkline) == 27


def test_the_goal_is_named_in_the_legend_not_written_over_the_data(weekly):
    spec = weekly.chart(goal=600).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert all("badge" in str(layer["encoding"]) for layer in texts)  # the only text is the badge, above the plot
    (goal,) = [layer for layer in spec["layer"] if layer["encoding"].get("y", {}).get("field") == "goal"]
    assert goal["encoding"]["strokeDash"]["scale"]["domain"] == ["goal 600"] and "rule" in marks
    assert spec["resolve"]["scale"]["strokeDash"] == "independent"  # its own legend entry beside "previous period"
    assert ">goal 600<" in to_svg(weekly.chart(goal=600))
