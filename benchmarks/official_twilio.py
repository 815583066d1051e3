"""The official twilio library's side of the fetch benchmark (run it with ``python benchmarks/run.py``).

``official`` lists 30 days of Messages with ``client.messages.list(date_sent_after=…,
date_sent_before=…, page_size=1000)`` and counts them per day and status with pandas: what an
analyst would write today. The library's HTTP client sends each request to the loopback sandbox
with the Twilio host in the ``Host`` header, as tests/sandbox/test_official_twilio.py does.
``serving_alone`` times the sandbox building the same pages with no client competing, and
``counts_of`` turns either side's answer into {(day, status): count} so that the two can be
compared.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pandas as pd
from requests.models import PreparedRequest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from twibox_nb.sandbox import Sandbox


class LoopbackHttpClient(TwilioHttpClient):
    """Sends the library's https://*.twilio.com requests to the loopback sandbox, Host header kept."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=60)
        self.base_url = base_url.rstrip("/")
        self.session.trust_env = False  # never route loopback traffic through an environment proxy
        self.requests = 0

    def request(  # noqa: PLR0917  (TwilioHttpClient.request's own signature)
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        prepared = PreparedRequest()
        prepared.prepare_url(url, params)  # the URL as the library would send it to Twilio
        parts = urlsplit(prepared.url)
        if parts.scheme != "https" or not (parts.hostname or "").endswith(".twilio.com"):
            raise RuntimeError(f"the library asked for a non-Twilio URL: {prepared.url}")
        self.requests += 1
        local = f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        headers = {**(headers or {}), "Host": parts.netloc}
        return super().request(method, local, None, data, headers, auth, timeout, allow_redirects)


def official(server_url: str, creds, start: datetime, end: datetime) -> tuple[pd.DataFrame, int]:
    """Messages per day by status with the official library and pandas; also the request count."""
    http = LoopbackHttpClient(server_url)
    try:
        client = Client(creds.api_key, creds.api_secret, creds.account_sid, http_client=http)
        messages = client.messages.list(date_sent_after=start, date_sent_before=end, page_size=1000)
        frame = pd.DataFrame({"date_sent": [m.date_sent for m in messages], "status": [m.status for m in messages]})
    finally:
        http.session.close()
    frame["date_sent"] = pd.to_datetime(frame["date_sent"], utc=True)
    frame = frame[(frame["date_sent"] >= start) & (frame["date_sent"] < end)]  # the half-open range
    counts = frame.groupby([frame["date_sent"].dt.floor("D"), "status"]).size()
    return counts.rename_axis(["date", "status"]).rename("count").reset_index(), http.requests


def serving_alone(sandbox: Sandbox, start: datetime, end: datetime) -> tuple[float, int]:
    """Seconds ``sandbox`` spends answering the range's pages of 1000 with no client competing."""
    c = sandbox.credentials
    auth = "Basic " + base64.b64encode(f"{c.api_key}:{c.api_secret}".encode()).decode()
    path = f"/2010-04-01/Accounts/{c.account_sid}/Messages.json"
    last = (end - timedelta(days=1)).date()  # DateSent< takes the whole day
    query = f"DateSent%3E={start.date()}&DateSent%3C={last}&PageSize=1000"
    seconds, pages = 0.0, 0
    while True:
        started = time.perf_counter()
        reply = sandbox.app.handle("GET", "https://api.twilio.com", path, query, auth)
        seconds += time.perf_counter() - started
        pages += 1
        next_uri = json.loads(reply.body)["next_page_uri"]
        if not next_uri:
            return seconds, pages
        path, _, query = next_uri.partition("?")


def counts_of(frame: pd.DataFrame, date: str, status: str, count: str) -> dict[tuple[str, str], int]:
    days = pd.to_datetime(frame[date], utc=True).dt.strftime("%Y-%m-%d")
    return {
        (day, str(s)): int(n)
        for day, s, n in zip(days, frame[status], frame[count], strict=True)
        if n  # an interval with no records is not a group
    }
