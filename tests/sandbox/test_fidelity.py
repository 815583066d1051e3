"""The sandbox answers the way Twilio's own OpenAPI specs say Twilio answers.

* Every response it serves (lists and instances, every endpoint) validates against the 200 response
  schema of the matching GET operation, with the date formats really checked. The few places where
  the specs are stricter than what Twilio sends are listed in ``KNOWN_DEVIATIONS``, each backed by a
  spec example; only those errors are tolerated, and a test proves each one still holds.
* Most schemas have no ``required`` list, so every record's key set (and the list envelope's, and
  nested maps such as ``subresource_uris`` / ``links``) is also compared with the spec's full example.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from twibox_nb import openapi

SPEC_FILES = {
    "api": "twilio_api_v2010.json",
    "monitor": "twilio_monitor_v1.json",
    "messaging": "twilio_messaging_v1.json",
}
A = "/2010-04-01/Accounts/{AccountSid}"
PAGE_SIZE = 200  # enough for failed / undelivered messages (null prices, error codes) on the first page
USAGE_SUBRESOURCES = ("AllTime", "Daily", "LastMonth", "Monthly", "ThisMonth", "Today", "Yearly", "Yesterday")


# --- the date formats the specs use -----------------------------------------------------------------
FORMATS = FormatChecker(formats=())  # only what is registered below: not uri, phone-number, currency …
_RFC2822 = re.compile(
    r"(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{2}) "
    r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) (?P<sign>[+-])(?P<zh>\d{2})(?P<zm>\d{2})"
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@FORMATS.checks("date-time-rfc-2822", raises=ValueError)
def is_rfc2822(value: object) -> bool:
    """``"Fri, 24 May 2019 17:44:50 +0000"``: a real date whose weekday is right."""
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    match = _RFC2822.fullmatch(value)
    if match is None:
        return False
    g = match.groupdict()
    offset = timedelta(hours=int(g["zh"]), minutes=int(g["zm"])) * (1 if g["sign"] == "+" else -1)
    moment = datetime(
        int(g["year"]),
        _MONTHS.index(g["month"]) + 1,
        int(g["day"]),
        int(g["hour"]),
        int(g["minute"]),
        int(g["second"]),
        tzinfo=timezone(offset),
    )
    return _WEEKDAYS[moment.weekday()] == g["weekday"]


@FORMATS.checks("date-time", raises=ValueError)
def is_iso8601(value: object) -> bool:
    """``"2015-07-30T20:00:00Z"``: ISO 8601 / RFC 3339 with a time zone."""
    if not isinstance(value, str):
        return True
    if _ISO_DATE_TIME.fullmatch(value) is None:
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # month 13, hour 25 … raise ValueError
    return True


@FORMATS.checks("date", raises=ValueError)
def is_iso_date(value: object) -> bool:
    """``"2019-06-24"``."""
    if not isinstance(value, str):
        return True
    if _ISO_DATE.fullmatch(value) is None:
        return False
    date.fromisoformat(value)
    return True


# --- the specs ------------------------------------------------------------------------------------
class Spec:
    """One of Twilio's OpenAPI files, with validators for its GET operations' 200 responses."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.name = name
        self.document = document
        self.uri = f"urn:twilio-oai:{name}"
        # The schemas' "#/components/schemas/…" refs resolve inside this resource.
        self.registry = Registry().with_resource(self.uri, DRAFT4.create_resource(document))

    def _response(self, path: str) -> dict[str, Any]:
        operation = self.document["paths"][path]["get"]
        return operation["responses"]["200"]["content"]["application/json"]

    def pointer(self, path: str) -> str:
        parts = ("paths", path, "get", "responses", "200", "content", "application/json", "schema")
        return "".join("/" + quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)

    def validator(self, path: str) -> OAS30Validator:
        schema = {"$ref": f"{self.uri}#{self.pointer(path)}"}
        return OAS30Validator(schema, registry=self.registry, format_checker=FORMATS)

    def examples(self, path: str) -> dict[str, Any]:
        return {name: example["value"] for name, example in self._response(path)["examples"].items()}

    def list_key(self, path: str) -> str | None:
        """The key holding the records of a list response, None for an instance."""
        schema = self._response(path)["schema"]
        keys = [k for k, v in schema.get("properties", {}).items() if v.get("type") == "array"]
        assert len(keys) <= 1, f"{path}: several array properties {keys}"
        return keys[0] if keys else None

    def record_schema(self, path: str) -> str:
        """The name (under components/schemas) of the schema a record of this response follows."""
        schema = self._response(path)["schema"]
        key = self.list_key(path)
        ref = schema["properties"][key]["items"]["$ref"] if key else schema["$ref"]
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix), ref
        return ref.removeprefix(prefix)


@cache
def load_spec(name: str) -> Spec:
    return Spec(name, openapi.load(SPEC_FILES[name]))


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    return {name: load_spec(name) for name in SPEC_FILES}


# --- the spec's known deviations from what Twilio sends ---------------------------------------------
@dataclass(frozen=True)
class Deviation:
    """A place where a schema rejects what Twilio sends, and the spec example that shows it."""

    schema: str  # name under components/schemas
    field: str  # dotted path inside a record
    keyword: str  # the JSON Schema keyword that fails
    sends: str  # regex that the value Twilio sends matches in full (only such values are tolerated)
    example: tuple[str, str, str]  # (spec, GET path, example name) whose record shows the value

    @property
    def id(self) -> str:
        return f"{self.schema.rsplit('.', 1)[-1]}.{self.field}:{self.keyword}"


_DECIMAL = r"-?\d+(?:\.\d+)?"
_USAGE = "api.v2010.account.usage.usage_record"
_IPN = "api.v2010.account.incoming_phone_number"
_IPN_FETCH = ("api", f"{A}/IncomingPhoneNumbers/{{Sid}}.json", "fetch")

KNOWN_DEVIATIONS: list[Deviation] = [
    # Usage records: "price" is typed number, but every Usage/Records example sends a decimal string,
    # e.g. "price": "2192.84855" in Usage/Records.json readFull ("0" in the subresource lists).
    Deviation(_USAGE, "price", "type", _DECIMAL, ("api", f"{A}/Usage/Records.json", "readFull")),
    *(
        Deviation(
            f"{_USAGE}.usage_record_{re.sub(r'(?<!^)(?=[A-Z])', '_', sub).lower()}",
            "price",
            "type",
            _DECIMAL,
            ("api", f"{A}/Usage/Records/{sub}.json", "readFull"),
        )
        for sub in USAGE_SUBRESOURCES
    ),
    # Incoming phone numbers: unset application SIDs are "" (the fetch example shows
    # "sms_application_sid": "" and "voice_application_sid": ""), though the schema asks for ^AP… of 34.
    Deviation(_IPN, "sms_application_sid", "pattern", "", _IPN_FETCH),
    Deviation(_IPN, "sms_application_sid", "minLength", "", _IPN_FETCH),
    Deviation(_IPN, "voice_application_sid", "pattern", "", _IPN_FETCH),
    Deviation(_IPN, "voice_application_sid", "minLength", "", _IPN_FETCH),
]


@dataclass(frozen=True)
class Problem:
    """A validation error placed in a record: which schema, which field, which keyword."""

    schema: str | None  # None: outside any record (the list envelope)
    field: str
    keyword: str
    error: ValidationError

    def tolerated(self) -> bool:
        value = self.error.instance
        return any(
            (d.schema, d.field, d.keyword) == (self.schema, self.field, self.keyword)
            and isinstance(value, str)
            and re.fullmatch(d.sends, value) is not None
            for d in KNOWN_DEVIATIONS
        )

    def describe(self) -> str:
        return f"{self.error.json_path}: {self.error.message} [{self.keyword}]"


def problems(spec: Spec, path: str, body: Any) -> Iterator[Problem]:
    """Every validation error of a response body, placed in its record."""
    key = spec.list_key(path)
    for error in spec.validator(path).iter_errors(body):
        where = list(error.absolute_path)
        if key is None:
            schema: str | None = spec.record_schema(path)
        elif len(where) >= 2 and where[0] == key and isinstance(where[1], int):
            schema, where = spec.record_schema(path), where[2:]
        else:
            schema = None
        yield Problem(schema, ".".join(map(str, where)), str(error.validator), error)


def untolerated(spec: Spec, path: str, body: Any) -> list[Problem]:
    return [p for p in problems(spec, path, body) if not p.tolerated()]


# --- what the sandbox serves ----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    spec: str  # key of SPEC_FILES
    path: str  # the GET operation's path in the spec
    url: str  # what to request; "{api}" is the 2010 account base, "{sid}" an instance's SID
    sids_from: str | None = None  # for instances: the id of the list the SIDs come from
    vary: str = "sid"  # for instances: one instance per distinct value of this field on the list page
    nested: tuple[str, ...] = ()  # the example record's nested maps whose keys are compared too

    @property
    def id(self) -> str:
        prefix = "2010" if self.spec == "api" else self.spec
        short = self.path.removeprefix(A).removeprefix("/2010-04-01").removeprefix("/v1")
        return f"{prefix}:{short.removeprefix('/').removesuffix('.json')}"


_MONITOR = "https://monitor.twilio.com/v1"
_MESSAGING = "https://messaging.twilio.com/v1"
LISTS = [
    Endpoint("api", f"{A}/Messages.json", f"{{api}}/Messages.json?PageSize={PAGE_SIZE}", nested=("subresource_uris",)),
    Endpoint("api", f"{A}/Calls.json", f"{{api}}/Calls.json?PageSize={PAGE_SIZE}", nested=("subresource_uris",)),
    Endpoint(
        "api",
        f"{A}/Usage/Records.json",
        f"{{api}}/Usage/Records.json?PageSize={PAGE_SIZE}",
        nested=("subresource_uris",),
    ),
    *(
        Endpoint(
            "api",
            f"{A}/Usage/Records/{sub}.json",
            f"{{api}}/Usage/Records/{sub}.json?PageSize={PAGE_SIZE}",
            nested=("subresource_uris",),
        )
        for sub in USAGE_SUBRESOURCES
    ),
    Endpoint(
        "api",
        f"{A}/IncomingPhoneNumbers.json",
        f"{{api}}/IncomingPhoneNumbers.json?PageSize={PAGE_SIZE}",
        nested=("capabilities",),
    ),
    Endpoint("monitor", "/v1/Alerts", f"{_MONITOR}/Alerts?PageSize={PAGE_SIZE}"),
    Endpoint("messaging", "/v1/Services", f"{_MESSAGING}/Services?PageSize={PAGE_SIZE}", nested=("links",)),
]
INSTANCES = [
    Endpoint("api", "/2010-04-01/Accounts/{Sid}.json", "{api}.json", nested=("subresource_uris",)),
    Endpoint("api", f"{A}/Balance.json", "{api}/Balance.json"),
    Endpoint(
        "api",
        f"{A}/Messages/{{Sid}}.json",
        "{api}/Messages/{sid}.json",
        sids_from="2010:Messages",
        vary="status",
        nested=("subresource_uris",),
    ),
    Endpoint(
        "api",
        f"{A}/Calls/{{Sid}}.json",
        "{api}/Calls/{sid}.json",
        sids_from="2010:Calls",
        vary="status",
        nested=("subresource_uris",),
    ),
    Endpoint(
        "api",
        f"{A}/IncomingPhoneNumbers/{{Sid}}.json",
        "{api}/IncomingPhoneNumbers/{sid}.json",
        sids_from="2010:IncomingPhoneNumbers",
        nested=("capabilities",),
    ),
    Endpoint("monitor", "/v1/Alerts/{Sid}", f"{_MONITOR}/Alerts/{{sid}}", sids_from="monitor:Alerts", vary="log_level"),
    Endpoint(
        "messaging",
        "/v1/Services/{Sid}",
        f"{_MESSAGING}/Services/{{sid}}",
        sids_from="messaging:Services",
        nested=("links",),
    ),
]
ENDPOINTS = LISTS + INSTANCES
BY_ID = {e.id: e for e in ENDPOINTS}
assert len(BY_ID) == len(ENDPOINTS), "endpoint ids must be unique"


@dataclass(frozen=True)
class Served:
    url: str
    body: Any


@pytest.fixture(scope="module")
def served(sandbox, creds, api: str, specs) -> dict[str, list[Served]]:
    """Every endpoint's responses, fetched once: one page per list, several instances each."""
    out: dict[str, list[Served]] = {}

    def get(client: httpx.Client, url: str) -> Served:
        response = client.get(url)
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("application/json"), url
        return Served(url, response.json())

    with httpx.Client(transport=sandbox.transport(), auth=(creds.api_key, creds.api_secret)) as client:
        for endpoint in ENDPOINTS:  # lists come first: instances take their SIDs from them
            url = endpoint.url.replace("{api}", api)
            if endpoint.sids_from is None:
                out[endpoint.id] = [get(client, url)]
                continue
            source = BY_ID[endpoint.sids_from]
            page = out[source.id][0].body
            records = records_of(specs[source.spec], source.path, page)
            chosen: dict[Any, str] = {}
            for record in records:
                chosen.setdefault(record[endpoint.vary], record["sid"])
            out[endpoint.id] = [get(client, url.replace("{sid}", sid)) for sid in chosen.values()]
    return out


def full_example(spec: Spec, path: str) -> dict[str, Any]:
    """The spec's first example with records for a list (readFull, readFullPage1 …), else its fetch."""
    examples = spec.examples(path)
    key = spec.list_key(path)
    if key is None:
        return examples["fetch"]
    for value in examples.values():
        if value.get(key):
            return value
    raise AssertionError(f"{path}: no example with {key!r} records in {list(examples)}")


def records_of(spec: Spec, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    key = spec.list_key(path)
    return body[key] if key else [body]


# --- 1. every response validates ------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_responses_validate_against_spec(endpoint: Endpoint, specs, served):
    spec = specs[endpoint.spec]
    responses = served[endpoint.id]
    assert responses, f"{endpoint.id}: nothing was fetched"
    report = []
    for response in responses:
        assert records_of(spec, endpoint.path, response.body), f"GET {response.url}: no records to validate"
        found = untolerated(spec, endpoint.path, response.body)
        if found:
            report.append(f"GET {response.url} ({spec.record_schema(endpoint.path)})")
            report.extend(f"    {p.describe()}" for p in found[:20])
            report.extend([f"    … and {len(found) - 20} more"] if len(found) > 20 else [])
    assert not report, "responses that break Twilio's spec:\n" + "\n".join(report)


def test_validated_pages_show_variety(served):
    """The pages validated above hold the nullable cases, not just happy records."""
    messages = served["2010:Messages"][0].body["messages"]
    assert len(messages) == PAGE_SIZE
    statuses = {m["status"] for m in messages}
    assert {"delivered", "received", "failed", "undelivered"} <= statuses, statuses
    assert any(m["price"] is None for m in messages), "no message with a null price"
    assert any(m["error_code"] is not None for m in messages), "no message with an error code"
    assert any(m["messaging_service_sid"] is None for m in messages), "every message has a service"
    calls = served["2010:Calls"][0].body["calls"]
    assert any(c["price"] is None for c in calls), "no call with a null price"
    assert len(served["2010:Messages/{Sid}"]) >= 4, "instances should cover several message statuses"


# --- 2. the known deviations: real, and the only thing tolerated ----------------------------------
@pytest.mark.parametrize("deviation", KNOWN_DEVIATIONS, ids=lambda d: d.id)
def test_known_deviation_is_shown_by_spec_example(deviation: Deviation, specs):
    """Validating the cited example produces exactly that error, so a stale entry fails here."""
    spec_name, path, example_name = deviation.example
    spec = specs[spec_name]
    example = spec.examples(path)[example_name]
    assert spec.record_schema(path) == deviation.schema, f"{path} does not serve {deviation.schema}"
    at_field = [p for p in problems(spec, path, example) if p.field == deviation.field]
    assert {p.keyword for p in at_field} >= {deviation.keyword}, (
        f"the {example_name} example of {path} no longer fails {deviation.keyword!r} at {deviation.field!r}: "
        f"drop the entry from KNOWN_DEVIATIONS ({[p.describe() for p in at_field]})"
    )
    listed = {d.keyword for d in KNOWN_DEVIATIONS if (d.schema, d.field) == (deviation.schema, deviation.field)}
    assert {p.keyword for p in at_field} == listed, [p.describe() for p in at_field]
    for p in at_field:
        assert p.tolerated(), f"the example's own value is not tolerated: {p.describe()} (check `sends`)"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_spec_examples_validate_except_known_deviations(endpoint: Endpoint, specs):
    """Twilio's own examples pass the validator (formats included) but for the listed deviations."""
    spec = specs[endpoint.spec]
    examples = spec.examples(endpoint.path)
    assert examples, f"{endpoint.path} has no examples"
    report = [
        f"{name}: {p.describe()}" for name, value in examples.items() for p in untolerated(spec, endpoint.path, value)
    ]
    assert not report, "\n".join(report)


def _set(record: dict[str, Any], field: str, value: Any) -> None:
    *parents, last = field.split(".")
    for part in parents:
        record = record[part]
    record[last] = value


# (endpoint id, changes to the first served record, the (field, keyword) errors that must remain)
BROKEN = [
    pytest.param(
        "2010:Messages",
        {"price": -0.0079, "num_segments": 1},
        {("price", "type"), ("num_segments", "type")},
        id="message-price-number-num_segments-int",
    ),
    pytest.param(
        "2010:Usage/Records",
        {"price": "free", "count": 3},
        {("price", "type"), ("count", "type")},
        id="usage-price-not-decimal-count-int",
    ),
    pytest.param(
        "2010:Usage/Records/Daily",
        {"price": ["1.0"], "start_date": "2024-13-01"},
        {("price", "type"), ("start_date", "format")},
        id="daily-price-list-bad-date",
    ),
    pytest.param(
        "2010:IncomingPhoneNumbers/{Sid}",
        {"sms_application_sid": "AP123", "voice_application_sid": "PN" + "0" * 32},
        {
            ("sms_application_sid", "pattern"),
            ("sms_application_sid", "minLength"),
            ("voice_application_sid", "pattern"),
        },
        id="number-bad-application-sids",
    ),
    pytest.param(
        "2010:Messages/{Sid}",
        {"date_sent": "2019-05-24T17:44:50Z", "date_created": "Thu, 24 May 2019 17:44:50 +0000"},
        {("date_sent", "format"), ("date_created", "format")},
        id="message-iso-date-and-wrong-weekday",
    ),
    pytest.param(
        "monitor:Alerts",
        {"date_created": "Fri, 24 May 2019 17:44:50 +0000", "error_code": 11200},
        {("date_created", "format"), ("error_code", "type")},
        id="alert-rfc2822-date-int-code",
    ),
    pytest.param(
        "messaging:Services/{Sid}",
        {"date_updated": "2015-07-30", "sticky_sender": "true"},
        {("date_updated", "format"), ("sticky_sender", "type")},
        id="service-date-only-string-bool",
    ),
]


@pytest.mark.parametrize(("endpoint_id", "changes", "expected"), BROKEN)
def test_tolerance_does_not_swallow_other_errors(endpoint_id: str, changes, expected, specs, served):
    endpoint = BY_ID[endpoint_id]
    spec = specs[endpoint.spec]
    body = copy.deepcopy(served[endpoint_id][0].body)
    record = records_of(spec, endpoint.path, body)[0]
    for field, value in changes.items():
        _set(record, field, value)
    found = untolerated(spec, endpoint.path, body)
    assert {(p.field, p.keyword) for p in found} == expected, [p.describe() for p in found]
    assert all(p.schema == spec.record_schema(endpoint.path) for p in found)


@pytest.mark.parametrize(
    ("fmt", "value", "ok"),
    [
        ("date-time-rfc-2822", "Fri, 24 May 2019 17:44:50 +0000", True),
        ("date-time-rfc-2822", "Thu, 30 Jul 2015 23:19:04 -0700", True),
        ("date-time-rfc-2822", "Thu, 24 May 2019 17:44:50 +0000", False),  # 24 May 2019 was a Friday
        ("date-time-rfc-2822", "Fri, 24 May 2019 17:44:50", False),
        ("date-time-rfc-2822", "Fri, 31 Jun 2019 17:44:50 +0000", False),
        ("date-time-rfc-2822", "2019-05-24T17:44:50Z", False),
        ("date-time", "2015-07-30T20:00:00Z", True),
        ("date-time", "2019-06-24T22:32:49+00:00", True),
        ("date-time", "2015-07-30T20:00:00.123Z", True),
        ("date-time", "2015-07-30T20:00:00", False),  # no zone
        ("date-time", "2015-07-30T25:00:00Z", False),
        ("date-time", "2015-07-30", False),
        ("date-time", "Fri, 24 May 2019 17:44:50 +0000", False),
        ("date", "2019-06-24", True),
        ("date", "2019-02-29", False),
        ("date", "2019-6-24", False),
        ("date", "2019-06-24T00:00:00Z", False),
    ],
)
def test_format_checker_checks_dates(fmt: str, value: str, ok: bool):
    assert FORMATS.conforms(value, fmt) is ok


def test_format_checker_leaves_other_formats_alone():
    for fmt in ("uri", "phone-number", "currency", "uri-map", "http-method"):
        assert FORMATS.conforms("not checked", fmt)


# --- 3. key sets equal the spec's full examples ----------------------------------------------------
def _diff(what: str, got: Any, want: Any) -> str | None:
    got, want = set(got), set(want)
    if got == want:
        return None
    return f"{what}: missing {sorted(want - got)}, extra {sorted(got - want)}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_record_keys_match_spec_example(endpoint: Endpoint, specs, served):
    spec = specs[endpoint.spec]
    example = records_of(spec, endpoint.path, full_example(spec, endpoint.path))[0]
    nested = tuple(k for k, v in example.items() if isinstance(v, dict) and v)
    assert nested == endpoint.nested, f"the example's nested maps are {nested}"
    report = []
    for response in served[endpoint.id]:
        records = records_of(spec, endpoint.path, response.body)
        assert records, f"GET {response.url}: no records"
        for i, record in enumerate(records):
            where = f"GET {response.url} record {i}" if spec.list_key(endpoint.path) else f"GET {response.url}"
            report.append(_diff(where, record, example))
            for key in nested:
                if isinstance(record.get(key), dict):
                    report.append(_diff(f"{where} {key}", record[key], example[key]))
    report = [line for line in report if line]
    assert not report, "\n".join(report[:20])


@pytest.mark.parametrize("endpoint", LISTS, ids=lambda e: e.id)
def test_list_envelope_keys_match_spec_example(endpoint: Endpoint, specs, served):
    spec = specs[endpoint.spec]
    example = full_example(spec, endpoint.path)
    body = served[endpoint.id][0].body
    key = spec.list_key(endpoint.path)
    assert _diff("envelope", body, example) is None, _diff("envelope", body, example)
    if endpoint.spec == "api":
        paging = {"page", "page_size", "uri", "first_page_uri", "next_page_uri", "previous_page_uri", "start", "end"}
        assert set(body) == {*paging, key}
    else:
        assert set(body) == {"meta", key}
        assert _diff("meta", body["meta"], example["meta"]) is None, _diff("meta", body["meta"], example["meta"])
        assert body["meta"]["key"] == key
