"""SliceFetcher: several next-page chains at once, bounded, adaptive on 429, one report."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from twibox_nb._exceptions import TwilioAPIError, UnsafeRequestError
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slices import MAX_CONCURRENCY
from twibox_nb.fetch.slicing import Slice, SliceFetcher, _AdaptiveLimit, fetch_slices
from twibox_nb.sandbox import Faults, Sandbox

from ..conftest import NOW, InFlight
from .conftest import ACCOUNT, MESSAGES, json_response, mock_connection, twilio_error

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)


def day_slices(account: str, days: range, page_size: int = 20) -> list[Slice]:
    url = f"https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json?PageSize={page_size}"
    return [Slice(httpx.Request("GET", f"{url}&DateSent=2026-11-{d:02d}")) for d in days]


def test_requests_really_run_concurrently_and_the_peak_is_reported():
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=100))
    counting = InFlight(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=counting)
    pages, report = fetch_slices(conn, day_slices(conn.account_sid, range(1, 9), 1000), concurrency=4)
    assert counting.peak >= 2 and counting.peak <= 4
    assert report.concurrency == counting.peak and report.slices == 8 and report.stop_reason == "complete"
    assert sorted({index for index, _ in pages}) == list(range(8))
    day = sandbox.truth.sids("messages", NOW.date().replace(day=1), NOW.date().replace(day=9))
    assert sum(len(p.records) for _, p in pages) == report.records == len(day)
    assert "8 slices, up to" in report.summary()


def test_concurrency_never_exceeds_the_configured_bound():
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=20))
    counting = InFlight(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=counting)
    _, report = fetch_slices(conn, day_slices(conn.account_sid, range(1, 21), 50), concurrency=3)
    assert counting.peak <= 3 and report.concurrency <= 3
    assert report.requests == counting.total


def test_max_pages_caps_the_pages_of_all_slices_together(sandbox):
    conn = connect(sandbox=sandbox)
    pages, report = fetch_slices(conn, day_slices(conn.account_sid, range(1, 8), 10), concurrency=4, max_pages=7)
    assert len(pages) == report.pages == 7
    assert report.stop_reason == "page_cap" and report.truncated and report.next_url
    assert "page cap" in report.summary()


def test_a_429_halves_the_concurrency_and_the_fetch_still_completes():
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=30, concurrency_limit=2))
    conn = connect(sandbox=sandbox)
    pages, report = fetch_slices(conn, day_slices(conn.account_sid, range(1, 17), 1000), concurrency=8, policy=FAST)
    assert report.stop_reason == "complete" and not report.truncated
    assert report.retries >= 1 and report.throttled_to is not None and report.throttled_to < 8
    assert "after 429s" in report.summary()
    expected = sandbox.truth.sids("messages", NOW.date().replace(day=1), NOW.date().replace(day=17))
    assert sorted(r["sid"] for _, p in pages for r in p.records) == sorted(expected)


def test_adaptive_limit_recovers_by_one_and_never_above_the_configured_value():
    limit = _AdaptiveLimit(4, recover=3)
    limit.release(limit.acquire(), throttled=True)
    assert limit.limit == 2 and limit.lowest == 2
    for _ in range(3):
        limit.release(limit.acquire(), throttled=False)
    assert limit.limit == 3
    for _ in range(30):
        limit.release(limit.acquire(), throttled=False)
    assert limit.limit == 4  # the configured ceiling
    for _ in range(5):
        limit.release(limit.acquire(), throttled=True)
    assert limit.limit == 1  # each new 429 event halves again, never below 1


def test_an_error_in_a_later_slice_stops_the_fetch_truncated():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("DateSent") == "2026-11-02":
            return twilio_error(400, 20001, "Invalid DateSent")
        return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": None})

    conn, recorder = mock_connection(answer)
    fetcher = SliceFetcher(conn, day_slices(ACCOUNT, range(1, 4)), concurrency=1)
    pages = list(fetcher)
    report = fetcher.report
    assert len(pages) == 1 and report.pages == 1
    assert report.stop_reason == "error" and report.truncated and isinstance(report.error, TwilioAPIError)
    assert len(recorder.requests) == 2  # the third slice was never asked for
    assert fetcher.slice_reports[0].stop_reason == "complete" and fetcher.slice_reports[2] is None


def test_an_error_before_any_page_is_raised():
    conn, _ = mock_connection(lambda request: twilio_error(404, 20404, "Not found"))
    fetcher = SliceFetcher(conn, day_slices(ACCOUNT, range(1, 5)), concurrency=4)
    with pytest.raises(TwilioAPIError, match="Not found"):
        list(fetcher)
    assert fetcher.report.stop_reason == "error"


def test_progress_is_called_in_the_consumer_thread_with_totals(sandbox):
    conn = connect(sandbox=sandbox)
    events = []

    def progress(event):
        events.append((event.pages, event.records, threading.current_thread() is threading.main_thread()))

    _, report = fetch_slices(conn, day_slices(conn.account_sid, range(1, 6), 30), concurrency=4, progress=progress)
    assert [e[0] for e in events] == list(range(1, report.pages + 1))
    assert events[-1][1] == report.records and all(e[2] for e in events)


def test_stopping_early_leaves_no_thread_behind(sandbox):
    conn = connect(sandbox=sandbox)
    before = threading.active_count()
    for _index, _page in SliceFetcher(conn, day_slices(conn.account_sid, range(1, 20), 10), concurrency=4):
        break
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_pages_waiting_for_the_consumer_are_bounded(sandbox):
    conn = connect(sandbox=sandbox)
    counting = InFlight(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=counting)
    fetcher = SliceFetcher(conn, day_slices(conn.account_sid, range(1, 25), 10), concurrency=2)
    iterator = iter(fetcher)
    next(iterator)
    time.sleep(0.5)  # the workers fetch ahead while the consumer sleeps, but only so far
    assert counting.total <= 1 + 2 * 2 + 2 + 1
    list(iterator)
    assert fetcher.report.stop_reason == "complete"


def test_bounds_and_safety_checks(sandbox):
    conn = connect(sandbox=sandbox)
    slices = day_slices(conn.account_sid, range(1, 3))
    with pytest.raises(ValueError, match="ceiling of 32"):
        SliceFetcher(conn, slices, concurrency=MAX_CONCURRENCY + 1)
    with pytest.raises(ValueError, match="at least 1"):
        SliceFetcher(conn, slices, concurrency=0)
    with pytest.raises(UnsafeRequestError):
        SliceFetcher(conn, [httpx.Request("GET", "https://example.com/Messages.json")])
    with pytest.raises(UnsafeRequestError):
        SliceFetcher(conn, [httpx.Request("DELETE", MESSAGES)])


def test_a_next_link_off_twilio_is_refused_after_its_page():
    def answer(request: httpx.Request) -> httpx.Response:
        return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": "https://evil.example.com/steal"})

    conn, recorder = mock_connection(answer)
    fetcher = SliceFetcher(conn, day_slices(ACCOUNT, range(1, 2)), concurrency=2)
    got = []
    with pytest.raises(UnsafeRequestError):
        for item in fetcher:
            got.append(item)
    assert len(got) == 1 and all(r.url.host == "api.twilio.com" for r in recorder.requests)
