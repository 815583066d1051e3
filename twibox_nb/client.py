"""The one module that talks to the network: GET with retries, page after page, and a report.

Requests are built elsewhere as plain ``httpx.Request`` values (``request.py``); this module sends
them through one ``httpx.Client`` on the connection's transport (the sandbox, a test double, or
the real network), retries what is worth retrying, follows next-page links with the paginators of
:mod:`twibox_nb.pagination`, and says why it stopped.

Promises kept here:

* **Read only.** Anything but GET is refused before it reaches a transport.
* **Credentials go to Twilio only.** A next-page link that is not ``https://*.twilio.com`` is
  refused before anything is sent to it (``TwilioAuth`` checks every request a second time).
* **No secret in any message.** Errors, reports, progress events, log lines and
  :class:`Diagnosis` carry URLs, statuses and Twilio's error JSON, never a header or a body.
* **Time is injected.** ``sleep``, ``clock`` and the jitter draw are arguments, so tests check the
  exact backoff delays without waiting.

>>> from twibox_nb.connection import connect
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
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._exceptions import FetchError, ResponseFormatError, TwiboxError, TwilioAPIError, UnsafeRequestError
from .connection import is_twilio_url
from .pagination import DEFAULT_TOKEN_PARAM, detect
from .records import find_records
from .slices import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, check_concurrency

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "RETRY_STATUSES",
    "Diagnosis",
    "FetchReport",
    "Page",
    "PageFetcher",
    "Progress",
    "RetryPolicy",
    "Slice",
    "SliceFetcher",
    "diagnose",
    "fetch_all",
    "fetch_slices",
]

log = logging.getLogger(__name__)


def _json_decoder() -> Callable[[bytes], Any]:
    """orjson's decoder when installed (the ``fast`` extra: twice as fast on a page of 1000
    records, the largest CPU cost of a fetch), else the standard library's. Both raise a
    ``ValueError`` on malformed JSON."""
    try:
        import orjson
    except ImportError:
        import json

        return json.loads
    return orjson.loads


_decode_json = _json_decoder()

StopReason = Literal["complete", "page_cap", "cycle", "range_start_passed", "error"]
Pagination = Literal["none", "next_page"]
Sleep = Callable[[float], None]
Clock = Callable[[], float]
Jitter = Callable[[], float]  # a draw in [0, 1), like random.random

#: Statuses worth another try: rate limiting and the server errors a retry can cure.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Headers of the first request that must not be copied onto later ones: the host changes with
# the link, and credentials are added by TwilioAuth alone (never carried around by hand).
_DROP_HEADERS = frozenset({"host", "authorization", "content-length", "content-type", "transfer-encoding", "cookie"})


def _user_agent() -> str:
    try:
        return f"twibox_nb/{version('twibox-nb')}"
    except PackageNotFoundError:  # a source tree that was never installed
        return "twibox_nb"


# --- retries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded retries with exponential backoff and jitter.

    Retry ``n`` (0 for the first retry) waits ``min(max_delay, base_delay * multiplier**n)``,
    shortened by up to ``jitter`` of itself (a random share, so that many clients hit by the
    same 429 do not come back in lockstep). A ``Retry-After`` header (seconds) is honoured
    exactly instead; one longer than ``max_retry_after`` ends the retries at once rather than
    stall a notebook. ``timeout`` applies to connecting and to each read.

    >>> policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    >>> [policy.backoff(n, draw=0.0) for n in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
    >>> policy.backoff(1, draw=0.5)
    1.5
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    timeout: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("RetryPolicy.max_retries cannot be negative")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy delays cannot be negative")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be at least 1 (delays never shrink)")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("RetryPolicy.jitter is a share between 0 and 1")
        if self.timeout <= 0:
            raise ValueError("RetryPolicy.timeout must be positive")

    def backoff(self, retry: int, draw: float) -> float:
        """The wait before retry number ``retry`` (0-based), ``draw`` a jitter draw in [0, 1)."""
        capped = min(self.max_delay, self.base_delay * self.multiplier**retry)
        return capped * (1.0 - self.jitter * draw)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, or None when absent or not a number of seconds."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from Twilio, and the backoff is a safe stand-in
    return seconds if seconds >= 0 else None


def _api_error(response: httpx.Response, url: httpx.URL, note: str = "") -> TwilioAPIError:
    """A TwilioAPIError from Twilio's error JSON (or from the status line when there is none)."""
    code: int | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    more_info: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body["code"] if isinstance(body.get("code"), int) else None
        message = str(body["message"]) if body.get("message") else message
        more_info = str(body["more_info"]) if body.get("more_info") else None
    if 300 <= response.status_code < 400:
        target = httpx.URL(response.headers.get("Location", ""))
        message = f"redirect to {target.host or 'another place'} not followed (credentials only go to Twilio hosts)"
    return TwilioAPIError(response.status_code, code, message + note, more_info, str(url))


class _Borrowed(httpx.BaseTransport):
    """The connection's transport, lent to one client: closing the client must not close it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass  # the connection owns the transport and is used again


class _Session:
    """One ``httpx.Client`` for one fetch, with the retry loop and its counters.

    Thread-safe when shared by the workers of a :class:`SliceFetcher`: the counters are updated
    under a lock, the connection pool holds ``pool`` connections, and every attempt (retries
    included) first takes a permit from ``limiter`` when there is one.
    """

    def __init__(
        self,
        conn: Connection,
        policy: RetryPolicy,
        sleep: Sleep,
        jitter: Jitter,
        *,
        limiter: _AdaptiveLimit | None = None,
        pool: int | None = None,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.jitter = jitter
        self.limiter = limiter
        self.requests = 0
        self.retries = 0
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool) if pool else None
        self.client = httpx.Client(
            transport=_Borrowed(conn.transport) if conn.transport is not None else None,  # None: the network
            auth=conn.auth(),
            follow_redirects=False,  # a redirect could carry the credentials elsewhere
            timeout=httpx.Timeout(policy.timeout),
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            **({"limits": limits} if limits is not None else {}),
        )

    def _count(self, retry: bool = False) -> None:
        with self._lock:
            if retry:
                self.retries += 1
            else:
                self.requests += 1

    def _send(self, request: httpx.Request) -> httpx.Response:
        if self.limiter is None:
            return self.client.send(request)
        ticket = self.limiter.acquire()
        throttled = False
        try:
            response = self.client.send(request)
            throttled = response.status_code == 429
            return response
        finally:
            self.limiter.release(ticket, throttled)

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def get_page(self, url: httpx.URL, headers: httpx.Headers, number: int, clock: Clock) -> Page:
        """Page ``number`` of a chain, from ``url``: its body, its records and how long it took (retries included)."""
        started = clock()
        status, body = self.get_json(url, headers)
        return Page(str(url), status, body, number, clock() - started, find_records(body)[1])

    def get_json(self, url: httpx.URL, headers: httpx.Headers) -> tuple[int, Any]:
        """GET ``url`` and decode its JSON, retrying as the policy says; raise when it gives up."""
        policy = self.policy
        retry = 0
        while True:
            self._count()
            # A fresh request every attempt: a transport may rewrite the one it is given
            # (LoopbackTransport does), and the retry must go to the Twilio URL again.
            request = self.client.build_request("GET", url, headers=headers)
            try:
                response = self._send(request)
            except httpx.TransportError as exc:  # refused, reset, timed out, or a body cut off
                failure = _Failure("network error", url, exc=exc)
            except httpx.DecodingError as exc:  # a compressed body that does not decompress
                failure = _Failure("undecodable body", url, exc=exc)
            else:
                if response.is_success:
                    try:
                        return response.status_code, _decode_json(response.content)
                    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
                        failure = _Failure("malformed JSON", url, exc=exc)
                elif response.status_code in RETRY_STATUSES:
                    failure = _Failure(f"HTTP {response.status_code}", url, response=response)
                else:
                    raise _api_error(response, url)  # other 4xx: a retry would get the same answer
            retry_after = failure.retry_after
            if retry >= policy.max_retries:
                raise failure.error(retry) from failure.exc
            if retry_after is not None and retry_after > policy.max_retry_after:
                log.warning(
                    "GET %s: Twilio asked to wait %.0f s, more than max_retry_after; giving up", url, retry_after
                )
                raise failure.error(retry) from failure.exc
            wait = retry_after if retry_after is not None else policy.backoff(retry, self.jitter())
            log.info("GET %s: %s; retry %d of %d in %.2f s", url, failure.label, retry + 1, policy.max_retries, wait)
            self.sleep(wait)
            retry += 1
            self._count(retry=True)


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what to log now, and the error to raise if it was the last."""

    label: str
    url: httpx.URL
    exc: Exception | None = None
    response: httpx.Response | None = None

    @property
    def retry_after(self) -> float | None:
        return _retry_after(self.response) if self.response is not None else None

    def error(self, retries: int) -> TwiboxError:
        after = f" (gave up after {retries} {'retry' if retries == 1 else 'retries'})" if retries else ""
        if self.response is not None:
            return _api_error(self.response, self.url, after)
        if isinstance(self.exc, httpx.TransportError):
            reason = f"{type(self.exc).__name__}: {self.exc}" if str(self.exc) else type(self.exc).__name__
            return FetchError(f"GET {self.url}: {reason}{after}")
        # The decoder's message names a position, never the content, so it is safe to show.
        return ResponseFormatError(f"GET {self.url}: the answer is not the JSON Twilio sends ({self.exc}){after}")


def _check_get(request: httpx.Request) -> None:
    if request.method.upper() != "GET":
        raise UnsafeRequestError(
            f"refusing to send {request.method.upper()} {request.url}: twibox_nb only reads, and methods "
            "other than GET change the account (send messages, update or delete resources)"
        )
    if not is_twilio_url(request.url):
        raise UnsafeRequestError(
            f"refusing to send a request to {request.url.scheme}://{request.url.host}: "
            "only https://*.twilio.com is asked (the sandbox answers for those hosts too)"
        )


# --- pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Page:
    """One page as it arrived. ``number`` is 0 for the first page, as Twilio's ``page`` counts;
    ``elapsed`` is the seconds it took, retries and their waits included."""

    url: str
    status: int
    body: Any
    number: int
    elapsed: float
    records: list[Any] = field(default_factory=list)  # the records in ``body`` (find_records)

    def __repr__(self) -> str:  # bodies are large (and may hold an auth token): never shown
        return f"Page(number={self.number}, status={self.status}, records={len(self.records)}, url={self.url!r})"


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

    ``truncated`` says records may be missing: a page cap with more pages left, a link cycle,
    or an error after some pages (``error`` holds it; the caller shows a warning).
    ``range_start_passed`` is not truncation: the list is newest first and the rest is older
    than the range. ``requests`` counts every attempt, retries included.

    >>> FetchReport(3, 150, 4, 1, 0.5, "page_cap", True, next_url="https://api.twilio.com/x").summary()
    '3 pages, 150 records in 4 requests (1 retry); stopped at the page cap with more pages left (records are missing)'
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
        why = {
            "complete": "complete",
            "page_cap": "stopped at the page cap with more pages left",
            "cycle": "stopped: a next-page link pointed back at a page already fetched",
            "range_start_passed": "stopped once the records were older than the range start",
            "error": f"stopped by an error: {self.error}",
        }[self.stop_reason]
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

    >>> from twibox_nb.connection import connect
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


_DONE = object()  # a worker has finished (sent through the page queue)


class SliceFetcher:
    """Fetch several slices of one range concurrently, each slice with its own next-page chain.

    Iterating yields ``(slice index, Page)`` pairs as pages arrive, in the consumer's thread;
    ``progress`` is called from that thread too (notebook widgets are not thread-safe) with the
    numbers of all slices together. Up to ``concurrency`` worker threads (default
    :data:`~twibox_nb.slices.DEFAULT_CONCURRENCY`, at most :data:`~twibox_nb.slices.MAX_CONCURRENCY`)
    share one ``httpx.Client`` whose pool holds that many connections; at most
    ``2 × concurrency`` fetched pages wait for the consumer, so memory stays bounded. On a 429
    the number of requests in flight halves and creeps back up after a run of successes; the
    request itself is retried as ``policy`` says.

    ``max_pages`` caps the pages of all slices together: the first pages of the first
    ``max_pages`` slices are reserved up front (so which pages a cap leaves out does not depend on
    thread timing), later pages are granted while the budget lasts; a slice refused a page stops
    and the report says ``page_cap`` (truncated). An error before any page is raised; an error after some
    pages stops every slice and ends the fetch with ``stop_reason="error"`` (truncated). After
    the iteration, :attr:`report` sums everything up (``slices``, ``concurrency`` = the most
    requests in flight, ``throttled_to``) and :attr:`slice_reports` says how each slice ended
    (None for a slice stopped because another one ended the fetch).

    >>> from twibox_nb.connection import connect
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
        if pagination not in ("none", "next_page"):
            raise ValueError(f"pagination must be 'none' or 'next_page', got {pagination!r}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1 (or None for no cap), got {max_pages!r}")
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
        stop = threading.Event()  # no new request: the cap was reached or a slice failed
        abandoned = threading.Event()  # the consumer went away: drop what is left
        lock = threading.Lock()
        reserved = min(n, self.max_pages) if self.max_pages is not None else 0  # first pages, up front
        shared: dict[str, Any] = {"reserved": reserved, "capped": None, "error": None, "failed_at": None}
        started = self.clock()

        def put(item: Any) -> bool:
            while not abandoned.is_set():
                try:
                    pages_out.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def fail(index: int, error: TwiboxError, url: httpx.URL) -> None:
            with lock:
                if shared["error"] is None:
                    shared["error"], shared["failed_at"] = error, str(url)
            stop.set()

        def chain(index: int, session: _Session) -> None:
            part = self.slices[index]
            first = part.request.url
            headers = httpx.Headers({k: v for k, v in part.request.headers.items() if k.lower() not in _DROP_HEADERS})
            chain_started = self.clock()
            visited: set[str] = set()
            pages = records = 0
            url = first

            def finish(reason: StopReason, truncated: bool, error: TwiboxError | None = None) -> None:
                self.slice_reports[index] = FetchReport(
                    pages, records, 0, 0, self.clock() - chain_started, reason, truncated, error
                )

            while True:
                if stop.is_set():
                    return  # another slice ended the fetch: this one is incomplete (no report)
                if self.max_pages is not None:
                    # The first pages of the first max_pages slices are reserved up front, so the
                    # pages a cap leaves out do not depend on thread timing; later pages are
                    # granted while the budget lasts.
                    with lock:
                        granted = index < self.max_pages if pages == 0 else shared["reserved"] < self.max_pages
                        if not granted:
                            if shared["capped"] is None:
                                shared["capped"] = str(url)
                            return
                        if pages > 0:
                            shared["reserved"] += 1
                visited.add(str(url))
                try:
                    page = session.get_page(url, headers, pages, self.clock)
                except (TwilioAPIError, ResponseFormatError, FetchError) as exc:
                    finish("error", True, exc)
                    fail(index, exc, url)
                    return
                body = page.body
                pages += 1
                records += len(page.records)
                nxt, reason, refused = _follow(
                    body,
                    url=url,
                    first=first,
                    pagination=self.pagination,
                    token_param=self.token_param,
                    stop_when=part.stop_when,
                    visited=visited,
                )
                if refused is not None:
                    finish("error", True, refused)
                    put((index, page))
                    fail(index, refused, nxt)
                    return
                if reason is not None:
                    finish(reason, reason == "cycle")
                if not put((index, page)) or reason is not None:
                    return
                url = nxt

        def work(session: _Session) -> None:
            try:
                while not stop.is_set():
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    chain(index, session)
            except BaseException as exc:  # a bug or an interrupt in a worker must not hang the consumer
                fail(-1, FetchError(f"a fetch worker failed: {type(exc).__name__}: {exc}"), httpx.URL())
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
        error: TwiboxError | None = shared["error"]
        reasons = [r.stop_reason for r in self.slice_reports if r is not None]
        if error is not None:
            reason: StopReason = "error"
        elif shared["capped"] is not None:
            reason = "page_cap"
        else:
            reason = next((r for r in ("cycle", "range_start_passed") if r in reasons), "complete")
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
            next_url=shared["failed_at"] if error is not None else shared["capped"],
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


# --- diagnosis -----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Diagnosis:
    """The answer to "do these credentials work?", in plain words (``Connection.test()``).

    >>> Diagnosis(False, 401, 20003, "Twilio did not accept these credentials.",
    ...           "https://www.twilio.com/docs/errors/20003")
    Diagnosis: FAILED (HTTP 401, Twilio error 20003)
      Twilio did not accept these credentials.
      More: https://www.twilio.com/docs/errors/20003
    """

    ok: bool
    status: int | None
    code: int | None
    message: str
    more_info: str | None = None
    url: str | None = None
    friendly_name: str | None = None
    sandbox: bool = False
    elapsed: float | None = None  # seconds until the answer (or until giving up), retries included

    def __str__(self) -> str:
        detail = [f"HTTP {self.status}"] if self.status is not None else ["no answer"]
        if self.code is not None:
            detail.append(f"Twilio error {self.code}")
        lines = [f"Diagnosis: {'OK' if self.ok else 'FAILED'} ({', '.join(detail)})", f"  {self.message}"]
        if self.more_info:
            lines.append(f"  More: {self.more_info}")
        return "\n".join(lines)

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.ok


def _where(conn: Connection) -> str:
    parts = [f"region {conn.region!r}" if conn.region else "", f"edge {conn.edge!r}" if conn.edge else ""]
    return " and ".join(p for p in parts if p)


def diagnose(
    conn: Connection,
    *,
    policy: RetryPolicy | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    jitter: Jitter = random.random,
) -> Diagnosis:
    """One GET of the account resource, explained: are the credentials, region and network right?

    >>> from twibox_nb.connection import connect
    >>> d = diagnose(connect(sandbox=True))
    >>> d.ok, d.sandbox, d.friendly_name
    (True, True, 'twibox sandbox (demo data)')
    """
    url = httpx.URL(f"{conn.base_url('api')}/2010-04-01/Accounts/{conn.account_sid}.json")
    policy = policy or RetryPolicy(max_retries=2, timeout=15.0)
    started = clock()
    try:
        with _Session(conn, policy, sleep, jitter) as session:
            status, body = session.get_json(url, httpx.Headers())
    except (TwilioAPIError, FetchError, ResponseFormatError) as exc:
        status = exc.status if isinstance(exc, TwilioAPIError) else None
        return Diagnosis(
            ok=False,
            status=status,
            code=exc.code if isinstance(exc, TwilioAPIError) else None,
            message=_explain(exc, conn, url.host),
            more_info=exc.more_info if isinstance(exc, TwilioAPIError) else None,
            url=str(url),
            sandbox=conn.is_sandbox,
            elapsed=clock() - started,
        )
    # Only the friendly name and status are read: the body may hold the auth token.
    name = body.get("friendly_name") if isinstance(body, dict) else None
    state = body.get("status") if isinstance(body, dict) else None
    message = f"Connected to {conn.label}" + (f", friendly name {name!r}." if name else ".")
    if state not in (None, "active"):
        message += f" Note: the account is {state}."
    return Diagnosis(True, status, None, message, None, str(url), name, conn.is_sandbox, clock() - started)


def _explain(exc: TwiboxError, conn: Connection, host: str) -> str:
    """What a failed diagnosis means, and what to try."""
    where = _where(conn)
    if isinstance(exc, FetchError):
        hint = (
            f"the {where} name may be wrong (Twilio hosts are product.edge.region.twilio.com), or there is no network"
            if where
            else "there may be no network connection, or a proxy or firewall blocks it"
        )
        return f"Could not reach {host}: {hint}. ({exc})"
    if not isinstance(exc, TwilioAPIError):
        return f"{host} did not answer like Twilio: {exc}"
    if exc.status == 401 and where:
        return (
            f"Twilio at {host} did not accept these credentials. Credentials belong to one region: the "
            f"account or this API key may live in another region than {where} (try without region/edge, "
            "or the region where the key was created), or the key SID or secret is wrong."
        )
    if exc.status == 401:
        return (
            "Twilio did not accept these credentials: check the API key SID and its secret (or the auth "
            "token), and that the key was not deleted. They come from the arguments or TWILIO_API_KEY, "
            "TWILIO_API_SECRET, TWILIO_AUTH_TOKEN."
        )
    if exc.status == 403:
        return (
            f"The credentials are valid but may not read account {conn.account_sid} ({exc.message}): a "
            "restricted API key needs read access to the resources you want, or use a standard key."
        )
    if exc.status == 404:
        return (
            f"Account {conn.account_sid} was not found with these credentials: check TWILIO_ACCOUNT_SID "
            "(the API key must belong to that account)."
        )
    if exc.status in RETRY_STATUSES:
        return f"Twilio is busy or failing right now ({exc.message}); try again in a minute."
    return f"Twilio answered: {exc.message}."
