"""Latency and fault injection: what a client must survive, on demand."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from twibox_nb.sandbox import Faults, Sandbox

from ..conftest import NOW


def make_client(faults: Faults, creds) -> tuple[Sandbox, httpx.Client]:
    sandbox = Sandbox(seed=7, now=NOW, faults=faults)
    return sandbox, httpx.Client(transport=sandbox.transport(), auth=(creds.api_key, creds.api_secret))


def test_latency_is_added_to_every_request(creds, api):
    _, c = make_client(Faults(latency_ms=80), creds)
    started = time.perf_counter()
    for _ in range(3):
        assert c.get(f"{api}/Balance.json").status_code == 200
    assert time.perf_counter() - started >= 0.24


def test_rate_limited_answers_are_twilios_429(creds, api):
    _, c = make_client(Faults(rate_limited=1.0, retry_after_share=1.0, retry_after_seconds=2), creds)
    r = c.get(f"{api}/Messages.json")
    assert r.status_code == 429
    assert r.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert r.headers["Retry-After"] == "2" and r.headers["Twilio-Concurrent-Requests"].isdigit()


def test_retry_after_is_only_sometimes_there(creds, api):
    _, c = make_client(Faults(rate_limited=1.0, retry_after_share=0.5, seed=3), creds)
    seen = {"Retry-After" in c.get(f"{api}/Messages.json").headers for _ in range(40)}
    assert seen == {True, False}


def test_server_errors_come_in_bursts(creds, api):
    sandbox, c = make_client(Faults(server_errors=0.05, burst_length=3, seed=11), creds)
    statuses = [c.get(f"{api}/Balance.json").status_code for _ in range(400)]
    runs, length = [], 0
    for status in [*statuses, 200]:
        if status >= 500:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    assert runs and all(n % 3 == 0 for n in runs)  # bursts of three (two may touch)
    assert set(statuses) <= {200, 500, 503} and {500, 503} <= set(statuses)
    assert sandbox.injector.stats["server_error"] == sum(runs)


def test_server_error_bodies_are_twilio_json(creds, api):
    _, c = make_client(Faults(server_errors=1.0), creds)
    body = c.get(f"{api}/Messages.json").json()
    assert (body["code"], body["status"]) in ((20500, 500), (20503, 503))


def test_malformed_bodies_are_not_json(creds, api):
    _, c = make_client(Faults(malformed=1.0), creds)
    r = c.get(f"{api}/Messages.json")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_truncated_bodies_break_mid_transfer(creds, api):
    _, c = make_client(Faults(truncated=1.0), creds)
    with pytest.raises(httpx.RemoteProtocolError):
        c.get(f"{api}/Messages.json")


def test_truncated_bodies_over_the_loopback_server(creds):
    sandbox = Sandbox(seed=7, now=NOW, faults=Faults(truncated=1.0))
    with sandbox.serve(port=0) as server, httpx.Client(auth=(creds.api_key, creds.api_secret)) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(f"{server.url}/2010-04-01/Accounts/{creds.account_sid}/Messages.json")


def test_concurrency_limit_answers_429(creds, api):
    sandbox = Sandbox(seed=7, now=NOW, faults=Faults(latency_ms=150, concurrency_limit=2))
    statuses: list[int] = []
    peak = [0]

    def one():
        with httpx.Client(transport=sandbox.transport(), auth=(creds.api_key, creds.api_secret)) as c:
            r = c.get(f"{api}/Balance.json")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["code"] == 20429
                peak[0] = max(peak[0], int(r.headers["Twilio-Concurrent-Requests"]))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1
    assert peak[0] > 2
    assert sandbox.injector.in_flight == 0


def test_async_clients_get_the_same_answers(creds, api):
    import asyncio

    sandbox = Sandbox(seed=7, now=NOW, faults=Faults(latency_ms=100))

    async def fetch():
        async with httpx.AsyncClient(transport=sandbox.transport(), auth=(creds.api_key, creds.api_secret)) as c:
            started = time.perf_counter()
            pages = await asyncio.gather(*(c.get(f"{api}/Messages.json", params={"PageSize": 5}) for _ in range(5)))
            return pages, time.perf_counter() - started

    pages, elapsed = asyncio.run(fetch())
    assert {p.status_code for p in pages} == {200}
    assert len({json.dumps(p.json()["messages"]) for p in pages}) == 1
    assert elapsed < 0.45  # five 100 ms requests overlapped rather than queued


def test_same_seed_same_fault_sequence(creds, api):
    runs = []
    for _ in range(2):
        _, c = make_client(Faults.from_rate(0.5, seed=5), creds)
        outcomes = []
        for _ in range(30):
            try:
                outcomes.append(c.get(f"{api}/Balance.json").status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("cut")
        runs.append(outcomes)
    assert runs[0] == runs[1] and len(set(runs[0])) >= 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_limited": 1.5}, "share between 0 and 1"),
        ({"rate_limited": 0.6, "malformed": 0.6}, "more than 1"),
        ({"latency_ms": -1}, "negative"),
        ({"concurrency_limit": 0}, "at least 1"),
    ],
)
def test_bad_fault_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)


def test_from_rate_spreads_evenly():
    f = Faults.from_rate(0.2, latency_ms=5)
    assert (f.rate_limited, f.server_errors, f.malformed, f.truncated, f.latency_ms) == (0.05, 0.05, 0.05, 0.05, 5)
