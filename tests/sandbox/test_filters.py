"""Date filter values and their boundary rules, as the specs' own parameter texts give them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from twibox_nb.sandbox.filters import BadParameter, Bounds, bounds_for, parse_date_value

TODAY = date(2026, 11, 27)
D = date(2024, 5, 1)
MIDNIGHT = int(datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", D),
        ("2024-05-01T00:00:00Z", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        ("2024-05-01T02:00:00+02:00", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        ("2019-06-11 22:05:25.000", datetime(2019, 6, 11, 22, 5, 25, tzinfo=timezone.utc)),
        ("Wed, 19 Jun 2019 22:04:00 -0000", datetime(2019, 6, 19, 22, 4, tzinfo=timezone.utc)),
        ("06/11/2019 22:05:25 MST", datetime(2019, 6, 12, 5, 5, 25, tzinfo=timezone.utc)),
    ],
)
def test_formats_from_twilios_own_examples(text, expected):
    assert parse_date_value("DateSent>", text, today=TODAY) == expected


def test_relative_days_only_where_allowed():
    assert parse_date_value("StartDate", "-30days", today=TODAY, relative=True) == TODAY - timedelta(days=30)
    assert parse_date_value("EndDate", "+2days", today=TODAY, relative=True) == TODAY + timedelta(days=2)
    with pytest.raises(BadParameter, match="StartTime>"):
        parse_date_value("StartTime>", "-30days", today=TODAY)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-05-01T25:00:00Z", ""])
def test_bad_values_name_the_parameter(text):
    with pytest.raises(BadParameter, match=r"DateSent<"):
        parse_date_value("DateSent<", text, today=TODAY)


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # A date is a whole day ...
        ("on", D, Bounds(MIDNIGHT, MIDNIGHT + 86_399)),
        ("on_or_before", D, Bounds(hi=MIDNIGHT + 86_399)),  # Messages DateSent<: the day included
        ("before", D, Bounds(hi=MIDNIGHT - 1)),  # Calls StartTime<: the day excluded
        ("on_or_after", D, Bounds(lo=MIDNIGHT)),
        # ... a datetime is an instant.
        ("on_or_before", datetime(2024, 5, 1, tzinfo=timezone.utc), Bounds(hi=MIDNIGHT)),
        ("before", datetime(2024, 5, 1, tzinfo=timezone.utc), Bounds(hi=MIDNIGHT - 1)),
        ("before", datetime(2024, 5, 1, 0, 0, 0, 500_000, tzinfo=timezone.utc), Bounds(hi=MIDNIGHT)),
        ("on_or_after", datetime(2024, 5, 1, 0, 0, 0, 500_000, tzinfo=timezone.utc), Bounds(lo=MIDNIGHT + 1)),
        ("on", datetime(2024, 5, 1, 13, tzinfo=timezone.utc), Bounds(MIDNIGHT, MIDNIGHT + 86_399)),
    ],
)
def test_boundary_rules(rule, value, expected):
    assert bounds_for(rule, value) == expected


def test_bounds_intersect():
    b = Bounds(lo=10).narrow(hi=20).narrow(lo=5, hi=30)
    assert b == Bounds(10, 20) and not b.empty
    assert Bounds(lo=30).narrow(hi=20).empty
