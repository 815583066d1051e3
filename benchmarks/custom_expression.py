"""How fast a custom JSONata expression turns 100,000 message records into rows, per engine.

Run: python benchmarks/custom_expression.py [--pages 100] [--full] [--skip-python]

The expression is the issue's ``messages.{"date": date_sent, "value": price ? $number(price) :
null, "dimension": status}`` over 100 pages of 1000 sandbox messages (seed 7, scale 30, the last
32 days), evaluated through ``custom_expression(...).evaluate`` as fetch_metric does:

* per page, from the page's raw JSON text (``raw=``, what a fetch has in hand),
* per page, from the parsed body,
* whole: the 100 pages' records as one body (the builder's preview of a big body),

for the fast engine (jlens; the best of 3 runs) and for jsonata-python (one run over a tenth of
the pages, extrapolated, unless ``--full``), each next to the target (<= 0.5 s with the fast
engine installed). Only the fast engine is meant to meet it; jsonata-python is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from datetime import datetime, timedelta, timezone

import httpx

from twibox_nb.evaluate.custom import custom_expression
from twibox_nb.evaluate.engines import ENGINE_ENV, fast_engine_available
from twibox_nb.sandbox import Sandbox

TEXT = 'messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}'
TARGET = 0.5
NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)


def page_texts(pages: int) -> list[str]:
    """The raw JSON text of ``pages`` pages of 1000 messages, through the sandbox's in-process transport."""
    sandbox = Sandbox(seed=7, scale=30, now=NOW)
    c = sandbox.credentials
    end = sandbox.account.today()
    params = {"DateSent>": (end - timedelta(days=32)).isoformat(), "DateSent<": end.isoformat(), "PageSize": 1000}
    texts: list[str] = []
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
        response = client.get(
            f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Messages.json", params=params
        )
        while True:
            texts.append(response.text)
            nxt = response.json()["next_page_uri"]
            if not nxt or len(texts) >= pages:
                return texts
            response = client.get("https://api.twilio.com" + nxt)


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def verdict(seconds: float) -> str:
    return f"(target <= {TARGET:g} s: {'met' if seconds <= TARGET else 'MISSED'})"


def measure(pages: list[dict], texts: list[str] | None = None, *, full: bool = False, python: bool = True):
    """Yield ``(name, seconds, target)`` for each engine and way of evaluating (target None: a baseline).

    ``pages`` are parsed page bodies, ``texts`` their JSON text as it arrived (default: written
    from ``pages``). ``benchmarks/run.py`` calls this with its own pages.
    """
    texts = texts if texts is not None else [json.dumps(p) for p in pages]
    engines = ["fast"] if fast_engine_available() else []
    if python:
        engines.append("python")
    if not engines or engines[0] != "fast":
        yield "jlens: not installed (pip install 'twibox-nb[fast]')", float("inf"), TARGET
    reference = None
    previous = os.environ.get(ENGINE_ENV)
    try:
        for engine in engines:
            os.environ[ENGINE_ENV] = engine
            expression = custom_expression(TEXT, timeout=600)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the slow-engine hint is what is measured here
                expression.evaluate(raw=texts[0])  # start the worker outside the measurement
            name = "jlens" if engine == "fast" else "jsonata-python"
            # jsonata-python takes ~10 s a run: once, over a tenth of the pages unless full.
            share = 1 if engine == "fast" or full else 10
            runs = 3 if engine == "fast" else 1
            some = texts[: max(1, len(texts) // share)]
            some_pages = pages[: len(some)]
            whole = {"messages": [m for p in some_pages for m in p["messages"]]}
            rows = [r for t in some for r in expression.evaluate(raw=t)]
            if reference is None:
                reference = rows
            elif rows != reference[: len(rows)]:
                raise AssertionError(f"{name} gives other rows than jlens")
            scaled = f" (x{share}, from {len(some)} pages)" if share > 1 else ""
            for label, work in [
                ("per page, raw text", lambda e=expression, s=some: [e.evaluate(raw=t) for t in s]),
                ("per page, parsed", lambda e=expression, b=some_pages: [e.evaluate(x) for x in b]),
                ("whole body, parsed", lambda e=expression, w=whole: e.evaluate(w, progress=False)),
            ]:
                seconds = best_of(runs, work) * share
                yield f"{name}, {label}{scaled}", seconds, TARGET if engine == "fast" else None
    finally:
        if previous is None:
            os.environ.pop(ENGINE_ENV, None)
        else:
            os.environ[ENGINE_ENV] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="run jsonata-python over every page too (minutes)")
    parser.add_argument("--skip-python", action="store_true", help="measure the fast engine only")
    args = parser.parse_args()
    texts = page_texts(args.pages)
    pages = [json.loads(t) for t in texts]
    records = sum(len(p["messages"]) for p in pages)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{records:,} message records in {len(texts)} pages ({megabytes:.0f} MB of JSON)")
    print(f"expression: {TEXT}")
    for name, seconds, target in measure(pages, texts, full=args.full, python=not args.skip_python):
        shown = f"{seconds:6.2f} s for {records:,} records"
        if target is None:
            print(f"{name:52s} {shown} (baseline, no target)")
        else:
            print(f"{name:52s} {shown} {verdict(seconds)}")


if __name__ == "__main__":
    main()
