"""diagnose(): can these credentials read the account? In plain words, with the key type (auth token,
Main, Standard or Restricted API key), on the sandbox's real key types and on test doubles."""

from __future__ import annotations

import httpx
import pytest

from twibox_nb.fetch.connection import LoopbackTransport, connect
from twibox_nb.fetch.diagnose import Diagnosis, diagnose
from twibox_nb.fetch.session import RetryPolicy

from .conftest import ACCOUNT, Recorder, json_response, mock_connection, scripted, twilio_error

POLICY = RetryPolicy(max_retries=2, base_delay=1.0)


def test_ok_on_the_sandbox_says_it_is_sandbox_data(sandbox, fake):
    d = diagnose(connect(sandbox=sandbox), **fake.options())
    assert (d.ok, d.status, d.code, d.sandbox, d.friendly_name) == (True, 200, None, True, "twibox sandbox (demo data)")
    assert bool(d) and "SANDBOX (demo data, not a real Twilio account)" in d.message
    assert d.key_type == "Main API key" and d.message.endswith("(Main API key).") and d.missing == ()
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
    assert "the account is suspended" in d.message and d.key_type == "Main API key"
    assert net.urls == [f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}.json"]  # one request


def test_a_wrong_secret(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.api_key, "not-the-secret", transport=sandbox.transport(), env={})
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code, d.more_info) == (False, 401, 20003, "https://www.twilio.com/docs/errors/20003")
    assert "did not accept these credentials (the API key and its secret)" in d.message
    assert "TWILIO_API_SECRET" in d.message and "that the key was not deleted" in d.message
    # No region was set: the default region is named as a cause, no region name is blamed.
    assert "A key created for another Twilio Region (IE1, AU1) only works there: then set Region." in d.message
    assert "region '" not in d.message and "another region than" not in d.message
    assert fake.sleeps == []  # a 401 is never retried
    assert str(d).splitlines() == [
        "Diagnosis: FAILED (HTTP 401, Twilio error 20003)",
        f"  {d.message}",
        "  More: https://www.twilio.com/docs/errors/20003",
    ]
    assert not d and d.key_type is None
    # The account refused an API key, so a list was asked too (a Standard key would read it): refused as well.
    assert d.url == f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Messages.json?PageSize=1"


def test_a_wrong_auth_token_says_auth_token_and_asks_once(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, auth_token="0" * 32, transport=sandbox.transport(), env={})
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 401, 20003)
    assert "did not accept these credentials (the Account SID and auth token)" in d.message
    assert "Account Info" in d.message and "TWILIO_AUTH_TOKEN" in d.message
    assert d.url.endswith(f"/Accounts/{c.account_sid}.json")  # an auth token always reads the account: no probing


def test_an_auth_token_reads_the_account(sandbox, fake):
    c = sandbox.credentials
    d = diagnose(
        connect(c.account_sid, auth_token=c.auth_token, transport=sandbox.transport(), env={}), **fake.options()
    )
    assert d.ok and d.key_type == "auth token" and d.friendly_name == "twibox sandbox (demo data)"
    assert c.auth_token not in d.message and c.auth_token not in str(d)


def test_a_standard_key_works_though_it_may_not_read_the_account(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.standard.sid, c.standard.secret, transport=sandbox.transport(), env={})
    d = conn.test()
    assert (d.ok, d.status, d.code, d.key_type, d.missing) == (True, 200, None, "Standard API key", ())
    assert d.message.startswith(f"Connected to Twilio account {c.account_sid} with a Standard API key: it reads ")
    assert "messages, calls and usage records" in d.message and "the account's name is not shown" in d.message
    assert d.friendly_name is None and c.standard.secret not in str(d)


def test_a_standard_key_on_the_loopback_server(sandbox, server):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.standard.sid, c.standard.secret, sandbox=False, env={},
                   transport=LoopbackTransport(server.url))  # fmt: skip
    d = conn.test()
    assert d.ok and d.key_type == "Standard API key"


def test_a_restricted_key_works_and_says_what_it_may_not_read(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.restricted.sid, c.restricted.secret, transport=sandbox.transport(), env={})
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.key_type, d.missing) == (True, "Restricted API key", ("twilio/voice/calls/list",))
    assert "with a Restricted API key: it reads messages and usage records" in d.message
    assert "It may not read calls: add the permission twilio/voice/calls/list to the key" in d.message
    assert "API keys & tokens" in d.message


def test_a_restricted_key_that_reads_none_of_the_lists(fake):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(f"{ACCOUNT}.json"):
            return twilio_error(401, 20003, "Authenticate")
        name = {"Messages.json": "messaging/messages/list", "Calls.json": "voice/calls/list"}.get(
            request.url.path.rsplit("/", 1)[-1], "billing/usage/read"
        )
        return twilio_error(401, 70051, f"Authorization Error: required permission twilio/{name} is missing")

    conn, net = mock_connection(answer)
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code, d.key_type) == (False, 401, 70051, "Restricted API key")
    assert d.missing == ("twilio/messaging/messages/list", "twilio/voice/calls/list", "twilio/billing/usage/read")
    assert d.message.startswith(
        "The API key is valid, but it is a Restricted key that may read none of messages, calls and usage records"
    )
    assert "or use a Standard key" in d.message and "did not accept" not in d.message
    assert len(net.requests) == 4 and fake.sleeps == []


def test_the_form_gets_its_own_words(sandbox, fake):
    c = sandbox.credentials
    conn = connect(c.account_sid, c.api_key, "not-the-secret", transport=sandbox.transport(), env={})
    d = diagnose(conn, words="form", **fake.options())
    assert "Check the API Key SID and API Key Secret fields" in d.message
    assert "arguments" not in d.message
    conn, _ = mock_connection(scripted(twilio_error(404, 20404, "The requested resource was not found")))
    assert "check the Account SID field (AC…" in diagnose(conn, words="form", **fake.options()).message


def test_a_wrong_region(fake):
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.dublin.ie1.twilio.com"
        return twilio_error(401, 20003, "Authenticate")  # credentials are kept per region

    conn, _ = mock_connection(answer, region="ie1", edge="dublin")
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 401, 20003)
    assert "another region than region 'ie1' and edge 'dublin'" in d.message
    assert "api.dublin.ie1.twilio.com" in d.message and "(the API key and its secret)" in d.message


def test_an_auth_token_that_may_not_read_the_account(fake):
    net = Recorder(scripted(twilio_error(403, 20403, "Forbidden")))
    conn = connect(ACCOUNT, auth_token="ab" * 16, transport=httpx.MockTransport(net), env={})
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code) == (False, 403, 20403)
    assert "(the Account SID and auth token) are valid but may not read" in d.message
    assert "Restricted API key needs the read permissions" in d.message and len(net.requests) == 1


def test_an_api_key_forbidden_everywhere_is_told_which_permissions_it_lacks(fake):
    conn, net = mock_connection(scripted(twilio_error(403, 20403, "Forbidden")))
    d = diagnose(conn, **fake.options())
    assert (d.ok, d.status, d.code, d.key_type) == (False, 403, 20403, "Restricted API key")
    assert d.missing == ("twilio/messaging/messages/list", "twilio/voice/calls/list", "twilio/billing/usage/read")
    assert "valid, but it is a Restricted key" in d.message and len(net.requests) == 4


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
