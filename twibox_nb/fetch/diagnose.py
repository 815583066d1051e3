"""``conn.test()``: one GET of the account resource, explained in plain words."""

from __future__ import annotations

import random
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


def diagnose(
    conn: Connection,
    *,
    policy: RetryPolicy | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    jitter: Jitter = random.random,
) -> Diagnosis:
    """One GET of the account resource, explained: are the credentials, region and network right?

    >>> from twibox_nb.fetch.connection import connect
    >>> d = diagnose(connect(sandbox=True))
    >>> d.ok, d.sandbox, d.friendly_name
    (True, True, 'twibox sandbox (demo data)')
    """
    url = httpx.URL(f"{conn.base_url('api')}/2010-04-01/Accounts/{conn.account_sid}.json")
    policy = policy or RetryPolicy(max_retries=2, timeout=15.0)
    started = clock()
    try:
        with _Session(conn, policy, sleep, jitter) as session:
            status, body = session.get_json(url, httpx.Headers())
    except (TwilioAPIError, FetchError, ResponseFormatError) as exc:
        status = exc.status if isinstance(exc, TwilioAPIError) else None
        return Diagnosis(
            ok=False,
            status=status,
            code=exc.code if isinstance(exc, TwilioAPIError) else None,
            message=_explain(exc, conn, url.host),
            more_info=exc.more_info if isinstance(exc, TwilioAPIError) else None,
            url=str(url),
            sandbox=conn.is_sandbox,
            elapsed=clock() - started,
        )
    # Only the friendly name and status are read: the body may hold the auth token.
    name = body.get("friendly_name") if isinstance(body, dict) else None
    state = body.get("status") if isinstance(body, dict) else None
    message = f"Connected to {conn.label}" + (f", friendly name {name!r}." if name else ".")
    if state not in (None, "active"):
        message += f" Note: the account is {state}."
    return Diagnosis(True, status, None, message, None, str(url), name, conn.is_sandbox, clock() - started)


def _explain(exc: TwiboxError, conn: Connection, host: str) -> str:
    """What a failed diagnosis means, and what to try."""
    where = _where(conn)
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
            f"Twilio at {host} did not accept these credentials. Credentials belong to one region: the "
            f"account or this API key may live in another region than {where} (try without region/edge, "
            "or the region where the key was created), or the key SID or secret is wrong."
        )
    if exc.status == 401:
        return (
            "Twilio did not accept these credentials: check the API key SID and its secret (or the auth "
            "token), and that the key was not deleted. They come from the arguments or TWILIO_API_KEY, "
            "TWILIO_API_SECRET, TWILIO_AUTH_TOKEN."
        )
    if exc.status == 403:
        return (
            f"The credentials are valid but may not read account {conn.account_sid} ({exc.message}): a "
            "restricted API key needs read access to the resources you want, or use a standard key."
        )
    if exc.status == 404:
        return (
            f"Account {conn.account_sid} was not found with these credentials: check TWILIO_ACCOUNT_SID "
            "(the API key must belong to that account)."
        )
    if exc.status in RETRY_STATUSES:
        return f"Twilio is busy or failing right now ({exc.message}); try again in a minute."
    return f"Twilio answered: {exc.message}."
