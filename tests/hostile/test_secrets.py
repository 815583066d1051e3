"""Hostile cases for secrets: never echoed from a wrong argument, never in a store URL's message,
never in a pickle, never saved in a metric file (issue 14)."""

from __future__ import annotations

import base64
import pickle

import pytest

from twibox_nb._exceptions import ChoiceError, CredentialsError, SpecError, StoreError
from twibox_nb.builder.describe import DescribeStep
from twibox_nb.cli import main
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import MetricSpec, RequestSpec
from twibox_nb.store.db import resolve
from twibox_nb.store.metric_store import Store

from ..conftest import MESSAGES_PATH

AC = "AC" + "a1" * 16
SK = "SK" + "b2" * 16
API_SECRET = "q8hk2lmn0prs4tuvw6xyza1bc3de5fg7"  # lowercase alphanumerics: it would pass as a host label
MIXED_SECRET = "Q8Hk2LmN0pRs4TuVw6XyZa1Bc3De5Fg7"
AUTH_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PG_PASSWORD = "Pg-PASSWORD-never-shown-71x"


# --- 1. a secret passed in the wrong argument is never echoed ------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"account_sid": AC, "api_key": API_SECRET, "api_secret": SK}, "api_key a 32-character value"),
        ({"account_sid": AC, "api_key": MIXED_SECRET, "api_secret": SK}, "api_key a 32-character value"),
        ({"account_sid": API_SECRET, "api_key": SK, "api_secret": API_SECRET}, "account_sid a 32-character value"),
        ({"account_sid": AUTH_TOKEN, "auth_token": AUTH_TOKEN}, "account_sid a 32-character value"),
        ({"account_sid": AC, "api_key": SK, "api_secret": "x" * 32, "region": API_SECRET}, "region a 32-char"),
        ({"account_sid": AC, "api_key": SK, "api_secret": "x" * 32, "region": MIXED_SECRET}, "region a 32-char"),
        ({"account_sid": AC, "api_key": SK, "api_secret": "x" * 32, "edge": API_SECRET}, "edge a 32-character"),
        ({"account_sid": AC, "api_key": SK, "api_secret": "x" * 32, "edge": AUTH_TOKEN}, "edge a 32-character"),
    ],
)
def test_a_secret_in_the_wrong_argument_is_described_not_echoed(kwargs, named):
    with pytest.raises(CredentialsError) as caught:
        connect(env={}, **kwargs)
    message = str(caught.value)
    assert named in message
    for secret in (API_SECRET, MIXED_SECRET, AUTH_TOKEN):
        assert secret not in message and secret.lower() not in message.lower()


def test_a_key_sid_given_as_the_account_is_shaped_with_its_prefix():
    with pytest.raises(CredentialsError, match="a 34-character value starting with SK is not an Account SID"):
        connect(SK, SK, API_SECRET, env={})


def test_the_secret_in_twilio_api_key_is_not_echoed_by_twibox_fetch(monkeypatch, capsys):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", AC)
    monkeypatch.setenv("TWILIO_API_KEY", MIXED_SECRET)
    monkeypatch.setenv("TWILIO_API_SECRET", SK)
    assert main(["fetch", "Messages sent", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "TWILIO_API_KEY a 32-character value is not an API key SID" in err
    assert MIXED_SECRET not in out + err


def test_short_plain_values_are_still_quoted_so_typos_are_easy_to_see():
    with pytest.raises(CredentialsError, match=r"account_sid 'AC123' is not an Account SID"):
        connect("AC123", SK, API_SECRET, env={})
    with pytest.raises(CredentialsError, match=r"region 'ie 1' is not a Twilio region"):
        connect(AC, SK, API_SECRET, region="ie 1", env={})
    assert connect(AC, SK, API_SECRET, region="IE1", edge="sao-paulo", env={}).host("api") == (
        "api.sao-paulo.ie1.twilio.com"
    )


# --- 2. a PostgreSQL password never shows -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://me@127.0.0.1:1/metrics?password={PG_PASSWORD}",
        f"postgresql://me@127.0.0.1:1/metrics?sslmode=disable&pass%77ord={PG_PASSWORD}",
        f"postgresql://me:{PG_PASSWORD}@127.0.0.1:1/metrics",
        f"postgres://me:{PG_PASSWORD.replace('-', '%2D')}@127.0.0.1:1/metrics",
        f"postgresql://me:{PG_PASSWORD}@x@127.0.0.1:1/metrics",
        f"host=127.0.0.1 port=1 user=me password={PG_PASSWORD} dbname=metrics",
        f"host=127.0.0.1 port=1 user=me password='{PG_PASSWORD} x' dbname=metrics",
    ],
)
def test_a_postgresql_password_is_redacted_in_every_form(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a keyword string once became a SQLite file of that name, here
    location = resolve(url)
    shown = [location.url, repr(location), location.scrub(f"driver said: {url}")]
    with pytest.raises(StoreError) as caught:
        Store(url)
    shown.append(str(caught.value))
    for text in shown:
        assert PG_PASSWORD not in text and PG_PASSWORD.replace("-", "%2D") not in text, text
    assert location.kind == "postgresql"
    assert not list(tmp_path.iterdir())  # nothing was created as a file


def test_percent_encoded_and_unknown_urls_are_redacted_too():
    encoded = f"postgresql%3A%2F%2Fme%3A{PG_PASSWORD}%40db%2Fmetrics"
    for url in (encoded, f"mysql://me:{PG_PASSWORD}@db/metrics"):
        with pytest.raises(StoreError) as caught:
            resolve(url)
        assert PG_PASSWORD not in str(caught.value) and "***" in str(caught.value)


def test_twibox_history_never_prints_the_password(capsys):
    url = f"postgresql://me@127.0.0.1:1/metrics?password={PG_PASSWORD}"
    assert main(["history", "Messages sent", "--store", url]) == 1
    out, err = capsys.readouterr()
    assert "password=***" in err and PG_PASSWORD not in out + err


# --- 3. auth objects refuse to be pickled -------------------------------------------------------


def test_auth_objects_refuse_to_be_pickled():
    conn = connect(AC, SK, MIXED_SECRET, env={})
    auth = conn.auth()
    for thing in (auth, conn, conn.secret):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(thing)
    basic = base64.b64encode(f"{SK}:{MIXED_SECRET}".encode()).decode()
    held = repr(auth) + repr(getattr(auth, "__dict__", {}))
    assert MIXED_SECRET not in held and basic not in held


# --- 4. saved specs never hold a credential -----------------------------------------------------


def spec_with(headers=None, params=None, **extra) -> MetricSpec:
    return MetricSpec.from_dict(
        {
            "twibox_metric": 1,
            "name": "Messages",
            "request": {
                "path": MESSAGES_PATH,
                "params": {"PageSize": "1000", **(params or {})},
                "headers": headers or {},
            },
            "value": {"count": True},
            "dimension": None,
            "date": {"field": "date_sent"},
            **extra,
        }
    )


USERINFO = f"https://{SK}:{MIXED_SECRET}@example.com/x"
PAIRS = [
    ({"X-Foo": f"{SK}:{MIXED_SECRET}"}, None, "request.headers.X-Foo"),
    (None, {"Foo": USERINFO}, "request.params.Foo"),
    (None, {"Foo": "https://me:hunter2@example.com"}, "request.params.Foo"),
    ({"X-Foo": f" {AUTH_TOKEN}"}, None, "request.headers.X-Foo"),
    (None, {"Foo": f"{AC}:{AUTH_TOKEN}"}, "request.params.Foo"),
]


@pytest.mark.parametrize(("headers", "params", "field"), PAIRS)
def test_a_file_never_saves_a_credential_under_a_neutral_name(headers, params, field, tmp_path):
    spec = spec_with(headers, params)
    target = tmp_path / "m.json"
    with pytest.raises(SpecError) as caught:
        spec.save(target)
    assert caught.value.field == field
    assert MIXED_SECRET not in str(caught.value) and AUTH_TOKEN not in str(caught.value)
    assert not target.exists()


def test_extra_keys_are_checked_too(tmp_path):
    spec = spec_with(notes=f"login with https://admin:{PG_PASSWORD}@example.com")
    with pytest.raises(SpecError, match=r"^notes: holds a user name and password"):
        spec.save(tmp_path / "m.json")


SECRET_FORMS = {
    "as is": MIXED_SECRET,
    "inside": f"prefix-{MIXED_SECRET}-suffix",
    "spaced": " ".join(MIXED_SECRET[i : i + 8] for i in range(0, 32, 8)),
    "basic": "Basic " + base64.b64encode(f"{SK}:{MIXED_SECRET}".encode()).decode(),
    "base64 inside": "x" + base64.b64encode(f"{SK}:{MIXED_SECRET}".encode()).decode(),
    "urlsafe, no padding": base64.urlsafe_b64encode(f"u:{MIXED_SECRET}".encode()).decode().rstrip("="),
    "percent-encoded": "".join(f"%{ord(c):02X}" for c in MIXED_SECRET),
}


class _Step(DescribeStep):
    def __init__(self, spec, conn) -> None:
        self.spec, self.conn, self.saved_path, self._saved_spec = spec, conn, None, None


@pytest.mark.parametrize("form", sorted(SECRET_FORMS))
def test_the_connections_own_secret_is_refused_wherever_it_is_saved(form, tmp_path):
    conn = connect(AC, SK, MIXED_SECRET, env={})
    value = SECRET_FORMS[form]
    for where in ({"headers": {"X-Foo": value}}, {"params": {"Foo": value}}, {"description": value}):
        try:
            spec = spec_with(**where)
        except SpecError as exc:  # the spec's own checks refuse some forms (a Basic header) already
            assert MIXED_SECRET not in str(exc)
            continue
        target = tmp_path / "m.json"
        with pytest.raises(ChoiceError, match=r"the connection's secret|credential") as caught:
            _Step(spec, conn).save(str(target))
        assert MIXED_SECRET not in str(caught.value) and not target.exists()
        with Store("sqlite:///:memory:") as store:
            with pytest.raises(SpecError) as refused:
                store.sync(spec, conn, "yesterday")  # refused before anything is fetched or written
            assert MIXED_SECRET not in str(refused.value) and store.metrics().empty


def test_an_auth_token_connection_is_checked_against_its_token(tmp_path):
    conn = connect(AC, auth_token=AUTH_TOKEN, env={})
    with pytest.raises(ChoiceError):
        _Step(spec_with(params={"Foo": f"x{AUTH_TOKEN.upper()}x"}), conn).save(str(tmp_path / "m.json"))


def test_ordinary_specs_still_save(tmp_path):
    conn = connect(AC, SK, MIXED_SECRET, env={})
    spec = spec_with({"X-Trace": "abc"}, {"To": "+15551234567", "Status": "delivered"})
    assert _Step(spec, conn).save(str(tmp_path / "m.json")).endswith("m.json")
    assert MetricSpec.from_json((tmp_path / "m.json").read_text()) == spec
    assert RequestSpec(MESSAGES_PATH).headers == ()
