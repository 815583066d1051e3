"""Durability: a sync killed inside its transaction changes nothing; concurrent syncs; migrations.

The kill tests run a real sync in a separate process (``tests/store/worker.py``) that pauses
*inside* the write transaction at a chosen stage (after the metric row, after the sync row, after
the old points are deleted, after some chunks of new points, just before COMMIT), then SIGKILL it:
no Python cleanup, no ROLLBACK, only what SQLite's WAL has on disk. The store must then be
exactly as it was before that sync and pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb._exceptions import StoreError
from twibox_nb.store.backends import open_database
from twibox_nb.store.db import MIGRATIONS, migrate, resolve, schema_version
from twibox_nb.store.metric_store import SCHEMA_VERSION, Store

from ..conftest import NOW, REPO
from .conftest import dump, integrity

METRIC = "Messages by status"


def worker(store: str, *args: str, now=NOW, metric=METRIC, range_="last_30_days") -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.store.worker", "--store", str(store), "--metric", metric,
               "--range", range_, "--now", now.isoformat(), *args]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(marker: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the worker ended before pausing: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the worker never reached its pause point")
        time.sleep(0.05)


@pytest.fixture
def before(store_url, conn):
    """A store holding earlier syncs: a week synced a day ago (other data), and a dynamic reading."""
    earlier = NOW - timedelta(days=1)
    with Store(store_url) as store:
        store.sync(library.get(METRIC), tb.connect(sandbox=tb.Sandbox(seed=7, now=earlier)), "last_7_days",
                   now=earlier)  # fmt: skip
        store.sync(library.get("Account balance"), conn, now=NOW)
    return dump(store_url)


@pytest.mark.parametrize(
    "pause", ["metric", "sync", "deleted", "points:100", "points:1000", "commit"], ids=lambda p: p.replace(":", "-")
)
def test_a_sync_killed_inside_its_transaction_leaves_the_store_as_it_was(store_url, tmp_path, before, pause):
    marker = tmp_path / "paused"
    process = worker(store_url, "--pause", pause, "--marker", str(marker), "--chunk", "100")
    try:
        wait_for(marker, process)
        # While it is paused mid-write, another reader still sees the store as it was (isolation).
        assert dump(store_url) == before
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert integrity(store_url) == "ok"
    assert dump(store_url) == before
    with Store(store_url) as store:  # and it opens and syncs normally afterwards
        assert store.integrity_check() == "ok"


def test_the_same_sync_when_not_killed_does_change_the_store(store_url, tmp_path, before):
    """The control for the kill tests: the sync they kill really writes (so "unchanged" means something)."""
    process = worker(store_url, "--chunk", "100")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    after = dump(store_url)
    assert after != before and len(after["points"]) > len(before["points"]) and len(after["syncs"]) == 3


def test_two_processes_syncing_at_once_neither_corrupt_nor_duplicate(fresh, tmp_path):
    """A holds the write lock (paused inside its transaction) while B tries to write: B waits for
    the busy timeout instead of failing, then replaces the same window; no duplicates."""
    path, marker = fresh("store"), tmp_path / "paused"
    Store(path).close()  # created (and migrated) before the race, as a scheduler's store would be
    first = worker(path, "--pause", "points:100", "--marker", str(marker), "--hold", "3", "--chunk", "100")
    wait_for(marker, first)
    second = worker(path)
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    reference = fresh("reference")
    once = worker(reference)
    assert once.communicate(timeout=120) and once.returncode == 0
    assert integrity(path) == "ok"
    got, want = dump(path), dump(reference)
    strip = lambda rows: sorted(r[:9] for r in rows)  # noqa: E731  (points without sync id, fetch time …)
    assert strip(got["points"]) == strip(want["points"])
    assert len(got["syncs"]) == 2 and len(got["metrics"]) == 1
    assert {r[9] for r in got["points"]} == {2}  # B waited for A's commit, then replaced the window


def test_many_concurrent_syncs_of_overlapping_windows(fresh):
    path = fresh("store")
    runs = [
        worker(path, "--repeat", "3"),
        worker(path, "--repeat", "3", range_="last_7_days"),
        worker(path, "--repeat", "3", metric="Messages sent"),
        worker(path, "--repeat", "3", metric="Account balance"),
    ]  # the very first open races too: the schema is created by whichever process wins
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0] * 4, outputs
    assert integrity(path) == "ok"
    with Store(path) as store:
        listed = store.metrics().set_index("name")
        assert listed.loc[METRIC, "syncs"] == 6 and listed.loc["Account balance", "points"] == 1
        assert store.schema_version == SCHEMA_VERSION
    reference = fresh("reference")
    assert worker(reference).wait(timeout=120) == 0
    with Store(path) as store, Store(reference) as ref:
        got = store.history(METRIC, "last_30_days", interval="hour", now=NOW)
        want = ref.history(METRIC, "last_30_days", interval="hour", now=NOW)
        assert got.data.equals(want.data) and got.summary == want.summary


V1_POINTS = ("metric_id", "date", "dimension_key", "n_rows", "n_values", "value_sum", "value_min", "value_max",
             "value_latest", "sync_id", "fetched_at", "stop_reason", "truncated")  # fmt: skip


def copy(source, target, table: str, columns: tuple[str, ...] | None = None) -> None:
    names = ", ".join(columns) if columns else "*"
    rows = source.execute(f"SELECT {names} FROM {table}")
    into = f" ({names})" if columns else ""
    target.executemany(f"INSERT INTO {table}{into} VALUES ({', '.join('?' * len(rows[0]))})", rows)


def test_a_migration_from_an_older_schema_keeps_the_data(fresh, conn):
    current, old = fresh("current"), fresh("old")
    with Store(current) as store:
        store.sync(library.get(METRIC), conn, "last_7_days", now=NOW)
        store.sync(library.get("Account balance"), conn, now=NOW)
    # An old store: version 1 only (no readable dimension column), holding the same data.
    db, source = open_database(resolve(old)), open_database(resolve(current))
    try:
        assert migrate(db, MIGRATIONS[:1]) == 1 == schema_version(db)
        with db.transaction():
            copy(source, db, "metrics")
            copy(source, db, "syncs")
            copy(source, db, "points", V1_POINTS)
    finally:
        db.close()
        source.close()
    with Store(old) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        migrated = store.history(METRIC, "last_7_days", now=NOW)
    with Store(current) as store:
        original = store.history(METRIC, "last_7_days", now=NOW)
    assert migrated.data.equals(original.data) and migrated.summary == original.summary
    assert dump(old)["points"] == dump(current)["points"]  # the backfilled column included
    assert [v for v, _, _ in dump(old)["schema_migrations"]] == [1, 2]


def test_a_store_from_a_newer_twibox_nb_is_refused(store_url):
    Store(store_url).close()
    db = open_database(resolve(store_url))
    with db.transaction():
        db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2030-01-01')")
    db.close()
    with pytest.raises(StoreError, match=r"schema version 99, newer than this twibox_nb knows .*upgrade"):
        Store(store_url)


def test_a_failing_write_rolls_back_everything(store, store_url, conn, before):
    def explode(stage, count):
        if stage == "points":
            raise RuntimeError("disk on fire")

    store._hook, store._chunk = explode, 100
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.sync(library.get(METRIC), conn, "last_30_days", now=NOW)
    assert dump(store_url) == before


def test_a_writer_kept_waiting_past_the_busy_timeout_gets_a_store_error(tmp_path, conn, monkeypatch):
    """SQLite only (PostgreSQL waits for the lock): a clear error, and nothing written."""
    import sqlite3

    import twibox_nb.store.db as store_db

    path = tmp_path / "store.sqlite3"
    Store(path).close()
    before = dump(str(path))
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of its write
    try:
        with Store(path) as store, pytest.raises(StoreError, match=r"the store sqlite:///.*: database is locked"):
            store.sync(library.get("Messages sent"), conn, "yesterday", now=NOW)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert dump(str(path)) == before
