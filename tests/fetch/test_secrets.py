"""No secret ever reaches an error, a report, a diagnosis, a page repr or a log line."""

from __future__ import annotations

import base64
import logging
import traceback

import httpx
import pytest

from twibox_nb._exceptions import TwiboxError
from twibox_nb.fetch.chain import PageFetcher
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.diagnose import diagnose
from twibox_nb.fetch.session import RetryPolicy

from .conftest import KEY, MESSAGES, SECRET, json_response, mock_connection, scripted, twilio_error

POLICY = RetryPolicy(max_retries=2)
FORMS = (SECRET, base64.b64encode(f"{KEY}:{SECRET}".encode()).decode())  # as given, and as sent


class Truncated(httpx.SyncByteStream):
    def __iter__(self):
        yield b'{"messages": ['
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def second_page_fails(request: httpx.Request) -> httpx.Response:
    if "Page" in request.url.params:
        return twilio_error(500, 20500, "Internal Server Error")
    return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": "/x.json?Page=1", "page": 0})


SCENARIOS = {
    "401": scripted(twilio_error(401, 20003, "Authenticate")),
    "429 storm": scripted(twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "1"})),
    "unreachable": scripted(httpx.ConnectError("connection refused")),
    "timeout": scripted(httpx.ReadTimeout("read timed out")),
    "malformed": scripted(httpx.Response(200, content=b'{"messages": [')),
    "truncated": lambda request: httpx.Response(200, stream=Truncated()),
    "error after a page": second_page_fails,
    "foreign link": scripted(json_response({"messages": [], "next_page_uri": "https://evil.example.com/x"})),
    "redirect": scripted(httpx.Response(302, headers={"Location": "https://evil.example.com/"})),
}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for form in FORMS:
            assert form not in text


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_failing_fetches_never_show_the_secret(scenario, fake, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    conn, net = mock_connection(SCENARIOS[scenario])
    fetcher = PageFetcher(conn, httpx.Request("GET", MESSAGES), policy=POLICY, **fake.options())
    texts = []
    try:
        pages = list(fetcher)
        texts += [repr(pages)]
    except TwiboxError as exc:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    report = fetcher.report
    assert report is not None and report.stop_reason == "error"  # every scenario fails somewhere
    texts += [repr(report), str(report), report.summary(), repr(report.error), repr(conn), repr(fetcher)]
    d = diagnose(conn, policy=POLICY, **fake.options())
    texts += [str(d), repr(d), repr(d.__dict__)]
    assert net.requests and all(r.headers["Authorization"] == f"Basic {FORMS[1]}" for r in net.requests)
    assert_no_secret(*texts, caplog.text)


def test_an_auth_token_in_the_account_body_stays_out_of_the_diagnosis(sandbox, fake, caplog):
    caplog.set_level(logging.DEBUG)
    c = sandbox.credentials
    conn = connect(c.account_sid, auth_token=c.auth_token, transport=sandbox.transport(), env={})
    d = diagnose(conn, **fake.options())
    assert d.ok
    url = f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}.json"
    (page,) = list(PageFetcher(conn, httpx.Request("GET", url), **fake.options()))
    assert page.body["auth_token"] == c.auth_token  # Twilio returns it to whoever used it ...
    assert_no_secret(c.auth_token)  # (sanity: the helper's own forms are not the token)
    for text in (str(d), repr(d), repr(d.__dict__), repr(page), repr(conn), caplog.text):
        assert c.auth_token not in text  # ... and it is shown nowhere
