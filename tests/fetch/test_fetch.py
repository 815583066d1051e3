"""Fetching pages: both paging shapes, every stop reason, the read-only and Twilio-only promises."""

from __future__ import annotations

import base64
import itertools
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

import httpx
import pytest

from twibox_nb._exceptions import TwilioAPIError, UnsafeRequestError
from twibox_nb.fetch.chain import PageFetcher
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.report import FetchReport, Progress
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slicing import fetch_all

from ..conftest import NOW
from .conftest import ACCOUNT, ALERTS, KEY, MESSAGES, SECRET, json_response, mock_connection, scripted, twilio_error

POLICY = RetryPolicy(max_retries=2, base_delay=1.0, max_delay=5.0)
PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def messages_url(conn) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/Messages.json"


def sids(pages) -> list[str]:
    return [record["sid"] for page in pages for record in page.records]


def assert_links_followed_exactly(pages, request: httpx.Request) -> None:
    assert pages[0].url == str(request.url)
    for page in pages:
        keys = [k for k, _ in parse_qsl(httpx.URL(page.url).query.decode(), keep_blank_values=True)]
        assert len(keys) == len(set(keys)), f"a parameter was repeated: {page.url}"
    for before, after in itertools.pairwise(pages):
        link = before.body.get("next_page_uri") or before.body["meta"]["next_page_url"]
        assert after.url == str(httpx.URL(before.url).join(link))


# --- both shapes against the sandbox (in-process and loopback) ---------------------------------------


def test_messages_follow_next_page_uri_to_the_ground_truth(sandbox, sandbox_conn, fake):
    params = {"DateSent>": "2026-11-20", "DateSent<": "2026-11-22", "PageSize": 40}
    request = httpx.Request("GET", messages_url(sandbox_conn), params=params)
    pages, report = fetch_all(sandbox_conn, request, **fake.options())
    expected = sandbox.truth.sids("messages", date(2026, 11, 20), date(2026, 11, 23))  # DateSent< takes the day
    assert sorted(sids(pages)) == sorted(expected) and len(sids(pages)) == len(set(sids(pages)))
    assert len(pages) == -(-len(expected) // 40) > 2
    assert [p.number for p in pages] == list(range(len(pages)))
    assert all(p.status == 200 for p in pages)
    assert_links_followed_exactly(pages, request)
    assert report == FetchReport(len(pages), len(expected), len(pages), 0, 0.0, "complete", False)


def test_alerts_follow_meta_next_page_url_to_the_ground_truth(sandbox, sandbox_conn, fake):
    params = {"StartDate": "2026-11-20T00:00:00Z", "EndDate": "2026-11-26T23:59:59Z", "PageSize": 10}
    request = httpx.Request("GET", ALERTS, params=params)
    pages, report = fetch_all(sandbox_conn, request, **fake.options())
    expected = sandbox.truth.sids("alerts", date(2026, 11, 20), date(2026, 11, 27))
    assert sorted(sids(pages)) == sorted(expected) and len(pages) > 2
    assert all(p.url.startswith("https://monitor.twilio.com/v1/Alerts?") for p in pages)
    assert_links_followed_exactly(pages, request)
    assert (report.stop_reason, report.truncated, report.records) == ("complete", False, len(expected))


def test_a_single_resource_is_one_page(sandbox_conn, fake):
    url = f"https://api.twilio.com/2010-04-01/Accounts/{sandbox_conn.account_sid}/Balance.json"
    pages, report = fetch_all(sandbox_conn, httpx.Request("GET", url), **fake.options())
    assert [p.records[0]["currency"] for p in pages] == ["USD"]
    assert (report.pages, report.records, report.stop_reason) == (1, 1, "complete")


# --- stop reasons ----------------------------------------------------------------------------------


def test_page_cap_stops_with_more_pages_left(sandbox_conn, fake):
    request = httpx.Request("GET", messages_url(sandbox_conn), params={"PageSize": 20})
    pages, report = fetch_all(sandbox_conn, request, max_pages=3, **fake.options())
    assert len(pages) == 3 and all(len(p.records) == 20 for p in pages)
    assert (report.stop_reason, report.truncated, report.records, report.requests) == ("page_cap", True, 60, 3)
    assert report.next_url == str(httpx.URL(pages[-1].url).join(pages[-1].body["next_page_uri"]))
    assert "page cap" in report.summary() and "records are missing" in report.summary()


def test_a_cap_equal_to_the_page_count_is_complete(sandbox, fake):
    conn = connect(sandbox=sandbox)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/IncomingPhoneNumbers.json"
    request = httpx.Request("GET", url, params={"PageSize": 2})
    everything, _ = fetch_all(conn, request, **fake.options())
    pages, report = fetch_all(conn, request, max_pages=len(everything), **fake.options())
    assert len(pages) == len(everything) > 1 and (report.stop_reason, report.truncated) == ("complete", False)


def test_pagination_none_fetches_the_first_page_only_and_says_records_are_missing(sandbox_conn, fake):
    request = httpx.Request("GET", messages_url(sandbox_conn), params={"PageSize": 5})
    pages, report = fetch_all(sandbox_conn, request, pagination="none", **fake.options())
    assert len(pages) == 1 and pages[0].body["next_page_uri"]
    # The first page links to more: they are not fetched, and the report says so (issue 14).
    assert (report.stop_reason, report.truncated, report.requests) == ("page_cap", True, 1)
    assert report.next_url is not None and report.next_url.endswith(pages[0].body["next_page_uri"])


def older_than(start: datetime):
    """The engine's predicate for a newest-first list: this page reached records before ``start``."""

    def passed(body) -> bool:
        return any(parsedate_to_datetime(m["date_sent"]) < start for m in body["messages"])

    return passed


def test_range_start_passed_stops_a_newest_first_list_early(sandbox, sandbox_conn, fake):
    start = datetime(2026, 11, 25, tzinfo=timezone.utc)
    request = httpx.Request("GET", messages_url(sandbox_conn), params={"PageSize": 50})
    pages, report = fetch_all(sandbox_conn, request, stop_when=older_than(start), **fake.options())
    wanted = sandbox.truth.sids("messages", start, NOW + timedelta(seconds=1))
    assert set(wanted) <= set(sids(pages))  # nothing in the range is missing ...
    assert len(sids(pages)) - len(wanted) < 50  # ... and at most one page went past the start
    assert pages[-1].body["next_page_uri"]  # there were more (older) pages, rightly left alone
    assert (report.stop_reason, report.truncated, report.next_url) == ("range_start_passed", False, None)


def test_cycle_stops_at_a_page_already_fetched(fake):
    first = f"https://api.twilio.com{PATH}?PageSize=1"
    second = f"{PATH}?PageSize=1&Page=1&PageToken=PASM1"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("Page") == "1":  # the second page links back to the first
            return json_response({"messages": [{"sid": "SM2"}], "next_page_uri": f"{PATH}?PageSize=1", "page": 1})
        return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": second, "page": 0})

    conn, net = mock_connection(answer)
    pages, report = fetch_all(conn, httpx.Request("GET", first), max_pages=10, **fake.options())  # (cap: fail fast)
    assert sids(pages) == ["SM1", "SM2"] and net.urls == [first, f"https://api.twilio.com{second}"]
    assert (report.stop_reason, report.truncated, report.next_url) == ("cycle", True, first)


def test_cycle_on_a_page_that_links_to_itself(fake):
    body = {"alerts": [{"sid": "NO1"}], "meta": {"key": "alerts", "next_page_url": f"{ALERTS}?PageSize=1"}}
    conn, net = mock_connection(scripted(json_response(body)))
    pages, report = fetch_all(
        conn, httpx.Request("GET", ALERTS, params={"PageSize": 1}), max_pages=10, **fake.options()
    )
    assert len(pages) == 1 and len(net.requests) == 1 and report.stop_reason == "cycle"


def test_an_error_after_some_pages_ends_the_fetch_and_is_kept(fake, caplog):
    def answer(request: httpx.Request) -> httpx.Response:
        if "Page" in request.url.params:
            return twilio_error(503, 20503, "Service Unavailable")
        return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": f"{PATH}?Page=1", "page": 0})

    conn, net = mock_connection(answer)
    pages, report = fetch_all(
        conn, httpx.Request("GET", f"https://api.twilio.com{PATH}"), policy=POLICY, **fake.options()
    )
    assert sids(pages) == ["SM1"]
    assert (report.stop_reason, report.truncated, report.pages, report.requests, report.retries) == (
        "error",
        True,
        1,
        4,
        2,
    )
    assert isinstance(report.error, TwilioAPIError) and report.error.code == 20503
    assert report.next_url == f"https://api.twilio.com{PATH}?Page=1"
    assert report.elapsed == 3.0 and fake.sleeps == [1.0, 2.0]
    assert net.urls == [f"https://api.twilio.com{PATH}", *[f"https://api.twilio.com{PATH}?Page=1"] * 3]
    assert "stopped by an error" in report.summary() and "fetch stopped after 1 pages" in caplog.text


def test_an_error_on_the_first_page_is_raised(fake):
    conn, _ = mock_connection(scripted(twilio_error(401, 20003, "Authenticate")))
    fetcher = PageFetcher(conn, httpx.Request("GET", MESSAGES), **fake.options())
    with pytest.raises(TwilioAPIError, match="20003"):
        list(fetcher)
    report = fetcher.report
    assert (report.stop_reason, report.pages, report.truncated, report.error.status) == ("error", 0, False, 401)


# --- token paging ----------------------------------------------------------------------------------

THINGS = "https://flex-api.twilio.com/v1/Things?PageSize=2&Status=open"


def token_pages(param: str):
    def answer(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get(param)
        if token is None:
            return json_response({"data": [1, 2], "meta": {"key": "data", "nextToken": "t2", "pageSize": 2}})
        if token == "t2":
            return json_response({"data": [3, 4], "nextToken": "t3"})
        return json_response({"data": [5], "nextToken": None})

    return answer


@pytest.mark.parametrize("param", ["PageToken", "pageToken"])
def test_token_paging_repeats_the_first_request_with_the_token(fake, param):
    conn, net = mock_connection(token_pages(param))
    pages, report = fetch_all(conn, httpx.Request("GET", THINGS), token_param=param, **fake.options())
    assert [p.records for p in pages] == [[1, 2], [3, 4], [5]]
    assert net.urls == [THINGS, f"{THINGS}&{param}=t2", f"{THINGS}&{param}=t3"]
    assert (report.stop_reason, report.records) == ("complete", 5)


def test_a_repeated_token_is_a_cycle(fake):
    conn, net = mock_connection(scripted(json_response({"data": [1], "nextToken": "same"})))
    pages, report = fetch_all(conn, httpx.Request("GET", THINGS), max_pages=10, **fake.options())
    assert len(pages) == 2 and len(net.requests) == 2 and (report.stop_reason, report.truncated) == ("cycle", True)


# --- read only, Twilio only --------------------------------------------------------------------------


def never_sent(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should have been sent, but {request.method} {request.url} was")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "post"])
def test_anything_but_get_is_refused_before_the_network(method):
    conn, net = mock_connection(never_sent)
    request = httpx.Request(method, MESSAGES, data={"Body": "hello", "To": "+15005550006"})
    with pytest.raises(UnsafeRequestError, match="only reads") as caught:
        fetch_all(conn, request)
    assert "change the account" in str(caught.value) and net.requests == []
    with pytest.raises(UnsafeRequestError):
        PageFetcher(conn, request)  # refused when built, not only when iterated


@pytest.mark.parametrize(
    "url", ["http://api.twilio.com/x.json", "https://example.com/x.json", "https://twilio.com.evil.io/"]
)
def test_a_first_request_off_twilio_is_refused_before_the_network(url):
    conn, net = mock_connection(never_sent)
    with pytest.raises(UnsafeRequestError, match=r"only https://\*\.twilio\.com"):
        PageFetcher(conn, httpx.Request("GET", url))
    assert net.requests == []


FOREIGN = [
    "https://evil.example.com/2010-04-01/Messages.json?Page=1",
    "//evil.example.com/2010-04-01/Messages.json?Page=1",
    "http://api.twilio.com/2010-04-01/Messages.json?Page=1",
    "https://api.twilio.com.evil.example.com/Messages.json?Page=1",
]


@pytest.mark.parametrize("link", FOREIGN)
@pytest.mark.parametrize("shape", ["next_page_uri", "meta.next_page_url"])
def test_a_foreign_next_link_is_refused_and_nothing_is_sent_there(fake, link, shape):
    if shape == "next_page_uri":
        body, first = {"messages": [{"sid": "SM1"}], "next_page_uri": link, "page": 0}, MESSAGES
    else:
        body, first = {"alerts": [{"sid": "NO1"}], "meta": {"key": "alerts", "next_page_url": link}}, ALERTS
    conn, net = mock_connection(scripted(json_response(body)))  # its handler fails on any non-Twilio host
    fetcher = PageFetcher(conn, httpx.Request("GET", first), **fake.options())
    seen = []
    with pytest.raises(UnsafeRequestError, match="refusing to follow the next-page link") as caught:
        for page in fetcher:
            seen.append(page)
    assert len(seen) == 1 and net.urls == [first]
    assert "nothing was sent there" in str(caught.value)
    assert (fetcher.report.stop_reason, fetcher.report.truncated) == ("error", True)


# --- the rest of the contract ----------------------------------------------------------------------


def test_progress_hears_about_every_page(sandbox, fake):
    conn = connect(sandbox=sandbox)
    events: list[Progress] = []
    request = httpx.Request("GET", messages_url(conn), params={"PageSize": 25})
    pages, report = fetch_all(conn, request, max_pages=4, progress=events.append, **fake.options())
    assert [(e.pages, e.records, e.requests, e.max_pages) for e in events] == [
        (1, 25, 1, 4),
        (2, 50, 2, 4),
        (3, 75, 3, 4),
        (4, 100, 4, 4),
    ]
    assert [e.url for e in events] == [p.url for p in pages]
    assert (events[-1].records, events[-1].elapsed) == (report.records, report.elapsed)


def test_the_report_is_ready_when_the_last_page_is_handed_out(sandbox, fake):
    conn = connect(sandbox=sandbox)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/Balance.json"
    fetcher = PageFetcher(conn, httpx.Request("GET", url), **fake.options())
    page = next(iter(fetcher))
    assert page.records and fetcher.report.stop_reason == "complete"
    assert [p.body for p in fetcher] == [page.body]  # iterating again is a fresh fetch


def test_headers_are_carried_but_credentials_and_host_are_not(fake):
    regional = "https://monitor.dublin.ie1.twilio.com/v1/Alerts?Page=1"

    def answer(request: httpx.Request) -> httpx.Response:
        nxt = None if "Page" in request.url.params else regional
        return json_response({"alerts": [], "meta": {"key": "alerts", "next_page_url": nxt}})

    conn, net = mock_connection(answer)
    request = httpx.Request("GET", ALERTS, headers={"X-Extra": "1", "Authorization": "Basic Ym9ndXM6Ym9ndXM="})
    fetch_all(conn, request, **fake.options())
    expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert net.urls == [ALERTS, regional]
    assert [r.headers["Host"] for r in net.requests] == ["monitor.twilio.com", "monitor.dublin.ie1.twilio.com"]
    assert [r.headers["X-Extra"] for r in net.requests] == ["1", "1"]
    assert [r.headers["Authorization"] for r in net.requests] == [expected, expected]
    assert all(r.method == "GET" for r in net.requests)


def test_page_repr_shows_no_body(sandbox, fake):
    conn = connect(sandbox=sandbox)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}.json"
    (page,), _ = fetch_all(conn, httpx.Request("GET", url), **fake.options())
    assert repr(page) == f"Page(number=0, status=200, records=1, url={url!r})"


@pytest.mark.parametrize("bad", [{"max_pages": 0}, {"pagination": "all"}])
def test_bad_options_are_refused(bad):
    conn, _ = mock_connection(never_sent)
    with pytest.raises(ValueError, match=next(iter(bad))):
        PageFetcher(conn, httpx.Request("GET", MESSAGES), **bad)


def test_the_client_imports_no_ui():
    script = (
        "import sys\n"
        "for name in ('ipywidgets', 'IPython', 'tqdm'):\n"
        "    sys.modules[name] = None\n"
        "import twibox_nb.fetch.chain, twibox_nb.fetch.pagination\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
