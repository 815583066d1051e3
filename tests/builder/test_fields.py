"""Field discovery: kinds on Twilio's own examples, shares and counts on a hand-made page."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twibox_nb.builder.fields import FieldInfo, date_fields, dimension_fields, discover_fields, value_fields
from twibox_nb.evaluate.generated import Selection, generate

from ..conftest import spec_example

example = spec_example  # one named 200 response example from the specs


def by_path(fields: list[FieldInfo]) -> dict[str, FieldInfo]:
    return {f.path: f for f in fields}


MESSAGES = ("twilio_api_v2010.json", "/2010-04-01/Accounts/{AccountSid}/Messages.json", "readFullPage1")


def test_kinds_of_message_fields():
    fields = by_path(discover_fields(example(*MESSAGES)))
    kinds = {path: f.kind for path, f in fields.items()}
    assert kinds["price"] == "numeric_string"
    assert kinds["num_segments"] == "numeric_string"
    assert kinds["num_media"] == "numeric_string"
    assert kinds["date_sent"] == "date_rfc2822"
    assert kinds["status"] == "text"
    assert kinds["error_code"] == "number"  # a number or null
    assert kinds["subresource_uris"] == "object"
    assert kinds["subresource_uris.media"] == "text"
    assert fields["error_code"].null_share == 0.5 and fields["error_code"].examples == (30004,)
    assert fields["date_sent"].examples == ("Fri, 24 May 2019 17:44:50 +0000", "Fri, 24 May 2019 17:44:49 +0000")
    assert fields["status"].examples == ("sent", "received") and fields["status"].distinct == 2
    assert fields["price"].distinct == 1 and fields["price"].null_share == 0.0


def test_suggestions_for_messages():
    fields = discover_fields(example(*MESSAGES))
    assert [f.path for f in value_fields(fields)] == ["error_code", "num_media", "num_segments", "price"]
    dimensions = [f.path for f in dimension_fields(fields)]
    assert {"status", "direction", "error_code", "price_unit"} <= set(dimensions)
    # SIDs and links identify records: splitting by them makes no chart
    assert not {"sid", "account_sid", "messaging_service_sid", "uri", "subresource_uris.media"} & set(dimensions)
    # api_version ("2010-04-01") is date-shaped but its name says it labels a version: not a date (issue 15)
    assert [f.path for f in date_fields(fields)] == ["date_created", "date_sent", "date_updated"]
    version = next(f for f in fields if f.path == "api_version")
    assert (version.kind, version.as_date) == ("text", False)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            ("twilio_monitor_v1.json", "/v1/Alerts", "readFull"),
            {"date_generated": "date_iso8601", "log_level": "text", "error_code": "text"},
        ),
        (
            ("twilio_api_v2010.json", "/2010-04-01/Accounts/{AccountSid}/Usage/Records.json", "readFull"),
            {"as_of": "date_iso8601", "start_date": "date_iso8601", "count": "null", "price": "numeric_string"},
        ),
        (
            ("twilio_api_v2010.json", "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", "readFull"),
            {"capabilities.sms": "boolean", "beta": "null", "sms_url": "text", "date_created": "date_rfc2822"},
        ),
        (
            ("twilio_supersim_v1.json", "/v1/UsageRecords", "readAllDay"),
            {"period.start_time": "date_iso8601", "data_total": "number", "data_total_billed": "numeric_string"},
        ),
        (
            ("twilio_verify_v2.json", "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges", "readFull"),
            {"details.fields": "list", "details.date": "date_iso8601", "metadata": "null", "hidden_details": "object"},
        ),
        (
            ("twilio_api_v2010.json", "/2010-04-01/Accounts/{AccountSid}/Balance.json", "fetch"),
            {"balance": "numeric_string", "currency": "text"},
        ),
    ],
)
def test_kinds_on_other_endpoints(where, expected):
    fields = by_path(discover_fields(example(*where)))
    assert {path: fields[path].kind for path in expected} == expected


PAGE = {
    "page": 0,
    "next_page_uri": None,
    "calls": [
        {"status": "completed", "duration": "4", "price": -0.2, "error_code": None, "caps": {"sms": True}},
        {"status": "busy", "duration": "0", "price": 0, "error_code": 30003, "caps": {"sms": False}},
        {"status": "completed", "duration": "12", "error_code": 30003, "caps": None},
        {"status": "failed", "duration": None, "price": "0", "error_code": 30008, "tags": ["a", "b"], "note": ""},
    ],
}


def test_null_share_distinct_and_examples_on_a_small_page():
    fields = by_path(discover_fields(PAGE))
    assert list(fields) == ["status", "duration", "price", "error_code", "caps", "caps.sms", "tags", "note"]
    status, duration, price = fields["status"], fields["duration"], fields["price"]
    assert (status.kind, status.null_share, status.distinct) == ("text", 0.0, 3)
    assert status.examples == ("completed", "busy", "failed")
    assert (duration.kind, duration.null_share, duration.distinct) == ("numeric_string", 0.25, 3)
    # numbers and numeric strings mixed read as numeric strings; the missing price counts as null
    assert (price.kind, price.null_share, price.distinct, price.examples) == ("numeric_string", 0.25, 3, (-0.2, 0, "0"))
    error_code = fields["error_code"]
    assert (error_code.kind, error_code.null_share, error_code.distinct) == ("number", 0.25, 2)
    assert error_code.as_value and error_code.as_dimension  # few integers: a sensible split
    # nested: missing where the parent is null (record 3) or missing (record 4)
    assert (fields["caps.sms"].kind, fields["caps.sms"].null_share, fields["caps.sms"].distinct) == ("boolean", 0.5, 2)
    assert fields["caps"].kind == "object" and not fields["caps"].as_dimension
    # arrays are summarised, not exploded
    assert (fields["tags"].kind, fields["tags"].examples, fields["tags"].null_share) == ("list", (["a", "b"],), 0.75)
    assert "tags.0" not in fields
    # an empty string is a value (not null) but says nothing: not a dimension
    assert (fields["note"].kind, fields["note"].null_share, fields["note"].as_dimension) == ("text", 0.75, False)


def test_suggestions_on_a_small_page():
    fields = discover_fields(PAGE)
    assert [f.path for f in value_fields(fields)] == ["duration", "price", "error_code"]
    assert [f.path for f in dimension_fields(fields)] == ["status", "error_code", "caps.sms"]
    assert date_fields(fields) == []


def test_many_distinct_values_are_not_a_dimension():
    body = {"messages": [{"body": f"hello {i}", "num": i, "to": f"+1555000{i:04d}"} for i in range(60)]}
    fields = by_path(discover_fields(body))
    assert not fields["body"].as_dimension and not fields["num"].as_dimension and not fields["to"].as_dimension
    assert fields["num"].distinct == 60 and fields["num"].as_value


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Fri, 24 May 2019 17:44:50 +0000", "date_rfc2822"),
        ("24 May 2019 17:44:50 GMT", "date_rfc2822"),
        ("2015-07-30T20:00:00Z", "date_iso8601"),
        ("2019-06-24T22:32:49+00:00", "date_iso8601"),
        ("2008-01-02", "date_iso8601"),
        ("2020-07-01T12:13:14.123Z", "date_iso8601"),
        ("2019-13-01", "text"),
        ("Fri, 99 May 2019 17:44:50 +0000", "text"),
        ("2019", "numeric_string"),
        ("-0.00750", "numeric_string"),
        ("1e5", "numeric_string"),
        ("0x1F", "text"),
    ],
)
def test_kind_of_one_string(text, kind):
    assert discover_fields({"items": [{"x": text}]})[0].kind == kind


def test_pages_without_records_have_no_fields():
    assert discover_fields({"page": 0, "messages": []}) == []
    assert discover_fields(None) == []


scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.sampled_from(["1", "-0.5", ""]))
record = st.dictionaries(st.sampled_from(["a", "b", "c-d", "e"]), scalar | st.dictionaries(st.just("f"), scalar))


@settings(max_examples=60, deadline=None)
@given(st.lists(record, min_size=1, max_size=6))
def test_discovered_fields_work_in_selections(records):
    """Every value/dimension/date suggestion is a path a generated expression can read."""
    body = {"items": records}
    for info in discover_fields(body):
        assert 0.0 <= info.null_share <= 1.0 and len(info.examples) <= 3 and info.distinct >= len(info.examples)
        if info.kind == "null":
            assert info.null_share == 1.0 and info.distinct == 0
        rows = generate("items", Selection(info.steps if info.as_value else None, dimension=info.steps)).evaluate(body)
        assert len(rows) == len(records)
        if info.as_value:
            assert all(r["value"] is None or isinstance(r["value"], (int, float)) for r in rows)
            assert sum(r["value"] is not None for r in rows) <= round((1 - info.null_share) * len(records))
