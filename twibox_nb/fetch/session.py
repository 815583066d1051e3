"""One fetch's HTTP session: GET with retries and backoff, Twilio's errors, and one decoded page.

The only place twibox_nb creates an ``httpx.Client``. Requests are built elsewhere as plain
``httpx.Request`` values (:mod:`.request`); a session sends them through the connection's transport
(the sandbox, a test double, or the real network) and retries what is worth retrying.

Promises kept in :mod:`twibox_nb.fetch`:

* **Read only.** Anything but GET is refused before it reaches a transport.
* **Credentials go to Twilio only.** A next-page link that is not ``https://*.twilio.com`` is
  refused before anything is sent to it (``TwilioAuth`` checks every request a second time).
* **No secret in any message.** Errors, reports, progress events, log lines and diagnoses carry
  URLs, statuses and Twilio's error JSON, never a header or a body. Nor in a traceback: the errors
  a session raises chain no httpx exception (``__cause__`` and ``__context__`` are None; the
  cause is kept as text), so a traceback shown with its frames' locals (``%xmode Verbose``,
  ``pytest --showlocals``, error trackers) holds no ``Authorization`` header of httpcore's.
* **Bounded.** A page is read as it streams and never past ``RetryPolicy.max_page_bytes`` decoded
  (64 MB: a gzip bomb stops there, as an endless body does), a request attempt never past
  ``RetryPolicy.deadline`` seconds (120 s, every byte's wait counted, so a dripping body ends
  too), and the backoff waits of one fetch, ``Retry-After`` included, never past
  ``RetryPolicy.retry_budget`` seconds (180 s) across all its chains and threads. Past a limit the
  fetch stops with an error that names the limit, its value and the field that raises it. Only the
  content codings asked for (gzip, deflate) are undone; a JSON page too deep for the decoder is a
  :class:`ResponseFormatError`, never a ``RecursionError``.
* **Time is injected.** ``sleep``, ``clock`` and the jitter draw are arguments, so tests check the
  exact backoff delays without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import (
    FetchError,
    LimitExceededError,
    ResponseFormatError,
    TwiboxError,
    TwilioAPIError,
    UnsafeRequestError,
)
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
    ``ValueError`` on malformed JSON; the standard one a ``RecursionError`` on a page nested too
    deep (the session turns any failure into a :class:`ResponseFormatError`)."""
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
#: The content codings a session asks for and undoes itself, within the size limit (httpx would
#: also offer br and zstd when installed, which decode without a bound).
_ENCODINGS = {"": None, "identity": None, "gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_ACCEPT_ENCODING = "gzip, deflate"


# --- retries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try, and how far: bounded retries with exponential backoff and jitter, and the
    limits of a fetch.

    Retry ``n`` (0 for the first retry) waits ``min(max_delay, base_delay * multiplier**n)``,
    shortened by up to ``jitter`` of itself (a random share, so that many clients hit by the
    same 429 do not come back in lockstep). A ``Retry-After`` header (seconds) is honoured
    exactly instead; one longer than ``max_retry_after`` ends the retries at once rather than
    stall a notebook. ``timeout`` applies to connecting and to each read.

    The limits: ``max_page_bytes`` caps a page's decoded size (counted as it streams, before a
    compressed body is fully undone), ``deadline`` the seconds of one request attempt, every byte's
    wait counted (real time, even when ``sleep`` and ``clock`` are injected), and ``retry_budget``
    the seconds of backoff waits, ``Retry-After`` included, that one fetch may spend across all its
    chains and threads. Use ``math.inf`` for no limit.

    >>> policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    >>> [policy.backoff(n, draw=0.0) for n in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
    >>> policy.backoff(1, draw=0.5)
    1.5
    >>> RetryPolicy(max_page_bytes=256 * 2**20, deadline=300.0, retry_budget=600.0).max_page_bytes
    268435456
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    timeout: float = 30.0
    max_retry_after: float = 120.0
    max_page_bytes: int = 64 * 1024 * 1024  # Twilio's largest pages (1000 records) are a few MB
    deadline: float = 120.0
    retry_budget: float = 180.0

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
        if not self.max_page_bytes > 0:
            raise ValueError("RetryPolicy.max_page_bytes must be positive (bytes of one decoded page)")
        if not self.deadline > 0:
            raise ValueError("RetryPolicy.deadline must be positive (seconds of one request)")
        if not self.retry_budget >= 0:
            raise ValueError("RetryPolicy.retry_budget cannot be negative (seconds of waits in one fetch)")

    def backoff(self, retry: int, draw: float) -> float:
        """The wait before retry number ``retry`` (0-based), ``draw`` a jitter draw in [0, 1)."""
        capped = min(self.max_delay, self.base_delay * self.multiplier**retry)
        return capped * (1.0 - self.jitter * draw)


@dataclass(frozen=True, repr=False)
class _Answer:
    """An answer read within the limits: its status line, headers and decoded body."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes | bytearray


def _retry_after(answer: _Answer) -> float | None:
    """``Retry-After`` in seconds, or None when absent or not a number of seconds."""
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from Twilio, and the backoff is a safe stand-in
    return seconds if seconds >= 0 else None


def _decode(body: bytes | bytearray) -> tuple[Any, str | None]:
    """The JSON of a body, or what is wrong with it (a position, never the content)."""
    try:
        return _decode_json(body), None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, too deep
        return None, str(exc) or type(exc).__name__
    except Exception as exc:  # any other decoder failure: its type only (its text could quote the body)
        return None, f"the decoder failed: {type(exc).__name__}"


def _api_error(answer: _Answer, url: httpx.URL, note: str = "") -> TwilioAPIError:
    """A TwilioAPIError from Twilio's error JSON (or from the status line when there is none)."""
    code: int | None = None
    message = answer.reason or f"HTTP {answer.status}"
    more_info: str | None = None
    body, _ = _decode(answer.body)
    if isinstance(body, dict):
        code = body["code"] if isinstance(body.get("code"), int) else None
        message = str(body["message"]) if body.get("message") else message
        more_info = str(body["more_info"]) if body.get("more_info") else None
    if 300 <= answer.status < 400:
        target = httpx.URL(answer.headers.get("Location", ""))
        message = f"redirect to {target.host or 'another place'} not followed (credentials only go to Twilio hosts)"
    return TwilioAPIError(answer.status, code, message + note, more_info, str(url))


def _limit(url: httpx.URL, what: str, field_name: str, value: float) -> LimitExceededError:
    return LimitExceededError(
        f"GET {url}: {what}; stopped there. Raise the limit with RetryPolicy({field_name}=...) "
        "(the policy= argument of fetch_metric, PageFetcher or SliceFetcher)",
        field_name,
        value,
    )


def _read(response: httpx.Response, url: httpx.URL, policy: RetryPolicy, started: float) -> bytearray:
    """The decoded body of ``response``, read as it streams within the size limit and the deadline.

    Raises :class:`LimitExceededError` past a limit and :class:`ResponseFormatError` for a content
    coding that was not asked for; httpx's ``TransportError`` and ``zlib.error`` are the caller's.
    """
    limit = policy.max_page_bytes
    if response.is_stream_consumed:  # an answer held in memory (a test double, the in-process sandbox)
        chunks: Iterable[bytes] = [response.content]  # decoded already
        coding = ""
    else:  # raw chunks as they arrive: one that decodes to nothing still meets the clock
        chunks, coding = response.iter_raw(), response.headers.get("Content-Encoding", "").strip().lower()
    if coding not in _ENCODINGS:
        raise ResponseFormatError(
            f"GET {url}: the answer came with Content-Encoding {coding!r}, which twibox_nb did not ask for "
            f"(it asks for {_ACCEPT_ENCODING!r})"
        )
    undo = None if _ENCODINGS[coding] is None else zlib.decompressobj(_ENCODINGS[coding])
    fresh = True  # nothing undone yet: a deflate body may still turn out to be raw deflate
    body = bytearray()
    for raw in chunks:
        if (waited := _clock() - started) > policy.deadline:
            what = f"the answer took more than the deadline of {policy.deadline:g} s per request"
            raise _limit(url, f"{what} ({len(body):,} bytes in {waited:.1f} s)", "deadline", policy.deadline)
        pending = raw
        while pending:
            if undo is None:
                piece, pending = pending, b""
            else:
                try:  # never more than one byte past the limit, however well the body compresses
                    piece = undo.decompress(pending, limit - len(body) + 1)
                except zlib.error:
                    if coding != "deflate" or not fresh:
                        raise
                    undo, fresh = zlib.decompressobj(-zlib.MAX_WBITS), False  # deflate without the zlib wrapper
                    continue
                pending, fresh = undo.unconsumed_tail, False
            body += piece
            if len(body) > limit:
                what = f"the page passed the size limit of {limit:,} bytes decoded"
                raise _limit(url, what, "max_page_bytes", limit)
    return body


_clock: Clock = time.monotonic  # the deadline's clock: real time, whatever the fetch's injected clock says


class _Borrowed(httpx.BaseTransport):
    """The connection's transport, lent to one client: closing the client must not close it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass  # the connection owns the transport and is used again


class _Session:
    """One ``httpx.Client`` for one fetch, with the retry loop, its counters and its retry budget.

    Thread-safe when shared by the workers of a :class:`SliceFetcher`: the counters and the
    budget's waits are updated under a lock, the connection pool holds ``pool`` connections, and
    every attempt (retries included) first takes a permit from ``limiter`` when there is one.
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
        self.waited = 0.0  # seconds of backoff waits granted so far, against policy.retry_budget
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool) if pool else None
        self.client = httpx.Client(
            transport=_Borrowed(conn.transport) if conn.transport is not None else None,  # None: the network
            auth=conn.auth(),
            follow_redirects=False,  # a redirect could carry the credentials elsewhere
            timeout=httpx.Timeout(policy.timeout),
            headers={**DEFAULT_HEADERS, "Accept-Encoding": _ACCEPT_ENCODING},
            **({"limits": limits} if limits is not None else {}),
        )

    def _count(self, retry: bool = False) -> None:
        with self._lock:
            if retry:
                self.retries += 1
            else:
                self.requests += 1

    def _spend(self, wait: float) -> bool:
        """Take ``wait`` seconds from the retry budget; False (nothing taken) when it would pass it."""
        with self._lock:
            if self.waited + wait > self.policy.retry_budget:
                return False
            self.waited += wait
            return True

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def get_page(self, url: httpx.URL, headers: httpx.Headers, number: int, clock: Clock) -> Page:
        """Page ``number`` of a chain, from ``url``: its body, its records and how long it took (retries included)."""
        started = clock()
        status, body = self.get_json(url, headers)
        return Page(str(url), status, body, number, clock() - started, find_records(body)[1])

    def _attempt(self, url: httpx.URL, headers: httpx.Headers) -> tuple[_Answer | None, _Failure | None]:
        """One GET, under a permit of the limiter when there is one (held until the body is read)."""
        limiter = self.limiter
        ticket = limiter.acquire() if limiter is not None else 0
        answer: _Answer | None = None
        try:
            answer, failure = self._exchange(url, headers)
        finally:
            if limiter is not None:
                limiter.release(ticket, answer is not None and answer.status == 429)
        return answer, failure

    def _exchange(self, url: httpx.URL, headers: httpx.Headers) -> tuple[_Answer | None, _Failure | None]:
        """Send one GET: the answer read within the limits, or the failure to retry.

        Errors are raised outside every ``except`` block and keep only a text of their cause: an
        httpx exception chained to them would carry httpcore's frames, whose locals hold the
        ``Authorization`` header.
        """
        # A fresh request every attempt: a transport may rewrite the one it is given
        # (LoopbackTransport does), and the retry must go to the Twilio URL again.
        request = self.client.build_request("GET", url, headers=headers)
        started = _clock()
        failure: _Failure | None = None
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:  # refused, reset or timed out before the answer began
            failure = _Failure("network error", url, _describe(exc))
        if failure is not None:
            return None, failure
        try:
            body = _read(response, url, self.policy, started)
        except httpx.TransportError as exc:  # reset, timed out, or a body cut off
            failure = _Failure("network error", url, _describe(exc))
        except (httpx.DecodingError, zlib.error) as exc:  # a compressed body that does not decompress
            failure = _Failure("undecodable body", url, f"undecodable body: {_describe(exc)}")
        finally:
            response.close()
        if failure is not None:
            return None, failure
        return _Answer(response.status_code, response.reason_phrase, response.headers, body), None

    def get_json(self, url: httpx.URL, headers: httpx.Headers) -> tuple[int, Any]:
        """GET ``url`` and decode its JSON, retrying as the policy says; raise when it gives up."""
        policy = self.policy
        retry = 0
        while True:
            self._count()
            answer, failure = self._attempt(url, headers)
            if answer is not None and 200 <= answer.status < 300:
                body, problem = _decode(answer.body)
                if problem is None:
                    return answer.status, body
                failure = _Failure("malformed JSON", url, problem)
            elif answer is not None and answer.status in RETRY_STATUSES:
                failure = _Failure(f"HTTP {answer.status}", url, answer=answer)
            elif answer is not None:
                raise _api_error(answer, url)  # other 4xx: a retry would get the same answer
            assert failure is not None
            retry_after = failure.retry_after
            if retry >= policy.max_retries:
                raise failure.error(retry)
            if retry_after is not None and retry_after > policy.max_retry_after:
                log.warning(
                    "GET %s: Twilio asked to wait %.0f s, more than max_retry_after; giving up", url, retry_after
                )
                raise failure.error(retry)
            wait = retry_after if retry_after is not None else policy.backoff(retry, self.jitter())
            if not self._spend(wait):
                log.warning("GET %s: waiting %.2f s more would pass the retry budget; giving up", url, wait)
                raise failure.error(
                    retry,
                    f"; waiting {wait:g} s more would pass the retry budget of {policy.retry_budget:g} s of "
                    f"waits per fetch ({self.waited:g} s spent): raise it with RetryPolicy(retry_budget=...)",
                )
            log.info("GET %s: %s; retry %d of %d in %.2f s", url, failure.label, retry + 1, policy.max_retries, wait)
            self.sleep(wait)
            retry += 1
            self._count(retry=True)


def _describe(exc: Exception) -> str:
    """An exception as text: its type and message (httpx's name the failure, never a header)."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what to log now, and the error to raise if it was the last.

    Only text is kept of an exception (``reason``), never the exception itself: see
    :meth:`_Session._attempt`.
    """

    label: str
    url: httpx.URL
    reason: str = ""
    answer: _Answer | None = None

    @property
    def retry_after(self) -> float | None:
        return _retry_after(self.answer) if self.answer is not None else None

    def error(self, retries: int, why: str = "") -> TwiboxError:
        after = f" (gave up after {retries} {'retry' if retries == 1 else 'retries'}{why})" if retries or why else ""
        if self.answer is not None:
            return _api_error(self.answer, self.url, after)
        if self.label == "network error":
            return FetchError(f"GET {self.url}: {self.reason}{after}")
        # The decoder's message names a position, never the content, so it is safe to show.
        return ResponseFormatError(f"GET {self.url}: the answer is not the JSON Twilio sends ({self.reason}){after}")


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
