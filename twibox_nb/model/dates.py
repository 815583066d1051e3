"""Date ranges, comparison periods, intervals and date tokens. All UTC; "now" is always passed in.

A range is half-open, ``[start, end)``. Named ranges:

* whole periods: ``today``, ``yesterday``, ``this_week``, ``last_week``, ``this_month``,
  ``last_month``, ``this_quarter``, ``last_quarter``, ``this_year``, ``last_year`` (the current
  ones run to the end of the period, and are *partial* while it lasts);
* ``last_N_days`` / ``last_N_weeks`` / ``last_N_months``: N whole periods ending before the
  current one (``last_7_days`` on a Wednesday ends at 00:00 that Wednesday);
* ``week_to_date``, ``month_to_date``, ``quarter_to_date``, ``year_to_date``: up to now;
* ``since:YYYY-MM-DD`` (up to now) and ``YYYY-MM-DD..YYYY-MM-DD`` (both days included).

Weeks start on Monday. Comparison periods: ``previous_period`` is the period before of the same
kind (the previous calendar month for ``this_month``; the same elapsed time into the previous
period for ``…_to_date``; the same length immediately before for explicit ranges), and
``same_period_last_year`` shifts the range back one calendar year (29 February becomes the 28th).

Every range lies within 1678-01-01 and 2262-01-01, the span a record's date can have (see
``model.twilio_dates``): a range outside it, or one whose arithmetic leaves the calendar
(``9999-12-31..9999-12-31``, ``since:0001-01-01`` compared with a year earlier), is a
:class:`DateRangeError`, never an ``OverflowError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from .._exceptions import DateRangeError

Interval = Literal["hour", "day", "week", "month", "quarter", "year"]
INTERVALS: tuple[Interval, ...] = ("hour", "day", "week", "month", "quarter", "year")
Compare = Literal["previous_period", "same_period_last_year"]
COMPARES: tuple[str, ...] = ("previous_period", "same_period_last_year")
Unit = Literal["day", "week", "month", "quarter", "year"]

NAMED_RANGES = (
    "today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_quarter",
    "last_quarter", "this_year", "last_year", "week_to_date", "month_to_date", "quarter_to_date",
    "year_to_date",
)  # fmt: skip
RANGE_HELP = (
    "a date range is one of " + ", ".join(NAMED_RANGES) + ", last_N_days, last_N_weeks, last_N_months, "
    "since:YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
)
# The span a date range may cover: the years a record's date can have (model.twilio_dates._YEARS).
EARLIEST = datetime(1678, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2262, 1, 1, tzinfo=timezone.utc)


def shown(text: object, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters with its length said, for error messages
    that must not echo a 100,000-character value.

    >>> shown("last_7_days"), shown("x" * 100_000, 8)
    ("'last_7_days'", "'xxxxxxxx…' (100,000 characters)")
    """
    if isinstance(text, str) and len(text) > limit:
        return f"{text[:limit]!r}"[:-1] + f"…' ({len(text):,} characters)"
    return repr(text)


@dataclass(frozen=True)
class DateRange:
    """A half-open UTC range ``[start, end)`` and how it was named.

    ``unit``/``count`` say what it spans (3 months, 7 days …) so that the previous period can be
    found; ``to_date`` marks ranges that stop at "now".
    """

    start: datetime
    end: datetime
    name: str
    unit: Unit | None = None
    count: int = 1
    to_date: bool = False

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
                raise DateRangeError(f"{self.name}: date ranges are in UTC; got {moment.isoformat()}")
        if self.end <= self.start:
            raise DateRangeError(f"{self.name}: the range ends ({self.end:%Y-%m-%d}) before it starts")
        if self.start < EARLIEST or self.end > LATEST:
            raise DateRangeError(
                f"{self.name}: [{self.start:%Y-%m-%d}, {self.end:%Y-%m-%d}) is outside the dates twibox_nb "
                f"can hold ({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}); pick a range inside them"
            )

    def __str__(self) -> str:
        return f"{self.name} [{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M}) UTC"


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.utc)


def _check_now(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise DateRangeError("now must be timezone-aware (UTC)")
    return now.astimezone(timezone.utc)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's length (Jan 31 + 1 month = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise DateRangeError(f"{day.isoformat()} moved by {months} months leaves the calendar (years 1 to 9999)")
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def period_start(day: date, unit: Unit) -> date:
    """The first day of the period (Monday-based weeks) that contains ``day``."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def shift(day: date, unit: Unit, n: int) -> date:
    """``day`` moved by ``n`` whole units."""
    if unit == "day":
        return day + timedelta(days=n)
    if unit == "week":
        return day + timedelta(weeks=n)
    return add_months(day, n * {"month": 1, "quarter": 3, "year": 12}[unit])


_LAST_N = re.compile(r"^last_(\d{1,4})_(day|week|month)s$", re.ASCII)
_SINCE = re.compile(r"^since:(\d{4}-\d{2}-\d{2})$", re.ASCII)
_BETWEEN = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$", re.ASCII)
_CURRENT = {"today": "day", "this_week": "week", "this_month": "month", "this_quarter": "quarter", "this_year": "year"}
_PREVIOUS = {"yesterday": "day", "last_week": "week", "last_month": "month", "last_quarter": "quarter",
             "last_year": "year"}  # fmt: skip
_TO_DATE = {"week_to_date": "week", "month_to_date": "month", "quarter_to_date": "quarter", "year_to_date": "year"}


def resolve_range(name: str | DateRange, now: datetime) -> DateRange:
    """Turn a range name into concrete UTC bounds, relative to ``now``.

    >>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # a Friday
    >>> print(resolve_range("last_7_days", now))
    last_7_days [2026-11-20 00:00, 2026-11-27 00:00) UTC
    >>> print(resolve_range("this_week", now))
    this_week [2026-11-23 00:00, 2026-11-30 00:00) UTC
    >>> print(resolve_range("2026-01-01..2026-01-31", now))
    2026-01-01..2026-01-31 [2026-01-01 00:00, 2026-02-01 00:00) UTC
    """
    if isinstance(name, DateRange):
        return name
    now = _check_now(now)
    if not isinstance(name, str):
        raise DateRangeError(f"date range {shown(name)}: {RANGE_HELP}")
    try:
        return _resolve(name, now)
    except DateRangeError:
        raise
    except (OverflowError, ValueError):  # arithmetic past year 9999 or before year 1
        raise DateRangeError(
            f"date range {shown(name)}: leaves the calendar; pick a range between "
            f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
        ) from None


def _resolve(name: str, now: datetime) -> DateRange:
    today = now.date()
    key = name.strip()
    if key in _CURRENT:
        unit = _CURRENT[key]
        start = period_start(today, unit)
        return DateRange(_utc(start), _utc(shift(start, unit, 1)), key, unit)
    if key in _PREVIOUS:
        unit = _PREVIOUS[key]
        end = period_start(today, unit)
        return DateRange(_utc(shift(end, unit, -1)), _utc(end), key, unit)
    if key in _TO_DATE:
        unit = _TO_DATE[key]
        start = _utc(period_start(today, unit))
        end = max(now, start + timedelta(microseconds=1))
        return DateRange(start, end, key, unit, to_date=True)
    match = _LAST_N.match(key)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        if n < 1:
            raise DateRangeError(f"date range {shown(name)}: N must be at least 1")
        end = period_start(today, unit)
        return DateRange(_utc(shift(end, unit, -n)), _utc(end), key, unit, n)
    match = _SINCE.match(key)
    if match:
        start = _utc(_parse_day(match.group(1), name))
        if start >= now:
            raise DateRangeError(f"date range {shown(name)}: starts in the future")
        return DateRange(start, now, key, to_date=True)
    match = _BETWEEN.match(key)
    if match:
        first, last = _parse_day(match.group(1), name), _parse_day(match.group(2), name)
        if last < first:
            raise DateRangeError(f"date range {shown(name)}: the last day is before the first")
        return DateRange(_utc(first), _utc(last + timedelta(days=1)), key)
    raise DateRangeError(f"unknown date range {shown(name)}: {RANGE_HELP}")


def _parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DateRangeError(f"date range {shown(name)}: {text!r} is not a date (YYYY-MM-DD)") from None


def comparison_range(current: DateRange, compare: str | None) -> DateRange | None:
    """The period to compare ``current`` with, or None when ``compare`` is None.

    >>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
    >>> print(comparison_range(resolve_range("this_month", now), "previous_period"))
    previous period of this_month [2026-10-01 00:00, 2026-11-01 00:00) UTC
    >>> print(comparison_range(resolve_range("month_to_date", now), "previous_period"))
    previous period of month_to_date [2026-10-01 00:00, 2026-10-27 15:30) UTC
    """
    if compare is None:
        return None
    try:
        return _comparison(current, compare)
    except DateRangeError:
        raise
    except (OverflowError, ValueError):  # arithmetic before year 1
        raise DateRangeError(f"{current.name}: its {compare} leaves the calendar; pick a later range") from None


def _comparison(current: DateRange, compare: str) -> DateRange:
    if compare == "previous_period":
        label = f"previous period of {current.name}"
        if current.unit is not None:
            start = _utc(shift(current.start.date(), current.unit, -current.count))
            if current.to_date:
                end = min(start + (current.end - current.start), current.start)
            else:
                end = current.start
            return DateRange(start, end, label, current.unit, current.count, current.to_date)
        return DateRange(current.start - (current.end - current.start), current.start, label)
    if compare == "same_period_last_year":

        def back(moment: datetime) -> datetime:
            return datetime.combine(add_months(moment.date(), -12), moment.timetz())

        return DateRange(
            back(current.start),
            back(current.end),
            f"{current.name} a year earlier",
            current.unit,
            current.count,
            current.to_date,
        )
    raise DateRangeError(f"unknown comparison {shown(compare)}: use None, 'previous_period' or 'same_period_last_year'")


def check_interval(interval: str) -> Interval:
    if interval not in INTERVALS:
        raise DateRangeError(f"unknown interval {shown(interval)}: use one of {', '.join(INTERVALS)}")
    return interval  # type: ignore[return-value]


# --- date tokens in request parameters -------------------------------------------------------

TOKENS = ("start_date", "end_date", "start_datetime", "end_datetime")
_TOKEN = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
FilterRule = Literal["on", "on_or_before", "before", "on_or_after"]


def _ceil_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def token_value(token: str, current: DateRange, rule: FilterRule | None = None) -> str:
    """What one date token renders to, so that the server returns a superset of ``current``.

    ``rule`` is the boundary rule of the filter it goes into (from the catalogue). Only an
    ``on_or_before`` filter takes the last day *in* the range; any other (or unknown) rule gets
    the first day *after* it, which can only widen the answer. Records are clipped to the range
    afterwards, so widening is always safe.

    >>> r = resolve_range("2026-11-01..2026-11-07", datetime(2026, 11, 27, tzinfo=timezone.utc))
    >>> token_value("end_date", r, "on_or_before"), token_value("end_date", r, "before")
    ('2026-11-07', '2026-11-08')
    >>> token_value("start_datetime", r)
    '2026-11-01T00:00:00Z'
    """
    if token == "start_date":
        return current.start.date().isoformat()
    if token == "start_datetime":
        return current.start.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if token == "end_datetime":
        return _ceil_second(current.end).strftime("%Y-%m-%dT%H:%M:%SZ")
    if token == "end_date":
        if rule == "on_or_before":
            return (current.end - timedelta(microseconds=1)).date().isoformat()
        at_midnight = current.end == _utc(current.end.date())
        return (current.end.date() + timedelta(days=0 if at_midnight else 1)).isoformat()
    raise DateRangeError(f"unknown date token {{{{{token}}}}}: use one of " + ", ".join(f"{{{{{t}}}}}" for t in TOKENS))


def tokens_in(value: str) -> list[str]:
    """The date tokens a parameter value holds."""
    return _TOKEN.findall(value)


def render_tokens(value: str, current: DateRange, rule: FilterRule | None = None) -> str:
    """Replace every ``{{token}}`` in ``value``."""
    return _TOKEN.sub(lambda m: token_value(m.group(1), current, rule), value)


def range_text(date_range: DateRange) -> str:
    """A range as twibox_nb shows it everywhere (builder, charts, scorecards): half-open, the end
    excluded, as the date tokens resolve it.

    >>> from datetime import timezone
    >>> range_text(resolve_range("last_30_days", datetime(2026, 12, 3, 9, tzinfo=timezone.utc)))
    '2026-11-03 → 2026-12-03 (end excluded)'
    >>> range_text(resolve_range("month_to_date", datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)))
    '2026-12-01 → 2026-12-03 09:30 (end excluded)'
    """

    def when(moment: datetime) -> str:
        midnight = (moment.hour, moment.minute, moment.second) == (0, 0, 0)
        return moment.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")

    return f"{when(date_range.start)} → {when(date_range.end)} (end excluded)"
