"""Paging as Twilio does it: opaque page tokens and the two envelope shapes.

Tokens carry a SID, as Twilio's do: ``PA<sid>`` continues after that record, ``PB<sid>`` goes back
to the page before it. For the day-generated collections the SID itself encodes its (day, index),
so a token resolves to a position without any server-side state, and a page never shifts when new
records arrive at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np

from .account import Account
from .filters import BadParameter, Bounds
from .generator import day_of, decode_sid

# The longest a call can last (ring + talk): how far before an EndTime bound a start may lie.
MAX_CALL_SECONDS = 7_200 + 60


@dataclass(frozen=True)
class PageSlice:
    """One page of a list, before it is rendered: its records and where it sits among the others."""

    items: list[Any]  # whatever the renderer takes: (table, index) pairs or list entries
    first_sid: str | None
    last_sid: str | None
    has_next: bool
    has_previous: bool


@dataclass
class TimeQuery:
    """Records of one day-generated kind that match the filters, newest first."""

    account: Account
    table: Callable[[Any], Any]  # day -> MessageDay | CallDay | AlertDay
    bounds: dict[str, Bounds] = field(default_factory=dict)
    predicate: Callable[[Any], np.ndarray] | None = None

    def _day_range(self):
        ts = self.bounds.get("ts", Bounds())
        end = self.bounds.get("end")
        lo, hi = ts.lo, ts.hi
        if end is not None:
            # A call starts no later than it ends, and at most MAX_CALL_SECONDS before.
            hi = end.hi if hi is None else (hi if end.hi is None else min(hi, end.hi))
            if end.lo is not None:
                start_lo = end.lo - MAX_CALL_SECONDS
                lo = start_lo if lo is None else max(lo, start_lo)
        first = self.account.first_day() if lo is None else max(day_of(lo), self.account.first_day())
        last = self.account.today() if hi is None else min(day_of(hi), self.account.today())
        return first, last

    def matches(self, t) -> np.ndarray:
        """Indices (ascending, i.e. newest first) of the rows of one day table that match."""
        now = self.account.now_ts()
        mask = t.ts <= now
        ts = self.bounds.get("ts")
        if ts is not None:
            if ts.lo is not None:
                mask &= t.ts >= ts.lo
            if ts.hi is not None:
                mask &= t.ts <= ts.hi
        end = self.bounds.get("end")
        if end is not None:
            mask &= t.end <= now  # a call still in progress has no end_time yet
            if end.lo is not None:
                mask &= t.end >= end.lo
            if end.hi is not None:
                mask &= t.end <= end.hi
        if self.predicate is not None:
            mask &= self.predicate(t)
        return np.flatnonzero(mask)

    def scan(self, *, after: tuple | None = None, before: tuple | None = None) -> Iterator[tuple]:
        """Yield (table, index) pairs: older than ``after``, or newer than ``before`` (nearest first)."""
        if any(b.empty for b in self.bounds.values()):
            return
        first, last = self._day_range()
        if before is None:
            for day in self.account.days(first, last):
                if after is not None and day > after[0]:
                    continue
                t = self.table(day)
                idx = self.matches(t)
                if after is not None and day == after[0]:
                    idx = idx[idx > after[1]]
                for i in idx:
                    yield t, int(i)
        else:
            day = max(before[0], first)
            while day <= last:
                t = self.table(day)
                idx = self.matches(t)[::-1]
                if day == before[0]:
                    idx = idx[idx < before[1]]
                for i in idx:
                    yield t, int(i)
                day += timedelta(days=1)

    def position(self, sid: str) -> tuple:
        decoded = decode_sid(sid, self.account.gen.mask)
        if decoded is not None:
            day, index = decoded
            if self.account.first_day() <= day <= self.account.today():
                t = self.table(day)
                if index < len(t) and t.sid[index] == sid:
                    return day, index
        raise BadParameter("Invalid value for PageToken: it does not come from this list")

    def find(self, sid: str):
        """The (table, index) of one record by SID, or None (for instance endpoints)."""
        try:
            day, index = self.position(sid)
        except BadParameter:
            return None
        t = self.table(day)
        return (t, index) if t.ts[index] <= self.account.now_ts() else None

    def page(self, size: int, token: str | None) -> PageSlice:
        if token and token.startswith("PB"):
            newer = _take(self.scan(before=self.position(token[2:])), size + 1)
            items = newer[:size][::-1]
            has_previous, has_next = len(newer) > size, True
        else:
            after = self.position(token[2:]) if token and token.startswith("PA") else None
            if token and after is None:
                raise BadParameter("Invalid value for PageToken")
            items = _take(self.scan(after=after), size + 1)
            has_next = len(items) > size
            items = items[:size]
            has_previous = after is not None
        return PageSlice(
            items=items,
            first_sid=items[0][0].sid[items[0][1]] if items else None,
            last_sid=items[-1][0].sid[items[-1][1]] if items else None,
            has_next=has_next,
            has_previous=has_previous and bool(items),
        )


def _take(iterator: Iterator, n: int) -> list:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= n:
            break
    return out


def list_page(items: Sequence[Any], sid_of: Callable[[Any], str], size: int, token: str | None) -> PageSlice:
    """Paging over a small in-memory list with the same SID tokens."""
    sids = [sid_of(x) for x in items]
    start = 0
    if token:
        kind, sid = token[:2], token[2:]
        if sid not in sids or kind not in ("PA", "PB"):
            raise BadParameter("Invalid value for PageToken: it does not come from this list")
        at = sids.index(sid)
        start = at + 1 if kind == "PA" else max(0, at - size)
    chunk = list(items[start : start + size])
    return PageSlice(
        items=chunk,
        first_sid=sid_of(chunk[0]) if chunk else None,
        last_sid=sid_of(chunk[-1]) if chunk else None,
        has_next=start + size < len(items),
        has_previous=start > 0,
    )


# --- envelopes ------------------------------------------------------------------------------

PAGING_PARAMS = ("PageSize", "Page", "PageToken")


def _query(params: list[tuple[str, str]], size: int, number: int, token: str | None) -> str:
    kept = [(k, v) for k, v in params if k not in PAGING_PARAMS]
    kept += [("PageSize", str(size)), ("Page", str(number))]
    if token:
        kept.append(("PageToken", token))
    return urlencode(kept)


@dataclass(frozen=True)
class PageAddress:
    """Where a list page was asked for: its path and query, its size and number, and its token."""

    path: str
    params: list[tuple[str, str]]
    size: int
    number: int
    token: str | None = None


def _links(base: str, at: PageAddress, page: PageSlice) -> dict[str, str | None]:
    """The first, next, previous and current page links of one page (next/previous may be None)."""
    params, size, number = at.params, at.size, at.number
    return {
        "first": f"{base}?{_query(params, size, 0, None)}",
        "next": f"{base}?{_query(params, size, number + 1, 'PA' + page.last_sid)}"
        if page.has_next and page.last_sid
        else None,
        "previous": f"{base}?{_query(params, size, max(number - 1, 0), 'PB' + page.first_sid)}"
        if page.has_previous and page.first_sid
        else None,
        "current": f"{base}?{_query(params, size, number, at.token)}",
    }


def envelope_2010(key: str, records: list, at: PageAddress, page: PageSlice) -> dict[str, Any]:
    """The 2010 API's list shape: relative ``next_page_uri`` and friends at the top level."""
    start = at.number * at.size
    links = _links(at.path, at, page)
    return {
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": links["first"],
        "next_page_uri": links["next"],
        "page": at.number,
        "page_size": at.size,
        "previous_page_uri": links["previous"],
        key: records,
        "start": start,
        "uri": links["current"],
    }


def envelope_meta(key: str, records: list, at: PageAddress, page: PageSlice, *, origin: str) -> dict[str, Any]:
    """The product APIs' list shape: records under ``meta.key``, absolute ``meta.next_page_url``."""
    links = _links(f"{origin}{at.path}", at, page)
    return {
        key: records,
        "meta": {
            "first_page_url": links["first"],
            "key": key,
            "next_page_url": links["next"],
            "page": at.number,
            "page_size": at.size,
            "previous_page_url": links["previous"],
            "url": links["current"],
        },
    }
