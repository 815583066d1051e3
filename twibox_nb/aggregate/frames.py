"""From per-record rows to a metric: typed frames, intervals, totals and comparisons.

Rows are the ``{"date", "value", "dimension"}`` objects an expression yields for each record.
Here they become a DataFrame with proper dtypes (UTC datetimes, floats, categories), are clipped to
the half-open range on the record's own date, and are aggregated per interval.

A row whose date is given but cannot be read (text that is no date, an impossible day, or a year a
pandas timestamp cannot hold, such as ``9999-12-31``: see :mod:`twibox_nb.model.twilio_dates`) has
no date (NaT): clipping drops it like a row without a date. Such rows are counted, never a crash:
``frame.attrs["unreadable_dates"]`` holds how many, and :func:`unreadable_note` says it in words.

Aggregations (per interval and dimension, and for the whole range):

* ``sum``, ``min``, ``max``, ``average`` of the values (nulls skipped);
* ``count``: the number of rows (null values count too: a row is a record);
* ``latest``: the value of the most recent row. For the whole range of a dimensional metric,
  the latest value of each dimension, summed (e.g. the balances of several sub-accounts).

Comparison (``summary``): ``change = current − previous`` and ``change_pct = change / |previous| ×
100``. Edge cases: no data in the previous period → ``previous``, ``change`` and ``change_pct`` are
None; previous 0 and current 0 → change 0 and 0 %; previous 0 and current not 0 → ``change_pct``
None (a rise from nothing has no percentage); no data now → ``current`` None. ``favourable`` is True
when the change goes the metric's favourable way (up for ``up``, down for ``down``), False when it
goes the other way, and None when there is no change or nothing to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from ..model.dates import DateRange, check_interval
from ..model.twilio_dates import date_keys
from ..model.units import change_label, format_change, format_change_pct, format_value

COLUMNS = ("date", "value", "dimension")
RFC2822 = "%a, %d %b %Y %H:%M:%S %z"


_NS_UTC = "datetime64[ns, UTC]"
UNREADABLE = "unreadable_dates"  # frame.attrs key: rows whose date was given but could not be read


def parse_dates(values: pd.Series) -> pd.Series:
    """Twilio dates (RFC 2822 in the 2010 API, ISO 8601 elsewhere) as UTC timestamps.

    Read through :func:`date_keys` (Twilio's two shapes cut apart as text); what cannot be read
    is NaT, and so is a year a nanosecond timestamp cannot hold: never ``OutOfBoundsDatetime``.

    >>> parse_dates(pd.Series(["Fri, 24 May 2019 17:44:50 +0000", "2015-07-30T20:00:00Z", None])).tolist()
    [Timestamp('2019-05-24 17:44:50+0000', tz='UTC'), Timestamp('2015-07-30 20:00:00+0000', tz='UTC'), NaT]
    >>> parse_dates(pd.Series(["2026-11-27T16:30:00.123Z", "Sat, 31 Feb 2026 10:00:00 +0000"])).tolist()
    [Timestamp('2026-11-27 16:30:00.123000+0000', tz='UTC'), NaT]
    >>> parse_dates(pd.Series(["9999-12-31T00:00:00Z", "Mon, 01 Jan 0001 00:00:00 +0000"])).tolist()
    [NaT, NaT]
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        moments = pd.to_datetime(values, utc=True)
        inside = (moments >= pd.Timestamp.min.tz_localize("UTC")) & (moments <= pd.Timestamp.max.tz_localize("UTC"))
        return moments.where(inside).astype(_NS_UTC)  # a finer unit may hold years nanoseconds cannot
    keys = pd.Series(date_keys(values.tolist()), index=values.index, dtype=object)
    return pd.to_datetime(keys, format="ISO8601", utc=True, errors="coerce").astype(_NS_UTC)


def rows_frame(rows: list[dict[str, Any]], *, stamp: datetime | None = None) -> pd.DataFrame:
    """Rows as a typed frame: ``date`` (UTC), ``value`` (float), ``dimension`` (category).

    ``stamp`` replaces every date (a dynamic-date metric is stamped with the time of fetching).
    A date that cannot be read is NaT, and counted in ``frame.attrs["unreadable_dates"]``.

    >>> frame = rows_frame([{"date": "9999-12-31T00:00:00Z", "value": 1}, {"date": "2026-11-27T15:30:00Z"}])
    >>> frame["date"].tolist(), frame.attrs["unreadable_dates"]
    ([NaT, Timestamp('2026-11-27 15:30:00+0000', tz='UTC')], 1)
    """
    frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS)) if rows else pd.DataFrame(columns=list(COLUMNS))
    if stamp is not None:
        frame["date"] = pd.Timestamp(stamp).tz_convert("UTC")  # stamp is timezone-aware (UTC)
    given = frame["date"].notna()
    frame["date"] = parse_dates(frame["date"]) if len(frame) else pd.Series(dtype="datetime64[ns, UTC]")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    dimension = frame["dimension"].map(
        lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    )
    frame["dimension"] = dimension.astype("category")
    typed = frame[list(COLUMNS)]
    typed.attrs[UNREADABLE] = int((given & frame["date"].isna()).sum()) if len(frame) else 0
    return typed


def unreadable_note(frame: pd.DataFrame) -> str | None:
    """A sentence for a result's warnings when some rows' dates could not be read, else None.

    >>> unreadable_note(rows_frame([{"date": "10000-01-01T00:00:00Z"}, {"date": "not a date"}]))
    '2 records have a date that cannot be read (not a date, or a year outside 1678-2261); they are left out'
    """
    count = frame.attrs.get(UNREADABLE, 0)
    if not count:
        return None
    records = "1 record has" if count == 1 else f"{count:,} records have"
    return f"{records} a date that cannot be read (not a date, or a year outside 1678-2261); they are left out"


def clip(frame: pd.DataFrame, date_range: DateRange) -> pd.DataFrame:
    """Only the rows whose own date is in ``[start, end)`` (rows without a date are dropped; the
    count of unreadable dates in ``frame.attrs`` is kept)."""
    start, end = pd.Timestamp(date_range.start), pd.Timestamp(date_range.end)
    clipped = frame[(frame["date"] >= start) & (frame["date"] < end)].reset_index(drop=True)
    clipped.attrs[UNREADABLE] = frame.attrs.get(UNREADABLE, 0)
    return clipped


def bucket(dates: pd.Series, interval: str) -> pd.Series:
    """The start of the interval each date falls in (UTC; weeks start on Monday)."""
    check_interval(interval)
    if interval == "hour":
        return dates.dt.floor("h")
    if interval == "day":
        return dates.dt.floor("D")
    naive = dates.dt.tz_localize(None)
    period = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}[interval]
    return naive.dt.to_period(period).dt.start_time.dt.tz_localize("UTC")


def _aggregate_series(values: pd.Series, aggregation: str) -> float | None:
    if aggregation == "count":
        return float(len(values))
    present = values.dropna()
    if present.empty:
        return None
    if aggregation == "sum":
        return float(present.sum())
    if aggregation == "min":
        return float(present.min())
    if aggregation == "max":
        return float(present.max())
    if aggregation == "average":
        return float(present.mean())
    if aggregation == "latest":
        return float(values.iloc[-1]) if not math.isnan(values.iloc[-1]) else float(present.iloc[-1])
    raise ValueError(f"unknown aggregation {aggregation!r}")


def aggregate(
    frame: pd.DataFrame,
    aggregation: str,
    interval: str,
    date_range: DateRange | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """One row per (interval start, dimension): columns ``date``, ``dimension``, ``value``.

    For ``sum`` and ``count``, intervals of the range with no rows are there with 0 (for every
    dimension seen), so that charts show the gaps; other aggregations leave them out (no value).
    Intervals that start after ``now`` (the rest of a running ``this_month``) are not filled: no
    data yet is not 0.
    """
    if frame.empty:
        data = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "dimension": pd.Series(dtype="category"),
                             "value": pd.Series(dtype="float64")})  # fmt: skip
    else:
        ordered = frame.sort_values("date", kind="stable")
        keys = [bucket(ordered["date"], interval).rename("date"), ordered["dimension"].astype(object).rename("dim")]
        grouped = ordered.groupby(keys, dropna=False, sort=True, observed=True)["value"]
        if aggregation == "count":
            series = grouped.size().astype("float64")
        elif aggregation == "latest":
            series = grouped.agg(lambda v: _aggregate_series(v, "latest"))
        else:
            series = grouped.agg({"sum": "sum", "min": "min", "max": "max", "average": "mean"}[aggregation])
            if aggregation == "sum":  # a group of only nulls has no sum
                series = series.where(grouped.count() > 0)
        data = series.rename("value").reset_index().rename(columns={"dim": "dimension"})
    if aggregation in ("sum", "count") and date_range is not None:
        data = _fill_gaps(data, interval, date_range, now)
    data["dimension"] = data["dimension"].astype("category")
    return data[["date", "dimension", "value"]].sort_values(["date", "dimension"], kind="stable").reset_index(drop=True)


def _fill_gaps(data: pd.DataFrame, interval: str, date_range: DateRange, now: datetime | None) -> pd.DataFrame:
    start, end = pd.Timestamp(date_range.start), pd.Timestamp(date_range.end)
    if now is not None:  # an interval that has not started holds no data yet, not a 0
        end = max(start + pd.Timedelta(microseconds=1), min(end, pd.Timestamp(now) + pd.Timedelta(microseconds=1)))
    first = bucket(pd.Series([start]), interval).iloc[0]
    freq = {"hour": "h", "day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[interval]
    dates = pd.date_range(first, end - pd.Timedelta(microseconds=1), freq=freq, tz="UTC")
    if len(dates) == 0 or dates[0] != first:
        dates = dates.insert(0, first)
    dimensions = list(data["dimension"].astype(object).unique()) if len(data) else [None]
    full = pd.MultiIndex.from_product([dates, dimensions], names=["date", "dimension"])
    indexed = data.assign(dimension=data["dimension"].astype(object)).set_index(["date", "dimension"])["value"]
    return indexed.reindex(full, fill_value=0.0).reset_index()


def total(frame: pd.DataFrame, aggregation: str) -> float | None:
    """The metric's value over the whole range (None when there is no data)."""
    if frame.empty:
        return None
    if aggregation == "latest":
        ordered = frame.sort_values("date", kind="stable")
        latest = ordered.groupby(ordered["dimension"].astype(object), dropna=False)["value"].agg(
            lambda v: _aggregate_series(v, "latest")
        )
        present = latest.dropna()
        return float(present.sum()) if len(present) else None
    return _aggregate_series(frame["value"], aggregation)


@dataclass(frozen=True)
class Summary:
    """The headline numbers of a metric over a range, compared with another period.

    ``unit`` is the value's (:mod:`twibox_nb.model.units`): it formats the numbers, and makes a
    percentage's change one of points.

    >>> print(summarize(88.9926, 87.7866, "up", "percent"))
    88.99% ▲ +1.2 pt vs 87.79%
    >>> print(summarize(65.82, 62.7, "down", "USD"))
    $65.82 ▲ +$3.12 (+5.0%) vs $62.70
    """

    current: float | None
    previous: float | None = None
    change: float | None = None
    change_pct: float | None = None
    favourable: bool | None = None
    unit: str | None = None

    @property
    def change_label(self) -> str | None:
        """The change as the headline says it: in points for a percentage, else in % (or, from 0, in the unit)."""
        return None if self.change is None else change_label(self.change, self.change_pct, self.unit)

    def __str__(self) -> str:
        if self.current is None:
            return "no data"
        text = format_value(self.current, self.unit)
        if self.change is not None:
            arrow = "▲" if self.change > 0 else "▼" if self.change < 0 else "="
            relative = self.change_pct is not None and self.unit != "percent"  # a percentage changes in points only
            text += f" {arrow} {format_change(self.change, self.unit)}"
            text += f" ({format_change_pct(self.change_pct)})" if relative else ""
            text += f" vs {format_value(self.previous, self.unit)}"
        return text


def summarize(current: float | None, previous: float | None, trend: str, unit: str | None = None) -> Summary:
    """Compare two totals under a favourable trend (``up`` or ``down``).

    >>> summarize(120.0, 100.0, "up")
    Summary(current=120.0, previous=100.0, change=20.0, change_pct=20.0, favourable=True, unit=None)
    >>> summarize(120.0, 100.0, "down").favourable
    False
    >>> summarize(5.0, 0.0, "up").change_pct is None
    True
    """
    if current is None or previous is None:
        return Summary(current, previous, unit=unit)
    change = current - previous
    if previous == 0:
        pct = 0.0 if change == 0 else None
    else:
        pct = change / abs(previous) * 100
    favourable = None if change == 0 else (change > 0) == (trend == "up")
    return Summary(current, previous, change, pct, favourable, unit)
