"""The sandbox's API key types: a Main key and the auth token read everything; a Standard key all but
the Accounts and Keys resources (answered 401, code 20003, as Twilio answers them); a Restricted key
only what its permissions allow (401, code 70051, naming the missing permission)."""

from __future__ import annotations

import httpx
import pytest

from twibox_nb.sandbox import DEMO_CREDENTIALS, DemoKey

AUTHENTICATE = {
    "code": 20003,
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
}


def client_for(sandbox, user: str, secret: str) -> httpx.Client:
    return httpx.Client(transport=sandbox.transport(), auth=(user, secret))


@pytest.fixture
def standard(sandbox):
    with client_for(sandbox, sandbox.credentials.standard.sid, sandbox.credentials.standard.secret) as c:
        yield c


@pytest.fixture
def restricted(sandbox):
    with client_for(sandbox, sandbox.credentials.restricted.sid, sandbox.credentials.restricted.secret) as c:
        yield c


def test_the_demo_keys_are_published_but_their_secrets_never_shown():
    c = DEMO_CREDENTIALS
    assert isinstance(c.standard, DemoKey) and isinstance(c.restricted, DemoKey)
    assert len({c.api_key, c.standard.sid, c.restricted.sid}) == 3
    for key in (c.standard, c.restricted):
        assert key.sid.startswith("SK") and len(key.sid) == 34 and key.secret not in repr(key)
        assert key.secret not in repr(c) and c.key(key.sid) is key
    assert c.key(c.api_key) is None and c.standard.allow == frozenset()


@pytest.mark.parametrize(
    "path",
    [".json", "/Keys.json", "/Keys/SK" + "0" * 32 + ".json", "/SigningKeys.json"],
)
def test_a_standard_key_may_not_read_the_account_nor_the_keys(standard, api, path):
    r = standard.get(f"{api}{path}")
    assert (r.status_code, r.json()) == (401, AUTHENTICATE)
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


def test_a_standard_key_may_not_list_accounts_nor_iam_keys(sandbox, standard):
    assert standard.get("https://api.twilio.com/2010-04-01/Accounts.json").json() == AUTHENTICATE
    assert standard.get("https://iam.twilio.com/v1/Keys").json() == AUTHENTICATE


def test_a_standard_key_reads_every_list_like_the_main_key(standard, client, api):
    for url in (
        f"{api}/Messages.json?PageSize=1",
        f"{api}/Calls.json?PageSize=1",
        f"{api}/Usage/Records.json?PageSize=1",
        f"{api}/IncomingPhoneNumbers.json?PageSize=1",
        f"{api}/Balance.json",
        "https://monitor.twilio.com/v1/Alerts?PageSize=1",
        "https://messaging.twilio.com/v1/Services?PageSize=1",
    ):
        mine, main = standard.get(url), client.get(url)
        assert mine.status_code == 200, (url, mine.text)
        assert mine.json() == main.json()


def test_the_main_key_and_the_auth_token_still_read_the_account(sandbox, client, api, creds):
    assert client.get(f"{api}.json").json()["sid"] == creds.account_sid
    with client_for(sandbox, creds.account_sid, creds.auth_token) as token:
        assert token.get(f"{api}.json").json()["auth_token"] == creds.auth_token


def test_a_restricted_key_reads_what_it_is_allowed(restricted, client, api):
    for url in (f"{api}/Messages.json?PageSize=2", f"{api}/Usage/Records/Daily.json?PageSize=3"):
        r = restricted.get(url)
        assert r.status_code == 200 and r.json() == client.get(url).json()
    one = client.get(f"{api}/Messages.json?PageSize=1").json()["messages"][0]["sid"]
    assert restricted.get(f"{api}/Messages/{one}.json").json()["sid"] == one  # messages/read


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("/Calls.json", "twilio/voice/calls/list"),
        ("/IncomingPhoneNumbers.json", "twilio/phone-numbers/incoming-phone-numbers/list"),
        ("https://monitor.twilio.com/v1/Alerts", "twilio/monitor/alerts/list"),
        ("https://messaging.twilio.com/v1/Services", "twilio/messaging/services/list"),
    ],
)
def test_a_restricted_key_is_told_which_permission_it_lacks(restricted, api, path, permission):
    r = restricted.get(path if path.startswith("https") else f"{api}{path}")
    assert r.status_code == 401
    assert r.json() == {
        "code": 70051,
        "message": f"Authorization Error: required permission {permission} is missing",
        "more_info": "https://www.twilio.com/docs/errors/70051",
        "status": 401,
    }


def test_a_restricted_key_is_refused_what_no_permission_covers(restricted, api):
    assert restricted.get(f"{api}/Balance.json").json()["code"] == 70051
    assert restricted.get(f"{api}.json").json() == AUTHENTICATE  # the account: Main keys and the auth token only


def test_a_wrong_secret_for_a_known_key_is_still_401(sandbox, api, creds):
    with client_for(sandbox, creds.standard.sid, creds.restricted.secret) as wrong:
        assert wrong.get(f"{api}/Messages.json").json() == AUTHENTICATE
    with client_for(sandbox, creds.restricted.sid, creds.api_secret) as wrong:
        assert wrong.get(f"{api}/Messages.json").json() == AUTHENTICATE


def test_the_loopback_server_answers_the_same(sandbox, server, creds):
    base = f"{server.url}/2010-04-01/Accounts/{creds.account_sid}"
    with httpx.Client(auth=(creds.standard.sid, creds.standard.secret)) as c:
        assert c.get(f"{base}.json").status_code == 401
        assert c.get(f"{base}/Messages.json", params={"PageSize": 1}).status_code == 200
    with httpx.Client(auth=(creds.restricted.sid, creds.restricted.secret)) as c:
        assert c.get(f"{base}/Calls.json").json()["code"] == 70051
