"""build_request: pure, GET only, tokens rendered per filter rule, hosts per region."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.request import build_request
from twibox_nb.model.catalog import ENDPOINTS, find_endpoint
from twibox_nb.model.dates import resolve_range
from twibox_nb.model.spec import RequestSpec

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
AC = "AC" + "a1" * 16
WEEK = resolve_range("2026-11-01..2026-11-07", NOW)


def test_account_sid_region_and_encoded_filter_names():
    conn = connect(AC, "SK" + "b2" * 16, "secret", region="ie1", edge="dublin", env={})
    request = RequestSpec(
        "/2010-04-01/Accounts/{AccountSid}/Messages.json",
        params={"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
        headers={"X-Trace": "notebook"},
    )
    r = build_request(request, conn, WEEK)
    assert isinstance(r, httpx.Request) and r.method == "GET"
    assert str(r.url) == (
        f"https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/{AC}/Messages.json"
        "?PageSize=1000&DateSent%3E=2026-11-01&DateSent%3C=2026-11-07"
    )
    assert r.headers["X-Trace"] == "notebook" and r.headers["Accept"] == "application/json"
    assert "Authorization" not in r.headers  # credentials are added by the client's auth, per host


def test_tokens_follow_each_filters_rule():
    conn = connect(sandbox=True)
    calls = RequestSpec(
        "/2010-04-01/Accounts/{AccountSid}/Calls.json",
        params={"StartTime>": "{{start_date}}", "StartTime<": "{{end_date}}"},
    )
    # StartTime< is "before": the first day after the range, so the last day is not lost.
    assert build_request(calls, conn, WEEK).url.params["StartTime<"] == "2026-11-08"
    alerts = RequestSpec(
        "/v1/Alerts",
        base_url="https://monitor.twilio.com",
        params={"StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"},
    )
    url = build_request(alerts, conn, resolve_range("week_to_date", NOW)).url
    assert (url.params["StartDate"], url.params["EndDate"]) == ("2026-11-23T00:00:00Z", "2026-11-27T15:30:00Z")
    unknown = RequestSpec("/2010-04-01/Accounts/{AccountSid}/Faxes.json", params={"DateCreated<": "{{end_date}}"})
    assert build_request(unknown, conn, WEEK).url.params["DateCreated<"] == "2026-11-08"  # unknown rule: widen


def test_building_sends_nothing():
    def refuse(request):
        raise AssertionError("build_request must not send anything")

    conn = connect(sandbox=True, transport=httpx.MockTransport(refuse))
    build_request(RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com"), conn, WEEK)


def test_catalogue_rules_come_from_the_spec_texts():
    messages = find_endpoint("https://api.twilio.com", "/2010-04-01/Accounts/{AccountSid}/Messages.json")
    assert messages.rule("DateSent<") == "on_or_before" and messages.newest_first
    calls = find_endpoint("https://api.twilio.com", f"/2010-04-01/Accounts/{AC}/Calls.json")
    assert calls.rule("StartTime<") == "before" and calls.date_field == "start_time"
    assert find_endpoint("https://api.twilio.com", "/2010-04-01/Accounts/{AccountSid}/Faxes.json") is None
    assert len({(e.product, e.path) for e in ENDPOINTS}) == len(ENDPOINTS)


def test_catalogue_paths_exist_in_twilios_specs(specs):
    files = {
        "api": "twilio_api_v2010.json",
        "monitor": "twilio_monitor_v1.json",
        "messaging": "twilio_messaging_v1.json",
    }
    documents = {product: specs.load(name) for product, name in files.items()}
    for endpoint in ENDPOINTS:
        paths = documents[endpoint.product]["paths"]
        assert endpoint.path in paths, endpoint.path
        params = {p["name"] for p in paths[endpoint.path]["get"].get("parameters", [])}
        for f in endpoint.filters:
            assert f.param in params, (endpoint.name, f.param)
