"""Rows to metric: dtypes, clipping, intervals, aggregations and comparisons."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from twibox_nb.aggregate.frames import aggregate, clip, parse_dates, rows_frame, summarize, total, unreadable_note
from twibox_nb.model.dates import resolve_range

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
ROWS = [
    {"date": "Mon, 02 Nov 2026 00:00:00 +0000", "value": 1.0, "dimension": "delivered"},
    {"date": "Mon, 02 Nov 2026 10:00:00 +0000", "value": 3.0, "dimension": "failed"},
    {"date": "Mon, 02 Nov 2026 23:59:59 +0000", "value": None, "dimension": "delivered"},
    {"date": "2026-11-04T08:00:00Z", "value": 5.0, "dimension": "delivered"},
    {"date": "Sun, 01 Nov 2026 23:59:59 +0000", "value": 100.0, "dimension": "delivered"},  # before the range
    {"date": "Mon, 09 Nov 2026 00:00:00 +0000", "value": 100.0, "dimension": "failed"},  # at the end: excluded
    {"date": None, "value": 7.0, "dimension": None},  # no date: dropped by clipping
]
RANGE = resolve_range("2026-11-02..2026-11-08", NOW)


def frame():
    return clip(rows_frame(ROWS), RANGE)


def test_dtypes_and_half_open_clipping():
    f = frame()
    assert str(f["date"].dtype) == "datetime64[ns, UTC]" or str(f["date"].dtype).startswith("datetime64")
    assert f["date"].dt.tz is not None and f["value"].dtype == "float64" and f["dimension"].dtype == "category"
    assert len(f) == 4  # the records before the range, at its end and without a date are out


def test_dates_in_both_twilio_formats_and_garbage():
    parsed = parse_dates(
        pd.Series(["Fri, 24 May 2019 17:44:50 +0000", "2019-06-24T22:32:49+00:00", "2008-01-02", "soon"])
    )
    assert parsed.tolist()[:3] == [
        pd.Timestamp("2019-05-24 17:44:50", tz="UTC"),
        pd.Timestamp("2019-06-24 22:32:49", tz="UTC"),
        pd.Timestamp("2008-01-02", tz="UTC"),
    ]
    assert pd.isna(parsed.iloc[3])


@pytest.mark.parametrize(
    ("aggregation", "expected_total", "delivered_nov2"),
    [("sum", 9.0, 1.0), ("count", 4.0, 2.0), ("min", 1.0, 1.0), ("max", 5.0, 1.0), ("average", 3.0, 1.0)],
)
def test_aggregations_per_day_and_total(aggregation, expected_total, delivered_nov2):
    data = aggregate(frame(), aggregation, "day", RANGE)
    cell = data[(data["date"] == pd.Timestamp("2026-11-02", tz="UTC")) & (data["dimension"] == "delivered")]
    assert cell["value"].tolist() == [delivered_nov2]
    assert total(frame(), aggregation) == expected_total


def test_sum_and_count_fill_empty_days_with_zero():
    data = aggregate(frame(), "sum", "day", RANGE)
    assert len(data) == 7 * 2  # every day of the range, for both dimensions
    quiet = data[data["date"] == pd.Timestamp("2026-11-05", tz="UTC")]
    assert quiet["value"].tolist() == [0.0, 0.0]
    assert len(aggregate(frame(), "max", "day", RANGE)) == 3  # other aggregations leave gaps out


def test_latest_takes_the_most_recent_value_per_dimension():
    data = aggregate(frame(), "latest", "week", RANGE)
    assert dict(zip(data["dimension"].astype(str), data["value"], strict=True)) == {"delivered": 5.0, "failed": 3.0}
    assert total(frame(), "latest") == 8.0  # the latest of each dimension, summed


@pytest.mark.parametrize(
    ("interval", "buckets"),
    [
        ("hour", ["2026-11-02 00:00", "2026-11-02 10:00", "2026-11-02 23:00", "2026-11-04 08:00"]),
        ("week", ["2026-11-02"]),  # a Monday
        ("month", ["2026-11-01"]),
        ("quarter", ["2026-10-01"]),
        ("year", ["2026-01-01"]),
    ],
)
def test_intervals(interval, buckets):
    data = aggregate(frame(), "max", interval)
    assert sorted(set(data["date"])) == [pd.Timestamp(b, tz="UTC") for b in buckets]


def test_weeks_start_on_monday():
    rows = [{"date": "2026-11-29T12:00:00Z", "value": 1, "dimension": None}]  # a Sunday
    data = aggregate(rows_frame(rows), "sum", "week")
    assert data["date"].tolist() == [pd.Timestamp("2026-11-23", tz="UTC")]


def test_dynamic_stamp():
    f = rows_frame([{"value": "12.5"}], stamp=NOW)
    assert f["date"].tolist() == [pd.Timestamp(NOW)] and f["value"].tolist() == [12.5]


def test_empty_rows():
    f = rows_frame([])
    assert f.empty and total(f, "sum") is None
    assert aggregate(f, "max", "day").empty
    assert aggregate(f, "count", "day", RANGE)["value"].tolist() == [0.0] * 7


@pytest.mark.parametrize(
    ("current", "previous", "trend", "change", "pct", "favourable"),
    [
        (120.0, 100.0, "up", 20.0, 20.0, True),
        (80.0, 100.0, "up", -20.0, -20.0, False),
        (80.0, 100.0, "down", -20.0, -20.0, True),
        (100.0, 100.0, "up", 0.0, 0.0, None),
        (5.0, 0.0, "up", 5.0, None, True),
        (0.0, 0.0, "down", 0.0, 0.0, None),
        (-50.0, -100.0, "up", 50.0, 50.0, True),  # % of the magnitude
        (None, 100.0, "up", None, None, None),
        (100.0, None, "up", None, None, None),
    ],
)
def test_summary_edge_cases(current, previous, trend, change, pct, favourable):
    s = summarize(current, previous, trend)
    assert (s.change, s.change_pct, s.favourable) == (change, pct, favourable)


def test_summary_reads_well():
    assert str(summarize(120.0, 100.0, "up")) == "120 ▲ +20 (+20.0%) vs 100"
    assert str(summarize(None, None, "up")) == "no data"


@pytest.mark.parametrize(
    "date",
    [
        "9999-12-31T00:00:00Z",  # Twilio's product-API shape, far future
        "0001-01-01T00:00:00Z",  # year 1
        "Fri, 31 Dec 9999 23:59:59 +0000",  # the 2010 API's shape
        "Mon, 01 Jan 0001 00:00:00 +0000",  # email.utils would read year 0001 as 2001
        "10000-01-01T00:00:00Z",
        "2262-04-12T00:00:00Z",  # one day past what a nanosecond timestamp holds
        "Fri, 31 Dec 2261 23:00:00 -0500",  # 2262 in UTC
    ],
)
def test_a_date_no_timestamp_can_hold_is_unreadable_not_a_crash(date):
    rows = [{"date": date, "value": 1.0, "dimension": "x"}, {"date": "2026-11-03T00:00:00Z", "value": 2.0}]
    built = rows_frame(rows)
    assert built["date"].isna().tolist() == [True, False]
    assert built.attrs["unreadable_dates"] == 1
    clipped = clip(built, RANGE)
    assert clipped["value"].tolist() == [2.0] and clipped.attrs["unreadable_dates"] == 1
    assert "1 record has a date that cannot be read" in unreadable_note(clipped)


def test_the_last_and_first_readable_years_are_kept():
    dates = ["1678-01-01T00:00:00Z", "Sun, 31 Dec 2261 23:59:59 +0000", "2261-12-31T23:59:59.5+00:00"]
    parsed = parse_dates(pd.Series(dates))
    assert parsed.notna().all() and parsed.dt.year.tolist() == [1678, 2261, 2261]
    assert unreadable_note(rows_frame([{"date": d} for d in dates])) is None


def test_datetime_values_out_of_nanosecond_range_are_nat():
    moments = pd.Series([pd.Timestamp("9999-12-31", tz="UTC").as_unit("us"), pd.Timestamp("2026-11-03", tz="UTC")])
    parsed = parse_dates(moments)
    assert str(parsed.dtype) == "datetime64[ns, UTC]"
    assert parsed.isna().tolist() == [True, False]


def test_a_missing_date_is_not_counted_as_unreadable():
    assert rows_frame([{"date": None, "value": 1.0}]).attrs["unreadable_dates"] == 0
