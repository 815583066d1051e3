"""The Connect form: sandbox or credentials (any key that can read) → a tested connection; the secret
never stays in widget state; refusals say what to do in the form's words; a busy state while testing."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import ipywidgets as widgets
import pytest
from ipywidgets import embed

from twibox_nb.widgets._common import esc
from twibox_nb.widgets.connect import ConnectWidget

# Real-format credentials that are not the sandbox's: a test double answers for them.
SID = "AC" + "0123456789abcdef" * 2
KEY = "SK" + "fedcba9876543210" * 2
SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"  # 32 hex: the shape of a real secret or auth token


def saved_widget_state(*roots: widgets.Widget) -> str:
    """Everything a notebook saved with widget state could hold, as one text."""
    everything = widgets.Widget.get_manager_state(drop_defaults=False)  # every live widget's model
    embedded = embed.embed_data(views=list(roots), drop_defaults=False)  # what "save widget state" writes
    dependencies = embed.dependency_state(list(roots), drop_defaults=False)
    return json.dumps([everything, embedded, dependencies], default=str)


def account_double(seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answers the account resource like Twilio, for the credentials above only."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        expected = {
            "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode(),
            "Basic " + base64.b64encode(f"{SID}:{SECRET}".encode()).decode(),
        }
        if request.headers.get("Authorization") not in expected:
            return httpx.Response(
                401,
                json={"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                      "status": 401},
            )  # fmt: skip
        return httpx.Response(200, json={"sid": SID, "friendly_name": "My account", "status": "active"})

    return httpx.MockTransport(handle)


def test_the_sandbox_switch_connects_to_the_injected_sandbox(sandbox):
    connected = []
    w = ConnectWidget(sandbox=sandbox, env={}, on_connect=connected.append)
    assert w.sandbox_switch.value and w.credentials.layout.display == "none" and w.api_secret.disabled
    w.activate_button.click()
    assert w.diagnosis.ok and w.connection.is_sandbox and connected == [w.connection]
    assert "Connected to SANDBOX (demo data, not a real Twilio account)" in w.status.value
    assert "twibox sandbox (demo data)" in w.status.value and w.error.value == ""
    assert not w.activate_button.disabled and w.working.layout.display == "none"


def test_activate_empties_the_secret_before_any_request_and_no_saved_state_holds_it():
    seen: list[httpx.Request] = []
    w = ConnectWidget(env={}, transport=account_double(seen))
    secret_during_request = []
    inner = w.transport

    class Spy(httpx.BaseTransport):
        def handle_request(self, request):
            secret_during_request.append(w.api_secret.value)
            return inner.handle_request(request)

    w.transport = Spy()
    w.account_sid.value, w.api_key.value, w.api_secret.value = SID, KEY, SECRET
    w.region.value, w.edge.value = "ie1", "dublin"
    w.activate_button.click()
    assert w.diagnosis.ok, w.status.value
    assert secret_during_request == [""]  # emptied before the network was asked anything
    assert w.api_secret.value == ""
    assert seen[0].url.host == "api.dublin.ie1.twilio.com"
    assert w.connection.secret.reveal() == SECRET and SECRET not in repr(w.connection)
    assert "friendly name 'My account'" in w.status.value.replace("&#x27;", "'")
    saved = saved_widget_state(w)
    assert SECRET not in saved and '"value": ""' in json.dumps(w.api_secret.get_state())


def test_a_failed_activation_empties_the_field_too_and_says_why():
    seen: list[httpx.Request] = []
    w = ConnectWidget(env={}, transport=account_double(seen))
    w.account_sid.value, w.api_key.value, w.api_secret.value = "AC123", KEY, SECRET
    w.activate_button.click()  # malformed SID: refused before any request
    assert seen == [] and w.connection is None and w.api_secret.value == ""
    assert "'AC123' is not an Account SID" in w.error.message and "twibox-connect-error" in w.error._dom_classes
    assert w.api_secret.placeholder.startswith("kept from the last try")  # in kernel memory, not in the widget
    w.account_sid.value = SID
    w.activate_button.click()  # the kept secret is used: no need to type it again
    assert w.diagnosis.ok and w.connection.secret.reveal() == SECRET
    w.api_secret.value = "0" * 32
    w.activate_button.click()  # a wrong secret: Twilio's answer in plain words, with its link
    assert not w.diagnosis.ok and w.connection is None and w.api_secret.value == ""
    assert "Not connected (HTTP 401, Twilio error 20003)" in w.status.value
    assert "https://www.twilio.com/docs/errors/20003" in w.status.value
    assert SECRET not in saved_widget_state(w) and "0" * 32 not in saved_widget_state(w)


def test_environment_credentials_are_used_but_shown_masked():
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": KEY, "TWILIO_API_SECRET": SECRET, "TWILIO_REGION": "au1"}
    seen: list[httpx.Request] = []
    w = ConnectWidget(env=env, transport=account_double(seen))
    assert (w.account_sid.value, w.api_key.value, w.api_secret.value) == ("", "", "")  # nothing copied in
    assert w.account_sid.placeholder == f"AC…{SID[-4:]} (from TWILIO_ACCOUNT_SID)"
    assert w.api_key.placeholder == f"SK…{KEY[-4:]} (from TWILIO_API_KEY)"
    assert w.api_secret.placeholder == "•••••••• (from TWILIO_API_SECRET)"
    assert w.region.placeholder == "au1 (from TWILIO_REGION)"
    assert SECRET not in saved_widget_state(w)
    own = json.dumps(embed.dependency_state([w], drop_defaults=False))  # this form's models only (others typed SIDs)
    assert SID not in own and KEY not in own
    w.activate_button.click()
    assert w.diagnosis.ok and seen[0].url.host == "api.au1.twilio.com"
    assert SECRET not in saved_widget_state(w)


def test_a_real_format_auth_token_in_the_environment_is_never_shown(sandbox):
    """The sandbox's Account SID + auth token (32 hex, a real token's shape), through its transport."""
    c = sandbox.credentials
    env = {"TWILIO_ACCOUNT_SID": c.account_sid, "TWILIO_AUTH_TOKEN": c.auth_token}
    w = ConnectWidget(env=env, transport=sandbox.transport())
    assert w.api_secret.placeholder == "•••••••• (auth token from TWILIO_AUTH_TOKEN)"
    w.activate_button.click()
    assert w.diagnosis.ok and w.connection.username == c.account_sid and not w.connection.is_sandbox
    assert c.auth_token not in saved_widget_state(w) and c.auth_token not in w.status.value


def test_switching_to_the_sandbox_drops_a_typed_secret(sandbox):
    w = ConnectWidget(env={}, sandbox=sandbox)
    w.sandbox_switch.value = False
    assert not w.api_secret.disabled and w.credentials.layout.display is None
    w.api_secret.value = SECRET
    w.sandbox_switch.value = True
    assert w.api_secret.disabled
    w.activate_button.click()
    assert w.connection.is_sandbox and w.api_secret.value == "" and SECRET not in saved_widget_state(w)


def test_an_unexpected_error_is_shown_in_the_widget_not_lost():
    def explode(request):
        raise RuntimeError("transport exploded")

    w = ConnectWidget(env={}, transport=httpx.MockTransport(explode))
    w.account_sid.value, w.api_key.value, w.api_secret.value = SID, KEY, SECRET
    w.activate_button.click()  # nothing escapes the click
    assert "Unexpected error (please report it): RuntimeError: transport exploded" in w.error.message
    assert "Traceback" in w.error.value and w.error.layout.display is None
    assert w.api_secret.value == "" and not w.activate_button.disabled


@pytest.mark.parametrize(
    ("name", "css"),
    [("sandbox_switch", "connect-sandbox"), ("account_sid", "connect-account-sid"), ("api_key", "connect-api-key"),
     ("api_secret", "connect-api-secret"), ("region", "connect-region"), ("edge", "connect-edge"),
     ("activate_button", "connect-activate"), ("status", "connect-status")],
)  # fmt: skip
def test_every_control_has_a_stable_css_class(name, css):
    w = ConnectWidget(env={})
    assert f"twibox-{css}" in getattr(w, name)._dom_classes and "twibox-connect" in w._dom_classes


# --- every key that can read; refusals in the form's own words; the busy state (issue 15) -----------


def test_activate_works_with_a_standard_key(sandbox):
    """Twilio answers a Standard key's read of the account 401 (as the sandbox does): Activate still works."""
    c = sandbox.credentials
    w = ConnectWidget(env={}, transport=sandbox.transport())
    w.account_sid.value, w.api_key.value, w.api_secret.value = c.account_sid, c.standard.sid, c.standard.secret
    w.activate_button.click()
    assert w.diagnosis.ok and w.diagnosis.key_type == "Standard API key", w.status.value
    assert w.connection.username == c.standard.sid and w.error.value == ""
    assert "with a Standard API key: it reads messages, calls and usage records" in w.status.value
    assert c.standard.secret not in saved_widget_state(w) and w.api_secret.value == ""


def test_activate_with_a_restricted_key_says_what_it_may_not_read(sandbox):
    c = sandbox.credentials
    w = ConnectWidget(env={}, transport=sandbox.transport())
    w.account_sid.value, w.api_key.value, w.api_secret.value = c.account_sid, c.restricted.sid, c.restricted.secret
    w.activate_button.click()
    assert w.diagnosis.ok and w.diagnosis.missing == ("twilio/voice/calls/list",)
    assert "It may not read calls: add the permission twilio/voice/calls/list" in w.status.value


def test_a_wrong_secret_is_explained_in_the_forms_words(sandbox):
    c = sandbox.credentials
    w = ConnectWidget(env={}, transport=sandbox.transport())
    w.account_sid.value, w.api_key.value, w.api_secret.value = c.account_sid, c.standard.sid, "wrong"
    w.activate_button.click()
    assert not w.diagnosis.ok and w.connection is None
    assert "did not accept these credentials (the API key and its secret)" in w.status.value
    assert "Check the API Key SID and API Key Secret fields" in w.status.value
    assert "arguments" not in w.status.value


@pytest.mark.parametrize(
    ("typed", "env", "expected"),
    [
        ({}, {}, "Enter your Account SID (AC…, from the Twilio Console's Account Info), or switch on the sandbox."),
        ({"account_sid": SID}, {}, "Enter an API Key SID (SK…) and its secret from the Twilio Console (Account › "
         "API keys & tokens), or leave API Key SID empty and enter your auth token"),
        ({"account_sid": SID, "api_key": KEY}, {},
         f"Enter the API Key Secret of key SK…{KEY[-4:]}: Twilio shows it once, when the key is created"),
        ({"account_sid": SID}, {"TWILIO_API_KEY": KEY}, f"Enter the API Key Secret of key SK…{KEY[-4:]}"),
    ],
)  # fmt: skip
def test_empty_fields_say_what_to_enter(typed, env, expected):
    seen: list[httpx.Request] = []
    w = ConnectWidget(env=env, transport=account_double(seen))
    for name, value in typed.items():
        getattr(w, name).value = value
    w.activate_button.click()
    assert seen == [] and w.connection is None
    assert w.error.message.startswith(expected) and esc(expected) in w.error.value  # shown as written
    for python_words in ("pass ", "account_sid=", "api_secret=", "connect(", "TWILIO_ACCOUNT_SID"):
        assert python_words not in w.error.message


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("api_key", SID, "The API Key SID field holds an Account SID: an API Key SID starts with SK"),
        ("api_key", "SK12", "'SK12' is not an API Key SID: it is SK followed by 32 hex digits"),
        ("region", "ie9x", "Region 'ie9x' is not a Twilio region name: choose one of us1, ie1, au1"),
        ("edge", "0f" * 16, "Edge a 32-character value is not a Twilio edge name: choose one of ashburn"),
    ],
)
def test_a_malformed_field_is_refused_in_the_forms_words(field, value, expected):
    seen: list[httpx.Request] = []
    w = ConnectWidget(env={}, transport=account_double(seen))
    w.account_sid.value, w.api_key.value, w.api_secret.value = SID, KEY, SECRET
    getattr(w, field).value = value
    w.activate_button.click()
    assert seen == [] and w.error.message.startswith(expected)
    assert SECRET not in w.error.value and SECRET not in saved_widget_state(w)  # the password field's secret
    assert len(value) < 20 or value not in w.error.value  # a long value (a secret in the wrong field?) is not shown


def test_a_secret_that_is_no_auth_token_is_never_shown():
    seen: list[httpx.Request] = []
    w = ConnectWidget(env={}, transport=account_double(seen))
    w.account_sid.value, w.api_secret.value = SID, "Zq9-NEVER-SHOW-THIS-SECRET-7f3"
    w.activate_button.click()
    assert seen == [] and "Without an API Key SID the secret field takes your auth token" in w.error.message
    assert "NEVER-SHOW" not in w.error.value and "NEVER-SHOW" not in saved_widget_state(w)


def test_a_malformed_environment_value_names_its_variable_and_what_to_do():
    w = ConnectWidget(env={"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_API_KEY": KEY, "TWILIO_API_SECRET": SECRET})
    w.activate_button.click()
    assert w.error.message.startswith("TWILIO_ACCOUNT_SID 'AC123' is not an Account SID")
    assert w.error.message.endswith("Type the right value in its field (it takes precedence), or fix the variable.")
    assert SECRET not in w.error.value


def test_testing_shows_the_busy_state_and_a_click_meanwhile_is_not_queued(sandbox):
    """A slow transport: while the test runs, "Testing the connection…" shows, Activate and the fields are
    disabled, and a click that still arrives does nothing (no second test after the first)."""
    c = sandbox.credentials
    inner = sandbox.transport()
    during: list[tuple] = []

    class Slow(httpx.BaseTransport):
        def handle_request(self, request):
            during.append((w.activate_button.disabled, w.working.layout.display, w.account_sid.disabled,
                           w.api_secret.disabled, w.sandbox_switch.disabled))  # fmt: skip
            w.activate_button.click()  # what a queued click would do: it must not start a second test
            time.sleep(0.05)
            return inner.handle_request(request)

    w = ConnectWidget(env={}, transport=Slow())
    assert w.working.layout.display == "none" and "Testing the connection…" in w.working.value
    w.account_sid.value, w.api_key.value, w.api_secret.value = c.account_sid, c.standard.sid, c.standard.secret
    w.activate_button.click()
    assert w.diagnosis.ok and w.diagnosis.key_type == "Standard API key"
    # The account (refused to a Standard key) and one record of messages, calls and usage: four requests, once.
    assert during == [(True, None, True, True, True)] * 4
    assert not w.activate_button.disabled and w.working.layout.display == "none"
    assert not w.account_sid.disabled and not w.api_secret.disabled and not w.sandbox_switch.disabled


def test_a_click_sent_while_the_connection_was_tested_is_ignored_once_it_is_handled(sandbox):
    """ipywidgets queues a double click's second half until the first test ends: its send time says
    it was sent while the test ran, so it starts no second test (the builder's Busy, shared)."""
    c = sandbox.credentials
    requests: list[str] = []
    inner = sandbox.transport()

    class Slow(httpx.BaseTransport):
        def handle_request(self, request):
            requests.append(str(request.url))
            time.sleep(0.1)
            return inner.handle_request(request)

    w = ConnectWidget(env={}, transport=Slow())
    first = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
    sent = [first]
    w.busy._clock = lambda: sent[0]
    w.account_sid.value, w.api_key.value, w.api_secret.value = c.account_sid, c.api_key, c.api_secret
    w.activate_button.click()
    tested = len(requests)
    assert w.diagnosis.ok and tested >= 1
    sent[0] = first + timedelta(milliseconds=30)
    w.activate_button.click()  # queued behind the first test: ignored
    assert len(requests) == tested and w.busy.ignored == 1
    sent[0] = first + timedelta(hours=1)
    w.api_secret.value = c.api_secret  # emptied after the first test (the connection holds it)
    w.activate_button.click()  # a new click tests again
    assert len(requests) == 2 * tested
