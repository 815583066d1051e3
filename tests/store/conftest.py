"""Fixtures for the metric store: every store test runs on SQLite and on a real PostgreSQL server.

``backend`` is parametrised over both; ``fresh(name)`` gives the URL of a new, empty store on it
(a file in the test's temporary directory, or a new database on the session's throwaway
PostgreSQL server, see :mod:`tests.store.postgres`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from twibox_nb.store.backends import open_database
from twibox_nb.store.db import resolve
from twibox_nb.store.metric_store import Store

from .postgres import PostgresServer

TABLES = ("schema_migrations", "metrics", "syncs", "points")
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the session; the tests fail (never skip) without it."""
    server = PostgresServer()
    try:
        server.start()
    except Exception as exc:
        log = server.log_text()
        server.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL server: {exc}\n{log}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


def new_store_url(backend: str, directory: Path, request, name: str) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres").create_database()
    return f"sqlite:///{directory / name}.sqlite3"


@pytest.fixture
def fresh(backend, tmp_path, request) -> Callable[[str], str]:
    return lambda name="store": new_store_url(backend, tmp_path, request, name)


@pytest.fixture
def store_url(fresh) -> str:
    return fresh("store")


@pytest.fixture
def store(store_url):
    with Store(store_url) as opened:
        yield opened


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: two dumps are equal when the stores hold the same data."""
    db = open_database(resolve(url))
    try:
        return {table: sorted(db.execute(f"SELECT * FROM {table}"), key=repr) for table in TABLES}
    finally:
        db.close()


def integrity(url: str) -> str:
    db = open_database(resolve(url))
    try:
        return db.integrity()
    finally:
        db.close()
