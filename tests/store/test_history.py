"""History: the same result as a direct fetch, the sandbox's ground truth, charts and scorecards."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pandas as pd
import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb._exceptions import StoreError
from twibox_nb.store.metric_store import Store
from twibox_nb.store.reports import StoreReport

from ..conftest import NOW
from .conftest import new_store_url

START, END = NOW.date() - timedelta(days=30), NOW.date()  # last_30_days at NOW
# One library metric per aggregation the partials must re-aggregate exactly (sum of counts, sum of
# prices, an average, a count, latest, min/max through the same spec with another aggregation).
CLOSED = ["Messages by status", "SMS spend", "Average call duration", "Call minutes", "Messages received"]


@pytest.fixture(scope="module")
def synced(backend, tmp_path_factory, request, conn):
    """One store holding 60 days of the metrics above (synced in two overlapping windows)."""
    url = new_store_url(backend, tmp_path_factory.mktemp("history"), request, "store")
    with Store(url) as store:
        for name in CLOSED:
            store.sync(library.get(name), conn, "last_60_days", now=NOW)
            store.sync(library.get(name), conn, "last_7_days", now=NOW)
        yield store


def ns(frame):
    """The engine's date resolution follows the parser (s, us or ns); the instants are what count."""
    return frame.assign(date=frame["date"].astype("datetime64[ns, UTC]"))


def _same(history, direct):
    pd.testing.assert_frame_equal(ns(history.data), ns(direct.data), rtol=1e-9)
    assert history.summary.current == pytest.approx(direct.summary.current, rel=1e-12)
    if direct.summary.previous is not None:
        assert history.summary.previous == pytest.approx(direct.summary.previous, rel=1e-12)
        assert history.summary.favourable == direct.summary.favourable
    assert history.interval == direct.interval and history.date_range == direct.date_range


@pytest.mark.parametrize("interval", ["hour", "day", "week", "month"])
@pytest.mark.parametrize("name", CLOSED)
def test_history_equals_a_direct_fetch_for_a_closed_range(synced, conn, name, interval):
    spec = library.get(name)
    direct = tb.fetch_metric(spec, conn, "last_30_days", interval, "previous_period", now=NOW)
    history = synced.history(spec, "last_30_days", interval, "previous_period", now=NOW)
    _same(history, direct)
    assert isinstance(history.current.report, StoreReport) and history.stop_reason == "complete"
    assert "from the store" in history.current.report.summary() and history.is_sandbox
    assert not history.warnings


@pytest.mark.parametrize("aggregation", ["min", "max", "latest", "count", "average", "sum"])
def test_every_aggregation_re_aggregates_exactly_from_the_stored_hours(synced, conn, aggregation):
    """The aggregation is not part of a metric's identity: the partials serve every one of them."""
    spec = library.get("Average call duration").replace(aggregation=aggregation)
    for interval in ("day", "week"):
        direct = tb.fetch_metric(spec, conn, "last_30_days", interval, now=NOW)
        _same(synced.history(spec, "last_30_days", interval, now=NOW), direct)


def test_messages_by_status_equals_the_sandbox_ground_truth(synced, sandbox):
    history = synced.history("Messages by status", "last_30_days", "day", now=NOW)
    truth = sandbox.truth.daily_counts("messages", START, END, by="status")
    got = {(row.date.date(), row.dimension): int(row.value) for row in history.data.itertuples() if row.value}
    assert got == {(day, status): n for (day, status), n in truth.items()}
    assert history.summary.current == sum(truth.values())
    weekly = synced.history("Messages by status", "2026-11-02..2026-11-15", "week", now=NOW)
    by_week = Counter()
    for (day, status), n in truth.items():
        if date(2026, 11, 2) <= day <= date(2026, 11, 15):
            by_week[(day - timedelta(days=day.weekday()), status)] += n
    assert {(r.date.date(), r.dimension): int(r.value) for r in weekly.data.itertuples() if r.value} == by_week


def test_history_feeds_a_chart_a_scorecard_a_goal_and_an_alert(synced, conn):
    history = synced.history("Messages by status", "last_30_days", compare="previous_period", now=NOW)
    chart = history.chart(goal=100).to_dict()
    assert chart["layer"] and "SANDBOX" in str(chart)
    card = tb.Scorecard([history, synced.history("SMS spend", "last_30_days", compare="previous_period", now=NOW)])
    assert [row.name for row in card.rows] == ["Messages by status", "SMS spend"]
    direct = tb.Scorecard(["Messages by status", "SMS spend"], conn, "last_30_days", now=NOW)
    for stored, fetched in zip(card.rows, direct.rows, strict=True):
        assert stored.current == pytest.approx(fetched.current)
        assert stored.change_pct == pytest.approx(fetched.change_pct)
        assert stored.sparkline == pytest.approx(fetched.sparkline)
    assert "<svg" in card.to_html()
    assert tb.goal_progress(tb.Goal("reach", 10_000, "last_30_days"), history).value == history.summary.current
    assert tb.alerts.check(tb.Alert("above", 1), history).fired


def test_history_says_which_parts_no_sync_covered(synced):
    history = synced.history("Messages by status", "last_90_days", now=NOW)
    (note,) = history.warnings
    assert "no sync covered 2026-08-29 00:00 – 2026-09-28 00:00 UTC" in note
    today = synced.history("Messages by status", "today", now=NOW + timedelta(hours=5))
    assert "no sync covered 2026-11-27 00:00 – 2026-11-27 20:30 UTC" in today.warnings[0]


def test_a_sync_covers_only_what_had_happened_when_it_fetched(store, conn):
    store.sync(library.get("Messages sent"), conn, "today", now=NOW)
    assert not store.history("Messages sent", "today", now=NOW).warnings
    later = store.history("Messages sent", "today", now=NOW + timedelta(hours=5))
    assert "no sync covered 2026-11-27 15:30 – 2026-11-27 20:30 UTC" in later.warnings[0]


def test_history_by_name_identity_or_spec_and_clear_errors(synced, fresh):
    by_spec = synced.history(library.get("SMS spend"), "last_7_days", now=NOW)
    identity = synced.metrics().set_index("name").loc["SMS spend", "identity"]
    for metric in ("SMS spend", "sms spend", identity, identity[:6]):
        pd.testing.assert_frame_equal(ns(synced.history(metric, "last_7_days", now=NOW).data), ns(by_spec.data))
    with pytest.raises(StoreError, match=r"no stored metric named 'SMS spnd'.*did you mean 'SMS spend'"):
        synced.history("SMS spnd", now=NOW)
    with pytest.raises(StoreError, match=r"nothing is stored for 'Total spend' \(identity [0-9a-f]{16}\).*sync it"):
        synced.history(library.get("Total spend"), now=NOW)
    with pytest.raises(StoreError, match="for account AC0"):
        synced.history("SMS spend", now=NOW, account="AC0")
    with Store(fresh("empty")) as empty, pytest.raises(StoreError, match="the store is empty"):
        empty.history("SMS spend", now=NOW)


def test_the_same_metric_on_two_accounts_is_two_series(store, conn):
    class Other:  # another account: only the SID and label differ for the store
        account_sid, label, is_sandbox = "AC" + "1" * 32, "another account", False

    spec = library.get("Messages sent")
    store.sync(spec, conn, "last_7_days", now=NOW)
    # the series key is (identity, account): write a second series directly
    with store._db.transaction():
        store._upsert_metric(spec, Other(), "dated", NOW)
    assert len(store.metrics()) == 2
    with pytest.raises(StoreError, match=r"stored for 2 accounts .*\(sandbox\).*pass account="):
        store.history(spec, "last_7_days", now=NOW)
    mine = store.history(spec, "last_7_days", now=NOW, account=conn.account_sid)
    assert mine.summary.current > 0 and mine.is_sandbox
