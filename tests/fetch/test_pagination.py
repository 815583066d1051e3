"""Paging strategies: pure functions of one body (no IO)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twibox_nb.fetch.pagination import MetaNextPageUrl, NextPageUri, NextToken, NoPagination, detect

FIRST = httpx.URL("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?DateSent%3E=2026-11-20&PageSize=2")
REGIONAL = httpx.URL("https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json?PageSize=2")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [], "next_page_uri": "/x?Page=1", "page": 0}, NextPageUri()),
        ({"messages": [], "next_page_uri": None, "page": 3}, NextPageUri()),
        ({"alerts": [], "meta": {"key": "alerts", "next_page_url": None}}, MetaNextPageUrl()),
        ({"data": [], "meta": {"key": "data", "nextToken": "t"}}, NextToken()),
        ({"data": [], "nextToken": None}, NextToken()),
        ({"sid": "AC1", "friendly_name": "x"}, NoPagination()),
        ([{"sid": "SM1"}], NoPagination()),
        ("not a body", NoPagination()),
        ({"nextToken": "t"}, NoPagination()),  # a token with no data beside it is not a list
    ],
)
def test_detect_picks_the_shape_from_the_body(body, expected):
    assert detect(body) == expected


def test_detect_passes_the_token_parameter_name_on():
    assert detect({"data": [], "nextToken": "t"}, token_param="pageToken") == NextToken("pageToken")


def test_next_page_uri_joins_the_scheme_and_host_of_the_page_it_came_from():
    link = "/2010-04-01/Accounts/AC1/Calls.json?PageSize=2&Page=1&PageToken=PACA1"
    got = NextPageUri().next_url({"next_page_uri": link}, first=FIRST, current=REGIONAL)
    assert str(got) == "https://api.dublin.ie1.twilio.com" + link


def test_next_page_uri_is_followed_exactly_as_given():
    # The link carries every parameter (date filters included, still encoded): none is re-added.
    link = "/2010-04-01/Accounts/AC1/Messages.json?DateSent%3E=2026-11-20&PageSize=2&Page=1&PageToken=PASM1"
    got = NextPageUri().next_url({"next_page_uri": link}, first=FIRST, current=FIRST)
    assert got.raw_path.decode() == link
    keys = [k for k, _ in parse_qsl(got.query.decode())]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("link", [None, "", "   "])
def test_an_empty_link_means_the_last_page(link):
    assert NextPageUri().next_url({"next_page_uri": link}, first=FIRST, current=FIRST) is None
    body = {"meta": {"next_page_url": link}}
    assert MetaNextPageUrl().next_url(body, first=FIRST, current=FIRST) is None


def test_meta_next_page_url_is_absolute():
    here = httpx.URL("https://monitor.twilio.com/v1/Alerts?PageSize=5")
    link = "https://monitor.twilio.com/v1/Alerts?PageSize=5&Page=1&PageToken=PANO1"
    assert str(MetaNextPageUrl().next_url({"meta": {"next_page_url": link}}, first=here, current=here)) == link


def test_foreign_links_come_back_as_they_are_for_the_client_to_refuse():
    # The paginator is no gatekeeper, but it must not disguise a foreign link as a Twilio one.
    evil = NextPageUri().next_url({"next_page_uri": "https://evil.example.com/x"}, first=FIRST, current=FIRST)
    assert evil.host == "evil.example.com"
    evil = NextPageUri().next_url({"next_page_uri": "//evil.example.com/x"}, first=FIRST, current=FIRST)
    assert evil.host == "evil.example.com"


def test_next_token_repeats_the_first_request_with_the_token_set():
    first = httpx.URL("https://x.twilio.com/v1/Things?PageSize=2&PageToken=old")
    later = httpx.URL("https://x.twilio.com/v1/Things?PageSize=2&PageToken=t2")
    assert str(NextToken().next_url({"meta": {"nextToken": "t3"}}, first=first, current=later)) == (
        "https://x.twilio.com/v1/Things?PageSize=2&PageToken=t3"
    )
    assert (
        NextToken().next_url({"meta": {"nextToken": None}, "nextToken": "ignored"}, first=first, current=later) is None
    )
    custom = NextToken("pageToken").next_url({"data": [], "nextToken": "a/b c"}, first=first, current=later)
    assert dict(custom.params) == {"PageSize": "2", "PageToken": "old", "pageToken": "a/b c"}


params = st.lists(
    st.tuples(st.sampled_from(["DateSent>", "DateSent<", "To", "From", "Status"]), st.text(min_size=1, max_size=12)),
    max_size=5,
)


@given(params=params, page=st.integers(0, 500))
def test_any_link_is_followed_exactly(params, page):
    query = urlencode([*params, ("PageSize", "50"), ("Page", str(page)), ("PageToken", f"PA{page}")])
    link = f"/2010-04-01/Accounts/AC1/Messages.json?{query}"
    got = NextPageUri().next_url({"next_page_uri": link}, first=FIRST, current=FIRST)
    assert got.raw_path.decode() == link
    assert parse_qsl(got.query.decode(), keep_blank_values=True) == parse_qsl(query, keep_blank_values=True)
    url = f"https://monitor.twilio.com/v1/Alerts?{query}"
    assert str(MetaNextPageUrl().next_url({"meta": {"next_page_url": url}}, first=FIRST, current=FIRST)) == url
