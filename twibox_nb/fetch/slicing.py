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
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import FetchError, TwiboxError, UnsafeRequestError
from .chain import ChainEnd, FetchOptions, PageFetcher, SliceBudget, follow_chain
from .report import FetchReport, Progress, StopReason
from .session import _DONE, Page, _check_get, _Session
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


@dataclass(eq=False, repr=False)
class SliceFetcher(FetchOptions):
    """Fetch several slices of one range concurrently, each slice with its own next-page chain.

    Iterating yields ``(slice index, Page)`` pairs as pages arrive, in the consumer's thread;
    ``progress`` is called from that thread too (notebook widgets are not thread-safe) with the
    numbers of all slices together. Up to ``concurrency`` requests are in flight at once (default
    :data:`~twibox_nb.fetch.slices.DEFAULT_CONCURRENCY`, at most :data:`~twibox_nb.fetch.slices.MAX_CONCURRENCY`),
    sent by worker threads that share one ``httpx.Client`` whose pool holds that many connections;
    at most ``2 × concurrency`` fetched pages wait for the consumer, so memory stays bounded. On a
    429 the number of requests in flight halves and creeps back up after a run of successes; the
    request itself is retried as ``policy`` says. The other keyword options are
    :class:`~twibox_nb.fetch.chain.FetchOptions`.

    Each slice is one :func:`~twibox_nb.fetch.chain.follow_chain`, the loop a
    :class:`PageFetcher` walks too, iterated in a worker thread. ``max_pages`` caps the pages of
    all slices together, through one shared :class:`~twibox_nb.fetch.chain.SliceBudget`, which
    keeps pages in a fixed order (every slice's first page, then every slice's second page …), so
    which pages a cap leaves out depends on the data only, never on thread timing; a slice refused
    a page stops and the report says ``page_cap`` (truncated). (When the cap is above the number of
    slices, each slice has a thread of its own, so that a slice waiting for its turn never holds
    up another; requests in flight stay within ``concurrency``.) An error before any page is
    raised; an error after some pages (a malformed next link too) stops every slice and ends the
    fetch with ``stop_reason="error"`` (truncated). After the iteration, :attr:`report` sums
    everything up (``slices``, ``concurrency`` = the most requests in flight, ``throttled_to``;
    ``next_url`` as for a single chain: the page that failed, the lowest-ranked page over the cap,
    or the link of the first slice that looped back) and :attr:`slice_reports` says how each slice
    ended (None for a slice stopped because another one ended the fetch; ``requests`` and
    ``retries`` are counted for the whole fetch only).

    >>> from twibox_nb.fetch.connection import connect
    >>> conn = connect(sandbox=True)
    >>> url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/Messages.json?PageSize=50"
    >>> days = [Slice(httpx.Request("GET", f"{url}&DateSent=2026-01-0{d}")) for d in (1, 2, 3)]
    >>> fetcher = SliceFetcher(conn, days, concurrency=2)
    >>> sorted({index for index, page in fetcher}), fetcher.report.slices, fetcher.report.stop_reason
    ([0, 1, 2], 3, 'complete')
    """

    conn: Connection
    slices: Sequence[Slice | httpx.Request]
    concurrency: int = field(default=DEFAULT_CONCURRENCY, kw_only=True)
    recover: int | None = field(default=None, kw_only=True)
    report: FetchReport | None = field(default=None, init=False)
    slice_reports: list[FetchReport | None] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.slices = [s if isinstance(s, Slice) else Slice(s) for s in self.slices]
        if not self.slices:
            raise ValueError("SliceFetcher needs at least one slice")
        for part in self.slices:
            _check_get(part.request)
        super().__post_init__()
        self.concurrency = check_concurrency(self.concurrency)

    def __iter__(self) -> Iterator[tuple[int, Page]]:
        return self._run()

    def _run(self) -> Iterator[tuple[int, Page]]:
        self.report = None
        n = len(self.slices)
        self.slice_reports = [None] * n
        # Pages are granted in a fixed order; a slice may wait for slices ranked before it only
        # when the cap is above the number of slices (see SliceBudget): then each has a thread.
        capped_late = self.max_pages is not None and self.max_pages > n
        workers = n if capped_late else min(self.concurrency, n)
        limiter = _AdaptiveLimit(self.concurrency, self.recover)
        pages_out: queue.Queue[Any] = queue.Queue(maxsize=2 * self.concurrency)
        pending: queue.Queue[int] = queue.Queue()
        for index in range(n):
            pending.put(index)
        stop = threading.Event()  # no new request: a slice failed, or the consumer went away
        abandoned = threading.Event()  # the consumer went away: drop what is left
        budget = SliceBudget(self.max_pages, chains=n)
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
            budget.cancel()

        def chain(index: int, session: _Session) -> None:
            if stop.is_set():
                budget.finish(index)
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
                chain=index,
                clock=self.clock,
                on_end=ends.append,
            )
            try:
                for page in steps:  # each step sends at most one request
                    if not put((index, page)) or ends or stop.is_set():
                        break  # the chain ended with this page, or the fetch did (no report then)
            finally:
                steps.close()
                budget.finish(index)
            if ends and index not in budget.cut_short:  # cut short: the fetch ended, this is no cap
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

        assert self.policy is not None  # FetchOptions sets the default
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
            budget.cancel()
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
            # page_cap here: a next link that pagination "none" does not follow
            reason = next((r for r in ("page_cap", "cycle", "range_start_passed") if r in reasons), "complete")
            # The link not followed, as a single chain keeps it (the first slice's that stopped so).
            next_url = next((e.next_url for e in ended if e.stop_reason == reason), None)
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
