"""MetricSpec: the file contract, validation that names the field, and no credentials ever."""

from __future__ import annotations

import json
import os

import pytest

from twibox_nb._exceptions import SpecError
from twibox_nb.library import load_metric
from twibox_nb.model.spec import Count, Dynamic, Field, MetricSpec, RequestSpec

CONTRACT = {
    "twibox_metric": 1,
    "name": "Messages by status",
    "description": "Outbound and inbound messages per day, split by delivery status",
    "request": {
        "method": "GET",
        "base_url": "https://api.twilio.com",
        "path": "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        "params": {"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
        "headers": {},
        "pagination": "next_page",
        "max_pages": 100,
    },
    "value": {"count": True},
    "dimension": {"field": "status"},
    "date": {"field": "date_sent"},
    "expression": None,
    "aggregation": "sum",
    "favourable_trend": "up",
    "date_range": "last_30_days",
    "interval": "day",
}


def spec(**changes) -> MetricSpec:
    return MetricSpec.from_dict({**CONTRACT, **changes})


def test_the_issue_example_reads_and_writes_back_unchanged():
    s = MetricSpec.from_dict(CONTRACT)
    assert s.value == Count() and s.dimension == Field("status") and s.date == Field("date_sent")
    assert s.request.params == (("PageSize", "1000"), ("DateSent>", "{{start_date}}"), ("DateSent<", "{{end_date}}"))
    assert s.to_dict() == CONTRACT
    assert MetricSpec.from_json(s.to_json()) == s


def test_field_value_dynamic_date_and_custom_expression_round_trip():
    s = spec(value={"field": "price"}, dimension=None, date={"dynamic": True}, expression="messages.{'value': 1}")
    assert s.value == Field("price") and s.dimension is None and s.date == Dynamic()
    back = json.loads(s.to_json())
    assert back["value"] == {"field": "price"} and back["date"] == {"dynamic": True} and back["dimension"] is None
    assert MetricSpec.from_json(s.to_json()) == s


def test_keys_other_tools_add_are_kept():
    s = spec(x_owner="growth team", dashboard={"row": 2})
    assert s.to_dict()["x_owner"] == "growth team" and s.to_dict()["dashboard"] == {"row": 2}


def test_specs_are_immutable_and_replace_makes_copies():
    s = spec()
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    other = s.replace(name="Other")
    assert other.name == "Other" and s.name == "Messages by status"


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"name": ""}, "name", "needs a name"),
        ({"aggregation": "median"}, "aggregation", "latest, sum, min, max, average, count"),
        ({"favourable_trend": "sideways"}, "favourable_trend", "'up' or 'down'"),
        ({"interval": "fortnight"}, "interval", "hour, day, week"),
        ({"date_range": "the_past"}, "date_range", "last_N_days"),
        ({"value": {"sum": True}}, "value", '{"field": PATH} or {"count": true}'),
        ({"value": {"field": ""}}, "value", "non-empty"),
        ({"dimension": {"count": True}}, "dimension", "null"),
        ({"date": {"field": 3}}, "date", '{"dynamic": true}'),
        ({"twibox_metric": 2}, "twibox_metric", "upgrade"),
        ({"expression": "  "}, "expression", "JSONata"),
        ({"request": {**CONTRACT["request"], "method": "POST"}}, "request.method", "only reads"),
        ({"request": {**CONTRACT["request"], "base_url": "https://evil.example.com"}}, "request.base_url", "Twilio"),
        ({"request": {**CONTRACT["request"], "path": "Messages.json"}}, "request.path", "starts with '/'"),
        ({"request": {**CONTRACT["request"], "path": "/x/{Sid}.json"}}, "request.path", "{AccountSid}"),
        ({"request": {**CONTRACT["request"], "pagination": "cursor"}}, "request.pagination", "next_page"),
        ({"request": {**CONTRACT["request"], "max_pages": 0}}, "request.max_pages", "at least 1"),
        ({"request": {**CONTRACT["request"], "params": {"X": "{{tomorrow}}"}}}, "request.params.X", "start_date"),
        ({"request": {**CONTRACT["request"], "verb": "GET"}}, "request.verb", "unknown"),
    ],
)
def test_invalid_specs_name_the_field_and_what_is_allowed(changes, field, hint):
    with pytest.raises(SpecError) as caught:
        spec(**changes)
    assert caught.value.field == field
    assert hint in str(caught.value)


@pytest.mark.parametrize(
    ("where", "name", "value"),
    [
        ("headers", "Authorization", "Basic QUM6c2VjcmV0"),
        ("headers", "X-Api-Key", "abc"),
        ("headers", "Cookie", "session=1"),
        ("params", "AuthToken", "9f8e7d6c5b4a"),
        ("params", "api_secret", "s3cr3t-value"),
        ("params", "Note", "0123456789abcdef0123456789abcdef"),  # a bare 32-hex auth token
        ("headers", "X-Trace", "Bearer eyJhbGciOi"),
    ],
)
def test_credentials_are_refused(where, name, value):
    request = {**CONTRACT["request"], where: {name: value}}
    with pytest.raises(SpecError, match="credential") as caught:
        spec(request=request)
    assert caught.value.field == f"request.{where}.{name}"
    assert value not in str(caught.value)


def test_page_token_is_not_mistaken_for_a_credential():
    assert spec(request={**CONTRACT["request"], "params": {"PageToken": "PASM123"}}).request.params


def test_save_is_atomic_and_load_metric_reads_it(tmp_path):
    target = tmp_path / "messages.json"
    spec().save(target)
    assert load_metric(target) == spec()
    assert json.loads(target.read_text())["twibox_metric"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["messages.json"]  # no temporary file left behind


def test_a_failed_save_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    spec().save(target)
    before = target.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        spec(name="New name").save(target)
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_load_metric_errors_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="no such metric file"):
        load_metric(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"twibox_metric": 1, "name": ')
    with pytest.raises(SpecError, match="not JSON") as caught:
        load_metric(broken)
    assert "broken.json" in str(caught.value)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**CONTRACT, "aggregation": "mode"}))
    with pytest.raises(SpecError, match=r"aggregation: .*bad\.json"):
        load_metric(bad)


def test_request_spec_accepts_mappings_and_numbers():
    r = RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com/", params={"PageSize": 1000})
    assert r.params == (("PageSize", "1000"),) and r.base_url == "https://monitor.twilio.com"
    with pytest.raises(SpecError, match=r"request\.params\.X"):
        RequestSpec("/v1/Alerts", params={"X": None})


def test_a_request_holds_no_control_character_and_no_text_over_2000_characters():
    with pytest.raises(SpecError, match=r"^request.headers.X-Trace: .*inject headers"):
        RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com", headers={"X-Trace": "1\r\nHost: evil"})
    with pytest.raises(SpecError, match=r"^request.path: the path is 100,001 characters long") as caught:
        RequestSpec("/" + "a" * 100_000)
    assert len(str(caught.value)) < 300
    assert RequestSpec("/" + "a" * 1_999).path.endswith("a")  # 2,000 characters: accepted


def test_a_calculated_metric_scale_is_finite_and_a_library_input_is_named_by_text():
    from twibox_nb.model.calculated import CalculatedMetric

    sent = MetricSpec("Sent", RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json"), date=Field("date_sent"))
    for scale in (float("nan"), float("inf")):
        with pytest.raises(SpecError, match=r"calculated\.scale: .*finite"):
            CalculatedMetric("Rate", "ratio", (sent, sent), scale=scale)
    data = {"twibox_metric": 1, "name": "Rate", "calculated": {"op": "ratio", "inputs": [{"library": ["x"]}] * 2}}
    with pytest.raises(SpecError, match=r"calculated.inputs\[0\].library: a library metric's name"):
        CalculatedMetric.from_dict(data, resolve=lambda name: sent)
    with pytest.raises(SpecError, match="nested too deeply or with a number too long"):
        MetricSpec.from_json("[" * 100_000)
    with pytest.raises(SpecError, match="nested too deeply or with a number too long"):
        CalculatedMetric.from_json('{"n": 1' + "0" * 5_000 + "}")
