"""One fetch's HTTP session: GET with retries and backoff, Twilio's errors, and one decoded page.

The only place twibox_nb creates an ``httpx.Client``. Requests are built elsewhere as plain
``httpx.Request`` values (:mod:`.request`); a session sends them through the connection's transport
(the sandbox, a test double, or the real network) and retries what is worth retrying.

Promises kept in :mod:`twibox_nb.fetch`:

* **Read only.** Anything but GET is refused before it reaches a transport.
* **Credentials go to Twilio only.** A next-page link that is not ``https://*.twilio.com`` is
  refused before anything is sent to it (``TwilioAuth`` checks every request a second time).
* **No secret in any message.** Errors, reports, progress events, log lines and diagnoses carry
  URLs, statuses and Twilio's error JSON, never a header or a body.
* **Time is injected.** ``sleep``, ``clock`` and the jitter draw are arguments, so tests check the
  exact backoff delays without waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import FetchError, ResponseFormatError, TwiboxError, TwilioAPIError, UnsafeRequestError
from .._version import __version__
from ..model.records import find_records
from .hosts import is_twilio_url

if TYPE_CHECKING:
    from .connection import Connection
    from .slicing import _AdaptiveLimit


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

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Jitter = Callable[[], float]  # a draw in [0, 1), like random.random

#: Statuses worth another try: rate limiting and the server errors a retry can cure.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Headers of the first request that must not be copied onto later ones: the host changes with
# the link, and credentials are added by TwilioAuth alone (never carried around by hand).
_DROP_HEADERS = frozenset({"host", "authorization", "content-length", "content-type", "transfer-encoding", "cookie"})


#: How twibox_nb names itself to Twilio, on every request it sends.
USER_AGENT = f"twibox_nb/{__version__} (+https://github.com/twibox/twibox_nb)"
#: The headers of every request: the JSON answer, and who asks.
DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": USER_AGENT}


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
            headers=DEFAULT_HEADERS,
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


_DONE = object()  # a worker has finished (sent through the page queue)
