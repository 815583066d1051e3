"""The ``twibox`` command line."""

from __future__ import annotations

import argparse
import sys

from .sandbox import cli as sandbox_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twibox", description="twibox_nb: Twilio metrics for notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="serve the synthetic Twilio account on loopback")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
