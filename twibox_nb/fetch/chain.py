"""Following chains of pages: the one page loop, its shared page budget, and the lazy single-chain fetcher.

:func:`follow_chain` is the only loop that walks next-page links. :class:`PageFetcher` iterates it
lazily in the caller's thread (one chain); each worker of a
:class:`~twibox_nb.fetch.slicing.SliceFetcher` iterates one per date slice in its own thread. A
:class:`PageBudget` holds the page cap that all the chains of one fetch share.

>>> from twibox_nb.fetch.connection import connect
>>> conn = connect(sandbox=True)
>>> url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/IncomingPhoneNumbers.json?PageSize=2"
>>> pages = list(PageFetcher(conn, httpx.Request("GET", url), max_pages=2))
>>> [len(p.records) for p in pages]
[2, 2]
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import FetchError, ResponseFormatError, TwiboxError, TwilioAPIError, UnsafeRequestError
from ..model.spec import PAGINATIONS, Pagination
from .hosts import is_twilio_url
from .pagination import DEFAULT_TOKEN_PARAM, detect
from .report import FetchReport, Progress, StopReason
from .session import _DROP_HEADERS, Clock, Jitter, Page, RetryPolicy, Sleep, _check_get, _Session

if TYPE_CHECKING:
    from .connection import Connection

log = logging.getLogger(__name__)


def check_options(pagination: str, max_pages: int | None) -> None:
    """ValueError unless ``pagination`` is a known kind and ``max_pages`` is None or at least 1."""
    if pagination not in PAGINATIONS:
        kinds = " or ".join(repr(kind) for kind in PAGINATIONS)
        raise ValueError(f"pagination must be {kinds}, got {pagination!r}")
    if max_pages is not None and max_pages < 1:
        raise ValueError(f"max_pages must be at least 1 (or None for no cap), got {max_pages!r}")


class PageBudget:
    """The page cap of one fetch, shared by all its chains (thread-safe).

    A chain takes a permit for each page before asking for it; ``max_pages=None`` grants every
    page. ``reserved`` permits are set aside up front: a :class:`~twibox_nb.fetch.slicing.SliceFetcher`
    reserves the first pages of its first ``max_pages`` slices, so the pages a cap leaves out do not
    depend on thread timing. :attr:`capped_at` is the first page refused (None while none was).

    >>> budget = PageBudget(2)
    >>> budget.take("p1"), budget.take("p2"), budget.take("p3"), budget.take("p4")
    (True, True, False, False)
    >>> budget.capped, budget.capped_at
    (True, 'p3')
    >>> PageBudget(3, reserved=3).take("p4"), PageBudget(None).take("p1")
    (False, True)
    """

    def __init__(self, max_pages: int | None, *, reserved: int = 0) -> None:
        self.max_pages = max_pages
        self.reserved = min(reserved, max_pages) if max_pages is not None else 0
        self.used = self.reserved
        self.capped_at: str | None = None
        self._lock = threading.Lock()

    @property
    def capped(self) -> bool:
        """Whether the cap has refused a page (some records are missing)."""
        return self.capped_at is not None

    def take(self, url: str) -> bool:
        """A permit for the page at ``url``: True while the budget lasts, else False (and it is capped)."""
        if self.max_pages is None:
            return True
        with self._lock:
            if self.used < self.max_pages:
                self.used += 1
                return True
            if self.capped_at is None:
                self.capped_at = url
            return False


@dataclass(frozen=True)
class ChainEnd:
    """How one chain of pages ended.

    ``report`` counts the chain's own pages and records; its ``requests`` and ``retries`` are 0,
    because a session may serve several chains (a fetcher that owns its session fills them in).
    ``stopped_at`` is the URL the chain did not fetch: the request that failed, the link refused,
    the link back to a page already fetched, or the page over the cap (None when the chain
    completed or passed the range start). It is the report's ``next_url`` too, except for a
    refused link, which the report leaves out.
    """

    report: FetchReport
    stopped_at: str | None = None


def _follow(
    body: Any,
    *,
    url: httpx.URL,
    first: httpx.URL,
    pagination: Pagination,
    token_param: str,
    stop_when: Callable[[Any], bool] | None,
    visited: set[str],
) -> tuple[httpx.URL | None, StopReason | None, UnsafeRequestError | None]:
    """Where a chain of pages goes after ``body``: ``(next URL, None, None)`` to go on, else why it stops.

    The reason is ``complete`` (no next link), ``range_start_passed`` (``stop_when`` says so) or
    ``cycle`` (a link already visited); a link off ``https://*.twilio.com`` comes back as the
    error to raise, with nothing sent there.
    """
    nxt = detect(body, token_param).next_url(body, first=first, current=url) if pagination == "next_page" else None
    if nxt is None:
        return None, "complete", None
    if stop_when is not None and stop_when(body):
        return nxt, "range_start_passed", None
    if not is_twilio_url(nxt):
        return (
            nxt,
            None,
            UnsafeRequestError(
                f"refusing to follow the next-page link of {url} to {nxt.scheme}://{nxt.host}: "
                "only https://*.twilio.com links are followed (nothing was sent there)"
            ),
        )
    if str(nxt) in visited:
        return nxt, "cycle", None
    return nxt, None, None


def follow_chain(
    session: _Session,
    first_request: httpx.Request,
    budget: PageBudget,
    *,
    pagination: Pagination = "next_page",
    token_param: str = DEFAULT_TOKEN_PARAM,
    stop_when: Callable[[Any], bool] | None = None,
    reserved: bool = False,
    clock: Clock = time.monotonic,
    progress: Callable[[Progress], None] | None = None,
    on_end: Callable[[ChainEnd], None] | None = None,
) -> Generator[Page, None, ChainEnd]:
    """Yield the pages of one chain, following next-page links; return how it ended (:class:`ChainEnd`).

    Lazy: each page is asked for only when the previous one has been taken, so a consumer may
    stop at any time and nothing more is sent. The headers of ``first_request`` are carried to
    every page (credentials and the host aside: the session adds those). Nothing is raised: an
    error, a link off Twilio, a cycle or the cap end the chain and are in its end.

    Every page needs a permit from ``budget``: the first before its request (unless ``reserved``:
    its permit was set aside up front), each later one as soon as the page before it has arrived
    and names it, before that page is handed out. So the chain's end is known, and ``on_end(end)``
    has been called, when its last page is yielded: a consumer that stops reading there still has
    it. ``progress(event)`` hears about every page with the session's counts (for a session
    serving this chain alone).
    """
    first = first_request.url
    headers = httpx.Headers({k: v for k, v in first_request.headers.items() if k.lower() not in _DROP_HEADERS})
    started = clock()
    visited: set[str] = set()
    pages = records = 0

    def end(
        reason: StopReason, truncated: bool, error: TwiboxError | None = None, at: httpx.URL | None = None
    ) -> ChainEnd:
        stopped_at = None if at is None else str(at)
        next_url = None if isinstance(error, UnsafeRequestError) else stopped_at  # a refused link is not kept
        report = FetchReport(pages, records, 0, 0, clock() - started, reason, truncated, error, next_url)
        done = ChainEnd(report, stopped_at)
        if on_end is not None:
            on_end(done)
        return done

    url = first
    if not (reserved or budget.take(str(url))):
        return end("page_cap", True, at=url)
    while True:
        visited.add(str(url))
        try:
            page = session.get_page(url, headers, pages, clock)
        except (TwilioAPIError, ResponseFormatError, FetchError) as exc:
            return end("error", pages > 0, exc, url)
        pages += 1
        records += len(page.records)
        if progress is not None:
            elapsed = clock() - started
            progress(Progress(pages, records, session.requests, session.retries, elapsed, budget.max_pages, str(url)))
        nxt, reason, refused = _follow(
            page.body,
            url=url,
            first=first,
            pagination=pagination,
            token_param=token_param,
            stop_when=stop_when,
            visited=visited,
        )
        # Decided before the page is handed out: the end is there with the last page.
        done: ChainEnd | None = None
        if refused is not None:
            done = end("error", True, refused, nxt)
        elif reason is not None:
            done = end(reason, reason == "cycle", at=nxt if reason == "cycle" else None)
        elif not budget.take(str(nxt)):
            done = end("page_cap", True, at=nxt)
        yield page
        if done is not None:
            return done
        assert nxt is not None  # no end: _follow gave the next link
        url = nxt


class PageFetcher:
    """Iterate over the pages of one GET request, following next-page links.

    ``pagination="none"`` fetches the first page only; ``"next_page"`` follows the links the
    body carries (shape detected per body: ``next_page_uri``, ``meta.next_page_url`` or a next
    token sent as ``token_param``). ``max_pages`` caps the pages; ``stop_when(body)`` ends a
    newest-first list once a page has passed the range start; ``progress(event)`` hears about
    every page. After the last page, :attr:`report` says why the fetch stopped. An error on the
    first page is raised; a later one ends the fetch with ``stop_reason="error"`` (kept in the
    report). A next link off ``https://*.twilio.com`` raises :class:`UnsafeRequestError`.

    The request is checked when the fetcher is built (GET, a Twilio URL): nothing is sent until
    it is iterated. Each iteration is a fresh fetch, walked by :func:`follow_chain` in the
    caller's thread; :attr:`report` is set before the last page is handed out.

    >>> from twibox_nb.fetch.connection import connect
    >>> conn = connect(sandbox=True)
    >>> request = httpx.Request("GET", "https://monitor.twilio.com/v1/Alerts?PageSize=20")
    >>> fetcher = PageFetcher(conn, request, max_pages=3)
    >>> sum(len(page.records) for page in fetcher) == fetcher.report.records
    True
    >>> delete = httpx.Request("DELETE", "https://api.twilio.com/2010-04-01/Accounts/AC1.json")
    >>> PageFetcher(conn, delete)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.UnsafeRequestError: refusing to send DELETE ...: twibox_nb only reads, ...
    """

    def __init__(
        self,
        conn: Connection,
        request: httpx.Request,
        *,
        pagination: Pagination = "next_page",
        max_pages: int | None = None,
        stop_when: Callable[[Any], bool] | None = None,
        token_param: str = DEFAULT_TOKEN_PARAM,
        progress: Callable[[Progress], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        jitter: Jitter = random.random,
    ) -> None:
        _check_get(request)
        check_options(pagination, max_pages)
        self.conn = conn
        self.request = request
        self.pagination = pagination
        self.max_pages = max_pages
        self.stop_when = stop_when
        self.token_param = token_param
        self.progress = progress
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.report: FetchReport | None = None  # set when a fetch ends (None while one runs)

    def __iter__(self) -> Iterator[Page]:
        return self._run()

    def _run(self) -> Iterator[Page]:
        self.report = None
        with _Session(self.conn, self.policy, self.sleep, self.jitter) as session:

            def ended(end: ChainEnd) -> None:
                # The session serves this one chain: its counts are the chain's.
                self.report = replace(end.report, requests=session.requests, retries=session.retries)

            end = yield from follow_chain(
                session,
                self.request,
                PageBudget(self.max_pages),
                pagination=self.pagination,
                token_param=self.token_param,
                stop_when=self.stop_when,
                clock=self.clock,
                progress=self.progress,
                on_end=ended,
            )
        error = end.report.error
        if error is None:
            return
        if end.report.pages == 0 or isinstance(error, UnsafeRequestError):
            raise error
        log.warning("fetch stopped after %d pages: %s", end.report.pages, error)
