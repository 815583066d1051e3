"""The ``twibox`` command line: ``twibox fetch`` a metric, ``twibox sync`` metrics into the store,
``twibox history`` from it, ``twibox cache info|clear`` for the cache of closed windows,
``twibox sandbox`` to serve demo data, ``twibox app`` to serve the dashboard app under Voila.

One set of rules for every command: a METRIC is a metric file or a library metric's name
(:func:`resolve_metric`; ``history`` also takes a stored metric's name), every command that connects
does it through :func:`connection` (``--sandbox [URL]``, ``--now``), and errors say what to set or
pass on the command line.

Exit codes: 0 success; 1 an error (one line on stderr, ``twibox <command>: …``); 2 a usage error
(argparse); ``twibox sync`` exits 3 when every metric was stored but some fetch was truncated
(page cap, error after some pages), so a scheduler notices incomplete data.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._exceptions import CredentialsError, SpecError, TwiboxError
from ._files import atomic_write_text
from .fetch.report import _plural as plural
from .fetch.slices import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from .model.secrets import redact
from .model.units import format_value
from .sandbox import cli as sandbox_cli

if TYPE_CHECKING:
    from .fetch.connection import Connection

NOW_HELP = f"pin the clock (ISO 8601, UTC, e.g. {sandbox_cli.NOW_EXAMPLE}), for reproducible runs"
CREDENTIALS_HELP = (
    "set TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET (or with TWILIO_AUTH_TOKEN), "
    "or pass --sandbox for demo data"
)


def resolve_metric(text: str, *, stored: bool = False) -> Any:
    """What a METRIC argument names, for every command: a metric file (a path ending in ``.json``,
    or any file that exists), else a library metric's name (any case, or its file name such as
    ``messages-sent``). With ``stored=True`` (``twibox history``) a name is returned as it is: the
    store looks it up among the stored metrics' names and identities, with its own suggestions."""
    from . import library
    from .library import load_metric

    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        return load_metric(path)
    if stored:
        return text
    try:
        return library.get(text)
    except SpecError as exc:
        hint = exc.detail.partition("; ")[2]  # the library's "did you mean …?", when it has one
        if not hint.startswith("did you mean"):
            hint = "give a metric file (.json) or a library name such as 'Messages sent'"
        raise SpecError("metric", f"{text!r} is neither a metric file nor a library metric; {hint}") from None


def connection(sandbox: str | None, now: datetime | None) -> Connection:
    """The one connection every command uses: ``--sandbox`` (the embedded sandbox, its clock
    pinned to ``--now`` as the library's ``Sandbox(now=now)`` is), ``--sandbox URL`` (a loopback
    sandbox server, which keeps its own clock), else the account in the TWILIO_* variables. Errors
    say what to set or pass on the command line."""
    from .fetch.connection import MissingCredentialsError, connect
    from .fetch.hosts import is_loopback_url

    if sandbox == "in-process":
        from .sandbox import Sandbox

        return connect(sandbox=Sandbox(now=now))  # a pinned clock pins the demo data too
    if sandbox is not None:
        if not is_loopback_url(sandbox):
            raise CredentialsError(
                f"--sandbox {redact(sandbox)}: the sandbox server must be on loopback, e.g. --sandbox http://127.0.0.1:8765"
            )
        return connect(sandbox=sandbox)
    try:
        return connect()
    except MissingCredentialsError as exc:
        raise CredentialsError(f"no Twilio credentials ({exc.unset}): {CREDENTIALS_HELP}") from None


def _fail(command: str, exc: BaseException, name: str | None = None) -> None:
    """One error line on stderr, ``twibox <command>: …``, with any password a URL in it could
    carry redacted (a store URL given with ``?password=``, say); credentials are never in errors."""
    where = f"{redact(name)}: " if name else ""
    print(f"twibox {command}: {where}{redact(str(exc))}", file=sys.stderr)


def run_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ._exceptions import TruncationWarning
    from .pipeline.metric import fetch_metric

    try:
        now = sandbox_cli.parse_now(args.now)
        spec = resolve_metric(args.metric)
        conn = connection(args.sandbox, now)
        print(f"{spec.name} — {conn.label}", file=sys.stderr)
        with tqdm(unit=" pages", desc="fetching", file=sys.stderr, disable=args.quiet) as bar:

            def progress(event) -> None:
                bar.update(event.pages - bar.n)
                bar.set_postfix(records=event.records, refresh=False)

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TruncationWarning)
                result = fetch_metric(
                    spec, conn, args.range, args.interval, args.compare, progress, now=now,
                    concurrency=args.concurrency, cache=False if args.no_cache else "auto",
                )  # fmt: skip
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
    except (TwiboxError, ValueError) as exc:
        _fail("fetch", exc)
        return 1
    return _output(result, args.csv)


def _output(result, csv: str | None) -> int:
    """The aggregated table on stdout (or atomically into a CSV file, its values plain numbers for other
    tools), the summary on stderr. On screen each value reads in the metric's unit ($65.82, 88.99%)."""
    table = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if csv:
        atomic_write_text(Path(csv), table.to_csv(index=False))
        print(f"wrote {plural(len(table), 'row')} to {csv}", file=sys.stderr)
    else:
        unit = result.spec.value_unit
        print(table.to_string(index=False, formatters={"value": lambda v: format_value(v, unit)}))
    print(repr(result), file=sys.stderr)
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from ._exceptions import TruncationWarning
    from .store.metric_store import Store

    failed = truncated = 0
    try:
        now = sandbox_cli.parse_now(args.now)
        conn = connection(args.sandbox, now)
        store = Store(args.store)
    except (TwiboxError, ValueError) as exc:
        _fail("sync", exc)
        return 1
    with store:
        for name in args.metrics:
            try:
                spec = resolve_metric(name)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TruncationWarning)  # the report line says it
                    report = store.sync(spec, conn, args.range, now=now)
            except (TwiboxError, ValueError) as exc:
                failed += 1
                _fail("sync", exc, name)
                continue
            truncated += report.truncated
            print(f"synced {report} → {store.url}", file=sys.stderr if args.quiet else sys.stdout)  # redacted
    if failed:
        return 1
    return 3 if truncated else 0


def run_history(args: argparse.Namespace) -> int:
    from ._exceptions import TruncationWarning
    from .store.metric_store import Store

    try:
        now = sandbox_cli.parse_now(args.now)
        metric = resolve_metric(args.metric, stored=True)
        with Store(args.store) as store, warnings.catch_warnings(record=True):
            warnings.simplefilter("ignore", TruncationWarning)  # result.warnings are printed below
            result = store.history(metric, args.range, args.interval, args.compare, now=now, account=args.account)
    except (TwiboxError, ValueError) as exc:
        _fail("history", exc)
        return 1
    return _output(result, args.csv)


def run_cache(args: argparse.Namespace) -> int:
    """``twibox cache info`` lists the cached windows; ``twibox cache clear`` deletes them."""
    import os

    from .pipeline.cache import CACHE_ENV, Cache

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
        print(f"{plural(len(info), 'window')}, {plural(int(info['bytes'].sum()), 'byte')} of rows", file=sys.stderr)
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
    print(f"deleted {plural(deleted, 'cached window')} from {cache.path}", file=sys.stderr)
    return 0


APP_NOTEBOOK = "dashboard.ipynb"
APP_PORT = 8866  # Voila's own default
VOILA_MISSING = "Voila is not installed: install it with  pip install 'twibox-nb[lab]'  and run twibox app again"


def app_command(port: int = APP_PORT, *, browser: bool = True, preheat: bool = True) -> list[str]:
    """The Voila command line ``twibox app`` runs in the folder holding :data:`APP_NOTEBOOK` (its browser test too).

    The ``twibox`` template (Voila's lab template with no CDN link) is found through
    :func:`app_environment`'s ``JUPYTER_PATH``; a preheated kernel has the app run before the
    first page asks for it."""
    command = [sys.executable, "-m", "voila", APP_NOTEBOOK, "--template=twibox", "--Voila.ip=127.0.0.1",
               f"--port={port}", "--Voila.port_retries=0", f"--preheat_kernel={preheat}"]  # fmt: skip
    return command + (["--no-browser"] if not browser else [])


def app_environment(environ: dict[str, str] | None = None, *, sandbox: bool = False) -> dict[str, str]:
    """The environment Voila runs in: ``JUPYTER_PATH`` first names the folder of twibox_nb's Voila
    template; with ``sandbox``, no TWILIO_* credential reaches the app (it shows the sandbox)."""
    from .widgets.app import CREDENTIALS

    env = dict(os.environ if environ is None else environ)
    if sandbox:
        env = {k: v for k, v in env.items() if k not in CREDENTIALS}
    templates = str(Path(__file__).parent / "widgets")  # holds voila/templates/twibox
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (templates, env.get("JUPYTER_PATH", "")) if p)
    return env


def write_app(folder: Path) -> Path:
    """Write the app's notebook (one cell, :data:`twibox_nb.widgets.app.APP_CELL`) into ``folder``."""
    import nbformat

    from .widgets.app import APP_CELL

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(APP_CELL)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(folder) / APP_NOTEBOOK
    nbformat.write(notebook, path)
    return path


def run_app(args: argparse.Namespace) -> int:
    """Serve the dashboard app with Voila on loopback until interrupted (Ctrl-C)."""
    import importlib.util
    import signal
    import subprocess
    import tempfile

    if importlib.util.find_spec("voila") is None:
        print(f"twibox app: {VOILA_MISSING}", file=sys.stderr)
        return 1

    def interrupted(_signum, _frame):  # a SIGTERM stops Voila as Ctrl-C does, so no kernel is left behind
        raise KeyboardInterrupt

    with tempfile.TemporaryDirectory(prefix="twibox-app-") as folder:
        write_app(Path(folder))
        command = app_command(args.port, browser=not args.no_browser, preheat=not args.no_preheat)
        print(f"twibox app: serving the dashboard at http://127.0.0.1:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
        server = subprocess.Popen(command, cwd=folder, env=app_environment(sandbox=args.sandbox))
        previous = signal.signal(signal.SIGTERM, interrupted)
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=None, metavar="URL",
        help="the store: a path, sqlite:///path or postgresql://… "
        "(default: $TWIBOX_STORE, else the user's data directory)",
    )  # fmt: skip


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sandbox [URL]`` and ``--now``, the same for every command that connects (see :func:`connection`)."""
    parser.add_argument(
        "--sandbox", nargs="?", const="in-process", default=None, metavar="URL",
        help="use the embedded sandbox (demo data; --now pins its clock), or a loopback sandbox server at URL "
        "(default: your account, from TWILIO_ACCOUNT_SID and TWILIO_API_KEY/TWILIO_API_SECRET or TWILIO_AUTH_TOKEN)",
    )  # fmt: skip
    parser.add_argument("--now", default=None, help=NOW_HELP)


def _range_arguments(parser: argparse.ArgumentParser, range_help: str) -> None:
    """--range, --interval and --compare, as fetch and history read them."""
    parser.add_argument("--range", default=None, help=range_help)
    parser.add_argument("--interval", default=None, help="hour, day, week, month, quarter or year")
    parser.add_argument("--compare", default=None, choices=["previous_period", "same_period_last_year"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twibox", description="twibox_nb: Twilio metrics for notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)

    fetch = commands.add_parser("fetch", help="fetch a metric (a metric file or a library name) and print or save it")
    fetch.add_argument("metric", help="a metric file (twibox_metric JSON) or a library metric's name")
    _range_arguments(fetch, "date range, e.g. last_30_days, this_month, 2026-01-01..2026-01-31")
    _connection_arguments(fetch)
    fetch.add_argument("--csv", default=None, metavar="OUT", help="write the aggregated table to this CSV file")
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
    _connection_arguments(sync)
    sync.add_argument("--quiet", action="store_true", help="report lines on stderr only")
    sync.set_defaults(run=run_sync)

    history = commands.add_parser("history", help="a stored metric's history, as a table or CSV")
    history.add_argument("metric", help="a metric file, or a stored metric's name or identity")
    _range_arguments(history, "date range (default: the metric's own; for a dynamic metric, up to now)")
    _store_argument(history)
    history.add_argument("--account", default=None, help="the Account SID, when the metric is stored for several")
    history.add_argument("--csv", default=None, metavar="OUT", help="write the aggregated table to this CSV file")
    history.add_argument("--now", default=None, help=NOW_HELP)
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

    app = commands.add_parser(
        "app", help="serve the dashboard app (scorecard and charts, a range picker) with Voila on loopback",
        description="The dashboard app on http://127.0.0.1:PORT/: your account when TWILIO_* credentials are set "
        "in the environment, else the embedded sandbox. Needs Voila (pip install 'twibox-nb[lab]').",
    )  # fmt: skip
    app.add_argument("--port", type=int, default=APP_PORT, help=f"the port on 127.0.0.1 (default {APP_PORT})")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument("--sandbox", action="store_true", help="show the sandbox's demo data even if TWILIO_* are set")
    app.add_argument(
        "--no-preheat", action="store_true",
        help="start the kernel when the page is asked for (default: one kernel runs the app ahead, so pages open fast)",
    )  # fmt: skip
    app.set_defaults(run=run_app)

    sandbox = commands.add_parser("sandbox", help="serve the synthetic Twilio account on loopback")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
