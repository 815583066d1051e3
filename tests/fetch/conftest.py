"""Helpers for the client tests: injected time, and connections answered by a test double."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from twibox_nb.fetch.connection import Connection, connect
from twibox_nb.sandbox import Sandbox

ACCOUNT = "AC" + "a1" * 16
KEY = "SK" + "b2" * 16
# A secret that is easy to spot in any output it should never reach.
SECRET = "Zq9-NEVER-SHOW-THIS-SECRET-7f3"
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
ALERTS = "https://monitor.twilio.com/v1/Alerts"


@dataclass
class FakeTime:
    """A clock that only moves when the code under test sleeps; every wait is recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)
    draws: Iterator[float] | None = None  # jitter draws; 0.0 (no shortening) when None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def jitter(self) -> float:
        return 0.0 if self.draws is None else next(self.draws)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for PageFetcher / fetch_all / diagnose (no real waiting, ever)."""
        return {"sleep": self.sleep, "clock": self.clock, "jitter": self.jitter}


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_response(body, status, headers)


class Recorder:
    """A MockTransport handler that answers from a function and remembers every request."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # Nothing may ever be sent anywhere but Twilio, and never without HTTPS.
        assert request.url.scheme == "https" and request.url.host.endswith(".twilio.com"), request.url
        self.requests.append(request)
        return self.answer(request)

    @property
    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def mock_connection(answer: Callable[[httpx.Request], httpx.Response], **options: Any) -> tuple[Connection, Recorder]:
    """A real-looking (non-sandbox) connection whose network is a MockTransport."""
    recorder = Recorder(answer)
    conn = connect(ACCOUNT, KEY, SECRET, transport=httpx.MockTransport(recorder), env={}, **options)
    return conn, recorder


def scripted(*answers: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """Answer with each response (or raise each exception) in turn; the last one repeats."""
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return answer


@pytest.fixture(params=["in-process", "loopback"])
def sandbox_conn(request, sandbox: Sandbox) -> Connection:
    """The shared fault-free sandbox, in-process and through the loopback server."""
    if request.param == "in-process":
        return connect(sandbox=sandbox)
    return connect(sandbox=request.getfixturevalue("server").url)
