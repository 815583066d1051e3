"""Shared fixtures: a sandbox with a frozen clock, clients for it, and Twilio's OpenAPI specs."""

from __future__ import annotations

import base64
import os
import site
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from twibox_nb import Count, Field, MetricSpec, RequestSpec, connect, openapi
from twibox_nb.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
# A fixed "now" (a Friday afternoon) keeps every test reproducible; today is partly filled.
NOW = datetime(2026, 11, 27, 15, 30, 0, tzinfo=timezone.utc)
# The 2010 API's account path as metric specs write it, and its Messages list.
ACCOUNT_PATH = "/2010-04-01/Accounts/{AccountSid}"
MESSAGES_PATH = f"{ACCOUNT_PATH}/Messages.json"
# The range's dates as Messages filters take them, and the Messages metric most tests run: counted
# per day by status (tests derive the others with ``.replace(...)``).
MESSAGES_PARAMS = {"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"}
MESSAGES_REQUEST = RequestSpec(MESSAGES_PATH, params=MESSAGES_PARAMS)
MESSAGES_BY_STATUS = MetricSpec(
    "Messages by status", MESSAGES_REQUEST, value=Count(), dimension=Field("status"), date=Field("date_sent")
)


# --- nothing outside the repository -------------------------------------------------------------
# A user's clone has nothing beside it, so no test may read a sibling of the repository (CI's clone
# has the team's shared folder beside it, which once hid 130 failing tests). Every file the test
# process opens or lists goes through this audit hook; a path inside a folder that sits beside the
# repository fails the test that read it. Siblings are what is there when the tests start (plus
# "shared", always), less Python's own folders (a virtual environment beside the clone), hidden
# folders (a home's .cache and .local when the clone sits in $HOME) and pytest's temporary folders.
_OUTSIDE: list[str] = []
_PYTHON = {
    Path(p).resolve()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages())
}


def _siblings() -> frozenset[str]:
    try:
        names = {entry.name for entry in os.scandir(REPO.parent) if entry.is_dir()}
    except OSError:
        names = set()
    if REPO.parent == Path(REPO.anchor):
        return frozenset({"shared"})  # a clone at the top of the file system: every folder is a "sibling"
    names.add("shared")
    python = {
        p.relative_to(REPO.parent).parts[0] for p in _PYTHON if p.is_relative_to(REPO.parent) and p != REPO.parent
    }
    return frozenset(
        n for n in names - python if n != REPO.name and not n.startswith(".") and not n.startswith("pytest-of-")
    )


_SIBLINGS = _siblings()


def outside_repository(path: str) -> bool:
    """True for a path inside a folder beside the repository (such as the shared folder CI has)."""
    full = os.path.abspath(path)
    head, _, rest = full.partition(str(REPO.parent).rstrip(os.sep) + os.sep)
    return head == "" and bool(rest) and rest.split(os.sep, 1)[0] in _SIBLINGS


def _audit(event: str, args: tuple) -> None:
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, os.PathLike)):
        try:
            path = os.fspath(args[0])
        except TypeError:
            return
        if isinstance(path, str) and outside_repository(path):
            _OUTSIDE.append(path)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _reads_nothing_outside_the_repository():
    """Fail a test that opened or listed a path beside the repository (such as the shared folder CI has)."""
    before = len(_OUTSIDE)
    yield
    read = _OUTSIDE[before:]
    del _OUTSIDE[before:]
    if read:
        pytest.fail(f"read outside the repository, which a user's clone does not have: {sorted(set(read))}")


@pytest.fixture(scope="session")
def specs():
    """Twilio's OpenAPI specs, as vendored in the package (``specs.load("twilio_api_v2010.json")``)."""
    return openapi


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch):
    """A connection that is not the sandbox would use the user's fetch cache by default: never in tests."""
    monkeypatch.setenv("TWIBOX_CACHE", "off")


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """One shared sandbox at scale 1 with the clock frozen at NOW (never mutate it)."""
    return Sandbox(seed=7, scale=1, now=NOW)


@pytest.fixture(scope="session")
def conn(sandbox):
    """A connection to the shared sandbox, as ``twibox_nb.connect(sandbox=...)`` makes it."""
    return connect(sandbox=sandbox)


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


def spec_example(file: str, path: str, name: str) -> dict:
    """One named 200 response example of a GET operation in Twilio's OpenAPI specs."""
    content = openapi.load(file)["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
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
