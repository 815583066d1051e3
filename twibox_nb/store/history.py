"""Reading a metric's history back from the store as a ``MetricResult``.

Split from :mod:`twibox_nb.store.metric_store` to keep each module small: finding the stored series a metric
(spec, name or identity) refers to, and turning its points into the engine's result.
"""

from __future__ import annotations

import difflib
import re
import time
import warnings
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._exceptions import StoreError, TruncationWarning
from ..aggregate.frames import aggregate, total
from ..fetch.report import _plural as plural
from ..library import read_metric
from ..model.calculated import CalculatedMetric
from ..model.dates import DateRange, check_interval, comparison_range, resolve_range
from ..model.identity import is_dynamic, metric_identity
from ..model.spec import MetricSpec
from ..pipeline.result import STOP_SEVERITY, Fetched, MetricResult, combine_results, metric_result
from .points import PARTIALS, format_moment, parse_dates, to_rows
from .reports import StoreReport, _Series

if TYPE_CHECKING:
    from .metric_store import Store

_IDENTITY_PREFIX = re.compile(r"^[0-9a-f]{4,16}$")


# --- which series ----------------------------------------------------------------------------


def find_series(store: Store, metric: Any, account: str | None) -> tuple[Any, list[_Series]]:
    """The spec to present and the series to read: one, or one per input of a calculated metric."""
    if isinstance(metric, str):
        found = _by_name(store, metric, account)
        spec: Any = _load(found)
        if not isinstance(spec, CalculatedMetric):
            return spec, [found]
        account = found.account_sid
    elif isinstance(metric, (MetricSpec, CalculatedMetric)):
        spec = metric
    else:
        raise StoreError(f"history of {metric!r}: give a metric spec, or a stored metric's name or identity")
    if isinstance(spec, CalculatedMetric):
        return spec, [_by_spec(store, m, account) for m in spec.inputs]
    return spec, [_by_spec(store, spec, account)]


def _load(series: _Series) -> Any:
    return read_metric(series.spec, f"the store's copy of {series.name!r}")


def _one_account(store: Store, found: list[_Series], what: str, account: str | None) -> _Series:
    if account is not None:
        found = [s for s in found if s.account_sid == account]
    if not found:
        on = f" for account {account}" if account else ""
        raise StoreError(
            f"nothing is stored for {what}{on} in {store.url}: sync it first (store.sync(spec, conn) or twibox sync)"
        )
    accounts = sorted({s.account_sid + (" (sandbox)" if s.is_sandbox else "") for s in found})
    if len(accounts) > 1:
        raise StoreError(f"{what} is stored for {len(accounts)} accounts ({', '.join(accounts)}): pass account=")
    return found[0]  # the most recently synced series (a changed spec starts a new one)


def _by_spec(store: Store, spec: MetricSpec, account: str | None) -> _Series:
    identity = metric_identity(spec)
    return _one_account(store, store._series_rows("identity = ?", (identity,)), f"{spec.name!r} (identity {identity})",
                        account)  # fmt: skip


def _by_name(store: Store, text: str, account: str | None) -> _Series:
    found = store._series_rows("name = ?", (text,)) or store._series_rows("lower(name) = lower(?)", (text,))
    if not found and _IDENTITY_PREFIX.match(text):
        found = store._series_rows("identity LIKE ?", (text + "%",))
    if not found:
        names = sorted({row[0] for row in store._db.execute("SELECT name FROM metrics")})
        close = difflib.get_close_matches(text, names, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else (
            f"; stored: {', '.join(map(repr, names[:8]))}" if names else "; the store is empty")  # fmt: skip
        raise StoreError(f"no stored metric named {text!r} in {store.url}{hint}")
    return _one_account(store, found, repr(text), account)


# --- building the result ---------------------------------------------------------------------


def build_history(
    store: Store,
    spec: Any,
    series: list[_Series],
    *,
    date_range: str | DateRange | None,
    interval: str | None,
    compare: str | None,
    now: datetime,
) -> MetricResult:
    current_range = resolve_range(date_range, now) if date_range is not None else default_range(spec, now)
    interval = check_interval(interval if interval is not None else spec.interval)
    if isinstance(spec, CalculatedMetric):
        return _calculated(store, spec, series, current_range, interval=interval, compare=compare, now=now)
    return _plain(store, spec, series[0], current_range, interval=interval, compare=compare, now=now)


def default_range(spec: Any, now: datetime) -> DateRange:
    """History's range when none is given: the metric's own; for a dynamic metric (one reading
    per sync, stamped with the sync time) extended to ``now``, so that a reading synced today (or
    this very moment) is in it even when the metric's own range ends at midnight."""
    own = resolve_range(spec.date_range, now)
    inputs = spec.inputs if isinstance(spec, CalculatedMetric) else (spec,)
    if not any(is_dynamic(m) for m in inputs) or own.end > now:
        return own
    name = own.name if own.to_date else f"{own.name} to now"
    return replace(own, end=now + timedelta(microseconds=1), name=name, to_date=True)


def _plain(
    store: Store, spec: MetricSpec, series: _Series, current_range: DateRange, *, interval: str,
    compare: str | None, now: datetime,
) -> MetricResult:  # fmt: skip
    previous_range = comparison_range(current_range, compare)
    notes: list[str] = []
    where = {"interval": interval, "now": now, "notes": notes}
    current = _stored(store, spec, series, current_range, label="this range", **where)
    previous = None
    if previous_range is not None:
        previous = _stored(store, spec, series, previous_range, label="the comparison period", **where)
    for note in notes:
        if "incomplete" in note:
            warnings.warn(f"{spec.name}: {note}", TruncationWarning, stacklevel=4)
    last = store._db.execute(
        "SELECT source, fetched_at FROM syncs WHERE metric_id = ? ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (series.id,),
    )
    source = last[0][0] if last else "no sync yet"
    as_of = parse_dates(pd.Series([last[0][1]])).iloc[0].to_pydatetime() if last else now
    return metric_result(
        spec, current, previous, source=f"{source}, stored in {store.url}", is_sandbox=series.is_sandbox,
        interval=interval, fetched_at=min(as_of, now),  # the data are as of the last sync
        expression=spec.expression or "", warnings=notes,
    )  # fmt: skip


def _stored(
    store: Store, spec: MetricSpec, series: _Series, date_range: DateRange, *, interval: str, now: datetime,
    label: str, notes: list[str],
) -> Fetched:  # fmt: skip

    started = time.perf_counter()
    first, last = format_moment(date_range.start), format_moment(date_range.end)
    rows = store._db.execute(
        "SELECT date, dimension_key, " + ", ".join(PARTIALS) + ", sync_id, fetched_at, stop_reason, truncated "
        "FROM points WHERE metric_id = ? AND date >= ? AND date < ? ORDER BY date, dimension_key",
        (series.id, first, last),
    )
    columns = ["date", "dimension_key", *PARTIALS, "sync_id", "fetched_at", "stop_reason", "truncated"]
    points = pd.DataFrame(rows, columns=columns)
    points["date"] = parse_dates(points["date"]) if len(points) else pd.Series(dtype="datetime64[ns, UTC]")
    points["dimension"] = points["dimension_key"].map(lambda key: None if key == "" else key[1:])
    for name in PARTIALS[2:]:
        points[name] = pd.to_numeric(points[name], errors="coerce").astype("float64")
    dynamic = is_dynamic(spec)
    frame = to_rows(points, spec.aggregation)
    data = aggregate(frame, spec.aggregation, interval, None if dynamic else date_range, now)
    cut = points[points["truncated"].astype(bool)]
    worst = max(cut["stop_reason"], key=STOP_SEVERITY.index) if len(cut) else "complete"
    if len(cut):
        notes.append(
            f"{label}: {len(cut):,} of {len(points):,} stored points come from truncated fetches ({worst}); "
            "the values are incomplete"
        )
    if not dynamic:
        gaps = _gaps(store, series, date_range, now)
        if gaps:
            notes.append(f"{label}: no sync covered {gaps}; the store has nothing there (sums and counts show 0)")
    elif points.empty:
        notes.append(f"{label}: no stored readings (a dynamic metric gets one per sync)")
    last_synced = parse_dates(pd.Series([points["fetched_at"].max()])).iloc[0] if len(points) else None
    report = StoreReport(
        pages=0, records=int(points["n_rows"].sum()) if len(points) else 0, requests=0, retries=0,
        elapsed=time.perf_counter() - started, stop_reason=worst, truncated=bool(len(cut)), store=store.url,
        points=len(points), syncs=int(points["sync_id"].nunique()),
        last_synced=last_synced.to_pydatetime() if last_synced is not None else None,
    )  # type: ignore[arg-type]  # fmt: skip
    return Fetched(date_range, frame, data, total(frame, spec.aggregation), report)


def _gaps(store: Store, series: _Series, date_range: DateRange, now: datetime) -> str:
    """The parts of the range (up to now) that no sync fetched, in words ("" when none)."""
    start, end = format_moment(date_range.start), format_moment(min(date_range.end, now))
    if start >= end:
        return ""
    spans = store._db.execute(
        "SELECT range_start, range_end, fetched_at FROM syncs WHERE metric_id = ? AND range_start < ? "
        "AND range_end > ? ORDER BY range_start",
        (series.id, end, start),
    )
    missing, cursor = [], start
    for lo, until, fetched in spans:
        if lo > cursor:
            missing.append((cursor, min(lo, end)))
        cursor = max(cursor, min(until, fetched))  # a sync only saw what had happened by then
        if cursor >= end:
            break
    if cursor < end:
        missing.append((cursor, end))
    missing = [(lo, hi) for lo, hi in missing if lo < hi]
    if not missing:
        return ""
    words = [f"{lo[:16].replace('T', ' ')} – {hi[:16].replace('T', ' ')}" for lo, hi in missing[:3]]
    more = f" and {plural(len(missing) - 3, 'more gap')}" if len(missing) > 3 else ""
    return ", ".join(words) + " UTC" + more


def _merged(reports: list[Any]) -> StoreReport:

    synced = [r.last_synced for r in reports if r.last_synced is not None]
    return StoreReport(
        pages=0, records=sum(r.records for r in reports), requests=0, retries=0,
        elapsed=sum(r.elapsed for r in reports),
        stop_reason=max((r.stop_reason for r in reports), key=STOP_SEVERITY.index),
        truncated=any(r.truncated for r in reports), store=reports[0].store,
        points=sum(r.points for r in reports), syncs=sum(r.syncs for r in reports),
        last_synced=max(synced) if synced else None,
    )  # type: ignore[arg-type]  # fmt: skip


def _calculated(
    store: Store, metric: CalculatedMetric, series: list[_Series], current_range: DateRange, *, interval: str,
    compare: str | None, now: datetime,
) -> MetricResult:  # fmt: skip
    """Each input's history, combined as ``fetch_metric`` combines fetched inputs."""
    results = [_plain(store, m, s, current_range, interval=interval, compare=compare, now=now)
               for m, s in zip(metric.inputs, series, strict=True)]  # fmt: skip
    return combine_results(
        metric, results, interval=interval, source=results[0].source,
        is_sandbox=any(r.is_sandbox for r in results), fetched_at=min(r.fetched_at for r in results),
        expression="", merge=_merged,
    )  # fmt: skip
