"""Where the metric store lives, the database connection, and the versioned schema.

Locations: no URL → ``$TWIBOX_STORE`` if set, else ``store.sqlite3`` in the user's data directory
(``platformdirs``); a plain path or ``sqlite:///path`` (SQLAlchemy's spelling: three slashes and
a relative path, four for an absolute one; ``sqlite:///:memory:`` for a throwaway store);
``postgresql://user:password@host:port/database`` for a team's shared store (:mod:`.postgres`),
or a libpq keyword string (``host=… dbname=… user=…``). A password is never shown: the printable
``url`` is redacted in every spelling (user info, ``?password=``, ``password=`` keywords,
percent-encoded), and so is every message that names the store (:meth:`Location.scrub`).

SQLite runs in WAL mode with a busy timeout, so readers never block the writer and a second
writer waits for the first instead of failing; every write is one ``BEGIN IMMEDIATE``
transaction, which takes the write lock up front (no deadlock between two upgrading readers).

The schema is versioned: ``schema_migrations`` records each applied migration; opening a store
applies the missing ones in one transaction each, keeping the data; a store written by a newer
twibox_nb is refused rather than misread.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .._exceptions import StoreError
from ..model.secrets import is_libpq_keywords, password_variants, redact, scrub

ENV = "TWIBOX_STORE"
BUSY_TIMEOUT_S = 60.0  # a sync's write is short; a cron job may still meet another one


@dataclass(frozen=True)
class Migration:
    """One step of the schema; ``{id}``, ``{real}`` and ``{key}`` are filled in per database
    (``{key}``: text compared byte by byte, as dates and dimension keys must be ordered)."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "metrics, syncs and hourly points",
        (
            """CREATE TABLE metrics (
                id {id},
                identity {key} NOT NULL,
                account_sid {key} NOT NULL,
                is_sandbox INTEGER NOT NULL,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                spec TEXT NOT NULL,
                created_at {key} NOT NULL,
                updated_at {key} NOT NULL,
                UNIQUE (identity, account_sid)
            )""",
            """CREATE TABLE syncs (
                id {id},
                metric_id INTEGER NOT NULL REFERENCES metrics (id),
                fetched_at {key} NOT NULL,
                range_start {key} NOT NULL,
                range_end {key} NOT NULL,
                covered_start {key} NOT NULL,
                covered_end {key} NOT NULL,
                stop_reason TEXT NOT NULL,
                truncated INTEGER NOT NULL,
                pages INTEGER NOT NULL,
                records INTEGER NOT NULL,
                points_written INTEGER NOT NULL,
                points_kept INTEGER NOT NULL,
                source TEXT NOT NULL
            )""",
            "CREATE INDEX syncs_by_metric ON syncs (metric_id, covered_start)",
            """CREATE TABLE points (
                metric_id INTEGER NOT NULL REFERENCES metrics (id),
                date {key} NOT NULL,
                dimension_key {key} NOT NULL,
                n_rows INTEGER NOT NULL,
                n_values INTEGER NOT NULL,
                value_sum {real},
                value_min {real},
                value_max {real},
                value_latest {real},
                sync_id INTEGER NOT NULL REFERENCES syncs (id),
                fetched_at {key} NOT NULL,
                stop_reason TEXT NOT NULL,
                truncated INTEGER NOT NULL,
                PRIMARY KEY (metric_id, date, dimension_key)
            )""",
        ),
    ),
    Migration(
        2,
        "a readable dimension column beside the key, filled from it",
        (
            "ALTER TABLE points ADD COLUMN dimension TEXT",
            "UPDATE points SET dimension = substr(dimension_key, 2) WHERE dimension_key <> ''",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


@dataclass(frozen=True)
class Location:
    """A resolved store location: the kind of database, what to open (never shown: it may hold a
    password) and a printable URL."""

    kind: Literal["sqlite", "postgresql"]
    target: str = field(repr=False)
    url: str

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message, say) with this location's password, in any spelling, and
        any other URL's password replaced by ``***``."""
        return scrub(text, password_variants(self.target))


def default_path() -> Path:
    """The embedded store's file: ``store.sqlite3`` in the user's data directory."""
    import platformdirs

    return platformdirs.user_data_path("twibox_nb", appauthor=False) / "store.sqlite3"


def resolve(url: str | os.PathLike | None, env: Mapping[str, str] | None = None) -> Location:
    """Where a store lives: the URL, else ``$TWIBOX_STORE``, else the default file.

    >>> resolve("sqlite:///:memory:").target, resolve("/tmp/x.db").url
    (':memory:', 'sqlite:////tmp/x.db')
    """
    env = os.environ if env is None else env
    if url is None:
        url = env.get(ENV) or None
    if url is None:
        path = default_path()
        return Location("sqlite", str(path), f"sqlite:///{path}")
    text = os.fspath(url)
    if not text.strip():
        raise StoreError("an empty store URL: give a path, sqlite:///path or postgresql://…")
    if text.startswith(("postgresql://", "postgres://")) or is_libpq_keywords(text):
        return Location("postgresql", text, redact(text))
    if "://" in text or "%3a%2f%2f" in text.lower():
        if not text.startswith("sqlite:///"):
            raise StoreError(f"unknown store URL {redact(text)!r}: use a path, sqlite:///path or postgresql://…")
        target = text[len("sqlite:///") :]
        if not target:
            raise StoreError(
                f"store URL {redact(text)!r} names no file: sqlite:///relative/path or sqlite:////absolute/path"
            )
    else:
        target = text
    if target == ":memory:":
        return Location("sqlite", target, "sqlite:///:memory:")
    path = Path(target).expanduser()
    return Location("sqlite", str(path), f"sqlite:///{path}")


def utc_now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Database:
    """One connection to a SQLite store, with explicit transactions."""

    kind = "sqlite"
    types: Mapping[str, str] = {"id": "INTEGER PRIMARY KEY", "real": "REAL", "key": "TEXT"}
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)  # what the driver raises, for StoreError

    def __init__(self, location: Location) -> None:
        self.location = location
        if location.target != ":memory:":
            Path(location.target).parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE itself.
            self.conn = sqlite3.connect(location.target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if location.target != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {location.url}: {location.scrub(str(exc))}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Insert one row and return its id."""
        return int(self.conn.execute(sql + " RETURNING id", tuple(params)).fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: all of it lands, or none of it (also when the process dies)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite may already have rolled back (e.g. a full disk)
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def lock_schema(self) -> None:
        """Serialise schema changes between processes (BEGIN IMMEDIATE already does, in SQLite)."""

    def table_exists(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def integrity(self) -> str:
        return str(self.execute("PRAGMA integrity_check")[0][0])

    def close(self) -> None:
        self.conn.close()


def schema_version(db: Database) -> int:
    if not db.table_exists("schema_migrations"):
        return 0
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0])


def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to date, one transaction per migration; return the version reached."""
    newest = migrations[-1].version
    for migration in migrations:
        if schema_version(db) >= migration.version:  # cheap check first: most opens change nothing
            continue
        with db.transaction():
            db.lock_schema()
            if not db.table_exists("schema_migrations"):
                db.execute(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                    "applied_at TEXT NOT NULL)"
                )
            if schema_version(db) >= migration.version:  # another process got here first
                continue
            for statement in migration.statements:
                db.execute(statement.format(**db.types))
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, utc_now_text()),
            )
    found = schema_version(db)
    if found > newest:
        raise StoreError(
            f"the store {db.location.url} has schema version {found}, newer than this twibox_nb knows "
            f"({newest}): upgrade twibox_nb to use it"
        )
    return found
