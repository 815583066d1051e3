"""The official ``twilio`` library, pointed at the loopback sandbox, lists exactly the ground truth.

The library is used as shipped; only its HTTP client is swapped for one that sends each request to
the loopback server with the original Twilio host in the ``Host`` header (so the server's absolute
links keep pointing at ``https://<product>.twilio.com``, as on Twilio) and records every request.
Each list spans at least three pages, and each date-filtered list is checked to contain (or leave
out) the records the generator puts at exactly 00:00:00 and 23:59:59 UTC, so that every filter's
boundary rule is exercised rather than assumed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from requests.models import PreparedRequest
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..conftest import NOW

UTC = timezone.utc
ONE_SECOND = timedelta(seconds=1)
PRICE_SCALE = 100_000  # truth.usage prices are in units of 0.00001 USD


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    """An instant in 2026, UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


# --- the HTTP client --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    method: str
    url: str  # the Twilio URL the library asked for, query included
    host: str  # the Host header sent to the loopback server


class LoopbackHttpClient(TwilioHttpClient):
    """Sends the library's requests to the loopback sandbox and records them."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=30)
        self.base_url = base_url.rstrip("/")
        self.session.trust_env = False  # never route loopback traffic through an environment proxy
        self.sent: list[Sent] = []

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        prepared = PreparedRequest()
        prepared.prepare_url(url, params)  # the URL as the library would send it to Twilio
        twilio_url = prepared.url
        parts = urlsplit(twilio_url)
        self.sent.append(Sent(method.upper(), twilio_url, parts.netloc))
        assert parts.scheme == "https" and parts.hostname and parts.hostname.endswith(".twilio.com"), (
            f"the library asked for a non-Twilio URL: {twilio_url}"
        )
        local = f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        headers = {**(headers or {}), "Host": parts.netloc}
        return super().request(method, local, None, data, headers, auth, timeout, allow_redirects)


@pytest.fixture
def http(server) -> LoopbackHttpClient:
    client = LoopbackHttpClient(server.url)
    yield client
    client.session.close()


@pytest.fixture
def twilio(http, creds) -> Client:
    return Client(creds.api_key, creds.api_secret, creds.account_sid, http_client=http)


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def assert_paged(
    http: LoopbackHttpClient, *, host: str, path: str, filters: dict[str, str], records: int, page_size: int
) -> None:
    """Only GETs; one request per page, at least three pages; every page carries the filters once."""
    sent = http.sent
    assert [s.method for s in sent] == ["GET"] * len(sent), f"a request other than GET was sent: {sent}"
    pages = max(1, math.ceil(records / page_size))
    assert pages >= 3, f"the test's range holds only {records} records: {pages} page(s) of {page_size}"
    assert len(sent) == pages, f"expected {pages} page requests for {records} records, got {len(sent)}: {sent}"
    for number, s in enumerate(sent):
        parts = urlsplit(s.url)
        assert (parts.scheme, parts.netloc, s.host) == ("https", host, host), s
        assert parts.path == path, s
        params = query_of(s.url)
        names = [k for k, _ in params]
        assert len(names) == len(set(names)), f"page {number} repeats a query parameter: {s.url}"
        got = dict(params)
        assert {k: got.get(k) for k in filters} == filters, f"page {number} lost a filter: {s.url}"
        assert got.get("PageSize") == str(page_size), s.url
        if number == 0:
            assert "PageToken" not in got, s.url
        else:
            assert got.get("PageToken", "").startswith("PA"), f"page {number} is not a next-page link: {s.url}"
            assert got.get("Page") == str(number), s.url


def api_path(creds, resource: str) -> str:
    return f"/2010-04-01/Accounts/{creds.account_sid}/{resource}"


def rfc2822(text: str) -> datetime:
    return parsedate_to_datetime(text).astimezone(UTC)


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def assert_boundaries(
    fetched_times: list[datetime],
    account_times: set[datetime],
    inside: tuple[datetime, ...],
    outside: tuple[datetime, ...],
) -> None:
    """The boundary records in ``inside`` were fetched; those in ``outside`` exist but were not."""
    fetched = set(fetched_times)
    for moment in (*inside, *outside):
        assert moment in account_times, f"the generator holds no record at {moment:%Y-%m-%d %H:%M:%S}"
    missing = [f"{m:%Y-%m-%d %H:%M:%S}" for m in inside if m not in fetched]
    assert not missing, f"boundary records not fetched: {missing}"
    extra = [f"{m:%Y-%m-%d %H:%M:%S}" for m in outside if m in fetched]
    assert not extra, f"records beyond the boundary fetched: {extra}"


def times_around(truth, kind: str, field: str, start: datetime, end: datetime) -> set[datetime]:
    """Record times of ``kind`` from a day before ``start`` to a day after ``end``."""
    parse = rfc2822 if kind in ("messages", "calls") else iso
    return {parse(r[field]) for r in truth.records(kind, start - timedelta(days=1), end + timedelta(days=1))}


# --- messages ---------------------------------------------------------------------------------

MESSAGE_CASES = {
    # id: (DateSent>, DateSent<, truth range [start, end), boundary records inside, outside)
    # DateSent> is on or after the instant, DateSent< on or before it.
    "datetimes-whole-days": (
        at(10),
        at(12, 23, 59, 59),
        (at(10), at(13)),
        (at(10), at(12, 23, 59, 59)),
        (at(9, 23, 59, 59), at(13)),
    ),
    "datetimes-one-second-in": (
        at(10, 0, 0, 1),
        at(12, 23, 59, 58),
        (at(10, 0, 0, 1), at(12, 23, 59, 59)),
        (at(11), at(11, 23, 59, 59)),
        (at(10), at(12, 23, 59, 59)),
    ),
    # A date value: DateSent> from 00:00:00 that day, DateSent< up to 23:59:59 that day.
    "date-strings": (
        "2026-11-10",
        "2026-11-12",
        (at(10), at(13)),
        (at(10), at(12, 23, 59, 59)),
        (at(9, 23, 59, 59), at(13)),
    ),
    "date-string-up-to-now": (
        "2026-11-25",
        None,
        (at(25), NOW + ONE_SECOND),
        (at(25), at(26, 23, 59, 59), at(27)),
        (at(24, 23, 59, 59),),
    ),
}


@pytest.mark.parametrize(("after", "before", "span", "inside", "outside"), MESSAGE_CASES.values(), ids=MESSAGE_CASES)
def test_messages_by_date_sent(twilio, http, sandbox, creds, after, before, span, inside, outside):
    kwargs = {"date_sent_after": after} | ({"date_sent_before": before} if before is not None else {})
    got = twilio.messages.list(page_size=50, **kwargs)

    expected = sandbox.truth.records("messages", *span)
    assert [m.sid for m in got] == sandbox.truth.sids("messages", *span)
    assert [m.sid for m in got] == [r["sid"] for r in expected]  # newest first
    assert [(m.date_sent, m.direction, m.status, m.num_segments, m.price) for m in got] == [
        (rfc2822(r["date_sent"]), r["direction"], r["status"], r["num_segments"], r["price"]) for r in expected
    ]
    assert_boundaries(
        [m.date_sent for m in got], times_around(sandbox.truth, "messages", "date_sent", *span), inside, outside
    )

    def text(value):
        return value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    filters = {"DateSent>": text(after)} | ({"DateSent<": text(before)} if before is not None else {})
    assert_paged(
        http,
        host="api.twilio.com",
        path=api_path(creds, "Messages.json"),
        filters=filters,
        records=len(expected),
        page_size=50,
    )


# --- calls ------------------------------------------------------------------------------------

CALL_CASES = {
    # id: (StartTime>, StartTime<, truth range [start, end), boundary records inside, outside)
    # StartTime> is on or after, StartTime< strictly before.
    "datetimes": (
        at(10),
        at(13),
        (at(10), at(13)),
        (at(10), at(12, 23, 59, 59)),
        (at(9, 23, 59, 59), at(13)),
    ),
    "datetimes-one-second-in": (
        at(10, 0, 0, 1),
        at(12, 23, 59, 59),
        (at(10, 0, 0, 1), at(12, 23, 59, 59)),
        (at(11), at(11, 23, 59, 59)),
        (at(10), at(12, 23, 59, 59)),
    ),
    # A date value for StartTime< excludes that day.
    "date-strings": (
        "2026-11-10",
        "2026-11-13",
        (at(10), at(13)),
        (at(10), at(12, 23, 59, 59)),
        (at(9, 23, 59, 59), at(13)),
    ),
}


def call_key(c) -> tuple:
    return (c.sid, c.start_time, c.direction, c.status, c.duration, c.price)


def record_key(r) -> tuple:
    return (r["sid"], rfc2822(r["start_time"]), r["direction"], r["status"], r["duration"], r["price"])


@pytest.mark.parametrize(("after", "before", "span", "inside", "outside"), CALL_CASES.values(), ids=CALL_CASES)
def test_calls_by_start_time(twilio, http, sandbox, creds, after, before, span, inside, outside):
    got = twilio.calls.list(start_time_after=after, start_time_before=before, page_size=25)

    expected = sandbox.truth.records("calls", *span)
    assert [c.sid for c in got] == sandbox.truth.sids("calls", *span)
    assert [call_key(c) for c in got] == [record_key(r) for r in expected]
    assert_boundaries(
        [c.start_time for c in got], times_around(sandbox.truth, "calls", "start_time", *span), inside, outside
    )

    def text(value):
        return value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert_paged(
        http,
        host="api.twilio.com",
        path=api_path(creds, "Calls.json"),
        filters={"StartTime>": text(after), "StartTime<": text(before)},
        records=len(expected),
        page_size=25,
    )


@pytest.mark.parametrize(("status", "page_size"), [("completed", 50), ("no-answer", 10), ("busy", 5)])
def test_calls_by_status_and_start_time(twilio, http, sandbox, creds, status, page_size):
    got = twilio.calls.list(
        status=status, start_time_after="2026-11-10", start_time_before="2026-11-24", page_size=page_size
    )

    expected = [
        r for r in sandbox.truth.records("calls", date(2026, 11, 10), date(2026, 11, 24)) if r["status"] == status
    ]
    assert expected, f"the range holds no {status} calls"
    assert [call_key(c) for c in got] == [record_key(r) for r in expected]
    assert {c.status for c in got} == {status}
    assert_paged(
        http,
        host="api.twilio.com",
        path=api_path(creds, "Calls.json"),
        filters={"Status": status, "StartTime>": "2026-11-10", "StartTime<": "2026-11-24"},
        records=len(expected),
        page_size=page_size,
    )


# --- usage records ----------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(2026, 11, 1), NOW.date()  # today (partly filled) included
DAYS = [LAST_DAY - timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]  # newest first


@pytest.mark.parametrize("category", ["sms-outbound", "sms-inbound", "calls", "totalprice"])
def test_daily_usage_equals_truth(twilio, http, sandbox, creds, category):
    got = twilio.usage.records.daily.list(category=category, start_date=FIRST_DAY, end_date=LAST_DAY, page_size=10)

    assert [(r.start_date, r.end_date) for r in got] == [(d, d) for d in DAYS], "StartDate/EndDate are inclusive"
    assert {r.category for r in got} == {category}
    for r in got:
        count, usage, price = sandbox.truth.usage(category, r.start_date)
        # totalprice's usage is its price in USD; every other category's a whole number.
        got_usage = Decimal(r.usage) * PRICE_SCALE if category == "totalprice" else int(r.usage)
        assert (int(r.count), got_usage) == (count, usage), f"{category} on {r.start_date}: count, usage"
        assert r.price * PRICE_SCALE == price, f"{category} on {r.start_date}: price {r.price}, truth {price}"
    assert_paged(
        http,
        host="api.twilio.com",
        path=api_path(creds, "Usage/Records/Daily.json"),
        filters={"Category": category, "StartDate": FIRST_DAY.isoformat(), "EndDate": LAST_DAY.isoformat()},
        records=len(DAYS),
        page_size=10,
    )


def test_usage_counts_agree_with_the_messages_themselves(twilio, http, sandbox):
    """Daily sms-outbound / sms-inbound counts = the messages fetched for those days, by direction."""
    usage = {
        category: {
            r.start_date: int(r.count)
            for r in twilio.usage.records.daily.list(
                category=category, start_date=FIRST_DAY, end_date=LAST_DAY, page_size=10
            )
        }
        for category in ("sms-outbound", "sms-inbound")
    }
    usage_requests = len(http.sent)
    messages = twilio.messages.list(
        date_sent_after=FIRST_DAY.isoformat(), date_sent_before=LAST_DAY.isoformat(), page_size=1000
    )
    assert len(http.sent) - usage_requests >= 3, "the messages should span at least three pages of 1000"
    assert [s.method for s in http.sent] == ["GET"] * len(http.sent)

    fetched = Counter(
        (m.date_sent.date(), "sms-inbound" if m.direction == "inbound" else "sms-outbound") for m in messages
    )
    truth = Counter()
    for (day, direction), n in sandbox.truth.daily_counts(
        "messages", FIRST_DAY, LAST_DAY + timedelta(days=1), by="direction"
    ).items():
        truth[day, "sms-inbound" if direction == "inbound" else "sms-outbound"] += n

    for category in ("sms-outbound", "sms-inbound"):
        for day in DAYS:
            assert usage[category][day] == truth[day, category] == fetched[day, category], (
                f"{category} on {day}: usage {usage[category][day]}, truth {truth[day, category]}, "
                f"fetched messages {fetched[day, category]}"
            )
            assert usage[category][day] == sandbox.truth.usage(category, day)[0]


# --- Monitor alerts ---------------------------------------------------------------------------

ALERT_CASES = {
    # id: (StartDate, EndDate, truth range [start, end)); StartDate on or after, EndDate on or before.
    "datetimes": (at(1), at(20, 23, 59, 59), (at(1), at(21))),
    "date-strings": ("2026-11-01", "2026-11-20", (at(1), at(21))),
    "exactly-30-days-back-to-now": (NOW - timedelta(days=30), None, (NOW - timedelta(days=30), NOW + ONE_SECOND)),
}


@pytest.mark.parametrize(("start", "end", "span"), ALERT_CASES.values(), ids=ALERT_CASES)
def test_alerts_by_date(twilio, http, sandbox, start, end, span):
    got = twilio.monitor.v1.alerts.list(start_date=start, end_date=end, page_size=20)

    expected = sandbox.truth.records("alerts", *span)
    assert [a.sid for a in got] == sandbox.truth.sids("alerts", *span)
    assert [(a.sid, a.date_generated, a.error_code, a.log_level) for a in got] == [
        (r["sid"], iso(r["date_generated"]), r["error_code"], r["log_level"]) for r in expected
    ]

    def text(value):
        return value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    filters = {"StartDate": text(start)} | ({"EndDate": text(end)} if end is not None else {})
    assert_paged(
        http, host="monitor.twilio.com", path="/v1/Alerts", filters=filters, records=len(expected), page_size=20
    )


@pytest.mark.parametrize("shift", [0, 1], ids=["on-the-instants", "one-second-inside"])
def test_alert_boundaries_to_the_second(twilio, http, sandbox, shift):
    """StartDate / EndDate set to two alerts' own instants include both; one second inside, neither."""
    window = sandbox.truth.records("alerts", at(5), at(20))
    oldest, newest = iso(window[-1]["date_generated"]), iso(window[0]["date_generated"])
    start, end = oldest + shift * ONE_SECOND, newest - shift * ONE_SECOND

    got = twilio.monitor.v1.alerts.list(start_date=start, end_date=end, page_size=10)

    span = (start, end + ONE_SECOND)
    assert [a.sid for a in got] == sandbox.truth.sids("alerts", *span)
    times = {a.date_generated for a in got}
    assert_boundaries(
        list(times),
        times_around(sandbox.truth, "alerts", "date_generated", *span),
        (oldest, newest) if not shift else (),
        (oldest, newest) if shift else (),
    )
    assert_paged(
        http,
        host="monitor.twilio.com",
        path="/v1/Alerts",
        filters={"StartDate": f"{start:%Y-%m-%dT%H:%M:%SZ}", "EndDate": f"{end:%Y-%m-%dT%H:%M:%SZ}"},
        records=len(got),
        page_size=10,
    )


def test_alerts_older_than_30_days_are_refused(twilio, http):
    with pytest.raises(TwilioException) as raised:
        twilio.monitor.v1.alerts.list(start_date=at(27, month=10), page_size=20)
    response = raised.value.args[1] if len(raised.value.args) > 1 else None
    assert response is not None and response.status_code == 400, raised.value.args
    assert "30 days" in response.text
    assert [(s.method, s.host) for s in http.sent] == [("GET", "monitor.twilio.com")]
