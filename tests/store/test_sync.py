"""Syncing: idempotent re-syncs, replaced windows, dynamic metrics accumulating, the truncation rule."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb.model.identity import metric_identity
from twibox_nb.store.metric_store import Store

from ..conftest import NOW
from .conftest import dump


def points_of(path):
    """(date, dimension_key) → partials, without the bookkeeping columns that change per sync."""
    return sorted(
        (row[1], row[2], *row[3:9]) for row in dump(path)["points"]
    )  # metric_id, date, key, n_rows … value_latest


def test_resync_is_idempotent(store, store_url, conn):
    spec = library.get("Messages by status")
    first = store.sync(spec, conn, "last_30_days", now=NOW)
    before = points_of(store_url)
    second = store.sync(spec, conn, "last_30_days", now=NOW)
    assert first.stop_reason == second.stop_reason == "complete"
    assert not first.truncated and first.points_written == second.points_written == len(before) > 500
    assert points_of(store_url) == before  # no duplicates, nothing lost
    listed = store.metrics().set_index("name").loc["Messages by status"]
    assert listed["syncs"] == 2 and listed["points"] == len(before) and listed["truncated_points"] == 0
    assert listed["identity"] == metric_identity(spec) and listed["account_sid"] == conn.account_sid
    assert listed["is_sandbox"] and listed["last_sync"] == pd.Timestamp(NOW)
    assert listed["first"] == pd.Timestamp("2026-10-28", tz="UTC")  # 00:00 of the range's first day
    assert listed["last"] == pd.Timestamp("2026-11-26 23:00", tz="UTC")


def test_a_sync_replaces_its_window_and_keeps_the_rest(store, conn):
    spec = library.get("Messages by status")
    store.sync(spec, conn, "last_30_days", now=NOW)
    whole = store.history(spec, "last_30_days", now=NOW)
    # A later sync of a smaller window whose data differ (the sandbox a day later: nothing older
    # changes there, so the values must stay the same; only the window was rewritten).
    later = NOW + timedelta(days=1)
    conn_later = tb.connect(sandbox=tb.Sandbox(seed=7, now=later))
    report = store.sync(spec, conn_later, "2026-11-20..2026-11-26", now=later)
    assert report.date_range.start == datetime(2026, 11, 20, tzinfo=timezone.utc)
    again = store.history(spec, "last_30_days", now=NOW)
    pd.testing.assert_frame_equal(again.data, whole.data)
    syncs = store.metrics().set_index("name").loc["Messages by status", "syncs"]
    assert syncs == 2


def test_a_range_is_widened_to_whole_hours(store, conn):
    spec = library.get("Messages sent")
    report = store.sync(spec, conn, "month_to_date", now=NOW)  # ends at 15:30
    assert report.date_range.end == datetime(2026, 11, 27, 16, tzinfo=timezone.utc)
    assert report.date_range.start == datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_dynamic_metrics_accumulate_one_reading_per_sync(store):
    spec = library.get("Account balance")
    clock = {"now": NOW - timedelta(days=3)}
    sandbox = tb.Sandbox(seed=7, now=lambda: clock["now"])
    conn = tb.connect(sandbox=sandbox)
    readings = {}
    for days in (3, 2, 1, 0):
        clock["now"] = NOW - timedelta(days=days)
        report = store.sync(spec, conn, now=clock["now"])
        assert report.points_written == 1 and report.date_range is None
        readings[clock["now"]] = tb.fetch_metric(spec, conn, now=clock["now"]).summary.current
    store.sync(spec, conn, now=NOW)  # the same reading again: replaced, not duplicated
    history = store.history(spec, "last_7_days", interval="hour", now=NOW + timedelta(days=1))
    assert len(history.rows) == 4 and history.rows["date"].tolist() == [pd.Timestamp(t) for t in readings]
    assert history.rows["value"].tolist() == list(readings.values())
    assert history.summary.current == readings[NOW]  # latest
    compared = store.history(spec, "today", compare="previous_period", now=NOW)
    assert compared.summary.current == readings[NOW]
    assert compared.summary.previous == readings[NOW - timedelta(days=1)]
    assert not compared.warnings


def capped(spec, pages=1):
    """The metric with a page cap that truncates it (pages of 50 records)."""
    params = {**dict(spec.request.params), "PageSize": "50"}
    request = tb.RequestSpec(spec.request.path, spec.request.base_url, params=params, max_pages=pages)
    return spec.replace(request=request)


def test_a_truncated_sync_is_stored_marked_and_says_so(store, conn):
    spec = capped(library.get("Messages by status"))
    assert metric_identity(spec) == metric_identity(library.get("Messages by status"))  # same data
    with pytest.warns(tb.TruncationWarning):
        report = store.sync(spec, conn, "last_7_days", now=NOW)
    assert report.truncated and report.stop_reason == "page_cap" and report.points_written > 0
    assert "TRUNCATED (page_cap)" in str(report)
    listed = store.metrics().iloc[0]
    assert listed["truncated_points"] == listed["points"] == report.points_written
    with pytest.warns(tb.TruncationWarning):
        history = store.history(spec, "last_7_days", now=NOW)
    assert history.truncated and history.stop_reason == "page_cap"
    assert any("truncated fetches (page_cap)" in w for w in history.warnings)


def test_a_truncated_sync_never_overwrites_complete_data(store, store_url, conn):
    full = library.get("Messages by status")
    store.sync(full, conn, "last_7_days", now=NOW)
    complete = points_of(store_url)
    with pytest.warns(tb.TruncationWarning):
        report = store.sync(capped(full, pages=3), conn, "last_7_days", now=NOW)
    assert report.truncated and report.points_written == 0 and report.points_kept > 0
    assert points_of(store_url) == complete
    with warnings.catch_warnings():
        warnings.simplefilter("error", tb.TruncationWarning)  # the history is complete: no warning
        assert not store.history(full, "last_7_days", now=NOW).truncated


def test_a_truncated_sync_fills_only_hours_no_complete_sync_vouches_for(store, conn):
    full = library.get("Messages by status")
    later = NOW + timedelta(days=2)
    # Complete up to NOW (15:00 that day is the last hour that had ended); then a capped sync two
    # days later, whose newest pages reach back into the vouched-for hours.
    store.sync(full, conn, "this_week", now=NOW)
    with pytest.warns(tb.TruncationWarning):
        report = store.sync(capped(full, pages=4), tb.connect(sandbox=tb.Sandbox(seed=7, now=later)), "this_week",
                            now=later)  # fmt: skip
    assert report.points_written > 0 and report.points_kept > 0
    with pytest.warns(tb.TruncationWarning):
        history = store.history(full, "this_week", interval="hour", now=later)
    data = history.data.assign(dimension=history.data["dimension"].astype(object))
    direct_now = tb.fetch_metric(full, conn, "this_week", "hour", now=NOW).data
    direct_now = direct_now.assign(dimension=direct_now["dimension"].astype(object))
    vouched = data["date"] < pd.Timestamp("2026-11-27 15:00", tz="UTC")
    expected = direct_now[direct_now["date"] < pd.Timestamp("2026-11-27 15:00", tz="UTC")]
    merged = data[vouched].merge(expected, on=["date", "dimension"], how="outer", suffixes=("", "_direct"))
    assert (merged["value"].fillna(0) == merged["value_direct"].fillna(0)).all()  # complete hours untouched
    assert (data.loc[~vouched, "value"] > 0).any()  # the later hours came from the truncated sync


def test_a_complete_sync_replaces_truncated_points(store, store_url, conn):
    full = library.get("Messages by status")
    with pytest.warns(tb.TruncationWarning):
        store.sync(capped(full), conn, "last_7_days", now=NOW)
    store.sync(full, conn, "last_7_days", now=NOW)
    assert store.metrics().iloc[0]["truncated_points"] == 0
    with Store(store_url) as other:
        reference = other  # the same file through another connection sees the same
        assert reference.metrics().iloc[0]["points"] == store.metrics().iloc[0]["points"]


def test_a_calculated_metric_syncs_its_inputs(store, conn):
    rate = library.get("Delivery rate")
    report = store.sync(rate, conn, "last_7_days", now=NOW)
    assert [part.metric for part in report.inputs] == [m.name for m in rate.inputs]
    assert report.points_written == sum(part.points_written for part in report.inputs)
    listed = store.metrics().set_index("name")
    assert set(listed.index) == {"Delivery rate", *(m.name for m in rate.inputs)}
    assert listed.loc["Delivery rate", "kind"] == "calculated" and listed.loc["Delivery rate", "points"] == 0
    direct = tb.fetch_metric(rate, conn, "last_7_days", compare="previous_period", now=NOW)
    store.sync(rate, conn, "last_14_days", now=NOW)  # the comparison period too
    for metric in (rate, "Delivery rate"):
        history = store.history(metric, "last_7_days", compare="previous_period", now=NOW)
        assert history.summary.current == pytest.approx(direct.summary.current)
        assert history.summary.previous == pytest.approx(direct.summary.previous)
        ns = {"date": "datetime64[ns, UTC]"}
        pd.testing.assert_frame_equal(history.data.astype(ns), direct.data.astype(ns))


def test_renaming_keeps_history_and_changing_the_data_starts_a_new_series(store, conn):
    spec = library.get("Messages sent")
    store.sync(spec, conn, "last_7_days", now=NOW)
    renamed = spec.replace(name="Outbound messages", description="renamed", aggregation="count")
    store.sync(renamed, conn, "last_7_days", now=NOW)
    listed = store.metrics()
    assert listed["name"].tolist() == ["Outbound messages"] and listed.iloc[0]["syncs"] == 2
    assert store.history("Outbound messages", "last_7_days", now=NOW).spec == renamed
    other = spec.replace(request=tb.RequestSpec(spec.request.path, params={**dict(spec.request.params), "To": "+1"}))
    store.sync(other, conn, "last_7_days", now=NOW)
    assert len(store.metrics()) == 2
