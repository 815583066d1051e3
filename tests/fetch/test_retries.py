"""Retries: which answers are retried, how long each wait is, and the errors after the last try."""

from __future__ import annotations

import logging
from datetime import date

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twibox_nb._exceptions import FetchError, ResponseFormatError, TwilioAPIError
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slicing import fetch_all
from twibox_nb.sandbox import Faults, Sandbox

from ..conftest import NOW
from .conftest import MESSAGES, FakeTime, json_response, mock_connection, scripted, twilio_error

OK = {"messages": [{"sid": "SM1"}], "next_page_uri": None, "page": 0}
POLICY = RetryPolicy(max_retries=4, base_delay=1.0, max_delay=5.0, multiplier=2.0, jitter=0.5)


class Truncated(httpx.SyncByteStream):
    """A body that stops half-way, the way a dropped connection does."""

    def __iter__(self):
        yield b'{"messages": [{"sid": "SM'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def faulty_sandbox(**faults) -> tuple[Sandbox, str]:
    sandbox = Sandbox(seed=7, now=NOW, faults=Faults(**faults))
    return sandbox, f"https://api.twilio.com/2010-04-01/Accounts/{sandbox.credentials.account_sid}/Messages.json"


# --- the delays ------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=6.0, multiplier=3.0, jitter=0.0)
    assert [policy.backoff(n, draw=0.9) for n in range(5)] == [0.5, 1.5, 4.5, 6.0, 6.0]


def test_jitter_shortens_each_wait_by_a_drawn_share():
    policy = RetryPolicy(base_delay=2.0, max_delay=100.0, jitter=0.5)
    assert [policy.backoff(1, draw) for draw in (0.0, 0.5, 0.999)] == pytest.approx([4.0, 3.0, 2.002])


@given(
    retry=st.integers(0, 60),
    draw=st.floats(0, 1, exclude_max=True),
    base=st.floats(0.01, 10),
    cap=st.floats(0.01, 100),
    jitter=st.floats(0, 1),
)
def test_backoff_stays_between_its_bounds(retry, draw, base, cap, jitter):
    policy = RetryPolicy(base_delay=base, max_delay=cap, jitter=jitter)
    full = min(cap, base * 2.0**retry)
    assert full * (1 - jitter) - 1e-9 <= policy.backoff(retry, draw) <= full + 1e-9
    assert policy.backoff(retry, draw) <= policy.backoff(retry + 1, draw) + 1e-9


@pytest.mark.parametrize(
    "bad",
    [{"max_retries": -1}, {"base_delay": -1}, {"multiplier": 0.5}, {"jitter": 1.5}, {"timeout": 0}],
)
def test_a_policy_that_makes_no_sense_is_refused(bad):
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**bad)


# --- 429 and 5xx storms against the sandbox --------------------------------------------------------


def test_a_429_storm_waits_exponentially_then_raises_twilios_error(fake):
    sandbox, url = faulty_sandbox(rate_limited=1.0, retry_after_share=0.0)
    fake.draws = iter([0.0, 0.5, 0.0, 0.5])
    with pytest.raises(TwilioAPIError) as caught:
        fetch_all(connect(sandbox=sandbox), httpx.Request("GET", url), policy=POLICY, **fake.options())
    assert fake.sleeps == [1.0, 1.5, 4.0, 3.75]  # 1, 2, 4, 5 (capped), each less its jitter share
    assert sandbox.injector.stats == {"rate_limited": 5}  # the first try and four retries, no more
    err = caught.value
    assert (err.status, err.code, err.more_info) == (429, 20429, "https://www.twilio.com/docs/errors/20429")
    assert err.url == url and "Too Many Requests" in err.message and "gave up after 4 retries" in str(err)


def test_retry_after_is_honoured_exactly(fake):
    sandbox, url = faulty_sandbox(rate_limited=1.0, retry_after_share=1.0, retry_after_seconds=3)
    with pytest.raises(TwilioAPIError, match="20429"):
        fetch_all(connect(sandbox=sandbox), httpx.Request("GET", url), policy=POLICY, **fake.options())
    assert fake.sleeps == [3.0, 3.0, 3.0, 3.0]  # not the backoff, not capped at max_delay, no jitter


def test_a_retry_after_longer_than_the_policy_allows_ends_the_retries(fake):
    conn, net = mock_connection(scripted(twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "600"})))
    with pytest.raises(TwilioAPIError, match="429"):
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert fake.sleeps == [] and len(net.requests) == 1


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_a_5xx_storm_is_retried_then_raised(fake, where):
    sandbox, url = faulty_sandbox(server_errors=1.0)
    with sandbox.serve(port=0) as server:
        conn = connect(sandbox=sandbox if where == "in-process" else server.url)
        with pytest.raises(TwilioAPIError) as caught:
            fetch_all(conn, httpx.Request("GET", url), policy=POLICY, **fake.options())
    assert (caught.value.status, caught.value.code) in ((500, 20500), (503, 20503))
    assert caught.value.url == url  # the Twilio URL, not the loopback address it travelled to
    assert fake.sleeps == [1.0, 2.0, 4.0, 5.0]
    assert sandbox.injector.stats == {"server_error": 5}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_each_retryable_status_recovers(fake, status):
    conn, net = mock_connection(scripted(twilio_error(status, 20000 + status, "busy"), json_response(OK)))
    pages, report = fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert [p.records for p in pages] == [[{"sid": "SM1"}]]
    assert (report.requests, report.retries, fake.sleeps) == (2, 1, [1.0])
    assert net.urls == [MESSAGES, MESSAGES]


@pytest.mark.parametrize(("status", "code"), [(400, 20001), (401, 20003), (403, 20403), (404, 20404), (501, 20501)])
def test_other_errors_fail_at_once(fake, status, code):
    conn, net = mock_connection(scripted(twilio_error(status, code, "No")))
    with pytest.raises(TwilioAPIError) as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, code, "No")
    assert len(net.requests) == 1 and fake.sleeps == []


def test_an_error_without_twilio_json_still_reads_well(fake):
    conn, _ = mock_connection(scripted(httpx.Response(400, text="<html>Bad Request</html>")))
    with pytest.raises(TwilioAPIError) as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert (caught.value.code, caught.value.message) == (None, "Bad Request")


def test_a_redirect_is_not_followed(fake):
    moved = httpx.Response(301, headers={"Location": "https://evil.example.com/steal"})
    conn, net = mock_connection(scripted(moved))
    with pytest.raises(TwilioAPIError, match=r"redirect to evil\.example\.com not followed"):
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert len(net.requests) == 1


def test_the_sandbox_404_is_raised_with_its_code(sandbox, fake):
    url = f"https://api.twilio.com/2010-04-01/Accounts/{sandbox.credentials.account_sid}/Nothing.json"
    with pytest.raises(TwilioAPIError) as caught:
        fetch_all(connect(sandbox=sandbox), httpx.Request("GET", url), **fake.options())
    assert (caught.value.status, caught.value.code) == (404, 20404) and fake.sleeps == []


# --- broken bodies and broken networks -------------------------------------------------------------


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_malformed_json_is_retried_then_named_with_its_url(fake, where):
    sandbox, url = faulty_sandbox(malformed=1.0)
    with sandbox.serve(port=0) as server:
        conn = connect(sandbox=sandbox if where == "in-process" else server.url)
        with pytest.raises(ResponseFormatError) as caught:
            fetch_all(conn, httpx.Request("GET", url), policy=POLICY, **fake.options())
    assert url in str(caught.value) and "not the JSON" in str(caught.value) and "gave up after 4" in str(caught.value)
    assert sandbox.injector.stats == {"malformed": 5} and len(fake.sleeps) == 4


@pytest.mark.parametrize("where", ["in-process", "loopback"])
def test_truncated_bodies_are_retried_then_a_fetch_error(fake, where):
    sandbox, url = faulty_sandbox(truncated=1.0)
    with sandbox.serve(port=0) as server:
        conn = connect(sandbox=sandbox if where == "in-process" else server.url)
        with pytest.raises(FetchError) as caught:
            fetch_all(conn, httpx.Request("GET", url), policy=POLICY, **fake.options())
    assert url in str(caught.value) and "RemoteProtocolError" in str(caught.value)
    assert sandbox.injector.stats == {"truncated": 5} and fake.sleeps == [1.0, 2.0, 4.0, 5.0]


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(200, content=b'{"messages": [{"sid": "SM'),  # malformed
        httpx.Response(200, stream=Truncated()),  # cut off mid-body
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=["malformed", "truncated", "connect", "timeout", "protocol"],
)
def test_one_bad_attempt_then_success(fake, first):
    conn, net = mock_connection(scripted(first, json_response(OK)))
    pages, report = fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert len(pages) == 1 and (report.requests, report.retries) == (2, 1) and fake.sleeps == [1.0]
    assert net.urls == [MESSAGES, MESSAGES]
    assert pages[0].elapsed == 1.0  # the page's time includes its retries (the injected clock)


def test_network_failures_end_in_a_fetch_error(fake):
    conn, net = mock_connection(scripted(httpx.ConnectTimeout("timed out")))
    with pytest.raises(FetchError, match=r"ConnectTimeout: timed out \(gave up after 4 retries\)"):
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert len(net.requests) == 5


def test_no_retries_at_all(fake):
    conn, net = mock_connection(scripted(twilio_error(503, 20503, "Service Unavailable")))
    with pytest.raises(TwilioAPIError) as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(max_retries=0), **fake.options())
    assert "gave up" not in str(caught.value) and len(net.requests) == 1 and fake.sleeps == []


def test_retries_are_logged_without_credentials(fake, caplog):
    caplog.set_level(logging.INFO, logger="twibox_nb.fetch")
    conn, _ = mock_connection(scripted(twilio_error(503, 20503, "busy"), json_response(OK)))
    fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert f"GET {MESSAGES}: HTTP 503; retry 1 of 4 in 1.00 s" in caplog.text


def test_a_faulty_sandbox_still_yields_the_ground_truth(sandbox):
    """A mix of every fault, survived: the records equal what the sandbox holds."""
    faulty = Sandbox(seed=7, now=NOW, faults=Faults.from_rate(0.3, seed=1))
    url = f"https://api.twilio.com/2010-04-01/Accounts/{faulty.credentials.account_sid}/Messages.json"
    request = httpx.Request("GET", url, params={"DateSent>": "2026-11-20", "DateSent<": "2026-11-22", "PageSize": 50})
    time = FakeTime()
    with faulty.serve(port=0) as server:
        pages, report = fetch_all(connect(sandbox=server.url), request, **time.options())
    expected = faulty.truth.sids("messages", date(2026, 11, 20), date(2026, 11, 23))
    assert sorted(r["sid"] for p in pages for r in p.records) == sorted(expected)
    assert report.retries > 0 and report.requests == report.pages + report.retries
    assert report.requests == sum(faulty.injector.stats.values())
    allowed = {RetryPolicy().backoff(n, 0.0) for n in range(5)} | {1.0}  # backoff or Retry-After: 1
    assert set(time.sleeps) <= allowed and len(time.sleeps) == report.retries


def test_the_network_error_is_kept_as_text_only(fake):
    """Not chained: httpx's exception carries httpcore's frames, whose locals hold the Authorization header."""
    conn, _ = mock_connection(scripted(httpx.ConnectError("connection refused")))
    with pytest.raises(FetchError) as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(max_retries=1), **fake.options())
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "ConnectError: connection refused (gave up after 1 retry)" in str(caught.value)


@pytest.mark.parametrize("decoder", ["orjson", "json"])
def test_pages_decode_the_same_with_either_json_decoder(fake, monkeypatch, decoder):
    """orjson (the fast extra) when installed, the json module otherwise: same bodies, same retries."""
    import json

    from twibox_nb.fetch import session as client

    loads = pytest.importorskip("orjson").loads if decoder == "orjson" else json.loads
    monkeypatch.setattr(client, "_decode_json", loads)
    text = '{"messages": [{"sid": "SM1", "price": "-0.0079", "num_segments": "1", "error_code": null, "n": 1.5e3}]}'
    conn, _ = mock_connection(
        scripted(httpx.Response(200, content=b'{"messages": [{"sid": "SM'), httpx.Response(200, content=text.encode()))
    )
    pages, report = fetch_all(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    assert pages[0].body == json.loads(text) and (report.requests, report.retries) == (2, 1)


def test_the_fast_decoder_is_used_when_installed():
    from twibox_nb.fetch import session as client

    try:
        import orjson
    except ImportError:
        assert client._decode_json.__module__ == "json"
    else:
        assert client._decode_json is orjson.loads
