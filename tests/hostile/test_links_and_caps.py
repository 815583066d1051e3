"""Hostile next links, pagination "none" on a longer list, and a page cap under thread timing (issue 14).

* A next link that is no usable URL (a control character, a port out of range, 200,000 characters)
  ends the chain with a :class:`ResponseFormatError` saying why, truncated: no ``httpx.InvalidURL``
  escapes and nothing is sent to it.
* Pagination ``"none"`` on a list whose first page links to more is truncated (``page_cap``), and
  ``fetch_metric`` warns about it.
* A capped, sliced fetch keeps the same pages whatever the thread timing: the same records, by SID,
  on every run.
"""

from __future__ import annotations

import warnings

import httpx
import pytest

from twibox_nb._exceptions import ResponseFormatError, TruncationWarning
from twibox_nb.fetch.chain import PageFetcher
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.slicing import Slice, SliceFetcher
from twibox_nb.model.spec import Count, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.sandbox import Faults, Sandbox

from ..conftest import MESSAGES_PATH, NOW
from ..fetch.conftest import ACCOUNT, json_response, mock_connection

PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
FIRST = f"https://api.twilio.com{PATH}?PageSize=1"
LONG = "/2010-04-01/Accounts/x.json?PageToken=" + "a" * 200_000

MALFORMED = {
    "a control character": (f"{PATH}?Page=1\x01", "non-printable"),
    "a port out of range": ("https://api.twilio.com:99999/x", "port 99999 is out of range"),
    "200,000 characters": (LONG, "more than 65,536"),
}


def linking_to(link: str):
    """Every page has one record and links to ``link``."""
    return lambda request: json_response({"messages": [{"sid": "SM1"}], "next_page_uri": link, "page": 0})


def meta_linking_to(link: str):
    """A product API's page with one record whose ``meta.next_page_url`` is ``link``."""
    body = {"alerts": [{"sid": "NO1"}], "meta": {"key": "alerts", "next_page_url": link}}
    return lambda request: json_response(body)


def assert_refused(report, error_text: str, net_urls: list[str]) -> None:
    assert (report.pages, report.stop_reason, report.truncated) == (1, "error", True)
    assert isinstance(report.error, ResponseFormatError)
    message = str(report.error)
    assert "next-page link" in message and "malformed" in message and error_text in message
    assert "nothing was sent" in message and len(message) < 400  # a 200,000-character link is shortened
    assert report.next_url is None  # the malformed link is not kept
    assert net_urls == [FIRST]  # nothing was sent to the link


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_next_link_ends_a_single_chain_truncated_with_a_format_error(case, caplog):
    link, why = MALFORMED[case]
    conn, net = mock_connection(linking_to(link))
    fetcher = PageFetcher(conn, httpx.Request("GET", FIRST))
    pages = list(fetcher)  # after page 1 the error is kept in the report, not raised
    assert len(pages) == 1
    assert_refused(fetcher.report, why, net.urls)
    assert "malformed" in caplog.text


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_next_link_ends_a_sliced_fetch_truncated_with_a_format_error(case):
    link, why = MALFORMED[case]
    conn, net = mock_connection(linking_to(link))
    fetcher = SliceFetcher(conn, [Slice(httpx.Request("GET", FIRST))], concurrency=2)
    assert len(list(fetcher)) == 1
    assert_refused(fetcher.report, why, net.urls)
    assert fetcher.slice_reports[0].stop_reason == "error"


def test_a_malformed_meta_next_page_url_is_refused_too():
    conn, net = mock_connection(meta_linking_to("https://monitor.twilio.com:0/v1/Alerts?Page=1"))
    first = "https://monitor.twilio.com/v1/Alerts?PageSize=1"
    fetcher = PageFetcher(conn, httpx.Request("GET", first))
    assert len(list(fetcher)) == 1
    assert fetcher.report.stop_reason == "error" and "port 0 is out of range" in str(fetcher.report.error)
    assert net.urls == [first]


def test_a_200000_character_next_token_is_refused():
    conn, net = mock_connection(lambda request: json_response({"data": [{"sid": "X1"}], "nextToken": "t" * 200_000}))
    first = "https://api.twilio.com/v1/Things?PageSize=1"
    fetcher = PageFetcher(conn, httpx.Request("GET", first))
    assert len(list(fetcher)) == 1
    report = fetcher.report
    assert (report.stop_reason, report.truncated, net.urls) == ("error", True, [first])
    assert "next token" in str(report.error) and len(str(report.error)) < 400


# --- pagination "none" on a list with more pages ----------------------------------------------------


def one_page_of_messages(**request) -> MetricSpec:
    return MetricSpec(
        "one page of messages",
        RequestSpec(MESSAGES_PATH, params={"PageSize": "50"}, **request),
        value=Count(),
        date=Field("date_sent"),
        date_range="last_30_days",
    )


def test_pagination_none_on_a_longer_list_is_truncated_and_fetch_metric_warns(sandbox):
    conn = connect(sandbox=sandbox)
    with pytest.warns(TruncationWarning, match="page cap") as caught:
        result = fetch_metric(one_page_of_messages(pagination="none"), conn, now=NOW)
    assert (result.pages, result.records, result.stop_reason, result.truncated) == (1, 50, "page_cap", True)
    assert result.current.report.next_url is not None and "Page=1" in result.current.report.next_url
    assert 'pagination "none"' in str(caught[0].message) and "records are missing" in str(caught[0].message)


def test_pagination_none_on_a_list_without_more_pages_stays_complete(sandbox):
    conn = connect(sandbox=sandbox)
    one_day = {"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"}
    spec = one_page_of_messages(pagination="none").replace(date_range="2026-11-20..2026-11-20")
    spec = spec.replace(request=RequestSpec(MESSAGES_PATH, params=one_day, pagination="none"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        result = fetch_metric(spec, conn, now=NOW)
    assert (result.pages, result.stop_reason, result.truncated) == (1, "complete", False)
    assert result.records > 0


# --- a capped, sliced fetch under thread timing --------------------------------------------------------


def per_sid(max_pages: int) -> MetricSpec:
    params = {"PageSize": "20", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"}
    return MetricSpec(
        "messages per sid",
        RequestSpec(MESSAGES_PATH, params=params, max_pages=max_pages),
        value=Count(),
        dimension=Field("sid"),
        date=Field("date_sent"),
        date_range="last_30_days",
    )


@pytest.mark.bounds(seconds=120)
@pytest.mark.parametrize("cap", [20, 45])  # fewer pages than the 30 slices, and more
def test_a_capped_sliced_fetch_keeps_the_same_records_whatever_the_timing(cap):
    sandbox = Sandbox(seed=7, scale=1, now=NOW, faults=Faults(latency_ms=4, latency_jitter_ms=4, seed=11))
    conn = connect(sandbox=sandbox)
    runs = []
    for _ in range(5):
        with pytest.warns(TruncationWarning, match="page cap"):
            result = fetch_metric(per_sid(cap), conn, now=NOW, concurrency=4)
        report = result.current.report
        assert (report.stop_reason, report.truncated, report.pages, report.slices) == ("page_cap", True, cap, 30)
        runs.append((report.records, frozenset(result.rows["dimension"]), report.next_url))
    counts = [records for records, _, _ in runs]
    assert counts == [counts[0]] * 5 and counts[0] > 0
    records, sids, next_url = runs[0]
    assert all(run[1] == sids for run in runs) and len(sids) == records  # the same records, by SID
    assert all(run[2] == next_url for run in runs)  # and the same first page left out
