"""Following one chain of pages: where a page leads next, and the lazy single-chain fetcher.

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
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import FetchError, ResponseFormatError, TwiboxError, TwilioAPIError, UnsafeRequestError
from .hosts import is_twilio_url
from .pagination import DEFAULT_TOKEN_PARAM, detect
from .report import FetchReport, Progress
from .session import (
    _DROP_HEADERS,
    Clock,
    Jitter,
    Page,
    Pagination,
    RetryPolicy,
    Sleep,
    StopReason,
    _check_get,
    _Session,
)

if TYPE_CHECKING:
    from .connection import Connection

log = logging.getLogger(__name__)


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
    it is iterated. Each iteration is a fresh fetch.

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
        if pagination not in ("none", "next_page"):
            raise ValueError(f"pagination must be 'none' or 'next_page', got {pagination!r}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1 (or None for no cap), got {max_pages!r}")
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
        first = self.request.url
        headers = httpx.Headers({k: v for k, v in self.request.headers.items() if k.lower() not in _DROP_HEADERS})
        started = self.clock()
        visited: set[str] = set()
        pages = records = 0
        url = first
        with _Session(self.conn, self.policy, self.sleep, self.jitter) as session:

            def finish(
                reason: StopReason, truncated: bool, error: TwiboxError | None = None, nxt: httpx.URL | None = None
            ) -> None:
                self.report = FetchReport(
                    pages=pages,
                    records=records,
                    requests=session.requests,
                    retries=session.retries,
                    elapsed=self.clock() - started,
                    stop_reason=reason,
                    truncated=truncated,
                    error=error,
                    next_url=None if nxt is None else str(nxt),
                )

            while True:
                visited.add(str(url))
                try:
                    page = session.get_page(url, headers, pages, self.clock)
                except (TwilioAPIError, ResponseFormatError, FetchError) as exc:
                    finish("error", pages > 0, exc, url)
                    if pages == 0:
                        raise
                    log.warning("fetch stopped after %d pages: %s", pages, exc)
                    return
                body = page.body
                pages += 1
                records += len(page.records)
                if self.progress is not None:
                    self.progress(
                        Progress(
                            pages,
                            records,
                            session.requests,
                            session.retries,
                            self.clock() - started,
                            self.max_pages,
                            str(url),
                        )
                    )
                nxt, reason, refused = _follow(
                    body,
                    url=url,
                    first=first,
                    pagination=self.pagination,
                    token_param=self.token_param,
                    stop_when=self.stop_when,
                    visited=visited,
                )
                # The report is written before the last page is handed out, so it is there even
                # when the consumer stops reading after that page.
                if refused is not None:
                    finish("error", True, refused)
                    yield page
                    raise refused
                if reason is not None:
                    finish(reason, reason == "cycle", nxt=nxt if reason == "cycle" else None)
                elif self.max_pages is not None and pages >= self.max_pages:
                    finish("page_cap", True, nxt=nxt)
                yield page
                if self.report is not None:
                    return
                url = nxt
