"""Query-parameter parsing: date filter values and their boundary rules.

Each date filter has the meaning its own spec text gives, and those differ (DESIGN.md):

======================  ===============  ==============================================
parameter               rule             with a date value ``D``
======================  ===============  ==============================================
Messages ``DateSent``   ``on``           the whole day D
Messages ``DateSent<``  ``on_or_before`` up to 23:59:59 on D (the day is included)
Messages ``DateSent>``  ``on_or_after``  from 00:00:00 on D
Calls ``StartTime<``    ``before``       up to 23:59:59 the day before D (D excluded)
Calls ``StartTime>``    ``on_or_after``  from 00:00:00 on D
Usage ``StartDate``     ``on_or_after``  periods from D (also ``-30days``)
Usage ``EndDate``       ``on_or_before`` periods up to D (also ``+30days``)
Monitor ``StartDate``   ``on_or_after``  from 00:00:00 on D (at most 30 days ago)
Monitor ``EndDate``     ``on_or_before`` up to 23:59:59 on D
======================  ===============  ==============================================

A datetime value (``2024-05-01T00:00:00Z``, as the official library sends) is an instant: the
same rules apply to it to the second (``before`` is strict, the others inclusive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

from .generator import SECONDS_PER_DAY, day_start

Rule = Literal["on", "on_or_before", "before", "on_or_after"]


class BadParameter(ValueError):
    """A query parameter's value cannot be used; the message names the parameter."""


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(r"^([+-])(\d{1,4})days$")
_US_ZONES = {"UTC": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}


def parse_date_value(name: str, text: str, *, today: date, relative: bool = False) -> date | datetime:
    """A filter value as a ``date`` (a whole day) or an aware ``datetime`` (an instant).

    Accepts the formats Twilio's own examples use: ``YYYY-MM-DD``, ISO 8601 datetimes,
    ``YYYY-MM-DD HH:MM:SS[.fff]``, RFC 2822 and ``MM/DD/YYYY HH:MM:SS ZONE``; with
    ``relative=True`` (usage records) also ``-30days`` / ``+30days``.
    """
    value = text.strip()
    try:
        if _ISO_DATE.match(value):
            return date.fromisoformat(value)
        match = _RELATIVE.match(value)
        if match and relative:
            days = int(match.group(2))
            return today + timedelta(days=days if match.group(1) == "+" else -days)
        if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        match = re.match(r"^(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}) ([A-Z]{3})$", value)
        if match and match.group(2) in _US_ZONES:
            zone = timezone(timedelta(hours=_US_ZONES[match.group(2)]))
            return datetime.strptime(match.group(1), "%m/%d/%Y %H:%M:%S").replace(tzinfo=zone)
        if "," in value or re.search(r"[+-]\d{4}$", value):
            parsed = parsedate_to_datetime(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, TypeError, IndexError):
        pass
    raise BadParameter(f"Invalid value for {name}: {text!r} is not a date (YYYY-MM-DD) or datetime")


@dataclass(frozen=True)
class Bounds:
    """A closed range of epoch seconds; ``None`` means open on that side."""

    lo: int | None = None
    hi: int | None = None

    def narrow(self, lo: int | None = None, hi: int | None = None) -> Bounds:
        new_lo = lo if self.lo is None else (self.lo if lo is None else max(self.lo, lo))
        new_hi = hi if self.hi is None else (self.hi if hi is None else min(self.hi, hi))
        return Bounds(new_lo, new_hi)

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi


def _ceil_seconds(moment: datetime) -> int:
    ts = moment.timestamp()
    return int(ts) if ts == int(ts) else int(ts) + 1


def bounds_for(rule: Rule, value: date | datetime) -> Bounds:
    """The closed range of record timestamps a filter value admits under ``rule``."""
    if isinstance(value, datetime):
        floor, ceil = int(value.timestamp() // 1), _ceil_seconds(value)
        if rule == "on":
            start = day_start(value.astimezone(timezone.utc).date())
            return Bounds(start, start + SECONDS_PER_DAY - 1)
        if rule == "on_or_before":
            return Bounds(hi=floor)
        if rule == "before":
            return Bounds(hi=ceil - 1)
        return Bounds(lo=ceil)
    start = day_start(value)
    if rule == "on":
        return Bounds(start, start + SECONDS_PER_DAY - 1)
    if rule == "on_or_before":
        return Bounds(hi=start + SECONDS_PER_DAY - 1)
    if rule == "before":
        return Bounds(hi=start - 1)
    return Bounds(lo=start)


@dataclass(frozen=True)
class DateFilter:
    """One date filter parameter of one endpoint: which column it reads and its rule."""

    param: str
    column: Literal["ts", "end"]
    rule: Rule


MESSAGE_DATE_FILTERS = (
    DateFilter("DateSent", "ts", "on"),
    DateFilter("DateSent<", "ts", "on_or_before"),
    DateFilter("DateSent>", "ts", "on_or_after"),
)
CALL_DATE_FILTERS = (
    DateFilter("StartTime", "ts", "on"),
    DateFilter("StartTime<", "ts", "before"),
    DateFilter("StartTime>", "ts", "on_or_after"),
    DateFilter("EndTime", "end", "on"),
    DateFilter("EndTime<", "end", "before"),
    DateFilter("EndTime>", "end", "on_or_after"),
)
ALERT_DATE_FILTERS = (
    DateFilter("StartDate", "ts", "on_or_after"),
    DateFilter("EndDate", "ts", "on_or_before"),
)


def date_bounds(params: dict[str, str], filters: tuple[DateFilter, ...], today: date) -> dict[str, Bounds]:
    """Bounds per column (``ts``, ``end``) from the date filters present in ``params``."""
    out: dict[str, Bounds] = {}
    for f in filters:
        if f.param in params:
            value = parse_date_value(f.param, params[f.param], today=today)
            b = bounds_for(f.rule, value)
            out[f.column] = out.get(f.column, Bounds()).narrow(b.lo, b.hi)
    return out


def page_size(params: dict[str, str]) -> int:
    raw = params.get("PageSize", "50")
    try:
        size = int(raw)
    except ValueError:
        raise BadParameter(f"Invalid value for PageSize: {raw!r} is not a whole number") from None
    if not 1 <= size <= 1000:
        raise BadParameter(f"Invalid value for PageSize: {size} (allowed: 1 to 1000)")
    return size


def page_number(params: dict[str, str]) -> int:
    raw = params.get("Page", "0")
    try:
        number = int(raw)
    except ValueError:
        raise BadParameter(f"Invalid value for Page: {raw!r} is not a whole number") from None
    if number < 0:
        raise BadParameter(f"Invalid value for Page: {number} (must be 0 or more)")
    return number
