"""Usage records that agree with the messages and calls they summarise.

Rules (also in the README):

* A message counts on the UTC day of its ``date_sent``; a call on the day of its ``start_time``.
* ``sms-outbound`` covers ``outbound-api`` and ``outbound-reply`` messages, ``sms-inbound`` the
  ``inbound`` ones and ``sms`` both. ``count`` is the number of messages (every status), ``usage``
  the number of segments (``usage_unit`` "segments").
* ``calls-inbound`` covers ``inbound`` calls, ``calls-outbound`` ``outbound-api`` and
  ``outbound-dial`` ones, ``calls`` both. ``count`` is the number of calls (every status),
  ``usage`` the minutes billed (each completed call rounded up to the whole minute).
* ``price`` is what was charged: the sum of the records' prices with the sign flipped, so usage
  prices are positive while message and call prices are negative (as Twilio sends them). Records
  whose price is null (failed messages, half the undelivered ones, calls not completed, calls
  still in progress) add nothing. Messages and calls are priced in USD (``price_unit`` "USD"),
  usage in ``price_unit`` "usd", as Twilio's own examples spell them.
* ``totalprice`` is the sum of every category's price; its ``count`` is "0" and its ``usage``
  equals its price, in ``usage_unit`` "usd".
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .account import Account
from .generator import PRICE_SCALE


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    count_unit: str
    usage_unit: str


CATEGORIES = (
    Category("calls", "Voice Minutes", "calls", "minutes"),
    Category("calls-inbound", "Inbound Voice Minutes", "calls", "minutes"),
    Category("calls-outbound", "Outbound Voice Minutes", "calls", "minutes"),
    Category("sms", "SMS Messages", "messages", "segments"),
    Category("sms-inbound", "Inbound SMS Messages", "messages", "segments"),
    Category("sms-outbound", "Outbound SMS Messages", "messages", "segments"),
    Category("totalprice", "Total Price", "", "usd"),
)
CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}

# (count, usage, price) with price in PRICE_SCALE units, positive (what was charged).
Totals = tuple[int, int, int]


def day_totals(account: Account, day: date) -> dict[str, Totals]:
    """Usage of every category on one UTC day, counting only what exists by the clock."""
    if not account.first_day() <= day <= account.today():
        return {c.name: (0, 0, 0) for c in CATEGORIES}
    cache = account.__dict__.setdefault("_usage_cache", {})
    closed = day < account.today()
    if closed and day in cache:
        return cache[day]
    now = account.now_ts()
    out: dict[str, Totals] = {}

    msgs = account.gen.messages(day)
    visible = msgs.ts <= now
    charged = np.where(msgs.priced & visible, -msgs.price, 0)
    inbound = (msgs.direction == 1) & visible
    outbound = (msgs.direction != 1) & visible
    for name, mask in (("sms-inbound", inbound), ("sms-outbound", outbound), ("sms", visible)):
        out[name] = (int(mask.sum()), int(msgs.segments[mask].sum()), int(charged[mask].sum()))

    calls = account.gen.calls(day)
    started = calls.ts <= now
    billed = calls.priced & (calls.end <= now)
    minutes = np.where(billed, np.ceil(calls.duration / 60), 0).astype(np.int64)
    call_charge = np.where(billed, -calls.price, 0)
    inbound = (calls.direction == 0) & started
    outbound = (calls.direction != 0) & started
    for name, mask in (("calls-inbound", inbound), ("calls-outbound", outbound), ("calls", started)):
        out[name] = (int(mask.sum()), int(minutes[mask].sum()), int(call_charge[mask].sum()))

    total = out["sms"][2] + out["calls"][2]
    out["totalprice"] = (0, total, total)
    if closed:
        cache[day] = out
    return out


def period_totals(account: Account, first: date, last: date) -> dict[str, Totals]:
    """Usage of every category summed over the days from ``first`` to ``last`` inclusive."""
    sums = {c.name: [0, 0, 0] for c in CATEGORIES}
    for day in account.days(first, last):
        for name, values in day_totals(account, day).items():
            acc = sums[name]
            for i in range(3):
                acc[i] += values[i]
    return {name: (v[0], v[1], v[2]) for name, v in sums.items()}


def total_spend(account: Account, first: date, last: date) -> int:
    return period_totals(account, first, last)["totalprice"][2]


def balance(account: Account) -> str:
    """Credit left: $50 at creation, plus ``$100 × scale`` on each 1st of the month, less usage."""
    first, today = account.first_day(), account.today()
    top_ups = sum(1 for d in account.days(first, today) if d.day == 1 and d != first)
    top_up = round(100 * account.gen.scale, 2)
    left = (50 + top_up * top_ups) * PRICE_SCALE - total_spend(account, first, today)
    return f"{left / PRICE_SCALE:.2f}"


def format_price(units: int) -> str:
    """Exact decimal string with five places: 123456 -> "1.23456"."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    return f"{sign}{units // PRICE_SCALE}.{units % PRICE_SCALE:05d}"


# --- periods --------------------------------------------------------------------------------

SUBRESOURCES = {
    # URL name -> key in subresource_uris
    "AllTime": "all_time",
    "Daily": "daily",
    "LastMonth": "last_month",
    "Monthly": "monthly",
    "ThisMonth": "this_month",
    "Today": "today",
    "Yearly": "yearly",
    "Yesterday": "yesterday",
}


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def periods(account: Account, subresource: str | None, start: date | None, end: date | None) -> list[tuple[date, date]]:
    """The (start_date, end_date) periods a usage list returns, newest first.

    ``subresource`` is None for ``/Usage/Records.json``: one period covering the requested range.
    Fixed periods (Today, Yesterday, ThisMonth, LastMonth, AllTime) ignore StartDate/EndDate.
    Every period is clipped to the account's history (creation day to today).
    """
    first, today = account.first_day(), account.today()
    lo = max(start or first, first)
    hi = min(end or today, today)

    def clip(a: date, b: date) -> list[tuple[date, date]]:
        a, b = max(a, first), min(b, today)
        return [(a, b)] if a <= b else []

    if subresource is None:
        return [(lo, hi)] if lo <= hi else []
    if subresource == "Today":
        return clip(today, today)
    if subresource == "Yesterday":
        return clip(today - timedelta(days=1), today - timedelta(days=1))
    if subresource == "ThisMonth":
        return clip(today.replace(day=1), today)
    if subresource == "LastMonth":
        last = today.replace(day=1) - timedelta(days=1)
        return clip(last.replace(day=1), last)
    if subresource == "AllTime":
        return clip(first, today)
    out: list[tuple[date, date]] = []
    if lo > hi:
        return out
    if subresource == "Daily":
        day = hi
        while day >= lo:
            out.append((day, day))
            day -= timedelta(days=1)
    elif subresource == "Monthly":
        month = hi.replace(day=1)
        while month_end(month) >= lo:
            out += clip(month, month_end(month))
            month = (month - timedelta(days=1)).replace(day=1)
    elif subresource == "Yearly":
        for year in range(hi.year, lo.year - 1, -1):
            out += clip(date(year, 1, 1), date(year, 12, 31))
    else:
        raise KeyError(subresource)
    return out
