"""twibox_nb's fetch_metric versus the official twilio library, over the loopback sandbox with latency.

Run: python benchmarks/official_twilio.py [--scale 30] [--days 30] [--latency-ms 50]

Both fetch the same 30 days of Messages (about 95,000 at scale 30) in pages of 1000 from the
loopback sandbox, which waits ``--latency-ms`` before answering each request, into "messages per
day by status":

a. the official ``twilio`` library: ``client.messages.list(date_sent_after=…, date_sent_before=…,
   page_size=1000)`` then a pandas group-by (its HTTP client sends each request to the loopback
   server with the Twilio host in the ``Host`` header, as tests/sandbox/test_official_twilio.py does);
b. twibox_nb: ``fetch_metric`` of the library metric "Messages by status" with ``max_pages`` raised
   to fit, through ``connect(sandbox=server.url)``.

It prints both times, the speed-up next to the target (at least 5x, which needs concurrent
date-sliced fetching), the page count, the network floor ceil(pages / concurrency) x latency for
concurrency 1 and 8, and the time the sandbox itself spent building the pages; then checks that
both give the same count for every day and status. It measures only: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pandas as pd
from requests.models import PreparedRequest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from twibox_nb import connect, fetch_metric, library
from twibox_nb.dates import resolve_range
from twibox_nb.sandbox import Faults, Sandbox

SPEED_UP_TARGET = 5.0
TARGET_CONCURRENCY = 8


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


def serving_alone(scale: float, now: datetime, start: datetime, end: datetime) -> tuple[float, int]:
    """Seconds a fresh sandbox spends answering the same 30 days of pages with no client competing."""
    sandbox = Sandbox(seed=7, scale=scale, now=now)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=30)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()

    now = datetime.now(timezone.utc)
    date_range = resolve_range(f"last_{args.days}_days", now)
    start, end = date_range.start, date_range.end
    latency = args.latency_ms / 1000
    sandbox = Sandbox(seed=7, scale=args.scale, now=now, faults=Faults(latency_ms=args.latency_ms))
    spec = library.get("Messages by status")
    spec = spec.replace(request=replace(spec.request, max_pages=10_000))

    with sandbox.serve(port=0) as server:
        print(
            f"sandbox scale {args.scale:g}, {args.latency_ms:g} ms latency per request, loopback {server.url}; "
            f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), messages per day by status"
        )
        busy = sandbox.injector.busy_seconds
        started = time.perf_counter()
        theirs, requests = official(server.url, sandbox.credentials, start, end)
        official_seconds = time.perf_counter() - started
        official_busy = sandbox.injector.busy_seconds - busy

        busy = sandbox.injector.busy_seconds
        started = time.perf_counter()
        result = fetch_metric(spec, connect(sandbox=server.url), date_range, "day", now=now)
        ours_seconds = time.perf_counter() - started
        ours_busy = sandbox.injector.busy_seconds - busy

    pages = result.pages
    speed_up = official_seconds / ours_seconds
    print(f"(a) official twilio library + pandas: {official_seconds:6.2f} s  ({requests} requests)")
    print(
        f"(b) twibox_nb fetch_metric:            {ours_seconds:6.2f} s  ({pages} pages, {result.records:,} "
        f"records, {result.stop_reason}, sequential: concurrency 1)"
    )
    verdict = "met" if speed_up >= SPEED_UP_TARGET else "MISSED (needs concurrent date-sliced fetching)"
    print(f"speed-up: {speed_up:.2f}x (target >= {SPEED_UP_TARGET:g}x: {verdict})")
    for concurrency in (1, TARGET_CONCURRENCY):
        floor = math.ceil(pages / concurrency) * latency
        formula = f"ceil({pages}/{concurrency}) x {latency * 1000:g} ms"
        print(f"network floor at concurrency {concurrency}: {formula} = {floor:.2f} s")
    floor = math.ceil(pages / TARGET_CONCURRENCY) * latency
    print(
        f"sandbox serving time (injector.busy_seconds, wall time in the handler while the client runs in the same "
        f"process): {official_busy:.2f} s for (a), {ours_busy:.2f} s for (b) = {ours_busy * 1000 / max(pages, 1):.1f} "
        "ms per page"
    )
    alone, alone_pages = serving_alone(args.scale, now, start, end)
    verdict = "below" if alone < floor else "NOT below"
    print(
        f"sandbox serving the same days alone (fresh, no client competing): {alone:.2f} s for {alone_pages} pages "
        f"= {alone * 1000 / alone_pages:.1f} ms per page, {verdict} the concurrency-{TARGET_CONCURRENCY} network "
        f"floor of {floor:.2f} s"
    )

    mine = counts_of(result.data, "date", "dimension", "value")
    other = counts_of(theirs, "date", "status", "count")
    if mine == other:
        print(f"results agree: {len(mine)} (day, status) counts, {sum(mine.values()):,} messages in both")
    else:
        differ = sorted(k for k in mine.keys() | other.keys() if mine.get(k) != other.get(k))
        print(f"results DIFFER on {len(differ)} (day, status) counts, e.g. {differ[:3]}")
        for key in differ[:3]:
            print(f"  {key}: twibox_nb {mine.get(key)}, official {other.get(key)}")


if __name__ == "__main__":
    main()
