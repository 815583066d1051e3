"""The metric store: keep what every sync fetched, so history builds up over time.

``Store(url=None)`` opens (or creates) a store: by default an embedded SQLite file in the user's
data directory (``platformdirs``: ``~/.local/share/twibox_nb/store.sqlite3`` on Linux), or
``$TWIBOX_STORE``, or the path / ``sqlite:///path`` given; ``postgresql://user:pw@host/db`` for a
team's shared store (``pip install "twibox-nb[postgresql]"``; same behaviour, same tests).

* ``store.sync(spec, conn, date_range=...)`` fetches the metric (``fetch_metric``) and writes what
  it got in **one transaction**: a process killed in the middle leaves the store as it was.
* ``store.history(metric, date_range=..., interval=..., compare=...)`` is a
  :class:`~twibox_nb.pipeline.result.MetricResult` built from stored points (``.data``, ``.rows``,
  ``.summary``, ``.chart()``; scorecards, goals and alerts take it like a fetched result).
* ``store.metrics()`` lists the stored metrics.

What is kept, and the rules (identity and grain: see :mod:`twibox_nb.store.points`):

* a dated metric is stored per UTC hour and dimension, as partials (records, non-null values,
  sum, min, max, latest) that re-aggregate exactly; a sync's range is widened to whole hours;
* **re-syncing replaces**: a complete sync replaces every stored point of its range, so syncing
  the same range again never duplicates anything and picks up late changes (a message that went
  from ``sent`` to ``delivered``);
* a **dynamic-date** metric (``Dynamic()``, e.g. the account balance) gets one point per
  dimension per sync, at the fetch time: history accumulates reading by reading;
* a **truncated** fetch (page cap, link cycle, error after some pages) never replaces complete
  data with partial data: it writes only the hours in which it found records *and* that no
  complete sync vouches for (a complete sync vouches for the hours of its range that had ended
  when it fetched); its points are marked truncated, with the stop reason, and a later complete
  sync replaces them. History built from such points says it is incomplete.

>>> import tempfile, twibox_nb as tb
>>> from datetime import datetime, timezone
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
>>> conn = tb.connect(sandbox=tb.Sandbox(seed=7, now=now))
>>> with Store(tempfile.mkdtemp() + "/store.sqlite3") as store:
...     report = store.sync(tb.library.get("Messages sent"), conn, "last_7_days", now=now)
...     again = store.sync(tb.library.get("Messages sent"), conn, "last_7_days", now=now)  # idempotent
...     history = store.history("Messages sent", "last_7_days", interval="week", now=now)
...     listed = store.metrics()
>>> fetched = tb.fetch_metric(tb.library.get("Messages sent"), conn, "last_7_days", "week", now=now)
>>> report.stop_reason, report.points_written == again.points_written, history.summary == fetched.summary
('complete', True, True)
>>> listed[["name", "points"]].values.tolist() == [["Messages sent", report.points_written]]
True
"""

from __future__ import annotations

import bisect
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from .._exceptions import StoreError, TruncationWarning
from ..fetch.connection import Connection
from ..fetch.report import FetchReport, Progress
from ..fetch.session import RetryPolicy
from ..model.calculated import CalculatedMetric
from ..model.dates import DateRange, resolve_range
from ..model.identity import is_dynamic, metric_identity
from ..model.secrets import check_saveable
from ..model.spec import MetricSpec
from ..pipeline.metric import fetch_metric
from ..pipeline.result import MetricResult
from .backends import open_database
from .db import MIGRATIONS, SCHEMA_VERSION, Database, Location, migrate, resolve, schema_version
from .points import dimension_key, format_dates, format_moment, to_points
from .reports import StoreReport, SyncReport, _Series

__all__ = ["SCHEMA_VERSION", "Store", "StoreReport", "SyncReport", "metric_identity"]

HOUR = timedelta(hours=1)
INSTANT = timedelta(microseconds=1)  # a dynamic reading's "range": the fetch time itself
Hook = Callable[[str, int], None]


@dataclass(frozen=True)
class _Fetch:
    """One metric fetched for the store, ready to write: its points and the span they replace."""

    spec: MetricSpec
    points: pd.DataFrame
    window: DateRange
    start: datetime
    end: datetime
    covered_end: datetime  # complete syncs vouch for [start, covered_end): the hours that had ended
    fetch_report: FetchReport
    dynamic: bool

    def report(self, conn: Connection, fetched_at: datetime, written: int, kept: int) -> SyncReport:
        r = self.fetch_report
        return SyncReport(
            self.spec.name, metric_identity(self.spec), conn.account_sid, None if self.dynamic else self.window,
            fetched_at, r.stop_reason, r.truncated, r.pages, r.records, written, kept,
        )  # fmt: skip


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floored = _floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def _whole_hours(date_range: DateRange) -> DateRange:
    """The range widened to whole hours, so that every stored hour holds all of its records."""
    start, end = _floor_hour(date_range.start), _ceil_hour(date_range.end)
    if (start, end) == (date_range.start, date_range.end):
        return date_range
    return replace(date_range, start=start, end=end, name=f"{date_range.name} (whole hours)")


def _union(spans: list[tuple]) -> list[tuple[str, str]]:
    """Overlapping [start, end) spans (of fixed-width UTC text) merged, in order."""
    merged: list[tuple[str, str]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _inside(moment: str, spans: list[tuple[str, str]]) -> bool:
    at = bisect.bisect_right(spans, (moment, "\uffff")) - 1
    return at >= 0 and spans[at][0] <= moment < spans[at][1]


def _none_if_nan(value: Any) -> Any:
    return None if pd.isna(value) else float(value)


class Store:
    """A metric store (see the module docstring). Use it as a context manager, or ``close()`` it.

    ``url``: None (``$TWIBOX_STORE``, else ``store.sqlite3`` in the user's data directory), a
    path, ``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite:///:memory:``, or
    ``postgresql://user:password@host:port/database`` (the database must exist; the tables are
    created on first use).

    >>> with Store("sqlite:///:memory:") as store:
    ...     store.schema_version == SCHEMA_VERSION, len(store.metrics())
    (True, 0)
    """

    def __init__(self, url: str | Any | None = None) -> None:
        self.location: Location = resolve(url)
        self.url = self.location.url
        self._db: Database = open_database(self.location)
        try:
            with self._errors():
                migrate(self._db, MIGRATIONS)
        except BaseException:
            self._db.close()
            raise
        # Test seams: the kill-in-the-middle tests pause a real process inside the write
        # transaction (stages "metric", "sync", "deleted", "points", "commit").
        self._hook: Hook | None = None
        self._chunk = 500

    # --- housekeeping --------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return schema_version(self._db)

    def integrity_check(self) -> str:
        """The database's own consistency check: ``"ok"`` when all is well."""
        return self._db.integrity()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database errors (a lock that outlasted the busy timeout, a full disk …) as StoreError."""
        try:
            yield
        except self._db.errors as exc:
            raise StoreError(f"the store {self.url}: {self.location.scrub(str(exc).strip())}") from None

    def _stage(self, stage: str, count: int = 0) -> None:
        if self._hook is not None:
            self._hook(stage, count)

    # --- sync ----------------------------------------------------------------------------------
    def sync(
        self,
        spec: MetricSpec | CalculatedMetric,
        conn: Connection,
        date_range: str | DateRange | None = None,
        *,
        now: datetime | None = None,
        progress: Callable[[Progress], None] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> SyncReport:
        """Fetch ``spec`` over ``date_range`` (default: the spec's) and store it in one transaction.

        Everything is fetched first, then written in one transaction (a calculated metric's inputs
        together, and the calculated metric listed so history finds it by name). ``now`` pins the
        clock. A truncated fetch warns with
        :class:`~twibox_nb.pipeline.metric.TruncationWarning`, as ``fetch_metric`` does, and is stored by the
        truncation rule of the module docstring.
        """
        # The spec is saved in the store: never with the connection's secret (or any credential) in it.
        check_saveable(spec.to_dict(), (conn.secret.reveal(),))
        fetched_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        options: dict[str, Any] = {"progress": progress, "policy": policy, "sleep": sleep}
        calculated = isinstance(spec, CalculatedMetric)
        inputs: tuple[MetricSpec, ...] = spec.inputs if isinstance(spec, CalculatedMetric) else (spec,)
        # Fetch everything first (the network is slow and may fail), then write it all at once:
        # the write lock is held only for the write, and a calculated metric's inputs land together.
        fetched = [self._fetch(m, conn, date_range, fetched_at, options) for m in inputs]
        counts: dict[int, tuple[int, int]] = {}
        with self._errors(), self._db.transaction():
            # A fixed order (by identity) so that two writers never wait on each other in a cycle.
            for index in sorted(range(len(fetched)), key=lambda i: metric_identity(fetched[i].spec)):
                counts[index] = self._write(conn, fetched[index], fetched_at)
            if calculated:
                self._upsert_metric(spec, conn, "calculated", fetched_at)
            self._stage("commit", sum(written for written, _ in counts.values()))
        parts = tuple(f.report(conn, fetched_at, *counts[i]) for i, f in enumerate(fetched))
        if not calculated:
            return parts[0]
        worst = max(parts, key=lambda p: (p.truncated, p.stop_reason != "complete"))
        return SyncReport(
            spec.name, metric_identity(spec), conn.account_sid, parts[0].date_range, fetched_at,
            worst.stop_reason, any(p.truncated for p in parts), sum(p.pages for p in parts),
            sum(p.records for p in parts), sum(p.points_written for p in parts),
            sum(p.points_kept for p in parts), parts,
        )  # fmt: skip

    def _fetch(
        self, spec: MetricSpec, conn: Connection, date_range: str | DateRange | None, fetched_at: datetime,
        options: dict[str, Any],
    ) -> _Fetch:  # fmt: skip
        dynamic = is_dynamic(spec)
        requested = resolve_range(date_range if date_range is not None else spec.date_range, fetched_at)
        window = _whole_hours(requested)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncationWarning)
            result = fetch_metric(spec, conn, window, "hour", None, options["progress"], now=fetched_at,
                                  policy=options["policy"], sleep=options["sleep"])  # fmt: skip
        for warning in caught:  # re-raised from here, so the caller's filters see the store's call
            warnings.warn(str(warning.message), warning.category, stacklevel=3)
        if dynamic:
            start, end = fetched_at, fetched_at + INSTANT
            covered_end = end
        else:
            start, end = window.start, window.end
            covered_end = max(start, min(end, _floor_hour(fetched_at)))  # only hours that had ended
        return _Fetch(spec, to_points(result.rows, dynamic=dynamic), window, start, end, covered_end,
                      result.current.report, dynamic)  # fmt: skip

    def _upsert_metric(self, spec: Any, conn: Connection, kind: str, at: datetime) -> int:
        stamp = format_moment(at)
        rows = self._db.execute(
            "INSERT INTO metrics (identity, account_sid, is_sandbox, kind, name, spec, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identity, account_sid) DO UPDATE SET "
            "is_sandbox = excluded.is_sandbox, kind = excluded.kind, name = excluded.name, spec = excluded.spec, "
            "updated_at = excluded.updated_at RETURNING id",
            (metric_identity(spec), conn.account_sid, int(conn.is_sandbox), kind, spec.name, spec.to_json(None),
             stamp, stamp),
        )  # fmt: skip
        return int(rows[0][0])

    def _write(self, conn: Connection, fetch: _Fetch, fetched_at: datetime) -> tuple[int, int]:
        """Inside the sync's transaction: the metric, the sync, and its points by the replace and
        truncation rules; returns (points written, points kept from complete syncs)."""
        db, points, report = self._db, fetch.points, fetch.fetch_report
        first, last, until = format_moment(fetch.start), format_moment(fetch.end), format_moment(fetch.covered_end)
        dates = format_dates(points["date"]) if len(points) else []
        metric_id = self._upsert_metric(fetch.spec, conn, "dynamic" if fetch.dynamic else "dated", fetched_at)
        self._stage("metric")
        if report.truncated:
            # Only hours with records and no complete sync vouching for them (the rule above).
            vouched = _union(db.execute(
                "SELECT covered_start, covered_end FROM syncs WHERE metric_id = ? AND truncated = 0 "
                "AND covered_start < covered_end AND covered_start < ? AND covered_end > ?",
                (metric_id, last, first),
            ))  # fmt: skip
            chosen = {bucket for bucket in dates if not _inside(bucket, vouched)}
            keep = [i for i, d in enumerate(dates) if d in chosen]
        else:
            keep = list(range(len(dates)))
        written, kept = len(keep), len(dates) - len(keep)
        sync_id = db.insert(
            "INSERT INTO syncs (metric_id, fetched_at, range_start, range_end, covered_start, covered_end, "
            "stop_reason, truncated, pages, records, points_written, points_kept, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (metric_id, format_moment(fetched_at), first, last, first, first if report.truncated else until,
             report.stop_reason, int(report.truncated), report.pages, report.records, written, kept,
             conn.label),
        )  # fmt: skip
        self._stage("sync")
        if report.truncated:
            db.executemany(
                "DELETE FROM points WHERE metric_id = ? AND date = ?", [(metric_id, b) for b in sorted(chosen)]
            )
        else:
            db.execute("DELETE FROM points WHERE metric_id = ? AND date >= ? AND date < ?", (metric_id, first, last))
        self._stage("deleted")
        stamp = format_moment(fetched_at)
        records = points.iloc[keep] if keep else points.iloc[0:0]
        values = [
            (metric_id, dates[i], dimension_key(dim), dim, int(n_rows), int(n_values), _none_if_nan(s),
             _none_if_nan(lo), _none_if_nan(hi), _none_if_nan(latest), sync_id, stamp, report.stop_reason,
             int(report.truncated))
            for i, dim, n_rows, n_values, s, lo, hi, latest in zip(
                keep, records["dimension"], records["n_rows"], records["n_values"], records["value_sum"],
                records["value_min"], records["value_max"], records["value_latest"], strict=True)
        ]  # fmt: skip
        for offset in range(0, len(values), self._chunk):
            db.executemany(
                "INSERT INTO points (metric_id, date, dimension_key, dimension, n_rows, n_values, value_sum, "
                "value_min, value_max, value_latest, sync_id, fetched_at, stop_reason, truncated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values[offset : offset + self._chunk],
            )
            self._stage("points", min(offset + self._chunk, len(values)))
        return written, kept

    # --- reading -------------------------------------------------------------------------------
    def metrics(self) -> pd.DataFrame:
        """What is stored: one row per metric and account, with its first and last point, last sync,
        and how many syncs and points (and truncated points) it has."""
        with self._errors():
            return self._metrics()

    def _metrics(self) -> pd.DataFrame:
        rows = self._db.execute(
            "SELECT m.name, m.identity, m.kind, m.account_sid, m.is_sandbox, "
            "(SELECT MIN(date) FROM points p WHERE p.metric_id = m.id), "
            "(SELECT MAX(date) FROM points p WHERE p.metric_id = m.id), "
            "(SELECT MAX(fetched_at) FROM syncs s WHERE s.metric_id = m.id), "
            "(SELECT COUNT(*) FROM syncs s WHERE s.metric_id = m.id), "
            "(SELECT COUNT(*) FROM points p WHERE p.metric_id = m.id), "
            "(SELECT COUNT(*) FROM points p WHERE p.metric_id = m.id AND p.truncated = 1) "
            "FROM metrics m ORDER BY m.name, m.account_sid"
        )
        columns = ["name", "identity", "kind", "account_sid", "is_sandbox", "first", "last", "last_sync", "syncs",
                   "points", "truncated_points"]  # fmt: skip
        frame = pd.DataFrame(rows, columns=columns)
        for column in ("first", "last", "last_sync"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame["is_sandbox"] = frame["is_sandbox"].astype(bool)
        return frame

    def history(
        self,
        metric: MetricSpec | CalculatedMetric | str,
        date_range: str | DateRange | None = None,
        interval: str | None = None,
        compare: str | None = None,
        *,
        now: datetime | None = None,
        account: str | None = None,
    ) -> MetricResult:
        """A stored metric over a range, as a :class:`~twibox_nb.pipeline.result.MetricResult`.

        ``metric`` is a spec (found by its identity; its name, aggregation and trend are used as
        given), or a stored metric's name or identity (its last synced spec is used). ``account``
        picks the account when the metric is stored for several. ``date_range``, ``interval`` and
        ``compare`` work as in ``fetch_metric``; history has hour resolution (an hour counts when
        it starts inside the range). With no ``date_range``, the metric's own is used; for a
        dynamic metric (one reading per sync, stamped with the sync time) that range is extended
        to ``now``, so the latest readings, today's included, are in it. Parts of the range no sync
        covered, and points from truncated fetches, are named in ``result.warnings``.
        """
        from .history import build_history

        clock = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with self._errors():
            spec, series = self._resolve(metric, account)
            return build_history(
                self, spec, series, date_range=date_range, interval=interval, compare=compare, now=clock
            )

    def _resolve(self, metric: Any, account: str | None) -> tuple[Any, list[_Series]]:
        """The spec to present and the series it reads (one; or one per input, calculated)."""
        from .history import find_series

        return find_series(self, metric, account)

    def _series_rows(self, where: str, params: tuple) -> list[_Series]:
        rows = self._db.execute(
            "SELECT id, identity, account_sid, is_sandbox, kind, name, spec FROM metrics WHERE "
            + where
            + " ORDER BY updated_at DESC, id DESC",
            params,
        )
        return [_Series(int(r[0]), r[1], r[2], bool(r[3]), r[4], r[5], r[6]) for r in rows]
