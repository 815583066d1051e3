"""Ground truth straight from the generator, with no HTTP, no filters and no paging code.

Tests compare what a client fetched with this, so they check the client against the data itself
rather than one client against another.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timezone
from typing import Any

import numpy as np

from . import render
from .account import Account
from .generator import ALERT_KINDS, CALL_DIRECTIONS, CALL_STATUSES, MESSAGE_DIRECTIONS, MESSAGE_STATUSES
from .usage import Totals, day_totals

KINDS = ("messages", "calls", "alerts")
GROUPS = {
    "messages": ("status", "direction", "error_code"),
    "calls": ("status", "direction"),
    "alerts": ("log_level", "error_code"),
}


def _epoch(moment: date | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("ground-truth datetimes must be timezone-aware (UTC)")
        return int(moment.timestamp())
    return int(datetime.combine(moment, time.min, timezone.utc).timestamp())


class GroundTruth:
    """What the synthetic account holds.

    Ranges are half-open ``[start, end)``; a ``date`` means 00:00:00 UTC on that day.

    >>> from datetime import date
    >>> truth = GroundTruth(Account(seed=7))
    >>> counts = truth.daily_counts("messages", date(2026, 3, 2), date(2026, 3, 3), by="status")
    >>> sum(counts.values()) == len(truth.sids("messages", date(2026, 3, 2), date(2026, 3, 3)))
    True
    """

    def __init__(self, account: Account) -> None:
        self.account = account

    def _table(self, kind: str):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return getattr(self.account.gen, kind)

    def _rows(self, kind: str, start: date | datetime, end: date | datetime):
        """(table, visible mask) for every day that overlaps the range."""
        lo, hi = _epoch(start), _epoch(end)
        now = self.account.now_ts()
        table = self._table(kind)
        first = datetime.fromtimestamp(lo, timezone.utc).date()
        last = datetime.fromtimestamp(max(lo, hi - 1), timezone.utc).date()
        for day in self.account.days(first, last):
            t = table(day)
            yield t, (t.ts >= lo) & (t.ts < hi) & (t.ts <= now)

    def sids(self, kind: str, start: date | datetime, end: date | datetime) -> list[str]:
        """SIDs of the records whose own date (date_sent, start_time, date_generated) is in range."""
        return [t.sid[i] for t, mask in self._rows(kind, start, end) for i in np.flatnonzero(mask)]

    def records(self, kind: str, start: date | datetime, end: date | datetime) -> list[dict[str, Any]]:
        """The records in range, rendered exactly as the sandbox serves them, newest first."""
        now = self.account.now_ts()
        out = []
        for t, mask in self._rows(kind, start, end):
            for i in np.flatnonzero(mask):
                if kind == "messages":
                    out.append(render.message(self.account, t, int(i)))
                elif kind == "calls":
                    out.append(render.call(self.account, t, int(i), now))
                else:
                    out.append(render.alert(self.account, t, int(i)))
        return out

    def _labels(self, kind: str, t, group: str) -> np.ndarray:
        now = self.account.now_ts()
        if kind == "messages":
            if group == "status":
                return np.array(MESSAGE_STATUSES)[t.status]
            if group == "direction":
                return np.array(MESSAGE_DIRECTIONS)[t.direction]
            return t.error_code.astype(object)
        if kind == "calls":
            if group == "status":
                return np.where(t.end > now, "in-progress", np.array(CALL_STATUSES)[t.status])
            return np.array(CALL_DIRECTIONS)[t.direction]
        column = 1 if group == "log_level" else 0
        return np.array([k[column] for k in ALERT_KINDS])[t.kind]

    def daily_counts(self, kind: str, start: date, end: date, by: str | tuple[str, ...] = ()) -> dict[tuple, int]:
        """Records per UTC day in ``[start, end)``, keyed ``(day, *group values)``.

        ``by`` names fields to group by: messages ``status``/``direction``/``error_code``,
        calls ``status``/``direction``, alerts ``log_level``/``error_code``.
        """
        groups = (by,) if isinstance(by, str) else tuple(by)
        unknown = set(groups) - set(GROUPS[kind] if kind in GROUPS else ())
        if kind not in KINDS or unknown:
            raise ValueError(f"cannot group {kind!r} by {sorted(unknown)}; allowed: {GROUPS.get(kind)}")
        counts: Counter = Counter()
        for t, mask in self._rows(kind, start, end):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            columns = [self._labels(kind, t, g)[idx] for g in groups]
            for key in zip(*columns, strict=True) if columns else ((),) * len(idx):
                counts[(t.day, *(k.item() if hasattr(k, "item") else k for k in key))] += 1
        return dict(counts)

    def usage(self, category: str, day: date) -> Totals:
        """(count, usage, price) of one usage category on one day; price in units of 0.00001 USD."""
        return day_totals(self.account, day)[category]
