"""Date slices: when and how one range is fetched as several, each with its own next-page chain.

Pure planning, no IO (the threads that send the requests live in :mod:`twibox_nb.fetch.slicing`).

A range is sliced only when that cannot change the answer:

* the endpoint is in the catalogue and is an **event list** (``Endpoint.sliceable``: every record
  is one event with its own date, so the slices add up to the whole; usage records are sums over
  the requested window and are never sliced);
* the metric's date is a record field (not :class:`~twibox_nb.model.spec.Dynamic`) and paging is
  ``next_page``;
* the request's parameters use date tokens for **both** a start and an end filter, and every
  parameter holding a date token is a filter on the endpoint's own record date
  (``Endpoint.date_field``), so each slice's request really selects that slice (a Calls metric
  filtered on ``EndTime`` is not sliced: its records are dated by ``start_time``).

Slices are whole UTC days (a date-only filter cannot be split below a day); with datetime filters
and a range of fewer days than the concurrency, days are split further into hours (a divisor of
24, so slices stay aligned to days). Long ranges are grouped into blocks of several days aligned
to a fixed grid (days since 1970), at most ``max(32, 4 × concurrency)`` slices, so the same days
form the same slices from one run to the next (the cache keeps one window per slice).

Each slice's answer is a superset (tokens widen, date-only filters take whole days), so records
are clipped to the slice's own ``[start, end)`` on ``date_field`` and de-duplicated by ``sid``
across slices before they are evaluated (:func:`keep_records`).

>>> from datetime import datetime, timezone
>>> from twibox_nb import library
>>> from twibox_nb.model.dates import resolve_range
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
>>> plan = plan_slices(library.get("Messages by status"), resolve_range("last_7_days", now), concurrency=8)
>>> len(plan.windows), plan.date_field, str(plan.windows[0].start.date())  # newest first, like the list
(7, 'date_sent', '2026-11-26')
>>> plan_slices(library.get("Messages by status"), resolve_range("last_7_days", now), concurrency=1) is None
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..model.catalog import Endpoint, find_endpoint
from ..model.dates import DateRange, tokens_in
from ..model.records import find_records
from ..model.spec import Dynamic, MetricSpec
from ..model.twilio_dates import MONTH_NAMES, date_keys, moment_key, readable_year

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "SlicePlan",
    "check_concurrency",
    "keep_records",
    "plan_slices",
]

#: Requests in flight at once by default.
DEFAULT_CONCURRENCY = 8
#: The hard ceiling: well below Twilio's per-account limit of 100 concurrent requests, which the
#: whole account (other apps, other notebooks) shares.
MAX_CONCURRENCY = 32

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY = timedelta(days=1)
_START_TOKENS = frozenset({"start_date", "start_datetime"})
_END_TOKENS = frozenset({"end_date", "end_datetime"})
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def check_concurrency(concurrency: int) -> int:
    """``concurrency`` if it is an int in 1 … :data:`MAX_CONCURRENCY`, else ValueError."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number of requests, at least 1; got {concurrency!r}")
    if concurrency > MAX_CONCURRENCY:
        raise ValueError(
            f"concurrency {concurrency} is above the ceiling of {MAX_CONCURRENCY}: Twilio allows 100 concurrent "
            "requests per account, shared by every app and notebook using it"
        )
    return concurrency


@dataclass(frozen=True)
class SlicePlan:
    """The slices of one range: ``windows`` in fetch order (newest first for newest-first lists)."""

    endpoint: Endpoint
    date_field: str
    windows: tuple[DateRange, ...]


def _on_date_field(param: str, endpoint: Endpoint) -> bool:
    """Does filter ``param`` select on the endpoint's own record date?"""
    base = param.rstrip("<>")
    if base in ("StartDate", "EndDate"):  # range filters of product APIs (Monitor) on the record date
        return True
    return _CAMEL.sub("_", base).lower() == endpoint.date_field


def _granularity(spec: MetricSpec, endpoint: Endpoint) -> str | None:
    """The slice granularity ("day" or "hour") the spec's date filters allow, or None (no slicing)."""
    starts = ends = 0
    sub_day = True
    for name, value in spec.request.params:
        tokens = set(tokens_in(value))
        if not tokens:
            continue
        date_filter = next((f for f in endpoint.filters if f.param == name), None)
        if date_filter is None or not _on_date_field(name, endpoint):
            return None  # a token somewhere else: slicing might change what it selects
        if tokens & _START_TOKENS and tokens & _END_TOKENS:
            return None
        starts += bool(tokens & _START_TOKENS)
        ends += bool(tokens & _END_TOKENS)
        sub_day = sub_day and date_filter.kind == "datetime" and not tokens & {"start_date", "end_date"}
    if not starts or not ends:
        return None
    return "hour" if sub_day else "day"


def _grid(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at the multiples of ``step`` since 1970 (UTC)."""
    cut = _EPOCH + step * math.floor((start - _EPOCH) / step)
    pieces = []
    while cut < end:
        nxt = cut + step
        pieces.append((max(cut, start), min(nxt, end)))
        cut = nxt
    return pieces


def plan_slices(spec: MetricSpec, date_range: DateRange, concurrency: int) -> SlicePlan | None:
    """How to slice ``date_range`` for ``spec``, or None to fetch it in one chain.

    ``concurrency`` 1 never slices (the range is fetched as one chain, as before slicing existed).
    """
    if check_concurrency(concurrency) < 2:
        return None
    if isinstance(spec.date, Dynamic) or spec.request.pagination != "next_page":
        return None
    endpoint = find_endpoint(spec.request.base_url, spec.request.path)
    if endpoint is None or not endpoint.sliceable or not endpoint.list_key or not endpoint.date_field:
        return None
    granularity = _granularity(spec, endpoint)
    if granularity is None:
        return None
    span = date_range.end - date_range.start
    days = math.ceil(span / _DAY)
    max_slices = max(32, 4 * concurrency)
    if granularity == "hour" and days < concurrency:
        hours = math.ceil(span / timedelta(hours=1))
        step_hours = next((d for d in (12, 8, 6, 4, 3, 2) if math.ceil(hours / d) >= concurrency), 1)
        step = timedelta(hours=step_hours)
    else:
        step = _DAY * max(1, math.ceil(days / max_slices))
    pieces = _grid(date_range.start, date_range.end, step)
    if len(pieces) < 2:
        return None
    windows = [DateRange(start, end, f"{date_range.name} slice {start:%Y-%m-%dT%H:%M}Z") for start, end in pieces]
    if endpoint.newest_first:
        windows.reverse()
    return SlicePlan(endpoint, endpoint.date_field, tuple(windows))


def _inside(values: list[Any], window: DateRange) -> list[bool]:
    """For each date: is it in ``window``? (True for a date that cannot be read: kept, see below.)

    Whole-day windows, the usual slices, are checked on the day part of the text alone.
    """
    days: set[str] = set()
    if window.start.time() == window.end.time() == datetime.min.time() and window.end - window.start <= 64 * _DAY:
        day = window.start
        while day < window.end:
            days.add(f"{day.day:02d} {MONTH_NAMES[day.month - 1]} {day.year:04d}")
            days.add(f"{day.year:04d}-{day.month:02d}-{day.day:02d}")
            day += _DAY
    start, end = moment_key(window.start), moment_key(window.end)
    result: list[bool] = []
    slow: list[int] = []
    for v in values:
        if days and isinstance(v, str):
            # An unreadable year goes the slow way below: kept, and counted when the rows are typed.
            if len(v) == 31 and v[3] == "," and v.endswith(" +0000") and readable_year(v[12:16]):
                result.append(v[5:16] in days)
                continue
            if len(v) == 20 and v[10] == "T" and v[19] == "Z" and readable_year(v[:4]):
                result.append(v[:10] in days)
                continue
        slow.append(len(result))
        result.append(True)
    if slow:
        for i, moment in zip(slow, date_keys([values[i] for i in slow]), strict=True):
            result[i] = moment is None or start <= moment < end
    return result


def keep_records(body: Any, date_field: str, window: DateRange, seen: set[str]) -> tuple[Any, int]:
    """``body`` with only the records dated in ``window`` and not seen in another slice.

    The body's other keys are kept (the expression may read them); ``seen`` collects the SIDs
    kept. Records whose date cannot be read are kept (once, by SID): clipping on the metric's
    own date decides about them later. Returns the body and how many records it keeps.

    >>> from datetime import datetime, timezone
    >>> w = DateRange(datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc), "d")
    >>> body = {"page": 0, "messages": [{"sid": "SM1", "date_sent": "Sun, 01 Nov 2026 23:59:59 +0000"},
    ...                                 {"sid": "SM2", "date_sent": "Mon, 02 Nov 2026 00:00:00 +0000"}]}
    >>> seen = set()
    >>> kept, n = keep_records(body, "date_sent", w, seen)
    >>> [r["sid"] for r in kept["messages"]], kept["page"], n, seen
    (['SM1'], 0, 1, {'SM1'})
    >>> keep_records(body, "date_sent", w, seen)[1]  # SM1 was counted already
    0
    """
    key, records = find_records(body)
    if key is None or not isinstance(body, dict) or not records:
        return body, len(records)
    dicts = all(isinstance(r, dict) for r in records)
    inside = _inside([r.get(date_field) for r in records] if dicts else [None] * len(records), window)
    sids = [r.get("sid") for r in records] if dicts else [None] * len(records)
    if (
        all(inside)
        and all(isinstance(sid, str) for sid in sids)
        and seen.isdisjoint(sids)
        and len(set(sids)) == len(sids)
    ):  # the usual page: every record in the slice, none seen before
        seen.update(sids)
        return body, len(records)
    kept = []
    for record, ok, sid in zip(records, inside, sids, strict=True):
        if not ok:
            continue
        if isinstance(sid, str):
            if sid in seen:
                continue
            seen.add(sid)
        kept.append(record)
    if len(kept) == len(records):
        return body, len(kept)
    return {**body, key: kept}, len(kept)
