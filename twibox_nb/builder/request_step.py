"""Step 1 of the builder, "Prepare API request": the request's choices and wording, without any UI.

:class:`RequestStep` is the part of :class:`~twibox_nb.builder.state.BuilderState` that edits the
request (base URL, path, parameter and header rows, paging), resolves date tokens over the preview
range, and fetches the first page when step 1's Continue leaves it: the fields discovered there are
what steps 2–4 choose from. The lists the step's menus offer sit here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx

from .._exceptions import ChoiceError, SpecError
from ..fetch.chain import PageFetcher
from ..fetch.connection import Connection
from ..fetch.pagination import detect
from ..fetch.report import Progress
from ..fetch.request import build_request, resolve_params
from ..model.catalog import ENDPOINTS, DateFilter, Endpoint, find_endpoint
from ..model.dates import TOKENS, DateRange, resolve_range
from ..model.records import find_records
from ..model.spec import PAGE_CAPS, PAGINATIONS, Count, Dynamic, Field, Pagination, RequestSpec
from . import field_choices, token_menu
from .fields import FieldInfo, discover_fields
from .token_menu import RowPreview, TokenChoice

__all__ = [
    "METHODS",
    "POST_DISABLED_REASON",
    "PRODUCTS",
    "FirstPage",
    "ParamRow",
    "RequestStep",
    "base_urls",
    "best_endpoint",
    "search_endpoints",
]

TWILIO_HOSTS_ONLY = "only Twilio hosts (https://*.twilio.com) are allowed"

POST_DISABLED_REASON = (
    "POST is not available: twibox_nb only reads. Other methods change the account (they send "
    "messages, update or delete resources), so only GET requests are built and sent."
)
#: HTTP methods as the builder shows them: ``(method, None)`` when usable, else ``(method, reason)``.
METHODS: tuple[tuple[str, str | None], ...] = (("GET", None), ("POST", POST_DISABLED_REASON))

# Twilio's product hosts ({product}.twilio.com), from the products of Twilio's OpenAPI specs:
# the catalogue's products first, the rest alphabetically.
PRODUCTS: tuple[str, ...] = (
    "api", "monitor", "messaging",
    "accounts", "bulkexports", "chat", "content", "conversations", "events", "flex-api", "insights",
    "intelligence", "lookups", "notify", "numbers", "pricing", "proxy", "routes", "serverless",
    "studio", "supersim", "sync", "taskrouter", "trunking", "trusthub", "verify", "video", "voice",
    "wireless",
)  # fmt: skip


def base_urls() -> list[str]:
    """The base URLs the builder offers (Twilio's product hosts; the connection moves them to its region).

    >>> base_urls()[:3]
    ['https://api.twilio.com', 'https://monitor.twilio.com', 'https://messaging.twilio.com']
    """
    return [f"https://{product}.twilio.com" for product in PRODUCTS]


def _rank(endpoint: Endpoint, words: list[str]) -> tuple[int, int]:
    """How well an endpoint matches the words typed (lower is better): its name first, then the path."""
    name = endpoint.name.lower()
    text = " ".join(words)
    if name == text:
        return (0, len(name))
    if name.startswith(text):
        return (1, len(name))
    if all(word in name.split() for word in words):
        return (2, len(name))
    if all(word in name for word in words):
        return (3, len(name))
    if all(word in endpoint.path.lower() for word in words):
        return (4, len(name))
    return (5, len(name))


def search_endpoints(text: str = "", base_url: str | None = None) -> list[Endpoint]:
    """Catalogue endpoints whose name, path or description holds every word of ``text``, best first
    (the name equal to the words, starting with them, holding them; then the path; then the rest).

    >>> [e.name for e in search_endpoints("monitor")]
    ['Monitor alerts', 'Monitor events']
    >>> [e.name for e in search_endpoints("usage daily")]
    ['Usage Records Daily']
    >>> [e.name for e in search_endpoints("calls")][0]
    'Calls'
    """
    words = text.lower().split()
    found = []
    for endpoint in ENDPOINTS:
        if base_url is not None and endpoint.base_url != base_url.rstrip("/"):
            continue
        haystack = f"{endpoint.name} {endpoint.path} {endpoint.description} {endpoint.product}".lower()
        if all(word in haystack for word in words):
            found.append(endpoint)
    return sorted(found, key=lambda e: _rank(e, words)) if words else found


def best_endpoint(text: str) -> Endpoint | None:
    """The catalogue endpoint the search text most likely means (None for no text or no match).

    >>> best_endpoint("calls").name, best_endpoint("alerts").name, best_endpoint("  ")
    ('Calls', 'Monitor alerts', None)
    """
    found = search_endpoints(text) if text.strip() else []
    return found[0] if found else None


@dataclass
class ParamRow:
    """One key/value row of the request (a parameter or a header), as typed."""

    key: str = ""
    value: str = ""


@dataclass(frozen=True, repr=False)
class FirstPage:
    """The first page fetched for the preview, and what the builder learnt from it."""

    url: str
    status: int
    elapsed: float
    body: Any
    list_key: str | None
    records: list[Any]
    fields: tuple[FieldInfo, ...]
    has_more: bool
    request: RequestSpec  # what was asked, to tell whether the draft changed since
    date_range: DateRange
    connection_label: str

    def summary(self) -> str:
        """One line: status, time, records, and whether more pages exist.

        >>> from twibox_nb.model.dates import resolve_range
        >>> r = resolve_range("today", datetime(2026, 11, 27, tzinfo=timezone.utc))
        >>> FirstPage("u", 200, 0.0312, {}, "messages", [1, 2], (), True, RequestSpec("/x"), r, "x").summary()
        'HTTP 200 in 31 ms · 2 records under "messages" · more pages follow'
        """
        took = f"{self.elapsed * 1000:.0f} ms" if self.elapsed < 1 else f"{self.elapsed:.2f} s"
        n = len(self.records)
        where = f' under "{self.list_key}"' if self.list_key else (" (the body is one record)" if n == 1 else "")
        more = " · more pages follow" if self.has_more else " · no more pages"
        return f"HTTP {self.status} in {took} · {n:,} record{'' if n == 1 else 's'}{where}{more}"

    def __repr__(self) -> str:  # bodies are large: never shown whole
        return f"FirstPage({self.summary()}, url={self.url!r})"


class RequestStep:
    """Step 1's methods of :class:`~twibox_nb.builder.state.BuilderState` (which sets these attributes)."""

    conn: Connection | None
    now: datetime | None
    fetch_options: dict[str, Any]
    method: str
    base_url: str
    path: str
    params: list[ParamRow]
    headers: list[ParamRow]
    pagination: Pagination
    max_pages: int
    preview_range: str
    first_page: FirstPage | None
    value: Field | Count | None
    dimension: Field | None
    date: Field | Dynamic | None
    notes: list[str]
    #: Why the last first-page fetch failed (a 404 …); any edit of the request clears it, since
    #: its cause may be gone. None when the last fetch worked or nothing was fetched yet.
    fetch_error: BaseException | None = None

    def _request_edited(self) -> None:
        """Any edit of the request: the last fetch's error no longer describes it."""
        self.fetch_error = None

    @property
    def first_page_stale(self) -> bool:
        """True when a first page is shown but the request, range or connection changed since."""
        return self.first_page is not None and self.needs_fetch

    @property
    def catalogue_choice(self) -> str | None:
        """The catalogue endpoint's name the request matches (the menu's choice), if any."""
        endpoint = self.endpoint
        return endpoint.name if endpoint is not None else None

    # --- step 1: the request -------------------------------------------------------------------
    @property
    def endpoint(self) -> Endpoint | None:
        """The catalogue's entry for the current base URL and path, if it has one."""
        return find_endpoint(self.base_url, self.path) if self.path else None

    @property
    def docs_url(self) -> str | None:
        return self.endpoint.docs if self.endpoint and self.endpoint.docs else None

    @property
    def date_filters(self) -> tuple[DateFilter, ...]:
        return self.endpoint.filters if self.endpoint else ()

    @property
    def routed_base_url(self) -> str:
        """Where the requests really go: the base URL moved to the connection's region/edge."""
        return self.conn.route(self.base_url) if self.conn is not None else self.base_url

    def set_method(self, method: str) -> None:
        """Only GET is accepted; POST (or anything else) is refused with the reason."""
        if method.upper() != "GET":
            raise ChoiceError("request", POST_DISABLED_REASON)
        self.method = "GET"

    def set_base_url(self, base_url: str) -> None:
        self._request_edited()
        self.base_url = base_url.strip().rstrip("/")

    def set_path(self, path: str) -> None:
        """Set the endpoint path; a catalogue path fills its suggested parameters when none are set yet.

        A whole Twilio URL pasted as the path is split: its host becomes the base URL, its query
        the parameter rows. Any other host stays as typed, and :meth:`request_problem` says that
        only Twilio hosts are allowed.
        """
        self._request_edited()
        path = path.strip()
        parts = urlsplit(path) if path.lower().startswith(("http://", "https://")) else None
        if parts is not None and _is_twilio_host(parts.scheme, parts.hostname):
            self.base_url = f"https://{parts.hostname}"
            path = parts.path or "/"
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                row = next((r for r in self.params if r.key.strip() == key), None)
                if row is None:
                    self.params.append(ParamRow(key, value))
                else:
                    row.value = value
        self.path = path
        endpoint = self.endpoint
        if endpoint is not None and not any(row.key.strip() for row in self.params):
            self._apply_defaults(endpoint)

    def choose_endpoint(self, endpoint: Endpoint | str) -> None:
        """Start from a catalogue endpoint (or its name): base URL, path, parameters and paging."""
        if isinstance(endpoint, str):
            found = [e for e in ENDPOINTS if e.name.lower() == endpoint.lower()]
            if not found:
                names = ", ".join(e.name for e in ENDPOINTS)
                raise ChoiceError("request", f"no catalogue endpoint is called {endpoint!r}: use one of {names}")
            endpoint = found[0]
        self._request_edited()
        self.base_url, self.path = endpoint.base_url, endpoint.path
        self._apply_defaults(endpoint)

    def _apply_defaults(self, endpoint: Endpoint) -> None:
        params = endpoint.suggested_params or ({"PageSize": "1000"} if endpoint.list_key else {})
        self.params = [ParamRow(k, v) for k, v in params.items()]
        # An instance (Balance) has no pages to follow.
        self.pagination = "next_page" if endpoint.list_key else "none"

    def add_row(self, kind: Literal["params", "headers"] = "params", key: str = "", value: str = "") -> int:
        """Append a row; returns its index."""
        self._request_edited()
        rows = self._rows(kind)
        rows.append(ParamRow(key, value))
        return len(rows) - 1

    def remove_row(self, kind: Literal["params", "headers"], index: int) -> None:
        self._request_edited()
        del self._rows(kind)[index]

    def set_row(
        self, kind: Literal["params", "headers"], index: int, key: str | None = None, value: str | None = None
    ) -> None:
        row = self._rows(kind)[index]
        if (key is not None and key != row.key) or (value is not None and value != row.value):
            self._request_edited()
        if key is not None:
            row.key = key
        if value is not None:
            row.value = value

    def _rows(self, kind: str) -> list[ParamRow]:
        if kind == "params":
            return self.params
        if kind == "headers":
            return self.headers
        raise ValueError(f"rows are 'params' or 'headers', not {kind!r}")

    def set_pagination(self, pagination: str, max_pages: int | None = None) -> None:
        if pagination not in PAGINATIONS:
            raise ChoiceError("request", f"pagination {pagination!r}: use 'none' or 'next_page'")
        self._request_edited()
        self.pagination = pagination  # type: ignore[assignment]
        if max_pages is not None:
            if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages not in PAGE_CAPS:
                raise ChoiceError("request", f"page cap {max_pages!r}: a whole number of pages from 1 to 100,000")
            self.max_pages = max_pages

    # --- date tokens ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def set_preview_range(self, name: str) -> None:
        """The range date tokens resolve to in the preview (checked here)."""
        resolve_range(name, self._now())  # raises DateRangeError with the allowed names
        if name != self.preview_range:
            self._request_edited()
        self.preview_range = name

    @property
    def date_range(self) -> DateRange:
        return resolve_range(self.preview_range, self._now())

    def preview_range_options(self) -> list[tuple[str, str]]:
        """``(label, name)`` pairs for a range menu, each label with its concrete days."""
        return token_menu.range_options(self._now(), self.preview_range)

    def suggested_token(self, key: str) -> str:
        """The token a date parameter most likely wants, from its filter rule, kind or name.

        >>> from twibox_nb.builder.state import BuilderState
        >>> s = BuilderState(); s.choose_endpoint("Monitor alerts")
        >>> s.suggested_token("StartDate"), s.suggested_token("EndDate"), s.suggested_token("DateSent<")
        ('start_datetime', 'end_datetime', 'end_date')
        """
        return token_menu.suggested_token(self.endpoint, key)

    def takes_date(self, index: int) -> bool:
        """True when parameter row ``index`` takes a date: the calendar menu is offered there only."""
        row = self.params[index]
        return token_menu.takes_date(self.endpoint, row.key, row.value)

    def token_choices(self, key: str) -> list[TokenChoice]:
        """What the calendar menu of a parameter offers: each token with the value it sends."""
        return token_menu.token_choices(self.endpoint, key, self.date_range)

    def insert_token(self, index: int, token: str) -> None:
        """Put a date token into parameter row ``index`` (replacing its value: a date filter takes one date)."""
        if token not in TOKENS:
            raise ChoiceError("request", f"unknown date token {token!r}: use one of {', '.join(TOKENS)}")
        self._request_edited()
        self.params[index].value = "{{" + token + "}}"

    def row_preview(self, index: int) -> RowPreview:
        """What parameter row ``index`` sends for the preview range."""
        row = self.params[index]
        return token_menu.row_preview(self.endpoint, row.key, row.value, self.date_range)

    # --- the request as a spec -----------------------------------------------------------------
    def request_spec(self) -> RequestSpec:
        """The request so far (blank rows are skipped); raises SpecError naming what is wrong."""
        if not self.path:
            raise SpecError("request.path", "type the endpoint path, or choose an endpoint from the catalogue")
        return RequestSpec(
            self.path,
            base_url=self.base_url,
            method=self.method,
            params=[(r.key.strip(), r.value) for r in self.params if r.key.strip()],
            headers=[(r.key.strip(), r.value) for r in self.headers if r.key.strip()],
            pagination=self.pagination,
            max_pages=self.max_pages,
        )

    def request_problem(self) -> str | None:
        """What keeps the request from being sent, in plain words (None when it is fine)."""
        for row in self.params:
            if row.value.strip() and not row.key.strip():
                return f"the parameter with value {row.value!r} has no key"
        path = self.path.strip()
        if path.lower().startswith(("http://", "https://")):
            parts = urlsplit(path)
            return (
                f"the endpoint {path[:80]!r} is on {parts.hostname or 'no host'}: {TWILIO_HOSTS_ONLY}; "
                "or type just the path, such as /2010-04-01/Accounts/{AccountSid}/Calls.json"
            )
        try:
            self.request_spec()
        except SpecError as exc:
            if exc.field == "request.base_url":
                return f"the base URL {self.base_url[:80]!r} is not Twilio's: {TWILIO_HOSTS_ONLY}"
            return str(exc)
        return None

    def preview_url(self) -> str:
        """The first request's URL for the preview range ({AccountSid} filled in once connected)."""
        request = self.request_spec()
        if self.conn is not None:
            return str(build_request(request, self.conn, self.date_range).url)
        query = str(httpx.QueryParams(resolve_params(request, self.date_range)))
        return request.base_url + request.path + (f"?{query}" if query else "")  # {AccountSid} stays readable

    # --- the first page ------------------------------------------------------------------------
    @property
    def needs_fetch(self) -> bool:
        """True when the first page is missing or was fetched for another request, range or connection."""
        page = self.first_page
        if page is None or self.conn is None:
            return True
        try:
            request = self.request_spec()
        except SpecError:
            return True
        return page.request != request or page.date_range != self.date_range or page.connection_label != self.conn.label

    def fetch_first_page(self, progress: Callable[[Progress], None] | None = None) -> FirstPage:
        """Fetch the first page of the request for the preview range (one request, retries aside).

        Errors are raised as :class:`~twibox_nb.TwiboxError` subclasses with plain messages
        (:func:`~twibox_nb.builder.state.describe_error` words them for a person); the previous page is kept then.
        """
        if self.conn is None:
            raise ChoiceError("request", "there is no connection yet: activate one (or the sandbox) first")
        request = self.request_spec()
        date_range = self.date_range
        http_request = build_request(request, self.conn, date_range)
        fetcher = PageFetcher(self.conn, http_request, pagination="none", progress=progress, **self.fetch_options)
        try:
            page = next(iter(fetcher))
        except Exception as exc:
            self.fetch_error = exc  # kept until the request is edited (see _request_edited)
            raise
        self.fetch_error = None
        list_key, records = find_records(page.body)
        next_url = detect(page.body).next_url(page.body, first=http_request.url, current=http_request.url)
        self.first_page = FirstPage(
            url=page.url,
            status=page.status,
            elapsed=page.elapsed,
            body=page.body,
            list_key=list_key,
            records=records,
            fields=tuple(discover_fields(page.body)),
            has_more=next_url is not None,
            request=request,
            date_range=date_range,
            connection_label=self.conn.label,
        )
        self._keep_choices_that_still_exist()
        return self.first_page

    def _keep_choices_that_still_exist(self) -> None:
        """After a new fetch, a chosen field missing from records that do exist is dropped (said in notes)."""
        page = self.first_page
        if page is None or not page.records:
            return  # nothing to check against: keep what was chosen
        for what in ("value", "dimension"):
            chosen = getattr(self, what)
            if isinstance(chosen, Field) and self.field_info(chosen.path) is None:
                setattr(self, what, None)
                self.notes.append(f"the {what} {chosen.path!r} is not in the new first page's records: choose again")

    @property
    def fields(self) -> list[FieldInfo]:
        """The fields discovered in the first page's records (empty before the first fetch)."""
        return list(self.first_page.fields) if self.first_page else []

    def field_info(self, path: str) -> FieldInfo | None:
        return field_choices.find_field(self.fields, path)


def _is_twilio_host(scheme: str, host: str | None) -> bool:
    """An https URL on twilio.com or one of its subdomains."""
    host = (host or "").lower()
    return scheme.lower() == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))
