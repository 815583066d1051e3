"""Connections: credentials from arguments or the environment, hosts, and where secrets may go.

A :class:`Connection` holds what is needed to talk to one Twilio account (or to the sandbox). Its
secret lives in a :class:`Secret`, which never shows itself in a repr, a str, an exception or a
pickle; the only place it is read is :class:`TwilioAuth`, which attaches it to requests bound for
``https://*.twilio.com`` (or to the sandbox, for a sandbox connection) and refuses anything else.

Building a connection sends nothing: ``conn.test()`` is the first request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from .._exceptions import CredentialsError, UnsafeRequestError
from ..model.secrets import redact, shape_of
from .hosts import TWILIO_HOST, is_loopback_url, is_twilio_url

if TYPE_CHECKING:
    from ..sandbox import Sandbox

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
AUTH_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")
# Twilio's region names (us1, ie1, au1 …) and edge names (dublin, sao-paulo, ashburn-ix …): strict,
# so that a secret given in the wrong argument is refused (and never becomes a host name).
REGION_LABEL = re.compile(r"^[a-z]{2}[0-9]{1,2}$")
EDGE_LABEL = re.compile(r"^[a-z]{2,}(?:-[a-z]{2,})*$")
LABELS = {"region": (REGION_LABEL, "'ie1', 'au1'"), "edge": (EDGE_LABEL, "'dublin', 'sydney'")}
# The response header a loopback sandbox server names itself by ("seed=7, scale=1").
SANDBOX_IDENTITY_HEADER = "X-Twibox-Sandbox"

SANDBOX_LABEL = "SANDBOX (demo data, not a real Twilio account)"


class Secret:
    """A credential that never shows itself.

    >>> s = Secret("hunter2")
    >>> s, str(s), f"{s}"
    (Secret('***'), '***', '***')
    >>> s.reveal()
    'hunter2'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled or saved")

    def __reduce_ex__(self, protocol):
        raise TypeError("a Secret cannot be pickled or saved")


class TwilioAuth(httpx.Auth):
    """HTTP Basic auth that only ever goes to Twilio hosts.

    A request for any other host is refused before it is sent, so a hostile or mistaken next-page
    link can never receive the credentials. It holds the secret as a :class:`Secret` (the header is
    built per request) and, like it, refuses to be pickled.
    """

    __slots__ = ("_secret", "_username")

    def __init__(self, username: str, secret: Secret) -> None:
        self._username, self._secret = username, secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not is_twilio_url(request.url):
            raise UnsafeRequestError(
                f"refusing to send Twilio credentials to {request.url.scheme}://{request.url.host}: "
                "only https://*.twilio.com hosts receive them"
            )
        yield from httpx.BasicAuth(self._username, self._secret.reveal()).auth_flow(request)

    def __repr__(self) -> str:
        return "TwilioAuth(***)"

    def __reduce_ex__(self, protocol):
        raise TypeError("TwilioAuth holds a secret and cannot be pickled or saved")

    __reduce__ = __reduce_ex__  # type: ignore[assignment]


_PROBE = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
_SANDBOX_STATE = re.compile(r"^seed=-?[0-9]+, scale=[0-9.e+-]+$")


class LoopbackTransport(httpx.BaseTransport):
    """Sends ``https://<product>.twilio.com/...`` requests to a loopback sandbox server instead.

    The Twilio host travels in the ``Host`` header, so the server answers as that product and its
    absolute links keep pointing at Twilio host names (which come back through here).
    """

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None) -> None:
        if not is_loopback_url(base_url):
            raise CredentialsError(
                f"sandbox={redact(base_url)!r}: the sandbox server must be on loopback (127.0.0.1, localhost or [::1])"
            )
        self.base = httpx.URL(base_url)
        self.inner = inner or httpx.HTTPTransport()

    def identity(self) -> str | None:
        """Which sandbox answers there now (``"seed=7, scale=1"``), as the server says in its
        ``X-Twibox-Sandbox`` header; None when it does not say (or does not answer). One request,
        without credentials: another server may have taken the port since the last one."""
        request = httpx.Request("GET", self.base.copy_with(path="/", query=None), extensions={"timeout": _PROBE})
        try:
            response = self.inner.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.HTTPError:
            return None
        found = response.headers.get(SANDBOX_IDENTITY_HEADER)
        return found if found and _SANDBOX_STATE.match(found) else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A copy: the caller's request keeps its Twilio URL (it may be sent again on a retry).
        headers = httpx.Headers(request.headers)
        headers["Host"] = request.url.netloc.decode("ascii")
        target = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        copy = httpx.Request(
            request.method, target, headers=headers, stream=request.stream, extensions=request.extensions
        )
        return self.inner.handle_request(copy)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True, repr=False)
class Connection:
    """Everything needed to read one Twilio account. Build it with :func:`connect`.

    >>> conn = connect(sandbox=True)
    >>> conn.is_sandbox, conn.base_url("monitor")
    (True, 'https://monitor.twilio.com')
    >>> "***" in repr(conn) and conn.secret.reveal() not in repr(conn)
    True
    """

    account_sid: str
    username: str  # the API key SID (SK…) or, with an auth token, the Account SID
    secret: Secret = field(compare=False)
    region: str | None = None
    edge: str | None = None
    sandbox: str | None = None  # None: real Twilio; "in-process" or the loopback server's URL
    transport: httpx.BaseTransport | None = field(default=None, compare=False)
    # Which sandbox answers, "seed=7, scale=1, now=…" (set by connect(); None when unknown).
    sandbox_state: str | None = field(default=None, compare=False)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    @property
    def label(self) -> str:
        """How to show where the data comes from (sandbox data is always marked)."""
        if self.sandbox == "in-process":
            return f"{SANDBOX_LABEL}, in-process"
        if self.sandbox:
            return f"{SANDBOX_LABEL}, {self.sandbox}"
        where = f" ({'.'.join(p for p in (self.edge, self.region) if p)})" if self.region or self.edge else ""
        return f"Twilio account {self.account_sid}{where}"

    @property
    def cache_origin(self) -> str:
        """Where this connection's data comes from, for the cache key: its Twilio hosts (region and
        edge included) and, for a sandbox, which one (seed and scale, or where it is served).

        >>> connect("AC" + "0" * 32, "SK" + "0" * 32, "s", region="ie1", env={}).cache_origin
        'https://*.ie1.twilio.com'
        >>> from datetime import datetime, timezone
        >>> from twibox_nb.sandbox import Sandbox
        >>> connect(sandbox=Sandbox(seed=3, now=datetime(2026, 11, 27, tzinfo=timezone.utc))).cache_origin
        'https://*.twilio.com sandbox(seed=3, scale=1)'
        """
        origin = f"https://{self.host('*')}"
        if self.sandbox is None:
            return origin
        return f"{origin} sandbox({self.sandbox_state or self.sandbox})"

    def cache_identity(self) -> str | None:
        """The cache origin to use now, or None when this connection's data must not be cached: a
        sandbox whose seed and scale are unknown. A loopback sandbox server is asked which one it
        is (one request without credentials), since another may have taken its port."""
        if self.sandbox is None or self.sandbox_state is not None:
            return self.cache_origin
        if isinstance(self.transport, LoopbackTransport):
            state = self.transport.identity()
            if state is not None:
                return f"https://{self.host('*')} sandbox({self.sandbox}, {state})"
        return None

    def credential_tag(self, key: bytes) -> str:
        """A keyed hash of these credentials (HMAC-SHA256 of user name and secret under ``key``),
        for a cache whose entries only the credentials that wrote them may read. Never the secret
        itself, nor an unkeyed hash of it.

        >>> a = connect("AC" + "0" * 32, "SK" + "0" * 32, "one", env={})
        >>> b = connect("AC" + "0" * 32, "SK" + "0" * 32, "two", env={})
        >>> len(a.credential_tag(b"k")), a.credential_tag(b"k") == b.credential_tag(b"k")
        (64, False)
        """
        message = f"{self.username}:{self.secret.reveal()}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def host(self, product: str) -> str:
        """``{product}.{edge}.{region}.twilio.com`` (only the parts that are set)."""
        return ".".join(p for p in (product, self.edge, self.region) if p) + ".twilio.com"

    def base_url(self, product: str) -> str:
        return f"https://{self.host(product)}"

    def route(self, base_url: str) -> str:
        """A spec's base URL (``https://api.twilio.com``) moved to this connection's region/edge."""
        parsed = urlsplit(base_url)
        host = (parsed.hostname or "").lower()
        if parsed.scheme != "https" or not TWILIO_HOST.match(host):
            raise UnsafeRequestError(f"base URL {base_url!r} is not a Twilio host (https://<product>.twilio.com)")
        return self.base_url(host.split(".", 1)[0])

    def auth(self) -> TwilioAuth:
        return TwilioAuth(self.username, self.secret)

    def test(self, *, words: str = "python"):
        """Check that these credentials can read the account and explain the answer in plain words,
        naming the key type (auth token, Main, Standard or Restricted API key): the account
        resource, and for an API key refused there (a Standard key is) one record of a few lists.
        ``words="form"`` words the advice for the Connect form; see :func:`~.diagnose.diagnose`."""
        from .diagnose import diagnose

        return diagnose(self, words=words)

    def __repr__(self) -> str:
        kind = "api_key" if self.username.startswith("SK") else "auth_token for"
        parts = [f"account_sid={self.account_sid!r}", f"{kind}={self.username!r}", "secret='***'"]
        if self.region:
            parts.append(f"region={self.region!r}")
        if self.edge:
            parts.append(f"edge={self.edge!r}")
        if self.sandbox:
            parts.insert(0, SANDBOX_LABEL)
        return f"Connection({', '.join(parts)})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Connection holds a secret and cannot be pickled or saved; save the metric spec instead")


def _pick(value: str | None, env: Mapping[str, str], name: str) -> str | None:
    if value is not None:
        return value.strip()
    found = env.get(name)
    return found.strip() if found else None


def _named(given: object, parameter: str, variable: str) -> str:
    """How an error names a value: the argument it was passed as, else the environment variable."""
    return parameter if given is not None else variable


def _check_label(kind: str, value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    pattern, examples = LABELS[kind]
    if not pattern.match(value.lower()):
        # Only a short, plain value is echoed: a secret given here by mistake is described, not shown.
        raise CredentialsError(f"{name} {shape_of(value)} is not a Twilio {kind} name (e.g. {examples})")
    return value.lower()


class MissingCredentialsError(CredentialsError):
    """Some credential was given nowhere (none was malformed).

    ``unset`` says what is missing in the environment's words (``"TWILIO_ACCOUNT_SID is not
    set"``), for a caller whose only source is the environment, such as the ``twibox`` command;
    ``missing`` names it for callers with their own words (the Connect form): ``"account_sid"``,
    ``"api_secret"`` (an API key without its secret) or ``"credentials"`` (neither a key nor a token).
    """

    def __init__(self, message: str, unset: str, missing: str = "credentials") -> None:
        super().__init__(message)
        self.unset = unset
        self.missing = missing


def connect(
    account_sid: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    auth_token: str | None = None,
    region: str | None = None,
    edge: str | None = None,
    sandbox: bool | str | Sandbox = False,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """Connect to a Twilio account, or to the embedded sandbox.

    Credentials come from the arguments, else from ``TWILIO_ACCOUNT_SID``, ``TWILIO_API_KEY`` and
    ``TWILIO_API_SECRET`` (``TWILIO_AUTH_TOKEN`` is the fallback when there is no API key);
    ``TWILIO_REGION`` and ``TWILIO_EDGE`` pick regional hosts. They are checked here, before any
    request. ``sandbox=True`` answers from the embedded sandbox in-process, ``sandbox="http://
    127.0.0.1:8765"`` from a loopback sandbox server (a :class:`~twibox_nb.sandbox.Sandbox` instance
    works too); both use the sandbox's demo credentials. ``transport`` replaces the network (any
    httpx transport). Nothing is sent until ``conn.test()`` or a fetch.

    >>> connect(sandbox=True).label
    'SANDBOX (demo data, not a real Twilio account), in-process'
    >>> connect("AC123", "SK" + "0" * 32, "s", env={})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.CredentialsError: account_sid 'AC123' is not an Account SID: expected AC followed by ...

    A bad value from the environment is named by its variable (``TWILIO_ACCOUNT_SID 'AC123' is not
    an Account SID …``); a missing one raises :class:`MissingCredentialsError`. Secrets (the API
    secret, the auth token) are never shown, nor is any value that could be one given in another
    argument: only a short, plain value is quoted, anything else is described by its shape
    (``api_key a 32-character value is not an API key SID …``).
    """
    env = os.environ if env is None else env
    if sandbox is not False and sandbox is not None:
        return _sandbox_connection(sandbox, transport)

    sid = _pick(account_sid, env, "TWILIO_ACCOUNT_SID")
    if not sid:
        raise MissingCredentialsError(
            "no Account SID: pass account_sid=... or set TWILIO_ACCOUNT_SID "
            "(or use connect(sandbox=True) for demo data)",
            unset="TWILIO_ACCOUNT_SID is not set",
            missing="account_sid",
        )
    if not ACCOUNT_SID.match(sid):
        raise CredentialsError(
            f"{_named(account_sid, 'account_sid', 'TWILIO_ACCOUNT_SID')} {shape_of(sid)} is not an Account SID: "
            "expected AC followed by 32 hex digits"
        )
    key = _pick(api_key, env, "TWILIO_API_KEY")
    if key:
        if not API_KEY_SID.match(key):
            is_sid = bool(ACCOUNT_SID.match(key))  # an Account SID is no secret: it is quoted, to be recognised
            hint = " (that is an Account SID; the API key SID starts with SK)" if is_sid else ""
            raise CredentialsError(
                f"{_named(api_key, 'api_key', 'TWILIO_API_KEY')} {repr(key) if is_sid else shape_of(key)} is not an "
                "API key SID: "
                f"expected SK followed by 32 hex digits{hint}"
            )
        secret = api_secret if api_secret is not None else env.get("TWILIO_API_SECRET")
        if not secret:
            raise MissingCredentialsError(
                f"API key {key} has no secret: pass api_secret=... or set TWILIO_API_SECRET",
                unset="TWILIO_API_KEY is set but TWILIO_API_SECRET is not",
                missing="api_secret",
            )
        username, password = key, secret.strip()
    else:
        token = auth_token if auth_token is not None else env.get("TWILIO_AUTH_TOKEN")
        if not token:
            raise MissingCredentialsError(
                "no credentials: pass api_key= and api_secret= (or set TWILIO_API_KEY and TWILIO_API_SECRET), "
                "or an auth token (auth_token= or TWILIO_AUTH_TOKEN)",
                unset="neither TWILIO_API_KEY nor TWILIO_AUTH_TOKEN is set",
                missing="credentials",
            )
        token = token.strip()
        if not AUTH_TOKEN.match(token):
            name = "the auth token" if auth_token is not None else "TWILIO_AUTH_TOKEN"
            raise CredentialsError(f"{name} is malformed: expected 32 hex digits (it is not shown here)")
        username, password = sid, token
    region = _check_label("region", _pick(region, env, "TWILIO_REGION"), _named(region, "region", "TWILIO_REGION"))
    edge = _check_label("edge", _pick(edge, env, "TWILIO_EDGE"), _named(edge, "edge", "TWILIO_EDGE"))
    if edge and not region:
        region = "us1"  # Twilio's own rule: an edge without a region means the US1 region
    return Connection(sid, username, Secret(password), region, edge, None, transport)


def _sandbox_connection(sandbox: bool | str | Sandbox, transport: httpx.BaseTransport | None) -> Connection:
    from ..sandbox import DEMO_CREDENTIALS, Sandbox

    c = DEMO_CREDENTIALS
    state = None  # unknown: a loopback server is named by its URL, a transport given with sandbox=True by nothing
    if sandbox is True and transport is None:
        sandbox = Sandbox()
    if sandbox is True:
        where, chosen = "in-process", transport
    elif isinstance(sandbox, Sandbox):
        where, chosen = "in-process", transport or sandbox.transport()
        # A closed window's data depend on the seed and the scale only (each day is generated from
        # them); the clock decides only which of today's records exist, and open windows are never cached.
        state = f"seed={sandbox.seed}, scale={sandbox.scale:g}"
    elif isinstance(sandbox, str):
        where, chosen = sandbox.rstrip("/"), LoopbackTransport(sandbox, transport)
    else:
        raise CredentialsError(
            f"sandbox= {shape_of(str(sandbox))}: use True, a loopback URL such as 'http://127.0.0.1:8765', or a Sandbox"
        )
    return Connection(c.account_sid, c.api_key, Secret(c.api_secret), None, None, where, chosen, state)
