"""Following chains of pages: the one page loop, its shared page budgets, and the lazy single-chain fetcher.

:func:`follow_chain` is the only loop that walks next-page links. :class:`PageFetcher` iterates it
lazily in the caller's thread (one chain); each worker of a
:class:`~twibox_nb.fetch.slicing.SliceFetcher` iterates one per date slice in its own thread. A
:class:`PageBudget` holds the page cap of one chain, a :class:`SliceBudget` the cap that all the
chains of a sliced fetch share. :class:`FetchOptions` are the keyword options both fetchers take.

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
from dataclasses import dataclass, field, replace
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


@dataclass(kw_only=True, eq=False)
class FetchOptions:
    """The keyword options that every fetcher takes, checked in this one place.

    :class:`PageFetcher` and :class:`~twibox_nb.fetch.slicing.SliceFetcher` are FetchOptions
    with their own arguments added.

    ``pagination`` is ``"next_page"`` (follow the links) or ``"none"`` (the first page only);
    ``max_pages`` caps the pages (None: no cap); ``token_param`` names the next-token parameter;
    ``progress(event)`` hears about every page; ``policy`` says how to retry (None: the default
    :class:`~twibox_nb.fetch.session.RetryPolicy`); ``sleep``, ``clock`` and ``jitter`` are injected
    time and chance (tests).

    >>> FetchOptions(max_pages=0)
    Traceback (most recent call last):
    ...
    ValueError: max_pages must be at least 1 (or None for no cap), got 0
    >>> FetchOptions(pagination="all")
    Traceback (most recent call last):
    ...
    ValueError: pagination must be 'none' or 'next_page', got 'all'
    """

    pagination: Pagination = "next_page"
    max_pages: int | None = None
    token_param: str = DEFAULT_TOKEN_PARAM
    progress: Callable[[Progress], None] | None = None
    policy: RetryPolicy | None = None
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    jitter: Jitter = random.random

    def __post_init__(self) -> None:
        if self.pagination not in PAGINATIONS:
            kinds = " or ".join(repr(kind) for kind in PAGINATIONS)
            raise ValueError(f"pagination must be {kinds}, got {self.pagination!r}")
        if self.max_pages is not None and self.max_pages < 1:
            raise ValueError(f"max_pages must be at least 1 (or None for no cap), got {self.max_pages!r}")
        self.policy = self.policy or RetryPolicy()


class PageBudget:
    """The page cap of one chain: permits first come, first served (thread-safe).

    A chain takes a permit for each page before asking for it, and says when it has ended
    (:meth:`finish`); ``max_pages=None`` grants every page. :attr:`capped_at` is the first page
    refused (None while none was). ``chain`` and ``page`` (the page's number in its chain) matter
    to a :class:`SliceBudget` only.

    >>> budget = PageBudget(2)
    >>> budget.take("p1"), budget.take("p2"), budget.take("p3"), budget.take("p4")
    (True, True, False, False)
    >>> budget.capped, budget.capped_at, budget.used
    (True, 'p3', 2)
    >>> PageBudget(None).take("p1")
    True
    """

    def __init__(self, max_pages: int | None) -> None:
        self.max_pages = max_pages
        self.used = 0
        self.capped_at: str | None = None
        self._lock = threading.Lock()

    @property
    def capped(self) -> bool:
        """Whether the cap has refused a page (some records are missing)."""
        return self.capped_at is not None

    def take(self, url: str, *, chain: int = 0, page: int = 0) -> bool:
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

    def finish(self, chain: int = 0) -> None:
        """Chain ``chain`` needs no more pages (nothing to do for one chain)."""


class SliceBudget(PageBudget):
    """The page cap that ``chains`` chains share, granted in a fixed order whatever the thread timing.

    Pages rank by (page number in their chain, chain index): every chain's first page, then every
    second page, and so on. The cap keeps the first ``max_pages`` pages of that order that the
    chains need, so which pages a capped fetch keeps depends on the data only. A chain asking for a
    page waits while pages ranked below it might still be needed (their chain has not yet got the
    page before them, nor ended) and could fill the cap first; it never waits when ``max_pages`` is
    at most ``chains`` (the first pages alone decide then). A chain that ends must say so
    (:meth:`finish`), or the chains ranked after it wait; :meth:`cancel` wakes every waiting chain
    with a refusal (the fetch is ending), and :attr:`cut_short` lists the chains it refused.
    :attr:`capped_at` is the lowest-ranked page refused.

    >>> budget = SliceBudget(3, chains=2)
    >>> budget.take("a0", chain=0, page=0), budget.take("b0", chain=1, page=0)
    (True, True)
    >>> budget.finish(1)  # chain 1 had one page only: chain 0 may have the rest
    >>> budget.take("a1", chain=0, page=1), budget.take("a2", chain=0, page=2), budget.capped_at
    (True, False, 'a2')
    """

    def __init__(self, max_pages: int | None, chains: int) -> None:
        super().__init__(max_pages)
        self._known = [1] * chains  # pages each chain is known to need: its first, at least
        self._open = [True] * chains  # whether it may need more
        self._cond = threading.Condition(self._lock)
        self._refused: tuple[int, int] | None = None  # the rank of capped_at
        self._cancelled = False
        self.cut_short: set[int] = set()

    def take(self, url: str, *, chain: int = 0, page: int = 0) -> bool:
        """A permit for page ``page`` of chain ``chain`` (at ``url``): True if it ranks within the cap."""
        if self.max_pages is None:
            return True
        with self._cond:
            self._known[chain] = max(self._known[chain], page + 1)
            self._cond.notify_all()
            verdict = self._verdict(chain, page)
            while verdict is None and not self._cancelled:
                self._cond.wait()
                verdict = self._verdict(chain, page)
            if verdict is None:  # cancelled: the fetch is ending, this is no cap
                self.cut_short.add(chain)
                return False
            if verdict:
                self.used += 1
            elif self._refused is None or (page, chain) < self._refused:
                self._refused, self.capped_at = (page, chain), url
            return verdict

    def _verdict(self, chain: int, page: int) -> bool | None:
        """Within the cap (True), beyond it (False), or not known yet (None): the needed pages ranked below."""
        assert self.max_pages is not None
        needed = unsure = 0
        for j, (known, more) in enumerate(zip(self._known, self._open, strict=True)):
            below = page + (j < chain)  # the pages of chain j that rank below (page, chain)
            needed += min(known, below)
            if more:
                unsure += max(0, below - known)
        if needed >= self.max_pages:
            return False
        return True if needed + unsure < self.max_pages else None

    def finish(self, chain: int = 0) -> None:
        """Chain ``chain`` needs no more pages: the chains waiting on it may go on."""
        with self._cond:
            self._open[chain] = False
            self._cond.notify_all()

    def cancel(self) -> None:
        """Refuse every page asked for from now on and wake the waiting chains (the fetch is ending)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()


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
) -> tuple[httpx.URL | None, StopReason | None, TwiboxError | None]:
    """Where a chain of pages goes after ``body``: ``(next URL, None, None)`` to go on, else why it stops.

    The reason is ``complete`` (no next link), ``range_start_passed`` (``stop_when`` says so),
    ``page_cap`` (a next link, but pagination ``"none"``: records are missing) or ``cycle`` (a link
    already visited). A malformed link (:class:`ResponseFormatError`, no URL) or a link off
    ``https://*.twilio.com`` (:class:`UnsafeRequestError`) comes back as the error that ends the
    chain, with nothing sent there.
    """
    try:
        nxt = detect(body, token_param).next_url(body, first=first, current=url)
    except ResponseFormatError as malformed:
        if pagination == "none":
            return None, "page_cap", None  # a link to more pages, never to be followed
        return None, None, malformed
    if nxt is None:
        return None, "complete", None
    if stop_when is not None and stop_when(body):
        return nxt, "range_start_passed", None
    if pagination == "none":
        return nxt, "page_cap", None
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
    chain: int = 0,
    clock: Clock = time.monotonic,
    progress: Callable[[Progress], None] | None = None,
    on_end: Callable[[ChainEnd], None] | None = None,
) -> Generator[Page, None, ChainEnd]:
    """Yield the pages of one chain, following next-page links; return how it ended (:class:`ChainEnd`).

    Lazy: each page is asked for only when the previous one has been taken, so a consumer may
    stop at any time and nothing more is sent. The headers of ``first_request`` are carried to
    every page (credentials and the host aside: the session adds those). Nothing is raised: an
    error, a malformed link or one off Twilio, a cycle or the cap end the chain and are in its end.

    Every page needs a permit from ``budget`` (as chain number ``chain`` of the budget): the first
    before its request, each later one as soon as the page before it has arrived and names it,
    before that page is handed out. So the chain's end is known, ``budget.finish(chain)`` and
    ``on_end(end)`` have been called, when its last page is yielded: a consumer that stops reading
    there still has it (one that stops earlier finishes the chain in the budget too).
    ``progress(event)`` hears about every page with the session's counts (for a session serving
    this chain alone).
    """
    first = first_request.url
    headers = httpx.Headers({k: v for k, v in first_request.headers.items() if k.lower() not in _DROP_HEADERS})
    started = clock()
    visited: set[str] = set()
    pages = records = 0

    def end(
        reason: StopReason, truncated: bool, error: TwiboxError | None = None, at: httpx.URL | None = None
    ) -> ChainEnd:
        budget.finish(chain)
        stopped_at = None if at is None else str(at)
        next_url = None if isinstance(error, UnsafeRequestError) else stopped_at  # a refused link is not kept
        report = FetchReport(pages, records, 0, 0, clock() - started, reason, truncated, error, next_url)
        done = ChainEnd(report, stopped_at)
        if on_end is not None:
            on_end(done)
        return done

    url = first
    try:
        if not budget.take(str(url), chain=chain, page=0):
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
                progress(
                    Progress(pages, records, session.requests, session.retries, elapsed, budget.max_pages, str(url))
                )
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
                more = reason in ("cycle", "page_cap")  # records are missing
                done = end(reason, more, at=nxt if more else None)
            elif not budget.take(str(nxt), chain=chain, page=pages):
                done = end("page_cap", True, at=nxt)
            yield page
            if done is not None:
                return done
            assert nxt is not None  # no end: _follow gave the next link
            url = nxt
    finally:
        budget.finish(chain)  # also when the consumer stopped early: the chain needs nothing more


@dataclass(eq=False, repr=False)
class PageFetcher(FetchOptions):
    """Iterate over the pages of one GET request, following next-page links.

    ``pagination="none"`` fetches the first page only (a next link on it ends the fetch with
    ``stop_reason="page_cap"``, truncated: records are missing); ``"next_page"`` follows the links
    the body carries (shape detected per body: ``next_page_uri``, ``meta.next_page_url`` or a next
    token sent as ``token_param``). ``max_pages`` caps the pages; ``stop_when(body)`` ends a
    newest-first list once a page has passed the range start; ``progress(event)`` hears about
    every page (the keyword options are :class:`FetchOptions`). After the last page,
    :attr:`report` says why the fetch stopped. An error on the first page is raised; a later one
    (a malformed next link too) ends the fetch with ``stop_reason="error"`` (kept in the report). A
    next link off ``https://*.twilio.com`` raises :class:`UnsafeRequestError`.

    The request is checked when the fetcher is built (GET, a Twilio URL): nothing is sent until
    it is iterated. Each iteration is a fresh fetch, walked by :func:`follow_chain` in the
    caller's thread; :attr:`report` is set before the last page is handed out.

    >>> from twibox_nb.fetch.connection import connect
    >>> conn = connect(sandbox=True)
    >>> request = httpx.Request("GET", "https://monitor.twilio.com/v1/Alerts?PageSize=20")
    >>> fetcher = PageFetcher(conn, request, max_pages=3)
    >>> sum(len(page.records) for page in fetcher) == fetcher.report.records
    True
    >>> one = PageFetcher(conn, request, pagination="none")
    >>> len(list(one)), one.report.stop_reason, one.report.truncated
    (1, 'page_cap', True)
    >>> delete = httpx.Request("DELETE", "https://api.twilio.com/2010-04-01/Accounts/AC1.json")
    >>> PageFetcher(conn, delete)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.UnsafeRequestError: refusing to send DELETE ...: twibox_nb only reads, ...
    """

    conn: Connection
    request: httpx.Request
    stop_when: Callable[[Any], bool] | None = field(default=None, kw_only=True)
    report: FetchReport | None = field(default=None, init=False)  # set when a fetch ends (None while one runs)

    def __post_init__(self) -> None:
        _check_get(self.request)
        super().__post_init__()

    def __iter__(self) -> Iterator[Page]:
        return self._run()

    def _run(self) -> Iterator[Page]:
        self.report = None
        assert self.policy is not None  # FetchOptions sets the default
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
