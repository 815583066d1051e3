"""A cache of closed past windows: re-running a report over the past sends no requests.

A *window* is one date slice of a fetch (or the whole range when it is not sliced). Once a window
has **closed** (it ended at least ``settle`` ago, one hour by default: Twilio still updates the
status and price of recent records for a while), what it holds no longer changes, so its
evaluated rows are kept in a SQLite file and reused. Open windows, today's included, are always
fetched again, and a window whose fetch was truncated or failed is never stored.

**Where.** ``$TWIBOX_CACHE`` (a directory, or ``off`` to disable the cache), else the user's cache
directory (``platformdirs.user_cache_path("twibox_nb")``), file ``windows.sqlite3``.

**Key.** ``(account SID, origin, metric identity, window start, window end, credential)``: the
origin is the connection's cache identity, its Twilio hosts (region and edge included) and, for a
sandbox, its seed and scale (a loopback sandbox server is asked which one it is; one whose seed is
unknown is not cached), so entries are never shared between accounts or between sandboxes. The
credential is a keyed hash of the connection's user name and secret (HMAC-SHA256 under a random
key made for this cache file and kept in it), so an entry is served only to the credentials that
wrote it: a secret Twilio would refuse gets no cached data, and the secret itself (or a hash of it
anyone could check) is never stored. The metric identity (:func:`twibox_nb.model.identity.metric_identity`) covers the
request's host and path, the value, the dimension, the date and the expression. **Value:** the window's rows as the
expression produced them (before the metric's own date clip, so a later range can reuse them),
with the record and page counts and the time they were stored. Rows are compressed JSON; no
credentials or headers are ever written.

SQLite in WAL mode, one transaction per window, ``PRAGMA user_version`` as the schema version (a
file of another version is rebuilt: a cache can always be fetched again).

>>> import tempfile
>>> from datetime import datetime, timezone
>>> cache = Cache(tempfile.mkdtemp())
>>> key = WindowKey("AC" + "0" * 32, "https://api.twilio.com", "abc123",
...                 datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc), "tag")
>>> cache.put(key, [{"date": "2026-01-01T10:00:00Z", "value": 1, "dimension": "sent"}], records=1, pages=1)
>>> cache.get(key).rows
[{'date': '2026-01-01T10:00:00Z', 'value': 1, 'dimension': 'sent'}]
>>> cache.info()[["rows", "records"]].values.tolist()
[[1, 1]]
>>> cache.clear()
1
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ..fetch.connection import Connection

__all__ = ["CACHE_ENV", "DEFAULT_SETTLE", "Cache", "CachedWindow", "WindowKey", "default_cache", "is_closed"]

CACHE_ENV = "TWIBOX_CACHE"
#: How long after a window ends it is taken as closed: Twilio still updates the status and the
#: price of recent records (a message goes from sent to delivered, a call gets its price).
DEFAULT_SETTLE = timedelta(hours=1)
SCHEMA_VERSION = 2  # 2: the credential column and the key it is made with
FILE_NAME = "windows.sqlite3"
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width: text order is time order

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    account TEXT NOT NULL,
    origin TEXT NOT NULL,
    metric TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    rows BLOB NOT NULL,
    n_rows INTEGER NOT NULL,
    records INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    credential TEXT NOT NULL,
    PRIMARY KEY (account, origin, metric, start, end, credential)
)
"""
_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)"


def is_closed(end: datetime, now: datetime, settle: timedelta = DEFAULT_SETTLE) -> bool:
    """A window ending at ``end`` is closed (cacheable) once ``now`` is ``settle`` past it.

    >>> t = datetime(2026, 11, 27, tzinfo=timezone.utc)
    >>> is_closed(t, t + timedelta(minutes=59)), is_closed(t, t + timedelta(hours=1))
    (False, True)
    """
    return end <= now - settle


@dataclass(frozen=True)
class WindowKey:
    """Which window of which metric on which account, for which credentials (see the module
    docstring; ``credential`` is :meth:`Cache.credential_tag`)."""

    account: str
    origin: str
    metric: str
    start: datetime
    end: datetime
    credential: str

    def values(self) -> tuple[str, str, str, str, str, str]:
        return (
            self.account,
            self.origin,
            self.metric,
            self.start.astimezone(timezone.utc).strftime(_FORMAT),
            self.end.astimezone(timezone.utc).strftime(_FORMAT),
            self.credential,
        )


@dataclass(frozen=True)
class CachedWindow:
    rows: list[dict[str, Any]]
    records: int
    pages: int
    stored_at: datetime


def _default_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("twibox_nb", appauthor=False)


class Cache:
    """Closed windows of fetched metrics, in one SQLite file.

    ``path`` is a directory (the file is ``windows.sqlite3`` in it) or a ``.sqlite3``/``.db`` file;
    None means ``$TWIBOX_CACHE`` (when it is a directory), else the user's cache directory. The
    file is created on first write; ``settle`` is how long after its end a window counts as
    closed.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, settle: timedelta = DEFAULT_SETTLE) -> None:
        if path is None:
            env = os.environ.get(CACHE_ENV, "").strip()
            path = env if env and env.lower() != "off" else _default_dir()
        target = Path(path).expanduser()
        if target.suffix.lower() not in (".sqlite3", ".sqlite", ".db"):
            target = target / FILE_NAME
        self.path = target
        self.settle = settle

    def __repr__(self) -> str:
        return f"Cache({str(self.path)!r})"

    # --- storage -------------------------------------------------------------------------------

    @contextmanager
    def _db(self, create: bool = True) -> Iterator[sqlite3.Connection | None]:
        if not create and not self.path.exists():
            yield None
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            if fresh:
                try:
                    os.chmod(self.path, 0o600)  # the user's own data: not for other local users
                except OSError:
                    pass
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # not rebuilt meanwhile
                    db.execute("DROP TABLE IF EXISTS windows")  # another layout: start again
                    db.execute("DROP TABLE IF EXISTS meta")
                    db.execute(_SCHEMA)
                    db.execute(_META)
                    db.execute("INSERT INTO meta VALUES ('key', ?)", (secrets.token_bytes(32),))
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            yield db

    def credential_tag(self, conn: Connection) -> str:
        """The keyed hash of ``conn``'s credentials that its windows are stored under: HMAC-SHA256
        under this cache's own random key (made with the file, kept in it)."""
        with self._db() as db:
            assert db is not None
            key = db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()[0]
        return conn.credential_tag(bytes(key))

    def get(self, key: WindowKey) -> CachedWindow | None:
        """The stored window, or None."""
        with self._db(create=False) as db:
            if db is None:
                return None
            row = db.execute(
                "SELECT rows, records, pages, stored_at FROM windows "
                "WHERE account = ? AND origin = ? AND metric = ? AND start = ? AND end = ? AND credential = ?",
                key.values(),
            ).fetchone()
        if row is None:
            return None
        try:
            rows = json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError):
            return None  # a damaged entry is a miss: the window is fetched again
        stored = datetime.strptime(row[3], _FORMAT).replace(tzinfo=timezone.utc)
        return CachedWindow(rows, int(row[1]), int(row[2]), stored)

    def put(self, key: WindowKey, rows: list[dict[str, Any]], *, records: int, pages: int) -> None:
        """Store one window (atomically: one transaction), replacing an older copy."""
        blob = zlib.compress(json.dumps(rows, separators=(",", ":"), default=str).encode(), 6)
        stored = datetime.now(timezone.utc).strftime(_FORMAT)
        with self._db() as db:
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO windows "
                    "(account, origin, metric, start, end, credential, rows, n_rows, records, pages, stored_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key.values(), blob, len(rows), records, pages, stored),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- inspecting and clearing ----------------------------------------------------------------

    def info(self) -> pd.DataFrame:
        """One row per stored window: account, origin, metric, start, end, rows, records, pages,
        stored_at and bytes (of the stored rows)."""
        columns = ["account", "origin", "metric", "start", "end", "rows", "records", "pages", "stored_at", "bytes"]
        with self._db(create=False) as db:
            found = (
                []
                if db is None
                else db.execute(
                    "SELECT account, origin, metric, start, end, n_rows, records, pages, stored_at, length(rows) "
                    "FROM windows ORDER BY account, origin, metric, start"
                ).fetchall()
            )
        frame = pd.DataFrame(found, columns=columns)
        for name in ("start", "end", "stored_at"):
            frame[name] = pd.to_datetime(frame[name], format=_FORMAT, utc=True)
        return frame

    def clear(self, account: str | None = None, metric: str | None = None) -> int:
        """Delete stored windows (all, or one account's, or one metric identity's); returns how many."""
        where, args = [], []
        if account is not None:
            where.append("account = ?")
            args.append(account)
        if metric is not None:
            where.append("metric = ?")
            args.append(metric)
        with self._db(create=False) as db:
            if db is None:
                return 0
            clause = f" WHERE {' AND '.join(where)}" if where else ""
            db.execute("BEGIN IMMEDIATE")
            deleted = db.execute(f"DELETE FROM windows{clause}", args).rowcount
            db.execute("COMMIT")
            if not where:
                db.execute("VACUUM")
        return deleted


def default_cache() -> Cache | None:
    """The cache at the default place, or None when ``$TWIBOX_CACHE`` is ``off``."""
    if os.environ.get(CACHE_ENV, "").strip().lower() == "off":
        return None
    return Cache()
