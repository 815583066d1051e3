"""How fast the sandbox serves filtered pages of 1000 records (target: well under 100 ms).

Run: python benchmarks/sandbox_speed.py [--scale 30] [--days 30]

At scale 30 the sandbox holds about 100,000 messages in 30 days. The benchmark lists those 30
days of Messages with DateSent>/DateSent< filters in pages of 1000 over the loopback server
(fresh server, so every day is generated on first use, nothing is pre-cached), then does the same
for Calls filtered by Status, and prints the time per page as the client sees it and as the server
spent building it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

import httpx

from twibox_nb.sandbox import Sandbox


def list_pages(client: httpx.Client, url: str, params: dict) -> tuple[int, list[float]]:
    timings, records = [], 0
    started = time.perf_counter()
    response = client.get(url, params=params)
    while True:
        timings.append(time.perf_counter() - started)
        body = response.json()
        records += len(body[next(k for k, v in body.items() if isinstance(v, list))])
        if not body["next_page_uri"]:
            return records, timings
        started = time.perf_counter()
        response = client.get(url.split("/2010-04-01", maxsplit=1)[0] + body["next_page_uri"])


def report(name: str, records: int, timings: list[float], server_seconds: float) -> None:
    ms = sorted(t * 1000 for t in timings)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"{name}: {records:,} records in {len(ms)} pages | per page, client: median {statistics.median(ms):.1f} ms, "
        f"p95 {p95:.1f} ms, max {ms[-1]:.1f} ms | server build time {server_seconds * 1000 / len(ms):.1f} ms/page "
        f"| target < 100 ms: {'met' if p95 < 100 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=30)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()

    sandbox = Sandbox(seed=7, scale=args.scale)
    c = sandbox.credentials
    end = sandbox.account.today() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    with sandbox.serve(port=0) as server, httpx.Client(auth=(c.api_key, c.api_secret)) as client:
        api = f"{server.url}/2010-04-01/Accounts/{c.account_sid}"
        print(f"sandbox scale {args.scale:g}, {args.days} days ({start} to {end}), loopback {server.url}")
        for name, path, params in (
            ("Messages, DateSent> and DateSent<", "Messages.json", {"DateSent>": start, "DateSent<": end}),
            ("Calls, StartTime> and Status=completed", "Calls.json", {"StartTime>": start, "Status": "completed"}),
        ):
            busy_before = sandbox.injector.busy_seconds
            records, timings = list_pages(client, f"{api}/{path}", {**params, "PageSize": 1000})
            report(name, records, timings, sandbox.injector.busy_seconds - busy_before)


if __name__ == "__main__":
    main()
