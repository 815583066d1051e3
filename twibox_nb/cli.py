"""The ``twibox`` command line: ``twibox fetch`` a metric, ``twibox sandbox`` to serve demo data."""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ._exceptions import TwiboxError
from ._files import atomic_write_text
from .sandbox import cli as sandbox_cli


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
                    spec, conn, args.range, args.interval, args.compare, progress, now=_parse_now(args.now)
                )
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
    except (TwiboxError, ValueError) as exc:
        print(f"twibox fetch: {exc}", file=sys.stderr)
        return 1
    table = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if args.csv:
        atomic_write_text(Path(args.csv), table.to_csv(index=False))
        print(f"wrote {len(table)} rows to {args.csv}", file=sys.stderr)
    else:
        print(table.to_string(index=False))
    print(repr(result), file=sys.stderr)
    return 0


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
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(run=run_fetch)

    sandbox = commands.add_parser("sandbox", help="serve the synthetic Twilio account on loopback")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
