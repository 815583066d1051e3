"""A sync in a process of its own, for the durability tests (``python -m tests.store.worker``).

``--pause STAGE[:N]`` stops inside the write transaction at that stage (for ``points``, once N
points are written): the worker writes ``--marker`` and sleeps ``--hold`` seconds, so the test
can kill it there (SIGKILL) or let it go on.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import twibox_nb as tb
from twibox_nb.store.metric_store import Store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--metric", required=True, help="a library metric name")
    parser.add_argument("--range", required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--pause", default=None)
    parser.add_argument("--marker", default=None)
    parser.add_argument("--hold", type=float, default=60.0)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now)
    conn = tb.connect(sandbox=tb.Sandbox(seed=7, now=now))
    store = Store(args.store)
    store._chunk = args.chunk
    if args.pause:
        stage, _, at = args.pause.partition(":")

        def hook(name: str, count: int) -> None:
            if name == stage and count >= int(at or 0) and not Path(args.marker).exists():
                Path(args.marker).write_text(f"{name} {count}\n")
                time.sleep(args.hold)

        store._hook = hook
    for _ in range(args.repeat):
        report = store.sync(tb.library.get(args.metric), conn, args.range, now=now)
        print(report, flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
