"""Fetching date slices concurrently: one page chain per slice, worker threads, one shared page cap.

>>> from twibox_nb.fetch.connection import connect
>>> conn = connect(sandbox=True)
>>> url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/IncomingPhoneNumbers.json?PageSize=2"
>>> pages, report = fetch_all(conn, httpx.Request("GET", url), max_pages=2)
>>> [len(p.records) for p in pages], report.stop_reason, report.truncated
([2, 2], 'page_cap', True)
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import FetchError, TwiboxError, UnsafeRequestError
from ..model.spec import Pagination
from .chain import ChainEnd, PageBudget, PageFetcher, check_options, follow_chain
from .pagination import DEFAULT_TOKEN_PARAM
from .report import FetchReport, Progress, StopReason
from .session import _DONE, Clock, Jitter, Page, RetryPolicy, Sleep, _check_get, _Session
from .slices import DEFAULT_CONCURRENCY, check_concurrency

if TYPE_CHECKING:
    from .connection import Connection

log = logging.getLogger(__name__)


# --- concurrent date slices ----------------------------------------------------------------------


class _AdaptiveLimit:
    """At most ``limit`` requests in flight, shared by every worker of one fetch.

    A 429 halves the limit (never below 1), once per congestion event: 429s answered to requests
    that were sent before the last cut do not cut again (they saw the old limit). After
    ``recover`` successes in a row the limit creeps back up by one, never above the configured
    value. ``peak`` is the most requests seen in flight, ``lowest`` the lowest limit reached.

    >>> limit = _AdaptiveLimit(8, recover=2)
    >>> a, b, c = limit.acquire(), limit.acquire(), limit.acquire()
    >>> limit.release(a, throttled=True); limit.release(b, throttled=True); limit.limit  # one cut per event
    4
    >>> limit.release(c, False); limit.release(limit.acquire(), False); limit.limit, limit.peak, limit.lowest
    (5, 3, 4)
    """

    def __init__(self, limit: int, recover: int | None = None) -> None:
        self.configured = self.limit = self.lowest = limit
        self.recover = recover if recover is not None else max(4, 2 * limit)
        self.in_flight = self.peak = 0
        self._successes = 0
        self._generation = 0
        self._cond = threading.Condition()

    def acquire(self) -> int:
        """Wait for a permit; returns the ticket to give back to :meth:`release`."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self._generation

    def release(self, ticket: int, throttled: bool) -> None:
        with self._cond:
            self.in_flight -= 1
            if throttled:
                self._successes = 0
                if ticket == self._generation:
                    self.limit = max(1, self.limit // 2)
                    self.lowest = min(self.lowest, self.limit)
                    self._generation += 1
                    log.info("429 from Twilio: concurrency down to %d", self.limit)
            else:
                self._successes += 1
                if self._successes >= self.recover and self.limit < self.configured:
                    self.limit += 1
                    self._successes = 0
            self._cond.notify_all()


@dataclass(frozen=True)
class Slice:
    """One date slice of a fetch: its first request (with its own rendered date filters), and
    when a newest-first chain may stop early (``stop_when(body)``, as for :class:`PageFetcher`)."""

    request: httpx.Request
    stop_when: Callable[[Any], bool] | None = None


class SliceFetcher:
    """Fetch several slices of one range concurrently, each slice with its own next-page chain.

    Iterating yields ``(slice index, Page)`` pairs as pages arrive, in the consumer's thread;
    ``progress`` is called from that thread too (notebook widgets are not thread-safe) with the
    numbers of all slices together. Up to ``concurrency`` worker threads (default
    :data:`~twibox_nb.fetch.slices.DEFAULT_CONCURRENCY`, at most :data:`~twibox_nb.fetch.slices.MAX_CONCURRENCY`)
    share one ``httpx.Client`` whose pool holds that many connections; at most
    ``2 × concurrency`` fetched pages wait for the consumer, so memory stays bounded. On a 429
    the number of requests in flight halves and creeps back up after a run of successes; the
    request itself is retried as ``policy`` says.

    Each slice is one :func:`~twibox_nb.fetch.chain.follow_chain`, the loop a
    :class:`PageFetcher` walks too, iterated in a worker thread. ``max_pages`` caps the pages of
    all slices together, through one shared :class:`~twibox_nb.fetch.chain.PageBudget`: the first
    pages of the first ``max_pages`` slices are reserved up front (so which pages a cap leaves out
    does not depend on thread timing), later pages are granted while the budget lasts; a slice
    refused a page stops and the report says ``page_cap`` (truncated). An error before any page is
    raised; an error after some pages stops every slice and ends the fetch with
    ``stop_reason="error"`` (truncated). After the iteration, :attr:`report` sums everything up
    (``slices``, ``concurrency`` = the most requests in flight, ``throttled_to``; ``next_url`` as
    for a single chain: the page that failed, the first page over the cap, or the link of the first
    slice that looped back) and :attr:`slice_reports` says how each slice ended (None for a slice
    stopped because another one ended the fetch; ``requests`` and ``retries`` are counted for the
    whole fetch only).

    >>> from twibox_nb.fetch.connection import connect
    >>> conn = connect(sandbox=True)
    >>> url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/Messages.json?PageSize=50"
    >>> days = [Slice(httpx.Request("GET", f"{url}&DateSent=2026-01-0{d}")) for d in (1, 2, 3)]
    >>> fetcher = SliceFetcher(conn, days, concurrency=2)
    >>> sorted({index for index, page in fetcher}), fetcher.report.slices, fetcher.report.stop_reason
    ([0, 1, 2], 3, 'complete')
    """

    def __init__(
        self,
        conn: Connection,
        slices: Sequence[Slice | httpx.Request],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        pagination: Pagination = "next_page",
        max_pages: int | None = None,
        token_param: str = DEFAULT_TOKEN_PARAM,
        progress: Callable[[Progress], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        jitter: Jitter = random.random,
        recover: int | None = None,
    ) -> None:
        self.slices = [s if isinstance(s, Slice) else Slice(s) for s in slices]
        if not self.slices:
            raise ValueError("SliceFetcher needs at least one slice")
        for part in self.slices:
            _check_get(part.request)
        check_options(pagination, max_pages)
        self.conn = conn
        self.concurrency = check_concurrency(concurrency)
        self.pagination = pagination
        self.max_pages = max_pages
        self.token_param = token_param
        self.progress = progress
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.recover = recover
        self.report: FetchReport | None = None
        self.slice_reports: list[FetchReport | None] = []

    def __iter__(self) -> Iterator[tuple[int, Page]]:
        return self._run()

    def _run(self) -> Iterator[tuple[int, Page]]:
        self.report = None
        n = len(self.slices)
        self.slice_reports = [None] * n
        workers = min(self.concurrency, n)
        limiter = _AdaptiveLimit(self.concurrency, self.recover)
        pages_out: queue.Queue[Any] = queue.Queue(maxsize=2 * self.concurrency)
        pending: queue.Queue[int] = queue.Queue()
        for index in range(n):
            pending.put(index)
        stop = threading.Event()  # no new request: a slice failed, or the consumer went away
        abandoned = threading.Event()  # the consumer went away: drop what is left
        # The first pages of the first max_pages slices are reserved up front, so the pages a cap
        # leaves out do not depend on thread timing; later pages are granted while the budget lasts.
        budget = PageBudget(self.max_pages, reserved=n)
        lock = threading.Lock()
        failure: list[tuple[TwiboxError, str | None]] = []  # the first error that ended the fetch, and where
        started = self.clock()

        def put(item: Any) -> bool:
            while not abandoned.is_set():
                try:
                    pages_out.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def fail(error: TwiboxError, at: str | None) -> None:
            with lock:
                if not failure:
                    failure.append((error, at))
            stop.set()

        def chain(index: int, session: _Session) -> None:
            if stop.is_set():
                return  # another slice ended the fetch: this one is not started (no report)
            part = self.slices[index]
            ends: list[ChainEnd] = []
            steps = follow_chain(
                session,
                part.request,
                budget,
                pagination=self.pagination,
                token_param=self.token_param,
                stop_when=part.stop_when,
                reserved=index < budget.reserved,
                clock=self.clock,
                on_end=ends.append,
            )
            try:
                for page in steps:  # each step sends at most one request
                    if not put((index, page)) or ends or stop.is_set():
                        break  # the chain ended with this page, or the fetch did (no report then)
            finally:
                steps.close()
            if ends:
                self.slice_reports[index] = ends[0].report
                if ends[0].report.error is not None:
                    fail(ends[0].report.error, ends[0].stopped_at)

        def work(session: _Session) -> None:
            try:
                while not stop.is_set():
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    chain(index, session)
            except BaseException as exc:  # a bug or an interrupt in a worker must not hang the consumer
                fail(FetchError(f"a fetch worker failed: {type(exc).__name__}: {exc}"), str(httpx.URL()))
            finally:
                put(_DONE)

        session = _Session(self.conn, self.policy, self.sleep, self.jitter, limiter=limiter, pool=self.concurrency)
        threads = [
            threading.Thread(target=work, args=(session,), name=f"twibox-fetch-{i}", daemon=True)
            for i in range(workers)
        ]
        pages = records = 0
        try:
            for thread in threads:
                thread.start()
            finished = 0
            while finished < workers:
                item = pages_out.get()
                if item is _DONE:
                    finished += 1
                    continue
                index, page = item
                pages += 1
                records += len(page.records)
                if self.progress is not None:
                    self.progress(
                        Progress(
                            pages, records, session.requests, session.retries, self.clock() - started,
                            self.max_pages, page.url,
                        )
                    )  # fmt: skip
                yield index, page
        finally:
            abandoned.set()
            stop.set()
            for thread in threads:
                thread.join()
            session.client.close()
        error, failed_at = failure[0] if failure else (None, None)
        ended = [r for r in self.slice_reports if r is not None]
        if error is not None:
            reason: StopReason = "error"
            next_url = failed_at
        elif budget.capped:
            reason, next_url = "page_cap", budget.capped_at
        else:
            reasons = {e.stop_reason for e in ended}
            reason = next((r for r in ("cycle", "range_start_passed") if r in reasons), "complete")
            # A cycle keeps the link that looped back, as a single chain does (the first slice's that cycled).
            next_url = next((e.next_url for e in ended if e.stop_reason == "cycle"), None)
        truncated = reason in ("page_cap", "cycle") or (reason == "error" and pages > 0)
        self.report = FetchReport(
            pages=pages,
            records=records,
            requests=session.requests,
            retries=session.retries,
            elapsed=self.clock() - started,
            stop_reason=reason,
            truncated=truncated,
            error=error,
            next_url=next_url,
            slices=n,
            concurrency=limiter.peak,
            throttled_to=limiter.lowest if limiter.lowest < self.concurrency else None,
        )
        if error is not None and (pages == 0 or isinstance(error, UnsafeRequestError)):
            raise error
        if error is not None:
            log.warning("fetch stopped after %d pages: %s", pages, error)


def fetch_slices(
    conn: Connection, slices: Sequence[Slice | httpx.Request], **options: Any
) -> tuple[list[tuple[int, Page]], FetchReport]:
    """Every page of a sliced fetch with its slice index, and the report (options as for
    :class:`SliceFetcher`)."""
    fetcher = SliceFetcher(conn, slices, **options)
    pages = list(fetcher)
    assert fetcher.report is not None
    return pages, fetcher.report


def fetch_all(conn: Connection, request: httpx.Request, **options: Any) -> tuple[list[Page], FetchReport]:
    """Every page of a fetch, and its report (``options`` as for :class:`PageFetcher`)."""
    fetcher = PageFetcher(conn, request, **options)
    pages = list(fetcher)
    assert fetcher.report is not None  # an exhausted fetcher always has one
    return pages, fetcher.report
