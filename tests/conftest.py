"""Shared fixtures: a sandbox with a frozen clock, clients for it, and Twilio's OpenAPI specs."""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import httpx
import pytest

from twibox_nb.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
# A fixed "now" (a Friday afternoon) keeps every test reproducible; today is partly filled.
NOW = datetime(2026, 11, 27, 15, 30, 0, tzinfo=timezone.utc)
SPECS_ENV = "TWIBOX_TWILIO_OAI"


def spec_root() -> Path:
    """Twilio's OpenAPI specs: $TWIBOX_TWILIO_OAI, by default ../shared/twilio-oai beside the repo."""
    return Path(os.environ.get(SPECS_ENV, REPO.parent / "shared" / "twilio-oai"))


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    path = spec_root() / "spec" / "json"
    if not (path / "twilio_api_v2010.json").is_file():
        pytest.fail(
            f"Twilio's OpenAPI specs were not found in {path}. Point {SPECS_ENV} at a checkout of "
            "twilio/twilio-oai (the folder that holds spec/json/), e.g. ../shared/twilio-oai.",
            pytrace=False,
        )
    return path


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch):
    """A connection that is not the sandbox would use the user's fetch cache by default: never in tests."""
    monkeypatch.setenv("TWIBOX_CACHE", "off")


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """One shared sandbox at scale 1 with the clock frozen at NOW (never mutate it)."""
    return Sandbox(seed=7, scale=1, now=NOW)


@pytest.fixture(scope="session")
def creds(sandbox):
    return sandbox.credentials


@pytest.fixture
def client(sandbox, creds):
    """An httpx client authenticated with the demo API key, answered in-process."""
    with httpx.Client(transport=sandbox.transport(), auth=(creds.api_key, creds.api_secret)) as c:
        yield c


@pytest.fixture(scope="session")
def api(creds) -> str:
    """Base URL of the 2010 API for the demo account."""
    return f"https://api.twilio.com/2010-04-01/Accounts/{creds.account_sid}"


@pytest.fixture(scope="session")
def server(sandbox):
    """The same sandbox on a loopback port."""
    with sandbox.serve(port=0) as running:
        yield running


@cache
def _load_spec(path: Path) -> dict:
    return json.loads(path.read_text())


def spec_example(spec_dir: Path, file: str, path: str, name: str) -> dict:
    """One named 200 response example of a GET operation in Twilio's OpenAPI specs."""
    content = _load_spec(spec_dir / file)["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return content["examples"][name]["value"]


class RecordingTransport(httpx.BaseTransport):
    """Wraps a transport, keeping the URL of every request; ``look()`` runs while one is in flight."""

    def __init__(self, inner: httpx.BaseTransport, look=None) -> None:
        self.inner, self.look, self.urls = inner, look, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        if self.look is not None:
            self.look()
        return self.inner.handle_request(request)


class InFlight(httpx.BaseTransport):
    """Wraps a transport, counting the requests in flight at once (not time): ``peak`` is the most seen."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.now = self.peak = self.total = 0
        self.lock = threading.Lock()
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.now += 1
            self.total += 1
            self.peak = max(self.peak, self.now)
            self.urls.append(request.url)
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self.lock:
                self.now -= 1


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
