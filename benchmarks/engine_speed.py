"""How fast the engine turns pages into rows, and a whole metric fetch, measured in one run.

Run: python benchmarks/engine_speed.py [--scale 30] [--days 30]

1. Each builder-generated expression (a numeric value, with a dimension, with a date) over
   100,000 message records in pages of 1000, on the compiled Python path.
2. The same projection as a custom expression on jsonata-python inside the guard (one page,
   extrapolated: the full run would take minutes).
3. fetch_metric "messages per day by status" over the in-process sandbox (no latency).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

import httpx

from twibox_nb import Count, Field, MetricSpec, RequestSpec, Sandbox, connect, fetch_metric
from twibox_nb.expression import Selection, custom_expression, generate


def pages_of(sandbox: Sandbox, days: int) -> list[dict]:
    c = sandbox.credentials
    end = sandbox.account.today()
    params = {"DateSent>": (end - timedelta(days=days)).isoformat(), "DateSent<": end.isoformat(), "PageSize": 1000}
    pages = []
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
        body = client.get(
            f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Messages.json", params=params
        ).json()
        while True:
            pages.append(body)
            if not body["next_page_uri"] or sum(len(p["messages"]) for p in pages) >= 100_000:
                return pages
            body = client.get("https://api.twilio.com" + body["next_page_uri"]).json()


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=30)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    sandbox = Sandbox(seed=7, scale=args.scale, now=now)
    pages = pages_of(sandbox, args.days)
    records = sum(len(p["messages"]) for p in pages)
    print(f"{records:,} message records in {len(pages)} pages (sandbox scale {args.scale:g})")

    selections = {
        "value (price)": Selection(value="price"),
        "value + dimension (status)": Selection(value="price", dimension="status"),
        "value + dimension + date": Selection(value="price", dimension="status", date="date_sent"),
    }
    for name, selection in selections.items():
        expression = generate("messages", selection)
        seconds = best_of(3, lambda e=expression: [e.evaluate(p) for p in pages])
        verdict = "met" if seconds <= 0.1 else "MISSED"
        print(f"generated {name:28s} {seconds * 1000:7.1f} ms for {records:,} records (target <= 100 ms: {verdict})")

    text = 'messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}'
    custom = custom_expression(text, timeout=60)
    custom.evaluate(pages[0])  # start the guarded worker outside the measurement
    per_page = statistics.median(best_of(1, lambda: custom.evaluate(pages[0])) for _ in range(3))
    print(
        f"custom expression on jsonata-python (guarded): {per_page * 1000:.0f} ms per page of 1000, "
        f"about {per_page * len(pages):.1f} s for {records:,} records"
    )

    spec = MetricSpec(
        "Messages by status",
        RequestSpec(
            "/2010-04-01/Accounts/{AccountSid}/Messages.json",
            params={"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
            max_pages=1000,
        ),
        value=Count(),
        dimension=Field("status"),
        date=Field("date_sent"),
    )
    started = time.perf_counter()
    result = fetch_metric(spec, connect(sandbox=sandbox), f"last_{args.days}_days", now=now)
    seconds = time.perf_counter() - started
    print(
        f"fetch_metric messages per day by status, last {args.days} days in-process: {seconds:.2f} s "
        f"({result.pages} pages, {result.records:,} records, {result.stop_reason})"
    )


if __name__ == "__main__":
    main()
