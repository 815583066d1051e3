"""The metric library: its files, its listing and lookups, and every metric against ground truth.

The key test fetches each library metric from the in-process sandbox for the last 30 days and
compares it, per day and dimension and in total, with an answer computed from the sandbox's own
ground truth (``sandbox.truth``, the account, the usage rules), never from the engine again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import mean

import pandas as pd
import pytest

import twibox_nb
from twibox_nb import library
from twibox_nb._exceptions import SpecError
from twibox_nb.evaluate.custom import custom_expression
from twibox_nb.model.calculated import CalculatedMetric
from twibox_nb.model.catalog import find_endpoint
from twibox_nb.model.dates import tokens_in
from twibox_nb.model.spec import Dynamic, Field, MetricSpec
from twibox_nb.sandbox.generator import PRICE_SCALE
from twibox_nb.sandbox.usage import CATEGORIES, balance

from ..conftest import NOW

SLUGS = sorted(library.list()["slug"])
CALCULATED = sorted(s for s in SLUGS if isinstance(library.get(s), CalculatedMetric))
PLAIN = sorted(set(SLUGS) - set(CALCULATED))
# last_30_days at NOW (Friday 2026-11-27 15:30 UTC): the 30 whole days before today.
START, END = NOW.date() - timedelta(days=30), NOW.date()
DAYS = [START + timedelta(days=i) for i in range(30)]
# Twilio (and the sandbox) keep Monitor alerts for 30 days, to the second.
ALERTS_KEPT_FROM = NOW - timedelta(days=30)


# --- the files -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", PLAIN)
def test_every_file_loads_validates_and_round_trips(slug):
    file = library.path(slug)
    spec = library.load(file)
    assert isinstance(spec, MetricSpec)
    assert MetricSpec.from_json(spec.to_json()) == spec
    assert twibox_nb.load_metric(file) == spec
    data = json.loads(file.read_text(encoding="utf-8"))
    assert {key: spec.to_dict()[key] for key in data} == data  # nothing in the file is lost
    assert file.stem == library.slug(spec.name) == slug  # the file is named after the metric
    assert data["data_source"] in library.DATA_SOURCES
    assert spec.description and spec.date_range == "last_30_days" and spec.interval == "day"


@pytest.mark.parametrize("slug", CALCULATED)
def test_calculated_files_reference_library_metrics_and_round_trip(slug):
    file = library.path(slug)
    metric = library.load(file)
    assert isinstance(metric, CalculatedMetric) and all(metric.refs)
    assert [library.get(ref) for ref in metric.refs] == list(metric.inputs)
    data = json.loads(file.read_text(encoding="utf-8"))
    assert {key: metric.to_dict()[key] for key in data} == data
    assert twibox_nb.load_metric(file) == metric
    assert file.stem == library.slug(metric.name) == slug and data["data_source"] in library.DATA_SOURCES


@pytest.mark.parametrize("slug", PLAIN)
def test_every_request_uses_the_catalogue_s_filters_and_date_field(slug):
    spec = library.get(slug)
    request = spec.request
    endpoint = find_endpoint(request.base_url, request.path)
    assert endpoint is not None, f"{slug}: {request.base_url}{request.path} is not in the catalogue"
    params = dict(request.params)
    if endpoint.list_key is None:  # an instance (the Balance): one page, one record
        assert request.pagination == "none" and isinstance(spec.date, Dynamic)
        return
    assert params["PageSize"] == "1000" and request.pagination == "next_page" and request.max_pages >= 100
    for name, value in params.items():
        if tokens_in(value):
            assert name in {f.param for f in endpoint.filters}, f"{slug}: {name} is not a date filter"
    if isinstance(spec.date, Field):
        assert spec.date.path == endpoint.date_field
        assert any(tokens_in(value) for value in params.values()), f"{slug}: the request is not narrowed by date"
    if spec.expression is not None:
        custom_expression(spec.expression)  # compiles (JSONata syntax)
        assert spec.expression.startswith(f"{endpoint.list_key}")  # a row projection of the records


# --- listing and lookups ---------------------------------------------------------------------


def test_list_has_the_columns_and_every_metric():
    table = library.list()
    assert list(table.columns) == list(library.COLUMNS)
    assert {"name", "data_source", "description", "endpoint"} <= set(table.columns)
    assert len(table) >= 19 and table["name"].is_unique and table["slug"].is_unique
    assert table["data_source"].unique().tolist() == list(library.DATA_SOURCES)  # grouped, in order
    row = table.set_index("name").loc["Account balance"]
    assert row["endpoint"] == "https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Balance.json"
    assert (row["aggregation"], row["favourable_trend"]) == ("latest", "up")


@pytest.mark.parametrize("name", ["SMS spend", "sms spend", "SMS SPEND", "sms-spend", "sms_spend"])
def test_get_by_name_in_any_case_or_by_file_name(name):
    assert library.get(name) == library.load(library.path("SMS spend"))
    assert library.get(name).name == "SMS spend"


@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ("mesages by stauts", "Messages by status"),
        ("calls", "Calls by status"),
        ("spend", "Total spend"),
        ("delivery", "Delivery rate"),
        ("weather", None),  # nothing close: the error says where to look
    ],
)
def test_unknown_names_raise_a_spec_error_with_close_matches(query, suggested):
    with pytest.raises(SpecError, match="no metric") as caught:
        library.get(query)
    message = str(caught.value)
    assert query in message
    if suggested:
        assert "did you mean" in message and suggested in message
    else:
        assert "library.list()" in message
    with pytest.raises(SpecError):
        library.path(query)


def test_load_refuses_files_that_are_not_metric_files(tmp_path):
    (tmp_path / "other.json").write_text('{"name": "not a metric"}')
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "bad.json").write_text(json.dumps({"twibox_metric": 1, "name": "x", "request": {"path": "nope"}}))
    with pytest.raises(SpecError, match="twibox_metric"):
        library.load(tmp_path / "other.json")
    with pytest.raises(SpecError, match=r"not JSON.*broken\.json"):  # the one reader's wording, as tb.load_metric
        library.load(tmp_path / "broken.json")
    with pytest.raises(SpecError, match=r"request\.path.*bad\.json"):
        library.load(tmp_path / "bad.json")


def test_the_library_ships_in_the_package():
    assert all(library.path(slug).parent == library.FOLDER for slug in SLUGS)
    assert sorted(p.stem for p in library.FOLDER.glob("*.json")) == SLUGS


# --- ground truth ----------------------------------------------------------------------------

Key = tuple[pd.Timestamp, "str | None"]


@dataclass(frozen=True)
class Expected:
    data: dict[Key, float]  # per day (and dimension), zeros left out
    current: float  # the summary's value for the whole range


def day(d: date) -> pd.Timestamp:
    return pd.Timestamp(d, tz="UTC")


def summed(data: dict[Key, float]) -> Expected:
    return Expected({k: v for k, v in data.items() if v}, sum(data.values()))


def counted(
    sandbox,
    kind: str,
    by: tuple[str, ...],
    *,
    where: Callable[[dict], bool] = lambda fields: True,
    dimension: str | None = None,
    start=START,
) -> Expected:
    """Records per day from ``truth.daily_counts``, kept ``where`` their fields say, keyed by ``dimension``."""
    out: Counter = Counter()
    for (d, *values), n in sandbox.truth.daily_counts(kind, start, END, by=by).items():
        fields = dict(zip(by, values, strict=True))
        if where(fields):
            out[day(d), None if dimension is None else str(fields[dimension])] += n
    return summed(dict(out))


def usage(sandbox, category: str, what: str) -> dict[Key, float]:
    """One usage category per day: ``count``, ``usage`` or ``price`` (in USD, from exact units)."""
    index = ("count", "usage", "price").index(what)
    scale = PRICE_SCALE if what == "price" else 1
    return {(day(d), None): sandbox.truth.usage(category, d)[index] / scale for d in DAYS}


def average_call_duration(sandbox) -> Expected:
    durations: dict[Key, list[int]] = {}
    for call in sandbox.truth.records("calls", START, END):
        if call["status"] == "completed":
            started = pd.Timestamp(call["start_time"]).tz_convert("UTC").floor("D")
            durations.setdefault((started, None), []).append(int(call["duration"]))
    everything = [d for values in durations.values() for d in values]
    return Expected({k: mean(v) for k, v in durations.items()}, mean(everything))


def usage_cost_by_category(sandbox) -> Expected:
    data = {
        (day(d), c.name): sandbox.truth.usage(c.name, d)[2] / PRICE_SCALE
        for d in DAYS
        for c in CATEGORIES
        if c.name != "totalprice"
    }
    return summed(data)


def reading(value: float) -> Expected:
    """A dynamic metric: one reading, stamped with the fetch time (its day)."""
    return Expected({(day(NOW.date()), None): value}, value)


FAILED = ("failed", "undelivered")


def rate(part: Expected, whole: Expected) -> Expected:
    """A ratio of sums per day and in total, in % (never an average of the daily rates)."""
    per_day = {k: 100 * part.data.get(k, 0) / v for k, v in whole.data.items()}
    return Expected({k: v for k, v in per_day.items() if v}, 100 * part.current / whole.current)


def sent(s) -> Expected:
    return counted(s, "messages", ("direction",), where=lambda f: f["direction"] != "inbound")


def delivered(s) -> Expected:
    return counted(s, "messages", ("status",), where=lambda f: f["status"] == "delivered")


def failed(s) -> Expected:
    return counted(s, "messages", ("status",), where=lambda f: f["status"] in FAILED)


MISSED = ("busy", "no-answer", "canceled", "failed")

EXPECTED: dict[str, Callable[..., Expected]] = {
    "messages-sent": sent,
    "messages-delivered": delivered,
    "messages-failed": failed,
    "delivery-rate": lambda s: rate(delivered(s), sent(s)),
    "failure-rate": lambda s: rate(failed(s), sent(s)),
    "messages-received": lambda s: counted(s, "messages", ("direction",), where=lambda f: f["direction"] == "inbound"),
    "messages-by-status": lambda s: counted(s, "messages", ("status",), dimension="status"),
    "messages-by-direction": lambda s: counted(s, "messages", ("direction",), dimension="direction"),
    "failed-messages-by-error-code": lambda s: counted(
        s, "messages", ("status", "error_code"), where=lambda f: f["status"] in FAILED, dimension="error_code"
    ),
    "sms-spend": lambda s: summed(usage(s, "sms", "price")),
    "segments-sent": lambda s: summed(usage(s, "sms-outbound", "usage")),
    "calls-by-status": lambda s: counted(s, "calls", ("status",), dimension="status"),
    "calls-by-direction": lambda s: counted(s, "calls", ("direction",), dimension="direction"),
    "call-minutes": lambda s: summed(usage(s, "calls", "usage")),
    "average-call-duration": average_call_duration,
    "call-spend": lambda s: summed(usage(s, "calls", "price")),
    "missed-inbound-calls": lambda s: counted(
        s,
        "calls",
        ("direction", "status"),
        where=lambda f: f["direction"] == "inbound" and f["status"] in MISSED,
        dimension="status",
    ),
    "usage-cost-by-category": usage_cost_by_category,
    "total-spend": lambda s: summed(usage(s, "totalprice", "price")),
    "account-balance": lambda s: reading(float(balance(s.account))),
    "phone-numbers-owned": lambda s: reading(len(s.account.numbers)),
    # Alerts older than 30 days (to the second) are gone: the range's first day is partly empty.
    "alerts-by-error-code": lambda s: counted(
        s, "alerts", ("error_code",), dimension="error_code", start=ALERTS_KEPT_FROM
    ),
    "alerts-by-log-level": lambda s: counted(
        s, "alerts", ("log_level",), dimension="log_level", start=ALERTS_KEPT_FROM
    ),
    "error-alerts": lambda s: counted(
        s, "alerts", ("log_level",), where=lambda f: f["log_level"] == "error", start=ALERTS_KEPT_FROM
    ),
    "messaging-services": lambda s: reading(len(s.account.services)),
}


def observed(result) -> dict[Key, float]:
    """The result's tidy frame as {(day, dimension): value}, without the zeros of empty intervals."""
    return {
        (d, None if pd.isna(dimension) else str(dimension)): value
        for d, dimension, value in result.data[["date", "dimension", "value"]].itertuples(index=False)
        if value
    }


def test_every_library_metric_has_a_ground_truth_answer():
    assert sorted(EXPECTED) == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_library_metric_equals_ground_truth_for_the_last_30_days(slug, sandbox, conn):
    spec = library.get(slug)
    result = twibox_nb.fetch_metric(spec, conn, "last_30_days", now=NOW)
    assert result.stop_reason == "complete" and not result.truncated and not result.warnings
    assert (result.date_range.start.date(), result.date_range.end.date()) == (START, END)
    expected = EXPECTED[slug](sandbox)
    assert expected.data, f"{slug}: the ground truth is empty, so the comparison would prove nothing"
    assert observed(result) == pytest.approx(expected.data, abs=1e-9)
    assert result.summary.current == pytest.approx(expected.current, abs=1e-9)


def test_a_comparison_twilio_refuses_leaves_the_range_and_says_why(conn):
    """Monitor keeps 30 days: the previous period of last_30_days is refused, the range is kept."""
    result = twibox_nb.fetch_metric(
        library.get("Error alerts"), conn, "last_30_days", compare="previous_period", now=NOW
    )
    assert result.summary.current > 0 and result.previous is None and result.summary.previous is None
    assert any("comparison period could not be fetched" in w and "30 days" in w for w in result.warnings)


def test_the_one_reader_refuses_malformed_json_naming_the_source():
    read = library.read_metric
    with pytest.raises(SpecError, match=r"nested more than 64 levels deep; .* \(in mine.json\)"):
        read('{"twibox_metric": 1, "x": ' + "[" * 66 + "]" * 66 + "}", "mine.json")
    with pytest.raises(SpecError, match=r"'op' appears twice .*\(in mine.json\)"):
        read('{"twibox_metric": 1, "calculated": {"op": "ratio", "op": "sum"}}', "mine.json")
    with pytest.raises(SpecError, match=r"NaN is not a JSON number .*\(in mine.json\)"):
        read('{"twibox_metric": 1, "calculated": {"scale": NaN}}', "mine.json")
    with pytest.raises(SpecError, match=r"holds a JSON array, not an object \(in mine.json\)"):
        read("[]", "mine.json")
    with pytest.raises(SpecError, match=r"no metric 'x+…' \(100,000 characters\) in the library") as caught:
        library.get("x" * 100_000)
    assert len(str(caught.value)) < 300


def test_the_reader_accepts_the_nesting_a_metric_file_has():
    spec = library.get("Delivery rate")
    text = spec.to_json().replace('{"library": "Messages delivered"}', library.get("Messages delivered").to_json())
    assert library.read_metric(text).inputs[0].name == "Messages delivered"
