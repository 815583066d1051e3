"""Every performance figure of issue 8, measured in one run, each printed next to its target.

Run: python benchmarks/run.py [--scale 30] [--days 30] [--latency-ms 50]

The sandbox serves from its own process (``python -m twibox_nb.sandbox``), with ``--latency-ms``
added to every request, so it never shares this process's interpreter lock with the client
being measured. Its clock is frozen at the moment the run starts, which both processes share.

1. fetch: 30 days of Messages (about 100,000 at scale 30) into "messages per day by status":
   the official ``twilio`` library's ``messages.list(...)`` plus a pandas group-by, versus
   ``fetch_metric`` with concurrent date slices (target: at least 5x faster). Also the network
   floor ceil(pages / concurrency) x latency, the concurrency used (at least 8), and the
   sandbox's own time to build the same pages (it must not be what limits the run).
2. peak traced Python memory (tracemalloc) during the 100,000-record fetch (target: at most
   2.5x the raw JSON).
3. generated expressions over 100,000 records into rows (target: at most 100 ms each).
4. the custom expression over 100,000 records (target: at most 0.5 s with the fast engine).
5. a re-run over a closed past range sends no requests; an open range (today) is fetched again.
6. the builder re-previews 1000 records after a new value, dimension, date or expression
   (target: at most 100 ms each).

It measures and prints; nothing here asserts. The last lines are a table of every figure, its
target and whether it was met on this machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark modules

import custom_expression
import official_twilio
from custom_expression import best_of

from twibox_nb import Cache, Count, Field, MetricSpec, RequestSpec, Sandbox, connect, fetch_metric, library
from twibox_nb.builder.state import BuilderState
from twibox_nb.evaluate.generated import Selection, generate
from twibox_nb.model.dates import resolve_range


@dataclass
class Figure:
    name: str
    measured: str
    target: str
    met: bool


FIGURES: list[Figure] = []


def record(name: str, measured: str, target: str, met: bool) -> None:
    FIGURES.append(Figure(name, measured, target, met))


@contextmanager
def sandbox_process(scale: float, latency_ms: float, now: datetime):
    """A loopback sandbox server in a child process; yields its URL."""
    command = [
        sys.executable, "-m", "twibox_nb.sandbox", "--port", "0", "--seed", "7", "--scale", f"{scale:g}",
        "--latency-ms", f"{latency_ms:g}", "--now", now.isoformat(),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert child.stdout is not None
        for line in child.stdout:  # the first line names the URL (later lines hold the demo credentials)
            found = re.search(r"on (http://\S+)", line)
            if found:
                break
        else:
            raise SystemExit(f"the sandbox process did not start (exit code {child.wait()})")
        yield found.group(1)
    finally:
        child.terminate()
        child.wait(timeout=10)


def messages_spec() -> MetricSpec:
    spec = library.get("Messages by status")
    return spec.replace(request=replace(spec.request, max_pages=10_000))


def raw_pages(url: str, sandbox: Sandbox, start: datetime, end: datetime) -> tuple[list[bytes], list[dict]]:
    """The range's Messages pages as sent over the wire (raw bytes) and parsed, fetched one by one."""
    c = sandbox.credentials
    last = (end - timedelta(days=1)).date()
    params = {"DateSent>": str(start.date()), "DateSent<": str(last), "PageSize": "1000"}
    raw: list[bytes] = []
    with httpx.Client(auth=(c.api_key, c.api_secret), timeout=60) as client:
        response = client.get(f"{url}/2010-04-01/Accounts/{c.account_sid}/Messages.json", params=params)
        while True:
            response.raise_for_status()
            raw.append(response.content)
            next_uri = response.json()["next_page_uri"]
            if not next_uri:
                break
            response = client.get(url + next_uri)

    return raw, [json.loads(body) for body in raw]


def serving_alone(scale: float, now: datetime, start: datetime, end: datetime) -> tuple[float, float, int]:
    """Seconds a sandbox spends building the range's pages: fresh, then again once its days are generated."""
    sandbox = Sandbox(seed=7, scale=scale, now=now)
    cold, pages = official_twilio.serving_alone(sandbox, start, end)
    warm, _ = official_twilio.serving_alone(sandbox, start, end)
    return cold, warm, pages


def fetch_figures(url: str, args, now: datetime, sandbox: Sandbox) -> None:
    print("\n1. Fetch: 30 days of Messages into messages per day by status")
    date_range = resolve_range(f"last_{args.days}_days", now)
    start, end = date_range.start, date_range.end
    latency = args.latency_ms / 1000
    conn = connect(sandbox=url)
    # Warm both sides up on one day first (imports, first connections), so that neither pays
    # for loading its modules inside the measurement.
    yesterday = resolve_range("yesterday", now)
    official_twilio.official(url, sandbox.credentials, yesterday.start, yesterday.end)
    fetch_metric(messages_spec(), conn, yesterday, "day", now=now, cache=False)

    started = time.perf_counter()
    theirs, requests = official_twilio.official(url, sandbox.credentials, start, end)
    official_seconds = time.perf_counter() - started
    print(f"   official twilio library + pandas: {official_seconds:6.2f} s ({requests} requests, one run)")

    runs = []
    for _ in range(3):  # three runs, the median kept (each is a few seconds; the official one ten)
        started = time.perf_counter()
        result = fetch_metric(messages_spec(), conn, date_range, "day", now=now, cache=False)
        runs.append(time.perf_counter() - started)
    ours = statistics.median(runs)
    report = result.current.report
    concurrency = getattr(report, "concurrency", 1)
    slices = getattr(report, "slices", 1)
    print(
        f"   twibox_nb fetch_metric:           {ours:6.2f} s median of {', '.join(f'{r:.2f}' for r in runs)} s "
        f"({result.pages} pages in {slices} date slices, {report.requests} requests, {result.records:,} records, "
        f"{result.stop_reason}, concurrency {concurrency})"
    )
    speed_up = official_seconds / ours
    print(f"   speed-up {speed_up:.1f}x (target >= 5x)")
    record("fetch 100k messages: speed-up vs official twilio", f"{speed_up:.1f}x", ">= 5x", speed_up >= 5)
    record("fetch: concurrency used", str(concurrency), ">= 8", concurrency >= 8)
    floor = math.ceil(result.pages / max(concurrency, 1)) * latency
    print(
        f"   network floor ceil({result.pages} / {concurrency}) x {args.latency_ms:g} ms = {floor:.2f} s; "
        + (f"twibox_nb took {ours / floor:.1f}x the floor" if floor else "no latency, no floor")
    )
    cold, warm, alone_pages = serving_alone(args.scale, now, start, end)
    print(
        f"   sandbox building the same {alone_pages} pages alone, in this process: {cold:.2f} s fresh (days generated "
        f"on first use), {warm:.2f} s warm ({warm * 1000 / alone_pages:.1f} ms per page); the server is warm by the "
        f"time fetch_metric runs (the official run came first). Below the floor: {'yes' if warm < floor else 'NO'}"
    )
    record(
        "fetch: sandbox serving time (warm) below the floor", f"{warm:.2f} s vs {floor:.2f} s", "below", warm < floor
    )
    mine = official_twilio.counts_of(result.data, "date", "dimension", "value")
    other = official_twilio.counts_of(theirs, "date", "status", "count")
    agree = mine == other
    print(f"   results agree: {agree} ({len(mine)} (day, status) counts, {sum(mine.values()):,} messages)")
    record("fetch: same counts as the official library", "yes" if agree else "NO", "identical", agree)


def expression_figures(pages: list[dict]) -> None:
    records = sum(len(p["messages"]) for p in pages)
    print(f"\n3. Generated expressions over {records:,} records ({len(pages)} pages)")
    selections = {
        "value": Selection(value="price"),
        "value + dimension": Selection(value="price", dimension="status"),
        "value + dimension + date": Selection(value="price", dimension="status", date="date_sent"),
    }
    for name, selection in selections.items():
        expression = generate("messages", selection)
        seconds = best_of(3, lambda e=expression: [e.evaluate(p) for p in pages])
        print(f"   {name:26s} {seconds * 1000:6.1f} ms (target <= 100 ms)")
        record(f"generated expression: {name}", f"{seconds * 1000:.0f} ms", "<= 100 ms", seconds <= 0.1)

    print("\n4. Custom expression over the same records")
    for name, seconds, target in custom_expression.measure(pages):
        shown = f"{seconds:.2f} s"
        print(f"   {name:40s} {shown:>8s}" + (f" (target <= {target:g} s)" if target else ""))
        if target:
            record(f"custom expression: {name}", shown, f"<= {target:g} s", seconds <= target)


def cache_figures(url: str, now: datetime) -> None:
    print("\n5. Cache: re-running over a closed past range, and over an open one")
    spec = messages_spec()
    conn = connect(sandbox=url)
    with tempfile.TemporaryDirectory() as folder:
        cache = Cache(Path(folder))
        for label, date_range in (("last_7_days (closed)", "last_7_days"), ("this_week (open: today)", "this_week")):
            first = fetch_metric(spec, conn, date_range, "day", now=now, cache=cache)
            again = fetch_metric(spec, conn, date_range, "day", now=now, cache=cache)
            same = first.data.equals(again.data)
            print(
                f"   {label:26s} first run {first.current.report.requests:3d} requests, second run "
                f"{again.current.report.requests:3d} requests ({again.current.report.cached_windows} windows from "
                f"the cache); same data: {same}"
            )
            if "closed" in label:
                record("cache: requests on re-running a closed range", str(again.current.report.requests), "0",
                       again.current.report.requests == 0 and same)  # fmt: skip
            else:
                record("cache: an open range is fetched again", f"{again.current.report.requests} requests", "> 0",
                       again.current.report.requests > 0 and same)  # fmt: skip


def memory_figures(url: str, args, now: datetime, raw: list[bytes]) -> None:
    print("\n2. Memory: peak traced Python memory during the 100,000-record fetch")
    raw_bytes = sum(len(body) for body in raw)
    gc.collect()
    tracemalloc.start()
    result = fetch_metric(messages_spec(), connect(sandbox=url), f"last_{args.days}_days", "day", now=now, cache=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = peak / raw_bytes
    print(
        f"   raw JSON {raw_bytes / 1e6:.1f} MB in {len(raw)} pages; peak traced {peak / 1e6:.1f} MB during the fetch "
        f"of {result.records:,} records = {ratio:.2f}x (target <= 2.5x)"
    )
    record("memory: peak traced / raw JSON", f"{ratio:.2f}x", "<= 2.5x", ratio <= 2.5)


def builder_figures(sandbox: Sandbox, now: datetime) -> None:
    print("\n6. Builder: re-preview of 1000 records after each change")
    conn = connect(sandbox=sandbox)
    spec = MetricSpec(
        "Messages",
        RequestSpec(
            "/2010-04-01/Accounts/{AccountSid}/Messages.json",
            params={"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
            max_pages=1,
        ),
        value=Count(),
        date_range="yesterday",  # a whole day: the first page of 1000 lies inside the range
    )
    state = BuilderState.from_spec(spec, conn, now=now)
    state.fetch_first_page()
    state.preview()  # the first page is fetched once; the changes below only re-evaluate it
    custom = 'messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}'
    changes = {  # two choices each, alternated, so that every timed preview follows a real change
        "value": (lambda: state.select_value(Field("price")), lambda: state.select_value(Field("num_segments"))),
        "dimension": (lambda: state.select_dimension(Field("status")), lambda: state.select_dimension(None)),
        "date": (lambda: state.select_date(Field("date_sent")), lambda: state.select_date(Field("date_created"))),
        "expression": (lambda: state.set_expression(custom), lambda: state.set_expression(custom + " ")),
    }
    for name, choices in changes.items():
        times, rows = [], 0
        for attempt in range(4):
            choices[attempt % 2]()
            started = time.perf_counter()
            rows = len(state.preview().rows)
            times.append(time.perf_counter() - started)
        seconds = min(times)
        print(f"   after a new {name:10s} {seconds * 1000:6.1f} ms ({rows} rows; target <= 100 ms)")
        record(f"builder re-preview after a new {name}", f"{seconds * 1000:.0f} ms", "<= 100 ms", seconds <= 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=30)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sandbox = Sandbox(seed=7, scale=args.scale, now=now)  # the same data the server process holds
    print(
        f"twibox_nb benchmarks: sandbox seed 7, scale {args.scale:g}, {args.days} days, {args.latency_ms:g} ms "
        f"latency per request, served from its own process; clock frozen at {now:%Y-%m-%d %H:%M} UTC"
    )
    with sandbox_process(args.scale, args.latency_ms, now) as url:
        fetch_figures(url, args, now, sandbox)
        date_range = resolve_range(f"last_{args.days}_days", now)
        raw, pages = raw_pages(url, sandbox, date_range.start, date_range.end)
        memory_figures(url, args, now, raw)
        del raw
        expression_figures(pages)
        del pages
        cache_figures(url, now)
    builder_figures(Sandbox(seed=7, scale=args.scale, now=now), now)

    print("\nSummary")
    width = max(len(f.name) for f in FIGURES)
    for f in FIGURES:
        print(f"   {f.name:{width}s}  {f.measured:>18s}  target {f.target:10s}  {'met' if f.met else 'MISSED'}")
    missed = [f.name for f in FIGURES if not f.met]
    print(f"{len(FIGURES) - len(missed)} of {len(FIGURES)} targets met" + (f"; missed: {missed}" if missed else ""))


if __name__ == "__main__":
    main()
