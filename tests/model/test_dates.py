"""Date ranges, comparison periods and date tokens (all UTC, now passed in)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twibox_nb._exceptions import DateRangeError
from twibox_nb.model.dates import comparison_range, render_tokens, resolve_range, token_value
from twibox_nb.sandbox.filters import bounds_for, parse_date_value

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # a Friday


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("today", utc(2026, 11, 27), utc(2026, 11, 28)),
        ("yesterday", utc(2026, 11, 26), utc(2026, 11, 27)),
        ("this_week", utc(2026, 11, 23), utc(2026, 11, 30)),  # weeks start on Monday
        ("last_week", utc(2026, 11, 16), utc(2026, 11, 23)),
        ("this_month", utc(2026, 11, 1), utc(2026, 12, 1)),
        ("last_month", utc(2026, 10, 1), utc(2026, 11, 1)),
        ("this_quarter", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("last_quarter", utc(2026, 7, 1), utc(2026, 10, 1)),
        ("this_year", utc(2026, 1, 1), utc(2027, 1, 1)),
        ("last_year", utc(2025, 1, 1), utc(2026, 1, 1)),
        ("last_7_days", utc(2026, 11, 20), utc(2026, 11, 27)),
        ("last_30_days", utc(2026, 10, 28), utc(2026, 11, 27)),
        ("last_2_weeks", utc(2026, 11, 9), utc(2026, 11, 23)),
        ("last_3_months", utc(2026, 8, 1), utc(2026, 11, 1)),
        ("week_to_date", utc(2026, 11, 23), NOW),
        ("month_to_date", utc(2026, 11, 1), NOW),
        ("quarter_to_date", utc(2026, 10, 1), NOW),
        ("year_to_date", utc(2026, 1, 1), NOW),
        ("since:2026-11-20", utc(2026, 11, 20), NOW),
        ("2026-02-01..2026-02-28", utc(2026, 2, 1), utc(2026, 3, 1)),  # both days included
    ],
)
def test_named_ranges(name, start, end):
    r = resolve_range(name, NOW)
    assert (r.start, r.end) == (start, end)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("this_month", utc(2026, 10, 1), utc(2026, 11, 1)),
        ("last_month", utc(2026, 9, 1), utc(2026, 10, 1)),
        ("last_7_days", utc(2026, 11, 13), utc(2026, 11, 20)),
        ("last_3_months", utc(2026, 5, 1), utc(2026, 8, 1)),
        ("this_quarter", utc(2026, 7, 1), utc(2026, 10, 1)),
        ("month_to_date", utc(2026, 10, 1), utc(2026, 10, 27, 15, 30)),  # the same time into October
        ("week_to_date", utc(2026, 11, 16), utc(2026, 11, 20, 15, 30)),
        ("2026-02-01..2026-02-28", utc(2026, 1, 4), utc(2026, 2, 1)),  # the same length, just before
    ],
)
def test_previous_period(name, start, end):
    previous = comparison_range(resolve_range(name, NOW), "previous_period")
    assert (previous.start, previous.end) == (start, end)


def test_previous_period_of_a_long_month_to_date_stays_inside_the_shorter_month():
    now = utc(2026, 3, 31, 12)
    previous = comparison_range(resolve_range("month_to_date", now), "previous_period")
    assert (previous.start, previous.end) == (utc(2026, 2, 1), utc(2026, 3, 1))


def test_same_period_last_year():
    r = comparison_range(resolve_range("2024-02-01..2024-02-29", NOW), "same_period_last_year")
    assert (r.start, r.end) == (utc(2023, 2, 1), utc(2023, 3, 1))  # 29 Feb + 1 day -> 1 Mar
    assert comparison_range(resolve_range("today", NOW), None) is None


@pytest.mark.parametrize(
    "name", ["last_0_days", "next_week", "since:2027-01-01", "2026-02-10..2026-02-01", "2026-02-30..2026-03-01", "", 7]
)
def test_bad_ranges_say_what_is_allowed(name):
    with pytest.raises(DateRangeError, match=r"date range|ends|future|before|not a date|N must"):
        resolve_range(name, NOW)


def test_bad_comparison_and_naive_now():
    with pytest.raises(DateRangeError, match="previous_period"):
        comparison_range(resolve_range("today", NOW), "last_decade")
    with pytest.raises(DateRangeError, match="timezone-aware"):
        resolve_range("today", datetime(2026, 1, 1))


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(timezone.utc)),
    unit=st.sampled_from(["days", "weeks", "months"]),
    n=st.integers(1, 40),
)
def test_adjacent_ranges_neither_overlap_nor_leave_gaps(now, unit, n):
    current = resolve_range(f"last_{n}_{unit}", now)
    previous = comparison_range(current, "previous_period")
    before_that = comparison_range(previous, "previous_period")
    assert before_that.end == previous.start and previous.end == current.start
    assert current.end <= now and current.start < current.end
    whole = {"days": "today", "weeks": "this_week", "months": "this_month"}[unit]
    assert resolve_range(whole, now).start == current.end  # ends where the current period begins


# --- tokens: a superset of the range, whatever the filter's boundary rule ----------------------


def admitted(rule, text):
    """What a server with this boundary rule admits for this rendered value (the sandbox's model)."""
    return bounds_for(rule, parse_date_value("param", text, today=NOW.date()))


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 10, 1), timezones=st.just(timezone.utc)
    ),
    length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=60)),
    rule=st.sampled_from(["on_or_before", "before"]),
    kind=st.sampled_from(["date", "datetime"]),
)
def test_rendered_tokens_cover_the_range(start, length, rule, kind):
    from twibox_nb.model.dates import DateRange

    r = DateRange(start, start + length, "custom")
    lo = admitted("on_or_after", token_value(f"start_{kind}", r))
    hi = admitted(rule, token_value(f"end_{kind}", r, rule))
    first_second = int(r.start.timestamp())
    last_second = int(r.end.timestamp() - 1e-6)  # the last whole second inside [start, end)
    assert lo.lo <= first_second
    assert hi.hi >= last_second


def test_an_inclusive_end_date_does_not_fetch_an_extra_day():
    r = resolve_range("2026-11-01..2026-11-07", NOW)
    assert token_value("end_date", r, "on_or_before") == "2026-11-07"
    assert token_value("end_date", r, "before") == "2026-11-08"
    assert token_value("end_date", r, None) == "2026-11-08"  # unknown rule: widen
    assert render_tokens(">={{ start_date }}", r) == ">=2026-11-01"


def test_unknown_token_is_refused():
    with pytest.raises(DateRangeError, match="start_date"):
        render_tokens("{{yesterday}}", resolve_range("today", NOW))


def test_yesterday_is_the_whole_day_before_today():
    r = resolve_range("yesterday", NOW)
    assert (r.start, r.end) == (utc(2026, 11, 26), utc(2026, 11, 27))  # half-open: [start, end)
    assert date(2026, 11, 26) == r.start.date()


@pytest.mark.parametrize(
    ("name", "compare"),
    [
        ("9999-12-30..9999-12-31", None),  # the end would be year 10000: OverflowError before
        ("since:0001-01-01", None),
        ("0001-01-01..0001-01-02", None),
        ("2300-01-01..2300-01-02", None),
        ("last_5000_months", None),  # starts in 1610
        ("since:1678-01-01", "same_period_last_year"),  # the comparison starts in 1677
        ("since:1678-01-01", "previous_period"),
    ],
)
def test_ranges_outside_the_dates_a_record_can_have_are_refused(name, compare):
    with pytest.raises(DateRangeError, match="1678-01-01"):
        comparison_range(resolve_range(name, NOW), compare) if compare else resolve_range(name, NOW)


def test_a_huge_range_name_is_not_echoed_and_digits_are_ascii():
    with pytest.raises(DateRangeError) as caught:
        resolve_range("x" * 100_000, NOW)
    assert "100,000 characters" in str(caught.value) and len(str(caught.value)) < 1_000
    with pytest.raises(DateRangeError, match="unknown date range"):
        resolve_range("last_\u0663_days", NOW)  # an Arabic-Indic 3 is no N


def test_date_keys_apply_the_year_rule_on_the_fast_paths_too():
    from twibox_nb.model.twilio_dates import date_keys

    assert date_keys(["9999-12-31T00:00:00Z", "Fri, 31 Dec 9999 00:00:00 +0000", "0099-01-01T00:00:00Z"]) == [None] * 3
    assert date_keys(["Mon, 01 Jan 0099 00:00:00 +0000", "01 Jan 99 00:00:00 +0000"]) == [None, "1999-01-01T00:00:00"]
