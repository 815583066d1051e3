"""What a fetch says about itself: progress events while it runs, and its report when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._exceptions import TwiboxError

StopReason = Literal["complete", "page_cap", "cycle", "range_start_passed", "error"]

#: Why a fetch stopped, in words: the one wording of each stop reason (an error's own message follows it).
STOP_WORDS: dict[StopReason, str] = {
    "complete": "complete",
    # pagination "none" is a cap of one page: a first page that links to more is cut off the same way
    "page_cap": 'stopped at the page cap (max_pages, or the one page of pagination "none") with more pages left',
    "cycle": "stopped: a next-page link pointed back at a page already fetched",
    "range_start_passed": "stopped once the records were older than the range start",
    "error": "stopped by an error",
}


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each page (the core renders nothing itself)."""

    pages: int
    records: int
    requests: int
    retries: int
    elapsed: float
    max_pages: int | None
    url: str


@dataclass(frozen=True)
class FetchReport:
    """How a fetch went and why it stopped.

    ``truncated`` says records may be missing: a page cap with more pages left (pagination
    ``"none"`` caps at the first page), a link cycle, or an error after some pages (``error``
    holds it, a malformed next-page link too; the caller shows a warning).
    ``range_start_passed`` is not truncation: the list is newest first and the rest is older
    than the range. ``requests`` counts every attempt, retries included.

    >>> report = FetchReport(3, 150, 4, 1, 0.5, "page_cap", True, next_url="https://api.twilio.com/x")
    >>> print(report.summary())  # doctest: +NORMALIZE_WHITESPACE
    3 pages, 150 records in 4 requests (1 retry); stopped at the page cap (max_pages, or the one page of
    pagination "none") with more pages left (records are missing)
    """

    pages: int
    records: int
    requests: int
    retries: int
    elapsed: float
    stop_reason: StopReason
    truncated: bool
    error: TwiboxError | None = None
    next_url: str | None = None  # the page that was not fetched, when the fetch stopped early
    slices: int = 1  # date slices fetched, each with its own next-page chain (SliceFetcher)
    concurrency: int = 1  # the most requests that were in flight at once
    throttled_to: int | None = None  # the lowest concurrency 429s brought it down to (None: never throttled)
    cached_windows: int = 0  # closed windows that came from the cache instead of the network
    cached_records: int = 0  # records of those windows (not counted in ``records``)

    def summary(self) -> str:
        """One plain sentence for a warning or a log line."""
        why = STOP_WORDS[self.stop_reason] + (f": {self.error}" if self.stop_reason == "error" else "")
        retries = f" ({self.retries} {'retry' if self.retries == 1 else 'retries'})" if self.retries else ""
        missing = " (records are missing)" if self.truncated else ""
        counted = (
            f"{_plural(self.pages, 'page')}, {_plural(self.records, 'record')} in {_plural(self.requests, 'request')}"
        )
        parallel = ""
        if self.slices > 1 or self.concurrency > 1:
            parallel = f" ({_plural(self.slices, 'slice')}, up to {self.concurrency} at once"
            if self.throttled_to is not None:
                parallel += f", down to {self.throttled_to} after 429s"
            parallel += ")"
        cached = ""
        if self.cached_windows:
            cached = (
                f"; {_plural(self.cached_windows, 'closed window')} ({_plural(self.cached_records, 'record')}) "
                "from the cache"
            )
        return f"{counted}{retries}{parallel}; {why}{missing}{cached}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
