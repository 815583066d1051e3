"""fetch_metric with date slices fetched concurrently: the same answer as one chain, exactly."""

from __future__ import annotations

import json
import threading
import time
import warnings
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import httpx
import pandas as pd
import pytest

from twibox_nb._exceptions import ExpressionError, TruncationWarning
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slices import keep_records, plan_slices
from twibox_nb.model.dates import DateRange, resolve_range
from twibox_nb.model.spec import Count, Dynamic, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.sandbox import Faults, Sandbox

from ..conftest import MESSAGES_PARAMS, NOW, InFlight
from .test_fetch_metric import ACCOUNT, as_dict, messages_by_status, truth_frame

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)
API = "https://api.twilio.com"
START, END = NOW.date() - timedelta(days=30), NOW.date()


def test_thirty_days_by_status_at_concurrency_8_equal_concurrency_1_and_ground_truth(sandbox):
    conn = connect(sandbox=sandbox)
    one = fetch_metric(messages_by_status(), conn, now=NOW, concurrency=1)
    eight = fetch_metric(messages_by_status(), conn, now=NOW, concurrency=8)
    assert as_dict(eight.data) == as_dict(one.data) == truth_frame(sandbox, START, END)
    pd.testing.assert_frame_equal(eight.data, one.data)
    assert eight.current.report.slices == 30 and one.current.report.slices == 1
    assert eight.stop_reason == "complete" and not eight.truncated
    assert eight.records == one.records == len(sandbox.truth.sids("messages", START, END))
    assert "30 slices" in repr(eight)
    # The first page is a deterministic one: the newest day's, as the single chain's first page.
    assert eight.first_page["messages"][0]["sid"] == one.first_page["messages"][0]["sid"]


def test_over_the_loopback_server_too(sandbox, server):
    result = fetch_metric(messages_by_status(), connect(sandbox=server.url), "last_7_days", now=NOW)
    assert as_dict(result.data) == truth_frame(sandbox, NOW.date() - timedelta(days=7), END)
    assert result.current.report.slices == 7


def sids_spec(path: str, date_field: str, params: dict[str, str], base_url: str = API) -> MetricSpec:
    """Counts per record SID: a record counted twice would show a 2."""
    return MetricSpec(
        "per sid", RequestSpec(path, base_url=base_url, params=params), value=Count(), dimension=Field("sid"),
        date=Field(date_field),
    )  # fmt: skip


def test_records_on_day_boundaries_are_counted_exactly_once(sandbox):
    spec = sids_spec(
        f"{ACCOUNT}/Messages.json", "date_sent", MESSAGES_PARAMS,
    )  # fmt: skip
    result = fetch_metric(spec, connect(sandbox=sandbox), "2026-11-10..2026-11-16", now=NOW)
    records = sandbox.truth.records("messages", date(2026, 11, 10), date(2026, 11, 17))
    edges = [r["sid"] for r in records if r["date_sent"].endswith(("00:00:00 +0000", "23:59:59 +0000"))]
    assert len(edges) >= 14  # one at 00:00:00 and one at 23:59:59 every day
    per_sid = result.rows.groupby("dimension", observed=True).size()
    assert (per_sid == 1).all() and set(per_sid.index) == {r["sid"] for r in records}
    assert result.current.report.slices == 7


def test_calls_before_filter_and_monitor_inclusive_end_overlap_are_deduplicated(sandbox):
    calls = sids_spec(
        f"{ACCOUNT}/Calls.json", "start_time",
        {"PageSize": "1000", "StartTime>": "{{start_date}}", "StartTime<": "{{end_date}}"},
    )  # fmt: skip
    result = fetch_metric(calls, connect(sandbox=sandbox), "2026-11-10..2026-11-16", now=NOW)
    assert result.current.report.slices == 7
    assert sorted(result.rows["dimension"].astype(str)) == sorted(
        sandbox.truth.sids("calls", date(2026, 11, 10), date(2026, 11, 17))
    )
    # EndDate is inclusive: a datetime slice also gets the record at its end instant, next slice's.
    alerts = sids_spec(
        "/v1/Alerts", "date_generated",
        {"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"},
        base_url="https://monitor.twilio.com",
    )  # fmt: skip
    result = fetch_metric(alerts, connect(sandbox=sandbox), "last_7_days", now=NOW)
    expected = sandbox.truth.sids("alerts", NOW.date() - timedelta(days=7), END)
    assert sorted(result.rows["dimension"].astype(str)) == sorted(expected)


class EverythingEveryTime(httpx.BaseTransport):
    """A server that ignores date filters: every slice gets every record (slices overlap fully)."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records
        self.requests = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests += 1
        body = {"messages": self.records, "next_page_uri": None, "page": 0}
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def test_overlapping_slices_are_deduplicated_by_sid(sandbox):
    records = sandbox.truth.records("messages", date(2026, 11, 10), date(2026, 11, 13))
    server = EverythingEveryTime(records)
    conn = connect("AC" + "c3" * 16, "SK" + "d4" * 16, "overlap-secret", transport=server, env={})
    result = fetch_metric(messages_by_status(), conn, "2026-11-09..2026-11-14", now=NOW)
    assert server.requests == 6  # six day slices, each answered with all three days
    assert result.summary.current == len(records) and result.records == 6 * len(records)
    assert as_dict(result.data) == truth_frame(sandbox, date(2026, 11, 10), date(2026, 11, 13))


def test_max_pages_caps_the_total_across_slices(sandbox):
    spec = messages_by_status(
        request=RequestSpec(
            f"{ACCOUNT}/Messages.json",
            params={"PageSize": "20", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
            max_pages=9,
        )
    )
    with pytest.warns(TruncationWarning, match="page cap"):
        result = fetch_metric(spec, connect(sandbox=sandbox), "last_30_days", now=NOW)
    assert result.pages == 9 and result.stop_reason == "page_cap" and result.truncated
    assert result.current.report.slices == 30


def test_a_concurrency_limit_of_3_still_gives_the_exact_ground_truth():
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=20, concurrency_limit=3))
    spec = messages_by_status(
        request=RequestSpec(
            f"{ACCOUNT}/Messages.json",
            params={"PageSize": "100", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
        )
    )
    result = fetch_metric(spec, connect(sandbox=sandbox), now=NOW, concurrency=8, policy=FAST)
    assert as_dict(result.data) == truth_frame(sandbox, START, END)
    report = result.current.report
    assert report.retries > 0 and report.throttled_to is not None and report.throttled_to < 8
    assert sandbox.injector.stats.get("over_concurrency", 0) > 0
    assert "after 429s" in repr(result) and not result.truncated


def test_requests_are_in_flight_together():
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=100))
    counting = InFlight(sandbox.transport())
    result = fetch_metric(messages_by_status(), connect(sandbox=sandbox, transport=counting), "last_7_days", now=NOW)
    assert counting.peak >= 2 and result.current.report.concurrency == counting.peak


def test_an_error_in_a_later_slice_truncates_with_the_error(sandbox):
    inner = sandbox.transport()

    class FailOneDay(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.params.get("DateSent>") == "2026-11-01":
                time.sleep(0.3)  # the other slices have their pages by then
                body = {"code": 20001, "message": "Invalid", "more_info": "https://www.twilio.com/docs/errors/20001"}
                return httpx.Response(400, json={**body, "status": 400})
            return inner.handle_request(request)

    conn = connect(sandbox=sandbox, transport=FailOneDay())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        result = fetch_metric(messages_by_status(), conn, "2026-10-28..2026-11-03", now=NOW)
    assert result.stop_reason == "error" and result.truncated and result.pages > 0
    assert any("Invalid" in str(w.message) for w in caught)


def test_not_sliced_where_slices_could_change_the_answer(sandbox):
    week = resolve_range("last_7_days", NOW)
    usage = MetricSpec(
        "SMS usage", RequestSpec(f"{ACCOUNT}/Usage/Records/Daily.json",
                                 params={"Category": "sms", "StartDate": "{{start_date}}", "EndDate": "{{end_date}}"}),
        value=Field("count"), date=Field("start_date"),
    )  # fmt: skip
    fixed = messages_by_status(
        request=RequestSpec(f"{ACCOUNT}/Messages.json", params={"DateSent>": "2026-11-01", "DateSent<": "{{end_date}}"})
    )
    ends = {"EndTime>": "{{start_date}}", "EndTime<": "{{end_date}}"}
    end_time = MetricSpec("calls", RequestSpec(f"{ACCOUNT}/Calls.json", params=ends), date=Field("start_time"))
    dynamic = messages_by_status(date=Dynamic(), aggregation="latest")
    single = messages_by_status(request=replace(messages_by_status().request, pagination="none"))
    for spec in (usage, fixed, end_time, dynamic, single):
        assert plan_slices(spec, week, 8) is None, spec.name
    assert plan_slices(messages_by_status(), week, 1) is None
    result = fetch_metric(usage, connect(sandbox=sandbox), "last_7_days", now=NOW)
    assert result.current.report.slices == 1 and result.current.report.concurrency == 1
    days = [END - timedelta(days=k) for k in range(1, 8)]
    assert result.summary.current == sum(sandbox.truth.usage("sms", day)[0] for day in days)


def test_datetime_filters_split_a_short_range_into_hours(sandbox):
    alerts = sids_spec(
        "/v1/Alerts", "date_generated",
        {"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"},
        base_url="https://monitor.twilio.com",
    )  # fmt: skip
    plan = plan_slices(alerts, resolve_range("yesterday", NOW), 8)
    assert len(plan.windows) == 8 and all(w.end - w.start == timedelta(hours=3) for w in plan.windows)
    result = fetch_metric(alerts, connect(sandbox=sandbox), "yesterday", now=NOW)
    day = NOW.date() - timedelta(days=1)
    assert sorted(result.rows["dimension"].astype(str)) == sorted(sandbox.truth.sids("alerts", day, END))
    messages = plan_slices(messages_by_status(), resolve_range("yesterday", NOW), 8)
    assert messages is None  # a date-only filter cannot be split below a day


def test_long_ranges_are_grouped_into_stable_blocks_of_days():
    spec = messages_by_status()
    plan = plan_slices(spec, resolve_range("last_365_days", NOW), 8)
    assert len(plan.windows) <= 33
    steps = {w.end - w.start for w in plan.windows[1:-1]}
    assert steps == {timedelta(days=12)}
    later = plan_slices(spec, resolve_range("last_365_days", NOW + timedelta(days=1)), 8)
    assert set(plan.windows[1:-1]) & set(later.windows)  # the same blocks tomorrow: the cache reuses them


def test_keep_records_reads_every_date_shape_and_partial_windows():
    def utc(*parts):
        return datetime(*parts, tzinfo=timezone.utc)

    records = [
        {"sid": "A", "d": "Fri, 20 Nov 2026 00:00:00 +0000"},  # RFC 2822, first second of the day
        {"sid": "B", "d": "2026-11-20T23:59:59Z"},  # ISO 8601 UTC, last second
        {"sid": "C", "d": "2026-11-21T00:30:00+01:00"},  # another offset: 23:30 UTC on the 20th
        {"sid": "D", "d": "Sat, 21 Nov 2026 00:00:00 +0000"},  # the next day
        {"sid": "E", "d": "Thu, 19 Nov 2026 23:59:59 +0000"},  # the day before
        {"sid": "F", "d": None},  # no date: kept (once), the metric's own clip decides
        {"sid": "A", "d": "Fri, 20 Nov 2026 00:00:00 +0000"},  # a duplicate SID
    ]
    day = DateRange(utc(2026, 11, 20), utc(2026, 11, 21), "day")
    kept, n = keep_records({"meta": {"key": "things"}, "things": records}, "d", day, set())
    assert [r["sid"] for r in kept["things"]] == ["A", "B", "C", "F"] and n == 4 and "meta" in kept
    afternoon = DateRange(utc(2026, 11, 20, 12), utc(2026, 11, 20, 23, 59, 59, 500000), "part")
    kept, _ = keep_records({"things": records}, "d", afternoon, set())
    assert [r["sid"] for r in kept["things"]] == ["B", "C", "F"]  # 23:59:59 < 23:59:59.5
    body = {"things": records[:2]}
    assert keep_records(body, "d", day, set())[0] is body  # nothing dropped: the body itself


def test_an_expression_error_stops_the_workers_at_once(sandbox):
    before = threading.active_count()
    spec = messages_by_status(expression='messages.{"date": date_sent, "value": $number(price), "dimension": status}')
    with pytest.raises(ExpressionError) as caught:
        fetch_metric(spec, connect(sandbox=sandbox), "last_30_days", now=NOW)
    assert caught.value is not None  # the traceback is still held, as a notebook holds it
    assert threading.active_count() == before


def test_page_chain_workers_never_touch_the_warnings_module(sandbox, monkeypatch):
    """``warnings.catch_warnings`` swaps module-wide state: entered on a worker thread (pandas does it
    in Series and to_datetime) it can drop the caller's warnings, as a lost TruncationWarning showed."""
    entered_on: list[str] = []
    enter = warnings.catch_warnings.__enter__

    def watched(self):
        entered_on.append(threading.current_thread().name)
        return enter(self)

    monkeypatch.setattr(warnings.catch_warnings, "__enter__", watched)
    capped = messages_by_status(
        request=RequestSpec(
            f"{ACCOUNT}/Messages.json",
            params={"PageSize": "20", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
            max_pages=40,
        )
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fetch_metric(capped, connect(sandbox=sandbox), "last_30_days", now=NOW, concurrency=8)
    assert result.current.report.slices == 30 and result.truncated
    assert [w.category for w in caught] == [TruncationWarning]
    workers = {name for name in entered_on if name != threading.main_thread().name}
    assert not workers, f"catch_warnings entered on {sorted(workers)}"


def test_dates_in_other_shapes_are_read_without_pandas():
    from twibox_nb.model.twilio_dates import date_keys

    assert date_keys(["Fri, 27 Nov 2026 16:30:00 +0100", "2026-11-27T15:30:00.5Z", "2026-11-27", "27/11/2026", 5]) == [
        "2026-11-27T15:30:00",
        "2026-11-27T15:30:00.500000",
        "2026-11-27T00:00:00",
        None,
        None,
    ]
    assert date_keys(["9999-12-31T23:59:59+00:00", "Sat, 31 Feb 2026 10:00 +0000"]) == [None, None]
    # Values that are no text are no dates, whatever their type (a cache of parsed texts must not choke on them).
    assert date_keys([{"date": "2026-11-27"}, ["2026-11-27"], 1.5e9, True, None, float("nan")]) == [None] * 6
