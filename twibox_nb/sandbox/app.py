"""The sandbox's request handling: auth, routing, filters, pages and Twilio's error JSON.

``SandboxApp.handle`` is a plain function of a request (method, origin, path, query, the
Authorization header) to a ``Reply``; the in-process transport and the loopback server both call
it, and add latency and faults around it (``faults.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from . import render
from .account import API_VERSION, Account
from .encode import ListEncoder, list_body
from .filters import (
    ALERT_DATE_FILTERS,
    CALL_DATE_FILTERS,
    MESSAGE_DATE_FILTERS,
    BadParameter,
    Bounds,
    date_bounds,
    page_number,
    page_size,
    parse_date_value,
)
from .generator import ALERT_KINDS, CALL_STATUSES, day_start
from .paging import PageAddress, PageSlice, TimeQuery, envelope_2010, envelope_meta, list_page
from .usage import CATEGORIES, SUBRESOURCES, balance, period_totals, periods

JSON_TYPE = "application/json; charset=utf-8"
MONITOR_WINDOW = timedelta(days=30)
MESSAGING = "/twilio/messaging"
NUMBERS = "/twilio/phone-numbers/incoming-phone-numbers"
# What only the auth token and Main keys may read: the Accounts and Keys resources (Twilio's key
# types). Twilio answers a Standard key there like wrong credentials: 401, code 20003.
MAIN_ONLY = re.compile(r"^/2010-04-01/Accounts(?:\.json|/[^/]+\.json|/[^/]+/(?:Keys|SigningKeys)\b.*)$|^/v1/Keys\b")
AUTHENTICATE = {"WWW-Authenticate": 'Basic realm="Twilio API"'}


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def error_reply(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Twilio's error body: ``{"code", "message", "more_info", "status"}``."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, json.dumps(body).encode(), {"Content-Type": JSON_TYPE, **(headers or {})})


def json_reply(payload: Any) -> Reply:
    return Reply(200, json.dumps(payload, separators=(", ", ": ")).encode(), {"Content-Type": JSON_TYPE})


@dataclass(frozen=True)
class Request:
    method: str
    origin: str  # scheme://host[:port] the client used: absolute links point back there
    product: str  # api, monitor, messaging …
    path: str
    params: list[tuple[str, str]]
    # "key" (the Main API key + secret), "standard" or "restricted" (the other demo keys), or
    # "token" (Account SID + auth token)
    credential: str

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)


# Twilio's host names, the same pattern as twibox_nb.fetch.hosts.TWILIO_HOST. A copy, not an import:
# the sandbox imports nothing of twibox_nb outside itself (tests/unit/test_layering.py), and
# tests/client/test_one_definition.py keeps the two identical.
_TWILIO_HOST = re.compile(r"^([a-z0-9-]+)(?:\.[a-z0-9-]+)*\.twilio\.com$")


def product_of(host: str, path: str) -> str:
    """Which Twilio product a request is for: from the host name, else from the path."""
    name = host.split(":", maxsplit=1)[0].lower()
    match = _TWILIO_HOST.match(name)
    if match:
        return match.group(1)
    # A bare loopback address: the paths the sandbox serves do not collide across products.
    if path.startswith("/2010-04-01/"):
        return "api"
    if path.startswith("/v1/Alerts"):
        return "monitor"
    if path.startswith("/v1/Services"):
        return "messaging"
    return "unknown"


def origin_of(scheme: str, host: str) -> str:
    """Absolute links go to https for Twilio host names and back to the sandbox otherwise."""
    name = host.split(":", maxsplit=1)[0].lower()
    return f"https://{name}" if _TWILIO_HOST.match(name) else f"{scheme}://{host}"


Handler = Callable[[Request, re.Match], Reply]


class SandboxApp:
    """Answers read requests for one synthetic account the way Twilio does.

    >>> from twibox_nb.sandbox.account import Account, DEMO_CREDENTIALS as C
    >>> import base64
    >>> app = SandboxApp(Account(seed=7))
    >>> auth = "Basic " + base64.b64encode(f"{C.api_key}:{C.api_secret}".encode()).decode()
    >>> r = app.handle("GET", "https://api.twilio.com",
    ...                f"/2010-04-01/Accounts/{C.account_sid}/Messages.json", "PageSize=2", auth)
    >>> r.status, len(r.json()["messages"])
    (200, 2)
    """

    def __init__(self, account: Account) -> None:
        self.account = account
        self.encoder = ListEncoder(account)
        api = rf"/{API_VERSION}/Accounts/(?P<account>AC[0-9a-fA-F]{{32}})"
        # Each route with the permission a Restricted API key needs for it: Twilio's names, "list"
        # for a collection and "read" for one record (None: no Restricted key may have it here).
        self.routes: list[tuple[str, re.Pattern, Handler, str | None]] = [
            ("api", re.compile(rf"^{api}\.json$"), self.account_instance, None),
            ("api", re.compile(rf"^{api}/Balance\.json$"), self.balance, None),
            ("api", re.compile(rf"^{api}/Messages\.json$"), self.messages, f"{MESSAGING}/messages/list"),
            ("api", re.compile(rf"^{api}/Messages/(?P<sid>[A-Z]{{2}}[0-9a-f]{{32}})\.json$"), self.message,
             f"{MESSAGING}/messages/read"),
            ("api", re.compile(rf"^{api}/Calls\.json$"), self.calls, "/twilio/voice/calls/list"),
            ("api", re.compile(rf"^{api}/Calls/(?P<sid>CA[0-9a-f]{{32}})\.json$"), self.call,
             "/twilio/voice/calls/read"),
            ("api", re.compile(rf"^{api}/Usage/Records(?:/(?P<sub>[A-Za-z]+))?\.json$"), self.usage,
             "/twilio/billing/usage/read"),
            ("api", re.compile(rf"^{api}/IncomingPhoneNumbers\.json$"), self.numbers, f"{NUMBERS}/list"),
            ("api", re.compile(rf"^{api}/IncomingPhoneNumbers/(?P<sid>PN[0-9a-f]{{32}})\.json$"), self.number,
             f"{NUMBERS}/read"),
            ("monitor", re.compile(r"^/v1/Alerts$"), self.alerts, "/twilio/monitor/alerts/list"),
            ("monitor", re.compile(r"^/v1/Alerts/(?P<sid>NO[0-9a-f]{32})$"), self.alert, "/twilio/monitor/alerts/read"),
            ("messaging", re.compile(r"^/v1/Services$"), self.services, f"{MESSAGING}/services/list"),
            ("messaging", re.compile(r"^/v1/Services/(?P<sid>MG[0-9a-f]{32})$"), self.service,
             f"{MESSAGING}/services/read"),
        ]  # fmt: skip

    # --- entry point ----------------------------------------------------------------------------
    def handle(self, method: str, origin: str, path: str, query: str, authorization: str | None) -> Reply:
        """Answer one request. ``origin`` is ``scheme://host[:port]`` as the client addressed it."""
        credential = self.authenticate(authorization)
        if credential is None:
            return error_reply(401, 20003, "Authenticate", AUTHENTICATE)
        scheme, _, host = origin.partition("://")
        request = Request(
            method=method.upper(),
            origin=origin_of(scheme, host),
            product=product_of(host, path),
            path=path,
            params=parse_qsl(query, keep_blank_values=True),
            credential=credential,
        )
        if credential in ("standard", "restricted") and MAIN_ONLY.match(path):
            return error_reply(401, 20003, "Authenticate", AUTHENTICATE)
        if request.method != "GET":
            # Read only: the sandbox never changes, whatever is asked of it.
            return error_reply(405, 20004, "Method not allowed", {"Allow": "GET"})
        for product, pattern, handler, permission in self.routes:
            match = pattern.match(path) if product == request.product else None
            if match is None:
                continue
            if "account" in match.groupdict() and match.group("account") != self.account.sid:
                return self.not_found(path)
            if credential == "restricted" and permission not in self.account.credentials.restricted.allow:
                return self.unauthorized(permission)
            try:
                return handler(request, match)
            except BadParameter as exc:
                return error_reply(400, 20001, str(exc))
        return self.not_found(path)

    def authenticate(self, header: str | None) -> str | None:
        """Return "key", "standard", "restricted" or "token" for valid HTTP Basic credentials, else None."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        creds = self.account.credentials
        if user == creds.api_key and secret == creds.api_secret:
            return "key"
        if user == creds.account_sid and secret == creds.auth_token:
            return "token"
        other = creds.key(user)
        if other is not None and secret == other.secret:
            return other.kind
        return None

    @staticmethod
    def unauthorized(permission: str | None) -> Reply:
        """A Restricted key without the permission: Twilio's 401 with code 70051, naming it."""
        if permission is None:
            return error_reply(401, 70051, "Authorization Error: this resource is not available to Restricted API keys")
        return error_reply(401, 70051, f"Authorization Error: required permission {permission[1:]} is missing")

    @staticmethod
    def not_found(path: str) -> Reply:
        return error_reply(404, 20404, f"The requested resource {path} was not found")

    # --- helpers --------------------------------------------------------------------------------
    def _list(
        self, request: Request, key: str, page: PageSlice, records: list, *, meta: bool, encoded: bool = False
    ) -> Reply:
        """A list page; ``encoded``: the records are JSON text already (see ``encode.py``)."""
        at = PageAddress(
            request.path, request.params, page_size(request.query), page_number(request.query),
            request.query.get("PageToken"),
        )  # fmt: skip
        if meta:
            body = envelope_meta(key, records, at, page, origin=request.origin)
        else:
            body = envelope_2010(key, records, at, page)
        if encoded:
            return Reply(200, list_body(body, key, records), {"Content-Type": JSON_TYPE})
        return json_reply(body)

    def _number_filter(self, request: Request, inbound_of: Callable[[Any], np.ndarray]):
        """Predicate for To / From: our number on one side, the customer's on the other."""
        wanted = {k: request.query[k] for k in ("To", "From") if k in request.query}
        if not wanted:
            return None

        def predicate(t) -> np.ndarray:
            inbound = inbound_of(t)
            mask = np.ones(len(t), dtype=bool)
            for side, number in wanted.items():
                own, customer = self.account.number_mask(t.ours, t.customer, number)
                # To is our number for inbound traffic, the customer's for outbound; From the reverse.
                ours_side = inbound if side == "To" else ~inbound
                mask &= np.where(ours_side, own, customer)
            return mask

        return predicate

    # --- 2010 API -------------------------------------------------------------------------------
    def account_instance(self, request: Request, match: re.Match) -> Reply:
        token = self.account.credentials.auth_token if request.credential == "token" else None
        return json_reply(render.account_record(self.account, auth_token=token))

    def balance(self, request: Request, match: re.Match) -> Reply:
        return json_reply(render.balance_record(self.account, balance(self.account)))

    def message_query(self, request: Request) -> TimeQuery:
        q = request.query
        bounds = date_bounds(q, MESSAGE_DATE_FILTERS, self.account.today())
        return TimeQuery(
            self.account, self.account.gen.messages, bounds, self._number_filter(request, lambda t: t.direction == 1)
        )

    def messages(self, request: Request, match: re.Match) -> Reply:
        query = self.message_query(request)
        page = query.page(page_size(request.query), request.query.get("PageToken"))
        records = self.encoder.messages(page.items)
        return self._list(request, "messages", page, records, meta=False, encoded=True)

    def message(self, request: Request, match: re.Match) -> Reply:
        found = TimeQuery(self.account, self.account.gen.messages).find(match.group("sid"))
        if found is None:
            return self.not_found(request.path)
        return json_reply(render.message(self.account, *found))

    def call_query(self, request: Request) -> TimeQuery:
        q = request.query
        bounds = date_bounds(q, CALL_DATE_FILTERS, self.account.today())
        numbers = self._number_filter(request, lambda t: t.direction == 0)
        status = q.get("Status")
        parent = q.get("ParentCallSid")
        if status is not None and status not in (*CALL_STATUSES, "in-progress", "queued", "ringing"):
            raise BadParameter(f"Invalid value for Status: {status!r}")
        now = self.account.now_ts()

        def predicate(t) -> np.ndarray:
            mask = numbers(t) if numbers else np.ones(len(t), dtype=bool)
            if parent is not None:
                mask &= False  # the sandbox's calls have no parent calls
            if status is not None:
                if status == "in-progress":
                    mask &= t.end > now
                elif status in CALL_STATUSES:
                    mask &= (t.status == CALL_STATUSES.index(status)) & (t.end <= now)
                else:
                    mask &= False  # queued / ringing calls never linger in the sandbox
            return mask

        return TimeQuery(self.account, self.account.gen.calls, bounds, predicate)

    def calls(self, request: Request, match: re.Match) -> Reply:
        query = self.call_query(request)
        page = query.page(page_size(request.query), request.query.get("PageToken"))
        now = self.account.now_ts()
        records = self.encoder.calls(page.items, now)
        return self._list(request, "calls", page, records, meta=False, encoded=True)

    def call(self, request: Request, match: re.Match) -> Reply:
        found = TimeQuery(self.account, self.account.gen.calls).find(match.group("sid"))
        if found is None:
            return self.not_found(request.path)
        return json_reply(render.call(self.account, *found, self.account.now_ts()))

    def usage(self, request: Request, match: re.Match) -> Reply:
        sub = match.group("sub")
        if sub is not None and sub not in SUBRESOURCES:
            return self.not_found(request.path)
        q = request.query
        today = self.account.today()
        start = self._usage_date(q, "StartDate", today)
        end = self._usage_date(q, "EndDate", today)
        category = q.get("Category")
        categories = [c.name for c in CATEGORIES if category in (None, c.name)]
        as_of = render.iso8601(self.account.now()).replace("Z", "+00:00")
        list_path = request.path
        rows = [(first, last, name) for first, last in periods(self.account, sub, start, end) for name in categories]

        def sid_of(row) -> str:  # a stable pseudo-SID for page tokens
            return f"UR{row[0].isoformat()}{row[1].isoformat()}{row[2]}"

        page = list_page(rows, sid_of, page_size(q), q.get("PageToken"))
        totals: dict[tuple[date, date], dict] = {}  # only the periods on this page are summed
        records = []
        for first, last, name in page.items:
            if (first, last) not in totals:
                totals[first, last] = period_totals(self.account, first, last)
            records.append(
                render.usage_record(
                    self.account, name, first, last, totals[first, last][name], list_path=list_path, as_of=as_of
                )
            )
        return self._list(request, "usage_records", page, records, meta=False)

    @staticmethod
    def _usage_date(q: dict[str, str], name: str, today: date) -> date | None:
        if name not in q:
            return None
        value = parse_date_value(name, q[name], today=today, relative=True)
        return value.astimezone(timezone.utc).date() if isinstance(value, datetime) else value

    def numbers(self, request: Request, match: re.Match) -> Reply:
        q = request.query
        chosen = list(range(len(self.account.numbers)))
        if "PhoneNumber" in q:
            pattern = re.compile(re.escape(q["PhoneNumber"]).replace(r"\*", r"\d"))
            chosen = [i for i in chosen if pattern.search(self.account.numbers[i].phone_number)]
        if "FriendlyName" in q:
            chosen = [i for i in chosen if self.account.numbers[i].friendly_name == q["FriendlyName"]]
        if q.get("Beta", "true").lower() == "false":
            pass  # none of the sandbox's numbers is a beta number
        if q.get("Origin") not in (None, "twilio"):
            chosen = []
        page = list_page(chosen, lambda i: self.account.numbers[i].sid, page_size(q), q.get("PageToken"))
        records = [render.phone_number(self.account, i) for i in page.items]
        return self._list(request, "incoming_phone_numbers", page, records, meta=False)

    def number(self, request: Request, match: re.Match) -> Reply:
        for i, n in enumerate(self.account.numbers):
            if n.sid == match.group("sid"):
                return json_reply(render.phone_number(self.account, i))
        return self.not_found(request.path)

    # --- product APIs ---------------------------------------------------------------------------
    def alert_query(self, request: Request) -> TimeQuery:
        q = request.query
        now = self.account.now()
        oldest = int((now - MONITOR_WINDOW).timestamp())
        bounds = date_bounds(q, ALERT_DATE_FILTERS, now.date())
        ts = bounds.get("ts", Bounds())
        if ts.lo is not None and ts.lo < day_start((now - MONITOR_WINDOW).date()):
            raise BadParameter("Invalid value for StartDate: queries for alerts older than 30 days are not supported")
        bounds["ts"] = ts.narrow(lo=oldest)
        level = q.get("LogLevel")
        levels = np.array([k[1] for k in ALERT_KINDS])
        predicate = (lambda t: levels[t.kind] == level) if level is not None else None
        return TimeQuery(self.account, self.account.gen.alerts, bounds, predicate)

    def alerts(self, request: Request, match: re.Match) -> Reply:
        query = self.alert_query(request)
        page = query.page(page_size(request.query), request.query.get("PageToken"))
        records = [render.alert(self.account, t, i) for t, i in page.items]
        return self._list(request, "alerts", page, records, meta=True)

    def alert(self, request: Request, match: re.Match) -> Reply:
        found = TimeQuery(self.account, self.account.gen.alerts).find(match.group("sid"))
        if found is None:
            return self.not_found(request.path)
        return json_reply(render.alert(self.account, *found, instance=True))

    def services(self, request: Request, match: re.Match) -> Reply:
        q = request.query
        items = list(range(len(self.account.services)))
        page = list_page(items, lambda i: self.account.services[i].sid, page_size(q), q.get("PageToken"))
        records = [render.service(self.account, i) for i in page.items]
        return self._list(request, "services", page, records, meta=True)

    def service(self, request: Request, match: re.Match) -> Reply:
        for i, s in enumerate(self.account.services):
            if s.sid == match.group("sid"):
                return json_reply(render.service(self.account, i))
        return self.not_found(request.path)
