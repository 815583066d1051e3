"""The ``twibox`` command line: ``twibox fetch`` a metric, ``twibox sync`` metrics into the store,
``twibox history`` from it, ``twibox cache info|clear`` for the cache of closed windows,
``twibox sandbox`` to serve demo data.

Exit codes: 0 success; 1 an error (one line on stderr, ``twibox <command>: …``); 2 a usage error
(argparse); ``twibox sync`` exits 3 when every metric was stored but some fetch was truncated
(page cap, error after some pages), so a scheduler notices incomplete data.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ._exceptions import TwiboxError
from ._files import atomic_write_text
from .sandbox import cli as sandbox_cli
from .slices import DEFAULT_CONCURRENCY, MAX_CONCURRENCY


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .connection import connect
    from .metric import TruncationWarning, fetch_metric
    from .spec import load_metric

    try:
        spec = load_metric(args.metric)
        if args.sandbox is not None:
            conn = connect(sandbox=True if args.sandbox == "in-process" else args.sandbox)
        else:
            conn = connect()
        print(f"{spec.name} — {conn.label}", file=sys.stderr)
        with tqdm(unit=" pages", desc="fetching", file=sys.stderr, disable=args.quiet) as bar:

            def progress(event) -> None:
                bar.update(event.pages - bar.n)
                bar.set_postfix(records=event.records, refresh=False)

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TruncationWarning)
                result = fetch_metric(
                    spec, conn, args.range, args.interval, args.compare, progress, now=_parse_now(args.now),
                    concurrency=args.concurrency, cache=False if args.no_cache else "auto",
                )  # fmt: skip
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
    except (TwiboxError, ValueError) as exc:
        print(f"twibox fetch: {exc}", file=sys.stderr)
        return 1
    return _output(result, args.csv)


def _output(result, csv: str | None) -> int:
    """The aggregated table on stdout (or atomically into a CSV file), the summary on stderr."""
    table = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if csv:
        atomic_write_text(Path(csv), table.to_csv(index=False))
        print(f"wrote {len(table)} rows to {csv}", file=sys.stderr)
    else:
        print(table.to_string(index=False))
    print(repr(result), file=sys.stderr)
    return 0


def _connection(sandbox: str | None, now: datetime | None):
    from .connection import connect

    if sandbox is None:
        return connect()
    if sandbox == "in-process":
        from .sandbox import Sandbox

        return connect(sandbox=Sandbox(now=now))  # a pinned clock pins the demo data too
    return connect(sandbox=sandbox)


def _load(name: str):
    """A metric file, or a library metric's name (for ``twibox sync "Messages sent"``)."""
    from . import library
    from ._exceptions import SpecError
    from .spec import load_metric

    path = Path(name)
    if path.suffix.lower() == ".json" or path.exists():
        return load_metric(path)
    try:
        return library.get(name)
    except SpecError as exc:
        raise SpecError("metric", f"{name!r} is neither a metric file nor a library metric ({exc.detail})") from None


def run_sync(args: argparse.Namespace) -> int:
    from .metric import TruncationWarning
    from .store import Store

    now = _parse_now(args.now)
    failed = truncated = 0
    try:
        conn = _connection(args.sandbox, now)
        store = Store(args.store)
    except (TwiboxError, ValueError) as exc:
        print(f"twibox sync: {exc}", file=sys.stderr)
        return 1
    with store:
        for name in args.metrics:
            try:
                spec = _load(name)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TruncationWarning)  # the report line says it
                    report = store.sync(spec, conn, args.range, now=now)
            except (TwiboxError, ValueError) as exc:
                failed += 1
                print(f"twibox sync: {name}: {exc}", file=sys.stderr)
                continue
            truncated += report.truncated
            print(f"synced {report} → {store.url}", file=sys.stderr if args.quiet else sys.stdout)
    if failed:
        return 1
    return 3 if truncated else 0


def run_history(args: argparse.Namespace) -> int:
    from .metric import TruncationWarning
    from .store import Store

    try:
        path = Path(args.metric)
        metric = _load(args.metric) if path.suffix.lower() == ".json" or path.exists() else args.metric
        with Store(args.store) as store, warnings.catch_warnings(record=True):
            warnings.simplefilter("ignore", TruncationWarning)  # result.warnings are printed below
            result = store.history(metric, args.range, args.interval, args.compare, now=_parse_now(args.now),
                                   account=args.account)  # fmt: skip
    except (TwiboxError, ValueError) as exc:
        print(f"twibox history: {exc}", file=sys.stderr)
        return 1
    return _output(result, args.csv)


def run_cache(args: argparse.Namespace) -> int:
    """``twibox cache info`` lists the cached windows; ``twibox cache clear`` deletes them."""
    import os

    from .cache import CACHE_ENV, Cache

    if args.path is None and os.environ.get(CACHE_ENV, "").strip().lower() == "off":
        print(f"twibox cache: the cache is off (${CACHE_ENV}=off)", file=sys.stderr)
        return 0
    cache = Cache(args.path)
    if args.action == "info":
        info = cache.info()
        print(f"cache: {cache.path}", file=sys.stderr)
        if info.empty:
            print("no cached windows", file=sys.stderr)
            return 0
        shown = info.assign(**{c: info[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ") for c in ("start", "end", "stored_at")})
        print(shown.drop(columns=["origin"]).to_string(index=False))
        print(f"{len(info)} windows, {int(info['bytes'].sum()):,} bytes of rows", file=sys.stderr)
        return 0
    what = " and ".join(
        part for part in (args.account and f"account {args.account}", args.metric and f"metric {args.metric}") if part
    )
    if not args.yes:
        if not sys.stdin.isatty():
            print("twibox cache clear: pass --yes to delete cached windows without a question", file=sys.stderr)
            return 1
        answer = input(f"Delete the cached windows{' of ' + what if what else ''} in {cache.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return 0
    deleted = cache.clear(account=args.account, metric=args.metric)
    print(f"deleted {deleted} cached windows from {cache.path}", file=sys.stderr)
    return 0


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=None, metavar="URL",
        help="the store: a path, sqlite:///path or postgresql://… "
        "(default: $TWIBOX_STORE, else the user's data directory)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twibox", description="twibox_nb: Twilio metrics for notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)

    fetch = commands.add_parser("fetch", help="fetch a metric (a twibox_metric JSON file) and print or save it")
    fetch.add_argument("metric", help="the metric file (twibox_metric JSON)")
    fetch.add_argument(
        "--range", default=None, help="date range, e.g. last_30_days, this_month, 2026-01-01..2026-01-31"
    )
    fetch.add_argument("--interval", default=None, help="hour, day, week, month, quarter or year")
    fetch.add_argument("--compare", default=None, choices=["previous_period", "same_period_last_year"])
    fetch.add_argument(
        "--sandbox", nargs="?", const="in-process", default=None, metavar="URL",
        help="use the embedded sandbox (demo data), or a loopback sandbox server at URL",
    )  # fmt: skip
    fetch.add_argument("--csv", default=None, metavar="OUT", help="write the aggregated table to this CSV file")
    fetch.add_argument("--now", default=None, help="pin the clock (ISO 8601, UTC), for reproducible runs")
    fetch.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, metavar="N",
        help=f"date slices fetched at once (default {DEFAULT_CONCURRENCY}, at most {MAX_CONCURRENCY}; "
        "1: one page after another)",
    )  # fmt: skip
    fetch.add_argument(
        "--no-cache", action="store_true", help="fetch closed past days again instead of reading them from the cache"
    )
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(run=run_fetch)

    sync = commands.add_parser(
        "sync", help="fetch metrics and store them (one shot, for cron or any scheduler)",
        epilog="exit codes: 0 stored, 1 an error, 3 stored but some fetch was truncated (values incomplete)",
    )  # fmt: skip
    sync.add_argument("metrics", nargs="+", metavar="METRIC", help="metric files (twibox_metric JSON) or library names")
    sync.add_argument("--range", default=None, help="date range to (re)sync (default: each metric's own)")
    _store_argument(sync)
    sync.add_argument(
        "--sandbox", nargs="?", const="in-process", default=None, metavar="URL",
        help="use the embedded sandbox (demo data), or a loopback sandbox server at URL",
    )  # fmt: skip
    sync.add_argument("--now", default=None, help="pin the clock (ISO 8601, UTC), for reproducible runs")
    sync.add_argument("--quiet", action="store_true", help="report lines on stderr only")
    sync.set_defaults(run=run_sync)

    history = commands.add_parser("history", help="a stored metric's history, as a table or CSV")
    history.add_argument("metric", help="a metric file, or a stored metric's name or identity")
    history.add_argument("--range", default=None, help="date range (default: the metric's own)")
    history.add_argument("--interval", default=None, help="hour, day, week, month, quarter or year")
    history.add_argument("--compare", default=None, choices=["previous_period", "same_period_last_year"])
    _store_argument(history)
    history.add_argument("--account", default=None, help="the Account SID, when the metric is stored for several")
    history.add_argument("--csv", default=None, metavar="OUT", help="write the aggregated table to this CSV file")
    history.add_argument("--now", default=None, help="pin the clock (ISO 8601, UTC)")
    history.set_defaults(run=run_history)

    cache = commands.add_parser("cache", help="inspect or clear the cache of closed past windows")
    cache.add_argument("action", choices=["info", "clear"], help="info: list cached windows; clear: delete them")
    cache.add_argument(
        "--path", default=None, metavar="DIR",
        help="the cache directory (default: $TWIBOX_CACHE, else the user's cache directory)",
    )  # fmt: skip
    cache.add_argument("--account", default=None, help="clear: only this Account SID's windows")
    cache.add_argument("--metric", default=None, help="clear: only this metric identity's windows")
    cache.add_argument("--yes", action="store_true", help="clear: do not ask for confirmation")
    cache.set_defaults(run=run_cache)

    sandbox = commands.add_parser("sandbox", help="serve the synthetic Twilio account on loopback")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
