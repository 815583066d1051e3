"""The one reader of Twilio's date text, in plain Python (no pandas: page-chain threads use it).

Twilio writes dates two ways: RFC 2822 in the 2010 API (``"Fri, 27 Nov 2026 15:30:00 +0000"``) and
ISO 8601 in the product APIs (``"2026-11-27T15:30:00Z"``). :func:`date_keys` turns both (and any
other RFC 2822 or ISO 8601 text) into sortable UTC keys, which compare like the moments they name;
``twibox_nb.aggregate.frames.parse_dates`` turns the keys into pandas timestamps.

**The rule for out-of-range dates.** A date whose UTC year is outside 1678–2261 (the years a pandas
timestamp holds: ``9999-12-31``, year ``0001``, year 10000 and beyond) is *unreadable*, exactly like
text that is no date at all: its key is None, and the record is treated as a record without a date
(clipped out of every range, counted by ``twibox_nb.aggregate.frames.unreadable_dates``). It is never
clipped to a nearby date, which would invent data, and it never reaches pandas as a timestamp.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: f"{i:02d}" for i, m in enumerate(MONTH_NAMES, 1)}
# Years pandas can hold in nanoseconds: a date outside them is unreadable (None), never a crash.
_YEARS = range(1678, 2262)
_FIRST_YEAR, _LAST_YEAR = f"{_YEARS[0]:04d}", f"{_YEARS[-1]:04d}"  # as 4-digit text, for the fast paths


def readable_year(year: str) -> bool:
    """Whether a 4-digit year, as written, is one a date can be read in (1678-2261).

    >>> readable_year("2026"), readable_year("9999"), readable_year("0001")
    (True, False, False)
    """
    return _FIRST_YEAR <= year <= _LAST_YEAR


# The number written after an RFC 2822 month name: the year ("27 Nov 2026"), or a day ("Nov 27 2026").
_AFTER_MONTH = re.compile(r"(?i)\b(?:" + "|".join(MONTH_NAMES) + r")[a-z]*\.?\s+(\d+)\b")


def moment_key(moment: datetime) -> str:
    """A UTC moment as text whose order is time order, matching :func:`date_keys`."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f" if moment.microsecond else "%Y-%m-%dT%H:%M:%S")


def date_keys(values: list[Any]) -> list[str | None]:
    """Twilio dates as sortable UTC text (``YYYY-MM-DDTHH:MM:SS[.ffffff]``), None when unreadable.

    The two shapes Twilio sends (RFC 2822 in UTC in the 2010 API, ``…Z`` ISO 8601 elsewhere) are
    cut apart as text, many times faster than a date parser (100,000 dates in about 60 ms instead
    of 330 ms); anything else is parsed (RFC 2822 with any offset, or ISO 8601).

    >>> date_keys(["Fri, 27 Nov 2026 15:30:00 +0000", "2026-11-27T15:30:00Z", "2026-11-27T16:30:00+01:00", None])
    ['2026-11-27T15:30:00', '2026-11-27T15:30:00', '2026-11-27T15:30:00', None]
    >>> date_keys(["9999-12-31T00:00:00Z", "Mon, 01 Jan 0001 00:00:00 +0000", "2261-12-31T23:59:59Z"])
    [None, None, '2261-12-31T23:59:59']
    """
    keys: list[str | None] = []
    slow: list[int] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            if len(v) == 31 and v[3] == "," and v.endswith(" +0000") and v[8:11] in _MONTHS:
                if _FIRST_YEAR <= v[12:16] <= _LAST_YEAR:
                    keys.append(f"{v[12:16]}-{_MONTHS[v[8:11]]}-{v[5:7]}T{v[17:25]}")
                    continue
            elif len(v) == 20 and v[4] == "-" and v[10] == "T" and v[19] == "Z":
                if _FIRST_YEAR <= v[:4] <= _LAST_YEAR:
                    keys.append(v[:19])
                    continue
        keys.append(None)
        if isinstance(v, str):  # numbers, lists, objects and nulls are no dates: None
            slow.append(i)
    for i in slow:
        keys[i] = _key_of_other(values[i])
    return keys


@lru_cache(maxsize=4096)
def _key_of_other(value: str) -> str | None:
    """A date in any other shape: RFC 2822 with any offset, else ISO 8601 (UTC when it has no zone).

    Plain Python, never pandas: page-chain worker threads call this, and pandas enters
    ``warnings.catch_warnings``, which is not thread-safe (it swaps module-wide state, so a worker
    could drop the caller's own warnings, such as a TruncationWarning).
    """
    text = value.strip()
    try:
        moment = email.utils.parsedate_to_datetime(text)
        written = _AFTER_MONTH.search(text)
        if written and len(written[1]) > 2 and int(written[1]) != moment.year:
            return None  # email.utils reads a year below 100 as 19xx/20xx even when written "0001"
    except (TypeError, ValueError, IndexError, OverflowError):
        iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        return None
    return moment_key(moment) if moment.year in _YEARS else None
