"""fetch_metric end to end: specs in, tidy frames out, equal to the sandbox's ground truth."""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings
from collections import Counter
from datetime import date, timedelta

import httpx
import pandas as pd
import pytest

from twibox_nb._exceptions import TruncationWarning
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Dynamic, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric

from ..conftest import ACCOUNT_PATH, MESSAGES_BY_STATUS, NOW

ACCOUNT = ACCOUNT_PATH


def messages_by_status(**changes) -> MetricSpec:
    spec = MESSAGES_BY_STATUS.replace(aggregation="sum", date_range="last_30_days", interval="day")
    return spec.replace(**changes)


def truth_frame(sandbox, start: date, end: date) -> dict[tuple[pd.Timestamp, str], float]:
    counts = sandbox.truth.daily_counts("messages", start, end, by="status")
    return {(pd.Timestamp(day, tz="UTC"), status): float(n) for (day, status), n in counts.items()}


def as_dict(data: pd.DataFrame) -> dict[tuple[pd.Timestamp, str], float]:
    return {(d, str(s)): v for d, s, v in data[["date", "dimension", "value"]].itertuples(index=False) if v}


def test_messages_per_day_by_status_over_the_loopback_server_equal_ground_truth(sandbox, server):
    result = fetch_metric(messages_by_status(), connect(sandbox=server.url), now=NOW)
    start, end = NOW.date() - timedelta(days=30), NOW.date()
    assert as_dict(result.data) == truth_frame(sandbox, start, end)
    assert result.summary.current == len(sandbox.truth.sids("messages", start, end))
    assert result.stop_reason == "complete" and not result.truncated and result.pages >= 3
    assert result.is_sandbox and "SANDBOX" in result.source and "SANDBOX" in repr(result)
    assert set(result.data.columns) == {"date", "dimension", "value"}
    assert len(result.data) == 30 * 5  # every day, every status (empty days are 0)


def test_previous_period_comparison(sandbox):
    result = fetch_metric(
        messages_by_status(), connect(sandbox=sandbox), "last_7_days", compare="previous_period", now=NOW
    )
    this_week = len(sandbox.truth.sids("messages", NOW.date() - timedelta(days=7), NOW.date()))
    week_before = len(sandbox.truth.sids("messages", NOW.date() - timedelta(days=14), NOW.date() - timedelta(days=7)))
    assert (result.summary.current, result.summary.previous) == (this_week, week_before)
    assert result.summary.change == this_week - week_before
    assert result.previous.date_range.end == result.date_range.start


def test_adjacent_ranges_count_each_record_exactly_once(sandbox):
    conn = connect(sandbox=sandbox)
    spec = messages_by_status(dimension=None)
    parts = [
        fetch_metric(spec, conn, f"2026-11-{d:02d}..2026-11-{d:02d}", now=NOW).summary.current for d in range(1, 11)
    ]
    whole = fetch_metric(spec, conn, "2026-11-01..2026-11-10", now=NOW).summary.current
    assert sum(parts) == whole == len(sandbox.truth.sids("messages", date(2026, 11, 1), date(2026, 11, 11)))


def test_calls_before_filter_loses_no_day(sandbox):
    """StartTime< excludes its day: the rendered token must reach past the range's last day."""
    spec = MetricSpec(
        "Call minutes",
        RequestSpec(
            f"{ACCOUNT}/Calls.json",
            params={"PageSize": "1000", "StartTime>": "{{start_date}}", "StartTime<": "{{end_date}}"},
        ),
        value=Field("duration"),
        date=Field("start_time"),
    )
    result = fetch_metric(spec, connect(sandbox=sandbox), "2026-11-01..2026-11-07", now=NOW)
    calls = sandbox.truth.records("calls", date(2026, 11, 1), date(2026, 11, 8))
    assert result.summary.current == sum(int(c["duration"]) for c in calls if c["duration"])
    assert result.data["date"].max() == pd.Timestamp("2026-11-07", tz="UTC")


def test_newest_first_lists_stop_once_records_pass_the_range_start(sandbox):
    spec = messages_by_status(request=RequestSpec(f"{ACCOUNT}/Messages.json", params={"PageSize": "200"}))
    result = fetch_metric(spec, connect(sandbox=sandbox), "last_7_days", now=NOW)
    assert result.stop_reason == "range_start_passed" and not result.truncated
    assert as_dict(result.data) == truth_frame(sandbox, NOW.date() - timedelta(days=7), NOW.date())
    assert result.pages < 10  # it did not walk the whole 400-day history


def test_page_cap_truncates_loudly(sandbox):
    spec = messages_by_status(request=RequestSpec(f"{ACCOUNT}/Messages.json", params={"PageSize": "50"}, max_pages=2))
    with pytest.warns(TruncationWarning, match="page cap"):
        result = fetch_metric(spec, connect(sandbox=sandbox), "last_7_days", now=NOW)
    assert result.stop_reason == "page_cap" and result.truncated and result.pages == 2
    assert any("incomplete" in w for w in result.warnings) and "warning" in repr(result)


def test_value_field_average_and_monitor_meta_paging(sandbox):
    spec = MetricSpec(
        "Alerts by level",
        RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com",
                    params={"PageSize": "10", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"}),
        dimension=Field("log_level"),
        date=Field("date_generated"),
    )  # fmt: skip
    result = fetch_metric(spec, connect(sandbox=sandbox), "last_7_days", interval="week", now=NOW)
    counts = sandbox.truth.daily_counts("alerts", NOW.date() - timedelta(days=7), NOW.date(), by="log_level")
    expected = Counter()
    for (_, level), n in counts.items():
        expected[level] += n
    assert dict(result.data.groupby("dimension", observed=True)["value"].sum()) == expected
    assert result.pages >= 3


def test_a_dynamic_metric_is_stamped_with_the_fetch_time(sandbox):
    spec = MetricSpec(
        "Balance",
        RequestSpec(f"{ACCOUNT}/Balance.json", pagination="none"),
        value=Field("balance"),
        date=Dynamic(),
        aggregation="latest",
    )
    result = fetch_metric(spec, connect(sandbox=sandbox), now=NOW, compare="previous_period")
    c = sandbox.credentials
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
        balance = client.get(f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Balance.json").json()
    assert result.rows["date"].tolist() == [pd.Timestamp(NOW)]
    assert result.summary.current == float(balance["balance"])
    assert result.previous is None and any("Store" in w for w in result.warnings)


def test_custom_expression_is_authoritative(sandbox):
    spec = messages_by_status(
        expression='messages[direction = "inbound"].{"date": date_sent, "value": 1, "dimension": "inbound"}'
    )
    result = fetch_metric(spec, connect(sandbox=sandbox), "2026-11-20..2026-11-20", now=NOW)
    counts = sandbox.truth.daily_counts("messages", date(2026, 11, 20), date(2026, 11, 21), by="direction")
    assert result.summary.current == counts[(date(2026, 11, 20), "inbound")]
    assert result.expression == spec.expression


def test_secret_stays_out_of_results_and_warnings(sandbox):
    secret = sandbox.credentials.api_secret
    spec = messages_by_status(request=RequestSpec(f"{ACCOUNT}/Messages.json", params={"PageSize": "50"}, max_pages=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fetch_metric(spec, connect(sandbox=sandbox), "last_7_days", now=NOW)
    texts = [repr(result), str(result.summary), *map(str, (w.message for w in caught)), result.spec.to_json()]
    assert all(secret not in t for t in texts)


def test_command_line_fetch_writes_csv(tmp_path):
    metric = tmp_path / "messages.json"
    messages_by_status(date_range="last_7_days").save(metric)
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, "-m", "twibox_nb.cli", "fetch", str(metric), "--sandbox", "--csv", str(out),
         "--now", "2026-11-27T15:30:00Z", "--interval", "week"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert {r["dimension"] for r in rows} >= {"delivered", "failed"} and rows[0]["date"].endswith("Z")
    assert "SANDBOX" in result.stderr and "pages" in result.stderr


def test_command_line_fetch_takes_a_concurrency_and_says_what_it_used(tmp_path):
    metric = tmp_path / "messages.json"
    messages_by_status(date_range="last_7_days").save(metric)
    runs = {}
    for concurrency in ("1", "4"):
        out = tmp_path / f"out-{concurrency}.csv"
        result = subprocess.run(
            [sys.executable, "-m", "twibox_nb.cli", "fetch", str(metric), "--sandbox", "--csv", str(out),
             "--now", "2026-11-27T15:30:00Z", "--concurrency", concurrency, "--no-cache", "--quiet"],
            check=False, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs[concurrency] = (out.read_text(), result.stderr)
    assert runs["1"][0] == runs["4"][0]  # the same table either way
    assert "slices" not in runs["1"][1] and "7 slices" in runs["4"][1]
    refused = subprocess.run(
        [sys.executable, "-m", "twibox_nb.cli", "fetch", str(metric), "--sandbox", "--concurrency", "64"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 1 and "32" in refused.stderr and "Traceback" not in refused.stderr


def test_command_line_errors_are_one_clear_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "twibox_nb.cli", "fetch", str(tmp_path / "nope.json"), "--sandbox"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "no such metric file" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_pauses_during_a_fetch_and_is_restored_after(sandbox, enabled):
    import gc

    from twibox_nb._exceptions import ExpressionError

    seen = []
    conn = connect(sandbox=sandbox)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, progress=lambda p: seen.append(gc.isenabled()))
        assert seen and not any(seen) and gc.isenabled() is enabled
        broken = messages_by_status(expression='messages.{"value": $number("x")}')
        with pytest.raises(ExpressionError):
            fetch_metric(broken, conn, "last_7_days", now=NOW)
        assert gc.isenabled() is enabled  # restored after a failure too
    finally:
        (gc.enable if was else gc.disable)()
