"""Issue 14: a fetch stays within its limits against a hostile server (real sockets, loopback).

Each limit is tried with a small value (fast) and, where a case can finish in seconds, with the
default: a page's decoded size (``max_page_bytes``), a request attempt's total time
(``deadline``), the backoff waits of a whole fetch (``retry_budget``), a page nested too deep for
the JSON decoder, and the credentials, which no error's traceback may show, even rendered with its
frames' locals.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from twibox_nb._exceptions import FetchError, LimitExceededError, ResponseFormatError, TwiboxError, TwilioAPIError
from twibox_nb.fetch import session
from twibox_nb.fetch.chain import PageFetcher
from twibox_nb.fetch.connection import Connection, LoopbackTransport, connect
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slicing import Slice, SliceFetcher

from .server import Exchange, serve

ACCOUNT = "AC" + "5e" * 16
TOKEN = "c0ffee" + "9" * 26  # an auth token: 32 hex digits
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
FORMS = (TOKEN, base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode())  # as given, and as sent
JSON = {"Content-Type": "application/json"}
CHUNKED = {**JSON, "Transfer-Encoding": "chunked"}
PAGE = json.dumps({"messages": [{"sid": "SM1"}], "next_page_uri": None, "page": 0}).encode()
MB = 1024 * 1024


@contextmanager
def connection(server) -> Iterator[Connection]:
    """A real (non-sandbox) connection with a known secret, whose Twilio requests land on ``server``."""
    transport = LoopbackTransport(server.url)
    try:
        yield connect(ACCOUNT, auth_token=TOKEN, transport=transport, env={})
    finally:
        transport.close()


def first_page_error(handler: Callable[[Exchange], None], policy: RetryPolicy, **options) -> TwiboxError:
    """The error a fetch of one page raises against ``handler`` (the test fails if there is none)."""
    with serve(handler) as server, connection(server) as conn:
        with pytest.raises(TwiboxError) as caught:
            list(PageFetcher(conn, httpx.Request("GET", MESSAGES), policy=policy, **options))
    assert not server.errors
    return caught.value


class Waits:
    """An injected sleep that records every wait and never waits (thread-safe)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


# --- handlers ------------------------------------------------------------------------------------


def endless(ex: Exchange, status: int = 200) -> None:
    ex.head(status, CHUNKED)
    block = b"[" + b"1," * 32767
    while ex.alive():
        ex.chunk(block)


def endless_gzip(ex: Exchange) -> None:
    """A gzip stream of zeros that never ends: about 1000 times smaller than what it decodes to."""
    ex.head(200, {**CHUNKED, "Content-Encoding": "gzip"})
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MB)
    while ex.alive():
        ex.chunk(squeeze.compress(zeros))


def encoded(body: bytes, encoding: str) -> Callable[[Exchange], None]:
    def answer(ex: Exchange) -> None:
        ex.head(200, {**JSON, "Content-Encoding": encoding, "Content-Length": str(len(body))})
        ex.send(body)

    return answer


def dripping(ex: Exchange) -> None:
    """A body that never trips the read timeout: one byte every 50 ms, of a million."""
    ex.head(200, {**JSON, "Content-Length": str(MB)})
    ex.drip(b" " * MB, 0.05)


def dripping_gzip(ex: Exchange) -> None:
    """A gzip body whose bytes decode to nothing at all: empty stored blocks, forever."""
    ex.head(200, {**CHUNKED, "Content-Encoding": "gzip"})
    ex.chunk(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")  # the gzip header
    ex.drip(b"\x00\x00\x00\xff\xff" * 100_000, 0.01, chunked=True)


def throttled(seconds: str) -> Callable[[Exchange], None]:
    body = json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429}).encode()

    def answer(ex: Exchange) -> None:
        ex.head(429, {**JSON, "Retry-After": seconds, "Content-Length": str(len(body))}, "Too Many Requests")
        ex.send(body)

    return answer


def failing(ex: Exchange) -> None:
    body = b'{"code": 20503, "message": "Service Unavailable"}'
    ex.head(503, {**JSON, "Content-Length": str(len(body))})
    ex.send(body)


def nested(ex: Exchange) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    ex.head(200, {**JSON, "Content-Length": str(len(body))})
    ex.send(body)


def reset_mid_body(ex: Exchange) -> None:
    ex.head(200, {**JSON, "Content-Length": "100000"})
    ex.send(b'{"messages": [{"sid": "SM1"}, ')
    time.sleep(0.05)  # the client is reading the body by now
    ex.reset()


# --- 1. the size of a page -----------------------------------------------------------------------


@pytest.mark.parametrize("handler", [endless, endless_gzip], ids=["endless chunked body", "gzip bomb"])
def test_a_page_past_the_size_limit_is_refused_while_it_streams(handler):
    started = time.monotonic()
    error = first_page_error(handler, RetryPolicy(max_page_bytes=MB, max_retries=0))
    assert isinstance(error, LimitExceededError) and (error.limit, error.value) == ("max_page_bytes", MB)
    assert f"{MB:,} bytes" in str(error) and "RetryPolicy(max_page_bytes=...)" in str(error)
    assert MESSAGES in str(error) and time.monotonic() - started < 15  # an unbounded read never ends


@pytest.mark.parametrize("handler", [endless, endless_gzip], ids=["endless chunked body", "gzip bomb"])
def test_the_default_size_limit_holds_within_the_memory_bound(handler, memory_bound):
    error = first_page_error(handler, RetryPolicy(max_retries=0))
    default = RetryPolicy().max_page_bytes
    assert isinstance(error, LimitExceededError) and error.value == default == 64 * MB
    assert f"{default:,} bytes" in str(error)


def test_an_error_answer_is_held_to_the_size_limit_too():
    error = first_page_error(lambda ex: endless(ex, status=429), RetryPolicy(max_page_bytes=MB))
    assert isinstance(error, LimitExceededError) and error.limit == "max_page_bytes"


def test_a_gzip_page_one_byte_over_the_limit_is_refused_and_one_at_it_is_read():
    body = PAGE + b" " * 1000
    over = first_page_error(encoded(gzip.compress(body), "gzip"), RetryPolicy(max_page_bytes=len(body) - 1))
    assert isinstance(over, LimitExceededError)
    for encoding, squeeze in [("gzip", gzip.compress), ("deflate", zlib.compress)]:
        with serve(encoded(squeeze(body), encoding)) as server, connection(server) as conn:
            fetcher = PageFetcher(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(max_page_bytes=len(body)))
            assert [p.records for p in fetcher] == [[{"sid": "SM1"}]]
        assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"  # what is asked for


@pytest.mark.parametrize("encoding", ["gzip, gzip", "zstd", "br"])
def test_a_content_encoding_that_was_not_asked_for_is_refused(encoding):
    body = gzip.compress(gzip.compress(PAGE)) if encoding == "gzip, gzip" else PAGE
    error = first_page_error(encoded(body, encoding), RetryPolicy(max_retries=0))
    assert isinstance(error, ResponseFormatError) and f"Content-Encoding {encoding!r}" in str(error)


# --- 2. the deadline of a request ----------------------------------------------------------------


@pytest.mark.bounds(seconds=10)
@pytest.mark.parametrize("handler", [dripping, dripping_gzip], ids=["a byte at a time", "gzip that decodes to nothing"])
def test_a_dripping_body_ends_at_the_deadline(handler):
    waits = Waits()
    started = time.monotonic()
    error = first_page_error(handler, RetryPolicy(deadline=1.0, max_retries=3), sleep=waits.sleep)
    took = time.monotonic() - started
    assert isinstance(error, LimitExceededError) and (error.limit, error.value) == ("deadline", 1.0)
    assert "deadline of 1 s" in str(error) and "RetryPolicy(deadline=...)" in str(error)
    assert waits.waits == []  # no retry: a retry would wait the deadline again
    assert took >= 1.0  # it waited for the deadline (the time bound of this case caps the other side)


# --- 3. the retry budget of a fetch --------------------------------------------------------------


def test_retry_after_forever_stops_at_the_default_retry_budget():
    waits = Waits()
    error = first_page_error(throttled("120"), RetryPolicy(), sleep=waits.sleep)
    assert waits.waits == [120.0]  # a second wait of 120 s would pass the budget of 180 s (was 5 × 120 s)
    assert isinstance(error, TwilioAPIError) and error.status == 429
    assert "retry budget of 180 s" in str(error) and "RetryPolicy(retry_budget=...)" in str(error)


def test_backoff_waits_count_against_the_retry_budget():
    waits = Waits()
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, jitter=0.0, retry_budget=4.0)
    error = first_page_error(failing, policy, sleep=waits.sleep)
    assert waits.waits == [1.0, 2.0]  # then 4 s more would make 7 s
    assert "gave up after 2 retries" in str(error) and "retry budget of 4 s" in str(error)


def test_the_retry_budget_is_shared_by_every_thread_of_a_fetch():
    waits = Waits()
    with serve(throttled("1")) as server, connection(server) as conn:
        url = f"{MESSAGES}?PageSize=20"
        slices = [Slice(httpx.Request("GET", f"{url}&DateSent=2026-11-{d:02d}")) for d in range(1, 5)]
        fetcher = SliceFetcher(conn, slices, concurrency=4, policy=RetryPolicy(retry_budget=3.0), sleep=waits.sleep)
        with pytest.raises(TwilioAPIError, match="retry budget of 3 s"):
            list(fetcher)
    assert sum(waits.waits) == 3.0  # four threads, one budget (was 5 waits of 1 s per slice)


# --- 4. a page nested too deep -------------------------------------------------------------------


def _decoder_that_fails(data: bytes):
    raise TypeError("a decoder bug")


@pytest.mark.parametrize("decoder", ["json", "failing"])
def test_a_page_the_decoder_cannot_take_is_a_format_error(decoder, monkeypatch):
    monkeypatch.setattr(session, "_decode_json", json.loads if decoder == "json" else _decoder_that_fails)
    error = first_page_error(nested, RetryPolicy(max_retries=0))
    assert isinstance(error, ResponseFormatError) and MESSAGES in str(error)
    assert "[[[" not in str(error)


# --- 5. no credentials in a traceback ------------------------------------------------------------


def later_page_reset(ex: Exchange) -> None:
    if "Page=1" not in ex.request.target:
        body = json.dumps({"messages": [{"sid": "SM1"}], "next_page_uri": f"{MESSAGES[22:]}?Page=1", "page": 0})
        ex.head(200, {**JSON, "Content-Length": str(len(body))})
        ex.send(body.encode())
    else:
        reset_mid_body(ex)


SCENARIOS: dict[str, tuple[Callable[[Exchange], None], RetryPolicy]] = {
    "reset mid-body": (reset_mid_body, RetryPolicy(max_retries=1)),
    "cut off": (lambda ex: (ex.head(200, {**JSON, "Content-Length": "999"}), ex.send(b"{"), ex.close()), RetryPolicy()),
    "endless body": (endless, RetryPolicy(max_page_bytes=MB)),
    "dripping body": (dripping, RetryPolicy(deadline=0.5)),
    "429 forever": (throttled("120"), RetryPolicy()),
    "nested": (nested, RetryPolicy(max_retries=0)),
    "refused encoding": (encoded(PAGE, "zstd"), RetryPolicy()),
}


def assert_clean(error: BaseException) -> None:
    """No chained httpx error, and no form of the secret even with every frame's locals shown."""
    assert error.__cause__ is None and error.__context__ is None
    shown = "".join(traceback.TracebackException(type(error), error, error.__traceback__, capture_locals=True).format())
    assert "Traceback" in shown
    for form in FORMS:
        assert form not in shown


@pytest.mark.bounds(seconds=15)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_fetch_error_carries_no_credentials_even_with_locals(scenario, monkeypatch):
    monkeypatch.setattr(session, "_decode_json", json.loads)
    handler, policy = SCENARIOS[scenario]
    error = first_page_error(handler, policy, sleep=Waits().sleep)
    assert isinstance(error, (FetchError, ResponseFormatError, TwilioAPIError))
    assert_clean(error)


def test_an_error_on_a_later_page_carries_no_credentials_either():
    with serve(later_page_reset) as server, connection(server) as conn:
        fetcher = PageFetcher(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(max_retries=0))
        pages = list(fetcher)
    assert len(pages) == 1 and fetcher.report.stop_reason == "error" and fetcher.report.truncated
    assert server.requests[0].headers["authorization"] == f"Basic {FORMS[1]}"  # the secret was sent
    assert_clean(fetcher.report.error)
