"""connect(): credentials from arguments or the environment, hosts, and where secrets may go."""

from __future__ import annotations

import pickle

import httpx
import pytest

from twibox_nb._exceptions import CredentialsError, UnsafeRequestError
from twibox_nb.fetch.connection import Secret, connect
from twibox_nb.fetch.hosts import is_twilio_url
from twibox_nb.sandbox import DEMO_CREDENTIALS

AC = "AC" + "a1" * 16
SK = "SK" + "b2" * 16
SECRET = "Xy7secretValueThatMustNeverShow"
TOKEN = "c3" * 16


def test_arguments_win_over_the_environment():
    env = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_API_KEY": "SK" + "0" * 32, "TWILIO_API_SECRET": "env"}
    conn = connect(AC, SK, SECRET, env=env)
    assert (conn.account_sid, conn.username, conn.secret.reveal()) == (AC, SK, SECRET)


def test_environment_variables():
    env = {"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK, "TWILIO_API_SECRET": SECRET, "TWILIO_REGION": "IE1",
           "TWILIO_EDGE": "dublin"}  # fmt: skip
    conn = connect(env=env)
    assert conn.username == SK and conn.region == "ie1" and conn.edge == "dublin"
    assert conn.host("api") == "api.dublin.ie1.twilio.com"
    assert conn.route("https://monitor.twilio.com") == "https://monitor.dublin.ie1.twilio.com"


def test_auth_token_is_the_fallback():
    conn = connect(env={"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": TOKEN})
    assert conn.username == AC and conn.secret.reveal() == TOKEN


def test_edge_alone_means_the_us1_region():
    assert connect(AC, SK, SECRET, edge="sydney", env={}).host("api") == "api.sydney.us1.twilio.com"
    assert connect(AC, SK, SECRET, region="au1", env={}).host("api") == "api.au1.twilio.com"
    assert connect(AC, SK, SECRET, env={}).host("api") == "api.twilio.com"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no Account SID"),
        ({"account_sid": "AC123"}, "not an Account SID"),
        ({"account_sid": AC}, "no credentials"),
        ({"account_sid": AC, "api_key": AC, "api_secret": SECRET}, "that is an Account SID"),
        ({"account_sid": AC, "api_key": SK}, "has no secret"),
        ({"account_sid": AC, "auth_token": "short"}, "malformed"),
        ({"account_sid": AC, "api_key": SK, "api_secret": SECRET, "region": "ie 1"}, "region"),
    ],
)
def test_bad_credentials_are_caught_before_any_request(kwargs, message):
    with pytest.raises(CredentialsError, match=message) as caught:
        connect(env={}, **kwargs)
    assert SECRET not in str(caught.value)


def test_a_malformed_token_is_not_echoed():
    with pytest.raises(CredentialsError) as caught:
        connect(AC, auth_token="not-a-token-but-secret", env={})
    assert "not-a-token-but-secret" not in str(caught.value)


def test_the_secret_never_shows():
    conn = connect(AC, SK, SECRET, env={})
    for text in (repr(conn), str(conn), f"{conn}", repr(conn.secret), str(conn.secret), f"{conn.secret}",
                 repr(conn.auth())):  # fmt: skip
        assert SECRET not in text
    assert "***" in repr(conn)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(conn)
    with pytest.raises(TypeError):
        pickle.dumps(Secret(SECRET))


def test_credentials_only_go_to_twilio_hosts():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    conn = connect(AC, SK, SECRET, env={}, transport=httpx.MockTransport(handler))
    with httpx.Client(transport=conn.transport, auth=conn.auth()) as c:
        c.get("https://api.twilio.com/2010-04-01/Accounts.json")
        for url in ("https://evil.example.com/x", "http://api.twilio.com/x", "https://twilio.com.evil.net/x"):
            with pytest.raises(UnsafeRequestError, match=r"only https://\*\.twilio\.com"):
                c.get(url)
    assert [str(r.url.host) for r in sent] == ["api.twilio.com"]
    assert sent[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.twilio.com/x", True),
        ("https://monitor.dublin.ie1.twilio.com/v1", True),
        ("https://twilio.com/x", False),
        ("https://api.twilio.com.evil.net/x", False),
        ("http://api.twilio.com/x", False),
    ],
)
def test_is_twilio_url(url, ok):
    assert is_twilio_url(url) is ok


def test_sandbox_connections_are_marked_and_use_demo_credentials(server):
    in_process = connect(sandbox=True)
    loopback = connect(sandbox=server.url)
    for conn in (in_process, loopback):
        assert conn.is_sandbox and "SANDBOX" in conn.label and "SANDBOX" in repr(conn)
        assert conn.account_sid == DEMO_CREDENTIALS.account_sid
        assert DEMO_CREDENTIALS.api_secret not in repr(conn)
    assert server.url in loopback.label
    with httpx.Client(transport=loopback.transport, auth=loopback.auth()) as c:
        r = c.get(f"https://api.twilio.com/2010-04-01/Accounts/{loopback.account_sid}/Balance.json")
        alerts = c.get("https://monitor.twilio.com/v1/Alerts", params={"PageSize": 1}).json()
    assert r.status_code == 200 and r.json()["currency"] == "USD"
    assert alerts["meta"]["next_page_url"].startswith("https://monitor.twilio.com/")  # back through the sandbox


def test_a_sandbox_url_must_be_loopback():
    with pytest.raises(CredentialsError, match="loopback"):
        connect(sandbox="http://192.0.2.10:8765")
    with pytest.raises(CredentialsError, match="loopback"):
        connect(sandbox=42)  # type: ignore[arg-type]


def test_real_connections_are_labelled_with_their_account():
    assert connect(AC, SK, SECRET, region="ie1", env={}).label == f"Twilio account {AC} (ie1)"
    with pytest.raises(UnsafeRequestError, match="not a Twilio host"):
        connect(AC, SK, SECRET, env={}).route("https://example.com")
