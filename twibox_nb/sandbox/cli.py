"""Command line for the loopback sandbox: ``python -m twibox_nb.sandbox`` / ``twibox sandbox``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime, timezone

from .core import Sandbox
from .faults import Faults, describe

NOW_EXAMPLE = "2026-05-01T12:00:00Z"


# Each option: its flag, type, default and help (the serve command line and ``twibox sandbox``).
_OPTIONS: tuple[tuple[str, type, object, str], ...] = (
    ("--host", str, "127.0.0.1", "address to bind (default 127.0.0.1)"),
    ("--port", int, 8765, "port (default 8765; 0 picks a free one)"),
    ("--scale", float, 1.0, "volume multiplier: 1 ≈ 3,300 messages per 30 days, 30 ≈ 100,000 (default 1)"),
    ("--seed", int, 7, "which synthetic account (default 7)"),
    ("--latency-ms", float, 0.0, "latency added to every request"),
    ("--fault-rate", float, 0.0, "share of requests that fail: 429s, 5xx bursts, malformed and truncated bodies"),
    ("--concurrency-limit", int, None, "answer 429 when more requests than this are in flight (as Twilio does)"),
    ("--now", str, None, f"freeze the clock at this UTC time (ISO 8601, e.g. {NOW_EXAMPLE})"),
)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for flag, kind, default, text in _OPTIONS:
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(
        argparse.ArgumentParser(
            prog="python -m twibox_nb.sandbox",
            description="Serve a synthetic Twilio account (demo data, read-only) on loopback.",
        )
    )


def parse_now(text: str | None) -> datetime | None:
    """A ``--now`` value (ISO 8601; UTC unless it says otherwise) for every command line of the
    package; a bad one raises ValueError with a one-line message naming ``--now`` and an example."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--now {text!r} is not an ISO 8601 date-time: use e.g. --now {NOW_EXAMPLE}") from None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run(args: argparse.Namespace) -> int:
    try:
        now = parse_now(args.now)
        faults = Faults.from_rate(args.fault_rate, latency_ms=args.latency_ms, concurrency_limit=args.concurrency_limit)
        sandbox = Sandbox(seed=args.seed, scale=args.scale, now=now, faults=faults)
        server = sandbox.serve(host=args.host, port=args.port, verbose=args.verbose)
    except (ValueError, OSError) as exc:
        print(f"twibox sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    asked = args.fault_rate or args.latency_ms or args.concurrency_limit is not None
    c = sandbox.credentials
    print(f"twibox sandbox: demo Twilio data (not a real account) on {server.url}", flush=True)
    print(f"  {sandbox!r}" + (f"; faults: {describe(faults)}" if asked else ""))
    print(f"  TWILIO_ACCOUNT_SID={c.account_sid}")
    print(f"  TWILIO_API_KEY={c.api_key}")
    print(f"  TWILIO_API_SECRET={c.api_secret}")
    print(f"  TWILIO_AUTH_TOKEN={c.auth_token}")
    for key in (c.standard, c.restricted):  # the other key types, to try what each may read
        print(f"  a {key.kind} API key: {key.sid} with secret {key.secret}")
    messages = f"{server.url}/2010-04-01/Accounts/{c.account_sid}/Messages.json?PageSize=5"
    print(f"  try: curl -u {c.api_key}:{c.api_secret} '{messages}'")
    print("  Ctrl-C stops it.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("twibox sandbox: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
