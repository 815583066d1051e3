"""diagnose(): one GET of the account, explained in plain words."""

from __future__ import annotations

import httpx
import pytest

from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.diagnose import Diagnosis, diagnose
from twibox_nb.fetch.session import RetryPolicy

from .conftest import ACCOUNT, json_response, mock_connection, scripted, twilio_error

POLICY = RetryPolicy(max_retries=2, base_delay=1.0)


def test_ok_on_the_sandbox_says_it_is_sandbox_data(sandbox, fake):
    d = diagnose(connect(sandbox=sandbox), **fake.options())
    assert (d.ok, d.status, d.code, d.sandbox, d.friendly_name) == (True, 200, None, True, "twibox sandbox (demo data)")
    assert bool(d) and "SANDBOX (demo data, not a real Twilio account)" in d.message
    assert d.url == f"https://api.twilio.com/2010-04-01/Accounts/{sandbox.credentials.account_sid}.json"
    assert repr(d) == str(d) and str(d).splitlines()[0] == "Diagnosis: OK (HTTP 200)"


def test_ok_through_the_loopback_server(server):
    d = connect(sandbox=server.url).test()  # Connection.test() is diagnose()
    assert d.ok and d.sandbox and server.url in d.message


def test_ok_on_a_real_account_names_it(fake):
    body = {"sid": ACCOUNT, "friendly_name": "Acme Support", "status": "suspended", "auth_token": None}
    conn, net = mock_connection(scripted(json_response(body)))
    d = diagnose(conn, **fake.options())
    assert d.ok and not d.sandbox and d.friendly_name == "Acme Support"
    assert f"Twilio account {ACCOUNT}" in d.message and "'Acme Support'" in d.message
    assert "the account is suspended" in d.message
    assert net.urls == [f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}.json"]


def test_a_wrong_secret(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.api_key, "not-the-secret", transport=sandbox.transport(), env={})
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code, d.more_info) == (False, 401, 20003, "https://www.twilio.com/docs/errors/20003")
    assert "did not accept these credentials" in d.message and "TWILIO_API_SECRET" in d.message
    assert "region" not in d.message and fake.sleeps == []  # a 401 is never retried
    assert str(d).splitlines() == [
        "Diagnosis: FAILED (HTTP 401, Twilio error 20003)",
        f"  {d.message}",
        "  More: https://www.twilio.com/docs/errors/20003",
    ]
    assert not d


def test_a_wrong_region(fake):
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.dublin.ie1.twilio.com"
        return twilio_error(401, 20003, "Authenticate")  # credentials are kept per region

    conn, _ = mock_connection(answer, region="ie1", edge="dublin")
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 401, 20003)
    assert "another region than region 'ie1' and edge 'dublin'" in d.message
    assert "api.dublin.ie1.twilio.com" in d.message


def test_a_key_that_cannot_read_the_account(fake):
    conn, _ = mock_connection(scripted(twilio_error(403, 20403, "Forbidden")))
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 403, 20403)
    assert "valid but may not read" in d.message and "restricted API key" in d.message


@pytest.mark.parametrize(
    ("options", "hint"),
    [({}, "no network connection"), ({"region": "ie9"}, "the region 'ie9' name may be wrong")],
)
def test_an_unreachable_host(fake, options, hint):
    conn, net = mock_connection(scripted(httpx.ConnectError("[Errno -2] Name or service not known")), **options)
    d = diagnose(conn, policy=POLICY, **fake.options())
    assert (d.ok, d.status, d.code) == (False, None, None)
    assert hint in d.message and "Could not reach api." in d.message and "Name or service not known" in d.message
    assert str(d).startswith("Diagnosis: FAILED (no answer)")
    assert len(net.requests) == 3 and fake.sleeps == [1.0, 2.0]


def test_twilio_busy_after_the_retries(fake):
    conn, net = mock_connection(scripted(twilio_error(503, 20503, "Service Unavailable")))
    d = diagnose(conn, policy=POLICY, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 503, 20503) and "try again" in d.message
    assert len(net.requests) == 3


def test_other_answers(fake):
    conn, _ = mock_connection(scripted(twilio_error(404, 20404, "The requested resource was not found")))
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status) == (False, 404) and "was not found with these credentials" in d.message
    conn, _ = mock_connection(scripted(httpx.Response(200, text="<html>captive portal</html>")))
    d = diagnose(conn, policy=RetryPolicy(max_retries=0), **fake.options())
    assert not d.ok and "did not answer like Twilio" in d.message
    conn, _ = mock_connection(scripted(twilio_error(400, 20001, "Odd")))
    assert diagnose(conn, **fake.options()).message == "Twilio answered: Odd."


def test_an_answer_past_a_limit_is_not_called_unreachable(fake):
    big = httpx.Response(200, json={"friendly_name": "x" * 5000})
    conn, _ = mock_connection(scripted(big))
    d = diagnose(conn, policy=RetryPolicy(max_page_bytes=1000), **fake.options())
    assert not d.ok and "Could not reach" not in d.message
    assert d.message.startswith("api.twilio.com answered, but") and "max_page_bytes" in d.message


def test_a_diagnosis_is_a_plain_value():
    d = Diagnosis(True, 200, None, "Connected.")
    assert d == Diagnosis(True, 200, None, "Connected.") and str(d) == "Diagnosis: OK (HTTP 200)\n  Connected."
