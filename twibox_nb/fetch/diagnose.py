"""``conn.test()``: can these credentials read the account? Explained in plain words, with the key type."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from .._exceptions import FetchError, LimitExceededError, ResponseFormatError, TwiboxError, TwilioAPIError
from .session import RETRY_STATUSES, Clock, Jitter, RetryPolicy, Sleep, _Session

if TYPE_CHECKING:
    from .connection import Connection


# --- diagnosis -----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Diagnosis:
    """The answer to "do these credentials work?", in plain words (``Connection.test()``).

    >>> Diagnosis(False, 401, 20003, "Twilio did not accept these credentials.",
    ...           "https://www.twilio.com/docs/errors/20003")
    Diagnosis: FAILED (HTTP 401, Twilio error 20003)
      Twilio did not accept these credentials.
      More: https://www.twilio.com/docs/errors/20003
    """

    ok: bool
    status: int | None
    code: int | None
    message: str
    more_info: str | None = None
    url: str | None = None
    friendly_name: str | None = None
    sandbox: bool = False
    elapsed: float | None = None  # seconds until the answer (or until giving up), retries included
    # "auth token", "Main API key", "Standard API key" or "Restricted API key" when the test could tell
    key_type: str | None = None
    missing: tuple[str, ...] = ()  # the permissions a Restricted key lacks, in Twilio's names

    def __str__(self) -> str:
        detail = [f"HTTP {self.status}"] if self.status is not None else ["no answer"]
        if self.code is not None:
            detail.append(f"Twilio error {self.code}")
        lines = [f"Diagnosis: {'OK' if self.ok else 'FAILED'} ({', '.join(detail)})", f"  {self.message}"]
        if self.more_info:
            lines.append(f"  More: {self.more_info}")
        return "\n".join(lines)

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.ok


def _where(conn: Connection) -> str:
    parts = [f"region {conn.region!r}" if conn.region else "", f"edge {conn.edge!r}" if conn.edge else ""]
    return " and ".join(p for p in parts if p)


# How the connection test reads, and why. Twilio has four kinds of credentials: the Account SID +
# auth token and a Main API key read everything; a Standard API key everything but the Accounts and
# Keys resources; a Restricted API key only what its permissions allow. Twilio answers a Standard
# key's read of the account resource with 401 (code 20003, "Authenticate"), exactly as it answers a
# wrong secret (twilio-python#259), so for an API key that answer alone proves nothing. The test
# therefore reads the account first (the auth token and Main keys get its name in one request) and,
# when an API key is refused there, reads one record of the lists metrics read most: a valid key
# that may read any of them works. A Restricted key without a permission gets 401 with code 70051
# naming it, which is not an authentication failure: the key is valid.
READ_PROBES = (
    ("messages", "Messages.json", "twilio/messaging/messages/list"),
    ("calls", "Calls.json", "twilio/voice/calls/list"),
    ("usage records", "Usage/Records.json", "twilio/billing/usage/read"),
)
AUTHENTICATE = 20003  # Twilio's code for credentials it does not accept
_PERMISSION = re.compile(r"permission (\S+) is missing")
# Where the credentials come from, in the words of whoever asked: a Python caller or the Connect form.
SOURCES = {
    "python": {
        "key": "They come from the arguments or TWILIO_API_KEY, TWILIO_API_SECRET, TWILIO_AUTH_TOKEN.",
        "sid": "check TWILIO_ACCOUNT_SID",
    },
    "form": {
        "key": "Check the API Key SID and API Key Secret fields (empty fields use TWILIO_API_KEY and "
        "TWILIO_API_SECRET), or leave API Key SID empty and enter the auth token as the secret.",
        "sid": "check the Account SID field (AC…, from the Twilio Console's Account Info)",
    },
}
CONSOLE_KEYS = "the Twilio Console (Account › API keys & tokens)"


def _kind(conn: Connection) -> str:
    """Which credentials these are, in words."""
    return "the API key and its secret" if conn.username.startswith("SK") else "the Account SID and auth token"


def diagnose(
    conn: Connection,
    *,
    policy: RetryPolicy | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    jitter: Jitter = random.random,
    words: str = "python",
) -> Diagnosis:
    """Read the account (and, for an API key refused there, one record of a few lists), explained:
    are the credentials, their key type, the region and the network right? ``words="form"`` words
    the advice for the Connect form (its fields) instead of a Python caller (arguments, variables).

    >>> from twibox_nb.fetch.connection import connect
    >>> d = diagnose(connect(sandbox=True))
    >>> d.ok, d.sandbox, d.friendly_name, d.key_type
    (True, True, 'twibox sandbox (demo data)', 'Main API key')
    """
    policy = policy or RetryPolicy(max_retries=2, timeout=15.0)
    base = f"{conn.base_url('api')}/2010-04-01/Accounts/{conn.account_sid}"
    url = httpx.URL(f"{base}.json")
    started = clock()
    is_key = conn.username.startswith("SK")

    def failed(exc: TwiboxError, at: httpx.URL, message: str | None = None, **extra) -> Diagnosis:
        api = isinstance(exc, TwilioAPIError)
        return Diagnosis(
            ok=False,
            status=exc.status if api else None,
            code=exc.code if api else None,
            message=message or _explain(exc, conn, at.host, words),
            more_info=exc.more_info if api else None,
            url=str(at),
            sandbox=conn.is_sandbox,
            elapsed=clock() - started,
            **extra,
        )

    with _Session(conn, policy, sleep, jitter) as session:
        try:
            status, body = session.get_json(url, httpx.Headers())
        except (TwilioAPIError, FetchError, ResponseFormatError) as exc:
            if not (is_key and isinstance(exc, TwilioAPIError) and exc.status in (401, 403)):
                return failed(exc, url)
            return _probe_lists(conn, session, base, failed, lambda: clock() - started)
    # Only the friendly name and status are read: the body may hold the auth token.
    name = body.get("friendly_name") if isinstance(body, dict) else None
    state = body.get("status") if isinstance(body, dict) else None
    kind = "Main API key" if is_key else "auth token"
    message = f"Connected to {conn.label}" + (f", friendly name {name!r}" if name else "") + f" ({kind})."
    if state not in (None, "active"):
        message += f" Note: the account is {state}."
    return Diagnosis(
        True, status, None, message, None, str(url), name, conn.is_sandbox, clock() - started, key_type=kind
    )


def _probe_lists(conn: Connection, session: _Session, base: str, failed, elapsed) -> Diagnosis:
    """An API key that may not read the account: which of the lists in READ_PROBES may it read?"""
    readable: list[str] = []
    missing: list[tuple[str, str]] = []  # (what, permission)
    denial: TwilioAPIError | None = None
    url = httpx.URL(base)
    for what, path, permission in READ_PROBES:
        url = httpx.URL(f"{base}/{path}", params={"PageSize": 1})
        try:
            session.get_json(url, httpx.Headers())
        except TwilioAPIError as exc:
            if exc.status in (401, 403) and exc.code != AUTHENTICATE:  # authorized no further: a Restricted key
                found = _PERMISSION.search(exc.message or "")
                missing.append((what, found.group(1) if found else permission))
                denial = exc
                continue
            return failed(exc, url)  # credentials refused (401/20003), or another answer
        except (FetchError, ResponseFormatError) as exc:
            return failed(exc, url)
        readable.append(what)
    permissions = [p for _, p in missing]
    if not readable:
        assert denial is not None
        message = (
            f"The API key is valid, but it is a Restricted key that may read none of {_join(w for w, _ in missing)}: "
            f"it lacks the permissions {_join(permissions)}. Add the ones your metrics need to the key in "
            f"{CONSOLE_KEYS}, or use a Standard key."
        )
        return failed(denial, url, message, key_type="Restricted API key", missing=tuple(permissions))
    reads = f"it reads {_join(readable)}"
    if missing:
        kind = "Restricted API key"
        note = (
            f" It may not read {_join(w for w, _ in missing)}: add the permission{'s' if len(missing) > 1 else ''} "
            f"{_join(permissions)} to the key in {CONSOLE_KEYS} for metrics of {'those' if len(missing) > 1 else 'it'}."
        )
    else:
        kind, note = "Standard API key", ""
    message = (
        f"Connected to {conn.label} with a {kind}: {reads} (only the auth token and Main keys may read the "
        f"account resource, so the account's name is not shown).{note}"
    )
    return Diagnosis(
        True, 200, None, message, None, str(url), None, conn.is_sandbox, elapsed(),
        key_type=kind, missing=tuple(permissions),
    )  # fmt: skip


def _join(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _explain(exc: TwiboxError, conn: Connection, host: str, words: str = "python") -> str:
    """What a failed diagnosis means, and what to try."""
    where = _where(conn)
    source = SOURCES.get(words, SOURCES["python"])
    if isinstance(exc, LimitExceededError):  # it was reached: the answer was too big or too slow
        return f"{host} answered, but {exc}"
    if isinstance(exc, FetchError):
        hint = (
            f"the {where} name may be wrong (Twilio hosts are product.edge.region.twilio.com), or there is no network"
            if where
            else "there may be no network connection, or a proxy or firewall blocks it"
        )
        return f"Could not reach {host}: {hint}. ({exc})"
    if not isinstance(exc, TwilioAPIError):
        return f"{host} did not answer like Twilio: {exc}"
    if exc.status == 401 and where:
        return (
            f"Twilio at {host} did not accept these credentials ({_kind(conn)}). Credentials belong to one "
            f"region: the account or this API key may live in another region than {where} (try without "
            "region/edge, or the region where the key was created), or the key SID or secret is wrong."
        )
    if exc.status == 401 and conn.username.startswith("SK"):
        return (
            "Twilio did not accept these credentials (the API key and its secret): check the API key SID and "
            "its secret, that the key was not deleted and that it belongs to this Account SID. A key created "
            f"for another Twilio Region (IE1, AU1) only works there: then set Region. {source['key']}"
        )
    if exc.status == 401:
        return (
            "Twilio did not accept these credentials (the Account SID and auth token): check the auth token "
            f"(the Twilio Console's Account Info shows it) and that it was not rotated. {source['key']}"
        )
    if exc.status == 403:
        return (
            f"The credentials ({_kind(conn)}) are valid but may not read account {conn.account_sid} "
            f"({exc.message}): a Restricted API key needs the read permissions for the resources you want "
            f"(added in {CONSOLE_KEYS}), or use a Standard key."
        )
    if exc.status == 404:
        return (
            f"Account {conn.account_sid} was not found with these credentials: {source['sid']} "
            "(the API key must belong to that account)."
        )
    if exc.status in RETRY_STATUSES:
        return f"Twilio is busy or failing right now ({exc.message}); try again in a minute."
    return f"Twilio answered: {exc.message}."
