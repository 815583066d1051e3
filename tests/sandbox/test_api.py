"""The sandbox's HTTP behaviour: auth, errors, paging and filters, checked against ground truth."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from twibox_nb.sandbox.generator import PRICE_SCALE

from ..conftest import NOW

MONITOR = "https://monitor.twilio.com/v1/Alerts"
SERVICES = "https://messaging.twilio.com/v1/Services"


def follow(client: httpx.Client, url: str, params=None) -> tuple[list[dict], list[dict]]:
    """Every page of a list (either paging shape) -> (records, page bodies)."""
    pages, records = [], []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        if "meta" in body:
            records += body[body["meta"]["key"]]
            link = body["meta"]["next_page_url"]
        else:
            key = next(k for k, v in body.items() if isinstance(v, list))
            records += body[key]
            link = body["next_page_uri"] and "https://api.twilio.com" + body["next_page_uri"]
        if not link:
            return records, pages
        response = client.get(link)  # followed exactly as given: it carries every parameter


def sids(records):
    return [r["sid"] for r in records]


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


# --- auth and errors ------------------------------------------------------------------------------


def test_no_credentials_is_401_with_twilios_error_body(sandbox, api):
    with httpx.Client(transport=sandbox.transport()) as anonymous:
        r = anonymous.get(f"{api}/Messages.json")
    assert r.status_code == 401
    assert r.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert r.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("which", ["wrong secret", "wrong key", "token for key", "garbage"])
def test_wrong_credentials_are_refused(sandbox, api, creds, which):
    headers = {
        "wrong secret": {"Authorization": "Basic " + base64.b64encode(f"{creds.api_key}:nope".encode()).decode()},
        "wrong key": {"Authorization": "Basic " + base64.b64encode(f"SK{'0' * 32}:x".encode()).decode()},
        "token for key": {
            "Authorization": "Basic " + base64.b64encode(f"{creds.api_key}:{creds.auth_token}".encode()).decode()
        },
        "garbage": {"Authorization": "Basic %%%"},
    }[which]
    with httpx.Client(transport=sandbox.transport()) as c:
        r = c.get(f"{api}/Messages.json", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, 20003)


def test_account_sid_and_auth_token_work_too(sandbox, api, creds):
    with httpx.Client(transport=sandbox.transport(), auth=(creds.account_sid, creds.auth_token)) as c:
        account = c.get(f"{api}.json").json()
    assert account["sid"] == creds.account_sid
    assert account["auth_token"] == creds.auth_token  # Twilio shows the token to its holder ...


def test_an_api_key_never_learns_the_auth_token(client, api):
    assert client.get(f"{api}.json").json()["auth_token"] is None  # ... but not to a key holder


@pytest.mark.parametrize(
    "path",
    ["/Nope.json", "/Messages/SM" + "0" * 32 + ".json", "/Usage/Records/Weekly.json", "/Calls/CA" + "f" * 32 + ".json"],
)
def test_unknown_paths_are_404(client, api, path):
    r = client.get(api + path)
    assert r.status_code == 404
    assert r.json()["code"] == 20404 and r.json()["more_info"].endswith("/20404")


def test_another_accounts_path_is_404(client):
    r = client.get(f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages.json")
    assert (r.status_code, r.json()["code"]) == (404, 20404)


def test_unknown_product_host_is_404(client):
    assert client.get("https://chat.twilio.com/v1/Services").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_is_allowed_and_nothing_changes(client, api, method):
    before = client.get(f"{api}/Messages.json", params={"PageSize": 5}).json()["messages"]
    r = client.request(method, f"{api}/Messages.json", data={"To": "+15005550006", "Body": "hi"})
    assert r.status_code == 405
    assert r.json()["code"] == 20004
    assert client.get(f"{api}/Messages.json", params={"PageSize": 5}).json()["messages"] == before


@pytest.mark.parametrize("size", ["0", "1001", "ten"])
def test_page_size_is_1_to_1000(client, api, size):
    r = client.get(f"{api}/Messages.json", params={"PageSize": size})
    assert r.status_code == 400
    assert "PageSize" in r.json()["message"]


def test_bad_date_value_is_400_naming_the_parameter(client, api):
    r = client.get(f"{api}/Messages.json", params={"DateSent>": "last tuesday"})
    assert r.status_code == 400 and "DateSent>" in r.json()["message"]


def test_forged_page_token_is_400(client, api):
    r = client.get(f"{api}/Messages.json", params={"PageToken": "PASM" + "0" * 32})
    assert r.status_code == 400 and "PageToken" in r.json()["message"]


# --- paging -------------------------------------------------------------------------------------


def test_default_page_size_is_50_and_1000_is_allowed(client, api):
    assert len(client.get(f"{api}/Messages.json").json()["messages"]) == 50
    body = client.get(f"{api}/Messages.json", params={"PageSize": 1000}).json()
    assert len(body["messages"]) == 1000 and body["page_size"] == 1000


def test_pages_cover_the_range_exactly_once_newest_first(client, api, sandbox):
    params = {"DateSent>": "2026-11-01", "DateSent<": "2026-11-03", "PageSize": 40}
    records, pages = follow(client, f"{api}/Messages.json", params)
    assert len(pages) >= 4
    assert sids(records) == sandbox.truth.sids("messages", date(2026, 11, 1), date(2026, 11, 4))
    sent = [datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z") for m in records]
    assert sent == sorted(sent, reverse=True)
    for number, page in enumerate(pages):
        assert page["page"] == number and page["start"] == number * 40
        assert page["end"] == page["start"] + len(page["messages"]) - 1
    assert pages[-1]["next_page_uri"] is None and pages[0]["previous_page_uri"] is None


def test_next_page_uri_is_relative_and_carries_each_parameter_once(client, api):
    body = client.get(f"{api}/Messages.json", params={"DateSent>": "2026-11-01", "To": "+12015550000"}).json()
    body = client.get(f"{api}/Messages.json", params={"DateSent>": "2026-11-01", "PageSize": 3}).json()
    link = urlsplit(body["next_page_uri"])
    assert not link.scheme and link.path.startswith("/2010-04-01/Accounts/")
    names = [k for k, _ in parse_qsl(link.query)]
    assert sorted(names) == sorted(["DateSent>", "PageSize", "Page", "PageToken"])
    assert "DateSent%3E=2026-11-01" in link.query  # < and > are part of the name, URL-encoded
    assert dict(parse_qsl(link.query))["PageToken"].startswith("PASM")


def test_previous_page_leads_back(client, api):
    first = client.get(f"{api}/Calls.json", params={"PageSize": 7}).json()
    second = client.get("https://api.twilio.com" + first["next_page_uri"]).json()
    back = client.get("https://api.twilio.com" + second["previous_page_uri"]).json()
    assert sids(back["calls"]) == sids(first["calls"])
    assert back["page"] == 0


def test_new_records_do_not_shift_pages(sandbox, creds, api):
    """A page token keeps its place while new records arrive at the top of the list."""
    from twibox_nb.sandbox import Sandbox

    moving = {"now": NOW}
    live = Sandbox(seed=7, now=lambda: moving["now"])
    with httpx.Client(transport=live.transport(), auth=(creds.api_key, creds.api_secret)) as c:
        first = c.get(f"{api}/Messages.json", params={"PageSize": 20}).json()
        moving["now"] = NOW + timedelta(hours=3)
        second = c.get("https://api.twilio.com" + first["next_page_uri"]).json()
    expected = sandbox.truth.sids("messages", NOW - timedelta(days=3), NOW + timedelta(seconds=1))
    assert sids(first["messages"]) + sids(second["messages"]) == expected[:40]


# --- message and call filters -------------------------------------------------------------------

DAY1, DAY2 = date(2026, 11, 10), date(2026, 11, 12)


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        # date values: DateSent< includes the whole day, DateSent> starts at its 00:00:00
        ({"DateSent>": "2026-11-10", "DateSent<": "2026-11-12"}, DAY1, DAY2 + timedelta(days=1)),
        ({"DateSent": "2026-11-10"}, DAY1, DAY1 + timedelta(days=1)),
        # datetime values are instants, both ends inclusive
        (
            {"DateSent>": "2026-11-10T00:00:00Z", "DateSent<": "2026-11-12T00:00:00Z"},
            utc(2026, 11, 10),
            utc(2026, 11, 12, 0, 0, 1),
        ),
        (
            {"DateSent>": "2026-11-10T23:59:59Z", "DateSent<": "2026-11-11T00:00:00Z"},
            utc(2026, 11, 10, 23, 59, 59),
            utc(2026, 11, 11, 0, 0, 1),
        ),
    ],
)
def test_message_date_filters(client, api, sandbox, params, start, end):
    records, _ = follow(client, f"{api}/Messages.json", {**params, "PageSize": 500})
    assert sids(records) == sandbox.truth.sids("messages", start, end)


def test_boundary_instants_hold_exactly_the_midnight_records(client, api):
    params = {"DateSent>": "2026-11-10T23:59:59Z", "DateSent<": "2026-11-11T00:00:00Z"}
    records, _ = follow(client, f"{api}/Messages.json", params)
    assert {m["date_sent"][17:25] for m in records} == {"23:59:59", "00:00:00"}


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        # StartTime< is "before": with a date the day itself is excluded
        ({"StartTime>": "2026-11-10", "StartTime<": "2026-11-12"}, DAY1, DAY2),
        ({"StartTime": "2026-11-11"}, date(2026, 11, 11), DAY2),
        (
            {"StartTime>": "2026-11-10T12:00:00Z", "StartTime<": "2026-11-11T00:00:00Z"},
            utc(2026, 11, 10, 12),
            utc(2026, 11, 11),
        ),
    ],
)
def test_call_start_time_filters(client, api, sandbox, params, start, end):
    records, _ = follow(client, f"{api}/Calls.json", {**params, "PageSize": 500})
    assert sids(records) == sandbox.truth.sids("calls", start, end)


def test_call_end_time_filters_read_end_time(client, api, sandbox):
    records, _ = follow(
        client, f"{api}/Calls.json", {"EndTime>": "2026-11-11", "EndTime<": "2026-11-12", "PageSize": 500}
    )
    nearby = sandbox.truth.records("calls", date(2026, 11, 10), date(2026, 11, 12))
    expected = [c["sid"] for c in nearby if c["end_time"] and c["end_time"][5:16] == "11 Nov 2026"]
    assert sids(records) == expected
    assert any(c["start_time"][5:16] == "10 Nov 2026" for c in records), "a call that began the day before"


def test_a_call_in_progress_at_now(sandbox, creds, api):
    from twibox_nb.sandbox import Sandbox

    day = sandbox.truth.records("calls", date(2026, 11, 20), date(2026, 11, 21))
    long_call = next(c for c in day if c["status"] == "completed" and int(c["duration"]) >= 120)
    started = datetime.strptime(long_call["start_time"], "%a, %d %b %Y %H:%M:%S %z")
    during = Sandbox(seed=7, now=started + timedelta(seconds=60))
    with httpx.Client(transport=during.transport(), auth=(creds.api_key, creds.api_secret)) as c:
        running, _ = follow(c, f"{api}/Calls.json", {"Status": "in-progress"})
        today = {r["category"]: r for r in c.get(f"{api}/Usage/Records/Today.json").json()["usage_records"]}
    assert long_call["sid"] in sids(running)
    call = next(r for r in running if r["sid"] == long_call["sid"])
    assert call["status"] == "in-progress"
    assert call["end_time"] is None and call["duration"] is None and call["price"] is None
    # Usage counts the call but bills nothing for it until it ends.
    finished = during.truth.records("calls", started.date(), started + timedelta(seconds=61))
    billed = -sum(round(float(c["price"]) * PRICE_SCALE) for c in finished if c["price"])
    assert int(today["calls"]["count"]) == len(finished)
    assert round(float(today["calls"]["price"]) * PRICE_SCALE) == billed


@pytest.mark.parametrize("status", ["completed", "busy", "no-answer", "failed", "canceled"])
def test_call_status_filter(client, api, sandbox, status):
    params = {"Status": status, "StartTime>": "2026-11-06", "StartTime<": "2026-11-20", "PageSize": 200}
    records, _ = follow(client, f"{api}/Calls.json", params)
    truth = sandbox.truth.records("calls", date(2026, 11, 6), date(2026, 11, 20))
    assert sids(records) == [c["sid"] for c in truth if c["status"] == status]
    assert records


@pytest.mark.parametrize("side", ["To", "From"])
def test_to_and_from_filters(client, api, sandbox, side):
    truth = sandbox.truth.records("messages", date(2026, 9, 1), date(2026, 11, 1))
    key = side.lower()
    # Our number is To on inbound messages and From on outbound ones; the customer's the reverse.
    ours = next(m[key] for m in truth if (m["direction"] == "inbound") == (side == "To"))
    customer = next(m[key] for m in truth if (m["direction"] == "inbound") != (side == "To"))
    for number in (ours, customer):
        params = {side: number, "DateSent>": "2026-09-01", "DateSent<": "2026-10-31", "PageSize": 1000}
        records, _ = follow(client, f"{api}/Messages.json", params)
        assert records and sids(records) == [m["sid"] for m in truth if m[key] == number]


# --- usage records ------------------------------------------------------------------------------


def usage(client, api, sub="", **params):
    path = f"{api}/Usage/Records{'/' + sub if sub else ''}.json"
    records, _ = follow(client, path, {**params, "PageSize": 1000})
    return records


def test_daily_usage_agrees_with_the_messages_it_summarises(client, api, sandbox):
    records = usage(client, api, "Daily", StartDate="2026-11-01", EndDate="2026-11-07")
    counts = sandbox.truth.daily_counts("messages", date(2026, 11, 1), date(2026, 11, 8), by="direction")
    for r in records:
        day = date.fromisoformat(r["start_date"])
        assert r["end_date"] == r["start_date"]
        if r["category"] == "sms-outbound":
            assert int(r["count"]) == counts[(day, "outbound-api")] + counts[(day, "outbound-reply")]
        if r["category"] == "sms-inbound":
            assert int(r["count"]) == counts[(day, "inbound")]
    assert {r["start_date"] for r in records} == {f"2026-11-0{d}" for d in range(1, 8)}


def test_usage_prices_are_the_sum_of_message_and_call_prices(client, api, sandbox):
    day = date(2026, 11, 5)
    records = {
        r["category"]: r for r in usage(client, api, "Daily", StartDate=day.isoformat(), EndDate=day.isoformat())
    }
    messages = sandbox.truth.records("messages", day, day + timedelta(days=1))
    calls = sandbox.truth.records("calls", day, day + timedelta(days=1))

    def charged(items):
        return -sum(round(float(i["price"]) * PRICE_SCALE) for i in items if i["price"] is not None)

    assert round(float(records["sms"]["price"]) * PRICE_SCALE) == charged(messages)
    assert round(float(records["calls"]["price"]) * PRICE_SCALE) == charged(calls)
    assert int(records["sms"]["usage"]) == sum(int(m["num_segments"]) for m in messages)
    total = sum(round(float(records[c]["price"]) * PRICE_SCALE) for c in ("sms", "calls"))
    assert round(float(records["totalprice"]["price"]) * PRICE_SCALE) == total
    assert records["totalprice"]["usage"] == records["totalprice"]["price"]
    assert records["sms"]["price_unit"] == "usd" and float(records["sms"]["price"]) > 0


def test_usage_categories_add_up(client, api):
    records = usage(client, api, "Monthly", StartDate="2026-06-01", EndDate="2026-10-31")
    by = {(r["start_date"], r["category"]): r for r in records}
    assert len({r["start_date"] for r in records}) == 5
    for month in {r["start_date"] for r in records}:
        for total, parts in (("sms", ("sms-inbound", "sms-outbound")), ("calls", ("calls-inbound", "calls-outbound"))):
            for field in ("count", "usage"):
                assert int(by[month, total][field]) == sum(int(by[month, p][field]) for p in parts)


def test_monthly_is_the_sum_of_daily(client, api):
    monthly = usage(client, api, "Monthly", Category="calls", StartDate="2026-10-01", EndDate="2026-10-31")
    daily = usage(client, api, "Daily", Category="calls", StartDate="2026-10-01", EndDate="2026-10-31")
    assert len(monthly) == 1 and len(daily) == 31
    assert int(monthly[0]["count"]) == sum(int(d["count"]) for d in daily)
    assert (monthly[0]["start_date"], monthly[0]["end_date"]) == ("2026-10-01", "2026-10-31")


def test_relative_start_date(client, api):
    records = usage(client, api, "Daily", Category="sms", StartDate="-30days")
    days = sorted(r["start_date"] for r in records)
    assert days[0] == (NOW.date() - timedelta(days=30)).isoformat() and days[-1] == NOW.date().isoformat()


@pytest.mark.parametrize(
    ("sub", "start", "end"),
    [
        ("Today", "2026-11-27", "2026-11-27"),
        ("Yesterday", "2026-11-26", "2026-11-26"),
        ("ThisMonth", "2026-11-01", "2026-11-27"),
        ("LastMonth", "2026-10-01", "2026-10-31"),
        ("AllTime", (NOW.date() - timedelta(days=399)).isoformat(), "2026-11-27"),
    ],
)
def test_fixed_periods(client, api, sub, start, end):
    records = usage(client, api, sub, Category="sms")
    assert [(r["start_date"], r["end_date"]) for r in records] == [(start, end)]


def test_today_counts_only_what_has_happened(client, api, sandbox):
    today = usage(client, api, "Today", Category="sms")[0]
    assert int(today["count"]) == len(sandbox.truth.sids("messages", NOW.date(), NOW + timedelta(seconds=1)))


def test_records_list_spans_the_requested_range(client, api):
    whole = usage(client, api, Category="sms-outbound", StartDate="2026-11-01", EndDate="2026-11-07")
    daily = usage(client, api, "Daily", Category="sms-outbound", StartDate="2026-11-01", EndDate="2026-11-07")
    assert len(whole) == 1 and int(whole[0]["count"]) == sum(int(d["count"]) for d in daily)


def test_usage_paging(client, api):
    records, pages = follow(client, f"{api}/Usage/Records/Daily.json", {"StartDate": "2026-11-01", "PageSize": 10})
    assert len(pages) >= 18 and len(records) == 27 * 7
    assert len({(r["start_date"], r["category"]) for r in records}) == len(records)


# --- product APIs -------------------------------------------------------------------------------


def test_monitor_alerts_page_with_meta(client, sandbox):
    records, pages = follow(client, MONITOR, {"StartDate": "2026-11-20", "EndDate": "2026-11-22", "PageSize": 5})
    assert len(pages) >= 3
    assert sids(records) == sandbox.truth.sids("alerts", date(2026, 11, 20), date(2026, 11, 23))
    meta = pages[0]["meta"]
    assert meta["key"] == "alerts" and meta["next_page_url"].startswith(MONITOR + "?")
    assert "StartDate=2026-11-20" in meta["next_page_url"] and "PageToken=PANO" in meta["next_page_url"]


def test_monitor_datetime_bounds_are_inclusive(client, sandbox):
    start, end = utc(2026, 11, 20, 6), utc(2026, 11, 21, 18)
    params = {"StartDate": "2026-11-20T06:00:00Z", "EndDate": "2026-11-21T18:00:00Z", "PageSize": 1000}
    records, _ = follow(client, MONITOR, params)
    assert sids(records) == sandbox.truth.sids("alerts", start, end + timedelta(seconds=1))


def test_monitor_refuses_alerts_older_than_30_days(client):
    r = client.get(MONITOR, params={"StartDate": (NOW.date() - timedelta(days=45)).isoformat()})
    assert r.status_code == 400 and "30 days" in r.json()["message"]


def test_monitor_default_is_the_last_30_days(client, sandbox):
    records, _ = follow(client, MONITOR, {"PageSize": 1000})
    assert sids(records) == sandbox.truth.sids("alerts", NOW - timedelta(days=30), NOW + timedelta(seconds=1))


def test_monitor_log_level_filter(client):
    records, _ = follow(client, MONITOR, {"LogLevel": "warning", "PageSize": 1000})
    assert records and {a["log_level"] for a in records} == {"warning"}


def test_messaging_services_page_with_meta(client):
    records, pages = follow(client, SERVICES, {"PageSize": 2})
    assert len(records) == 3 and len(pages) == 2
    assert pages[0]["meta"]["key"] == "services"


# --- instances ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_url", "key", "instance"),
    [
        ("{api}/Messages.json", "messages", "{api}/Messages/{sid}.json"),
        ("{api}/Calls.json", "calls", "{api}/Calls/{sid}.json"),
        ("{api}/IncomingPhoneNumbers.json", "incoming_phone_numbers", "{api}/IncomingPhoneNumbers/{sid}.json"),
        (MONITOR, "alerts", MONITOR + "/{sid}"),
        (SERVICES, "services", SERVICES + "/{sid}"),
    ],
)
def test_instances_match_their_list_records(client, api, list_url, key, instance):
    listed = client.get(list_url.format(api=api), params={"PageSize": 3}).json()[key]
    for record in listed:
        one = client.get(instance.format(api=api, sid=record["sid"])).json()
        assert {k: v for k, v in one.items() if k in record} == record


def test_balance_is_a_decimal_string(client, api, creds):
    balance = client.get(f"{api}/Balance.json").json()
    assert balance["account_sid"] == creds.account_sid and balance["currency"] == "USD"
    assert float(balance["balance"]) > 0 and balance["balance"].count(".") == 1


def test_phone_number_filters(client, api):
    everything = client.get(f"{api}/IncomingPhoneNumbers.json").json()["incoming_phone_numbers"]
    assert len(everything) == 8
    one = everything[3]
    exact = client.get(f"{api}/IncomingPhoneNumbers.json", params={"PhoneNumber": one["phone_number"]}).json()
    assert sids(exact["incoming_phone_numbers"]) == [one["sid"]]
    wildcard = client.get(f"{api}/IncomingPhoneNumbers.json", params={"PhoneNumber": "+1415*"}).json()
    assert {n["phone_number"][:5] for n in wildcard["incoming_phone_numbers"]} == {"+1415"}
    named = client.get(f"{api}/IncomingPhoneNumbers.json", params={"FriendlyName": one["friendly_name"]}).json()
    assert sids(named["incoming_phone_numbers"]) == [one["sid"]]
