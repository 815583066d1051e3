"""The metric builder's draft, without any UI: every decision the MetricBuilder widget shows.

:class:`BuilderState` holds what an analyst is building, step by step, as plain values: the
request (base URL, path, parameter and header rows, paging), the preview range that date tokens
resolve to, the first page fetched and the fields discovered in it, the value and the dimension.
Its :attr:`~BuilderState.spec` is the :class:`~twibox_nb.model.spec.MetricSpec` so far. The widgets in
:mod:`twibox_nb.widgets.builder` only show this state and call its methods, so everything here is
tested without ipywidgets (and a report notebook could drive it too).

>>> from datetime import datetime, timezone
>>> from twibox_nb.fetch.connection import connect
>>> from twibox_nb.sandbox import Sandbox
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # one clock for the sandbox and the builder
>>> state = BuilderState(connect(sandbox=Sandbox(now=now)), now=now)
>>> state.choose_endpoint("Messages")
>>> [(row.key, row.value) for row in state.params]
[('PageSize', '1000'), ('DateSent>', '{{start_date}}'), ('DateSent<', '{{end_date}}')]
>>> state.row_preview(1).text
'2026-10-28'
>>> page = state.advance()                     # step 1 → 2: fetches the first page
>>> page.status, state.step
(200, 'value')
>>> state.select_value(Field("status"))        # doctest: +ELLIPSIS
Traceback (most recent call last):
...
twibox_nb.builder.state.ChoiceError: value: 'status' holds text (...), not numbers: a metric value must be ...; ...
>>> state.select_value(Count()); state.select_dimension(Field("status"))
>>> state.spec.to_dict()["value"], state.spec.to_dict()["dimension"], state.spec.to_dict()["date"]
({'count': True}, {'field': 'status'}, {'field': 'date_sent'})
>>> for _ in range(3): state.advance()        # steps 2 → 3 → 4 → 5
>>> state.step
'preview'
>>> state.expression
'messages.{"date": date_sent, "value": 1, "dimension": status}'
>>> result = state.preview()                   # every page of the preview range, fetched once
>>> int(result.summary.current) == len(result.rows), state.stored.report.stop_reason
(True, 'complete')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx

from .._exceptions import ExpressionError, SpecError, TwiboxError, TwilioAPIError
from ..evaluate.expression import DEFAULT_TIMEOUT, custom_expression, generate
from ..fetch.chain import PageFetcher
from ..fetch.connection import Connection
from ..fetch.pagination import detect
from ..fetch.report import Progress
from ..fetch.request import build_request, resolve_params
from ..model.catalog import ENDPOINTS, DateFilter, Endpoint, find_endpoint
from ..model.dates import TOKENS, DateRange, resolve_range
from ..model.records import find_records
from ..model.spec import Count, Dynamic, Field, MetricSpec, Pagination, RequestSpec
from ..pipeline.metric import MetricResult
from . import field_choices, token_menu
from . import preview as previews
from .field_choices import Choice
from .fields import FieldInfo, discover_fields
from .preview import DateChoice, StoredFetch
from .token_menu import PREVIEW_RANGES, RowPreview, TokenChoice

__all__ = [
    "METHODS",
    "POST_DISABLED_REASON",
    "PREVIEW_RANGES",
    "PRODUCTS",
    "STEPS",
    "BuilderState",
    "Choice",
    "ChoiceError",
    "DateChoice",
    "FirstPage",
    "Row",
    "RowPreview",
    "Step",
    "StepKey",
    "TokenChoice",
    "base_urls",
    "describe_error",
    "mask_identifier",
    "search_endpoints",
]

StepKey = Literal["request", "value", "dimension", "date", "preview", "describe"]


@dataclass(frozen=True)
class Step:
    """One step of the builder (``available`` False would list a step that is not built yet)."""

    key: StepKey
    number: int
    title: str
    optional: bool = False
    available: bool = True


# The reference product's six steps.
STEPS: tuple[Step, ...] = (
    Step("request", 1, "Prepare API request"),
    Step("value", 2, "Select value"),
    Step("dimension", 3, "Segment by dimension", optional=True),
    Step("date", 4, "Select date", optional=True),
    Step("preview", 5, "Preview & customize"),
    Step("describe", 6, "Describe metric"),
)

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


class ChoiceError(TwiboxError, ValueError):
    """A choice the builder does not accept, with the reason in plain words; ``step`` says where."""

    def __init__(self, step: StepKey, message: str) -> None:
        self.step = step
        self.detail = message
        super().__init__(f"{step}: {message}")


def base_urls() -> list[str]:
    """The base URLs the builder offers (Twilio's product hosts; the connection moves them to its region).

    >>> base_urls()[:3]
    ['https://api.twilio.com', 'https://monitor.twilio.com', 'https://messaging.twilio.com']
    """
    return [f"https://{product}.twilio.com" for product in PRODUCTS]


def search_endpoints(text: str = "", base_url: str | None = None) -> list[Endpoint]:
    """Catalogue endpoints whose name, path or description holds every word of ``text``.

    >>> [e.name for e in search_endpoints("monitor")]
    ['Monitor alerts', 'Monitor events']
    >>> [e.name for e in search_endpoints("usage daily")]
    ['Usage Records Daily']
    """
    words = text.lower().split()
    found = []
    for endpoint in ENDPOINTS:
        if base_url is not None and endpoint.base_url != base_url.rstrip("/"):
            continue
        haystack = f"{endpoint.name} {endpoint.path} {endpoint.description} {endpoint.product}".lower()
        if all(word in haystack for word in words):
            found.append(endpoint)
    return found


def mask_identifier(value: str, keep: int = 4) -> str:
    """A SID shown without most of its digits (prefix and the last ``keep`` characters).

    >>> mask_identifier("AC" + "0" * 28 + "beef")
    'AC…beef'
    """
    value = value.strip()
    if len(value) <= keep + 2:
        return "…"
    return f"{value[:2]}…{value[-keep:]}"


def describe_error(exc: BaseException) -> tuple[str, str | None]:
    """``(message, more_info link)`` for an error, in plain words; unexpected errors say they are bugs.

    >>> describe_error(TwilioAPIError(404, 20404, "The requested resource /x was not found",
    ...                               "https://www.twilio.com/docs/errors/20404", "https://api.twilio.com/x"))
    ('Twilio answered 404 (error 20404): The requested resource /x was not found. Check the base URL and \
the endpoint path: Twilio has no list there.', 'https://www.twilio.com/docs/errors/20404')
    """
    if isinstance(exc, TwilioAPIError):
        code = f" (error {exc.code})" if exc.code is not None else ""
        hint = {
            400: "Check the parameters: Twilio refused one of them.",
            401: "The connection's credentials were not accepted: connect again.",
            403: "The credentials may not read this resource (a restricted API key?).",
            404: "Check the base URL and the endpoint path: Twilio has no list there.",
            429: "Twilio is rate limiting this account: try again in a minute.",
        }.get(exc.status, "")
        message = exc.message.rstrip(".")
        return f"Twilio answered {exc.status}{code}: {message}.{' ' + hint if hint else ''}", exc.more_info
    if isinstance(exc, (ChoiceError, SpecError)):
        return exc.detail, None
    if isinstance(exc, TwiboxError):
        return str(exc), None
    return f"Unexpected error (please report it): {type(exc).__name__}: {exc}", None


@dataclass
class Row:
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


# The MetricSpec fields steps 5–6 edit (and ``extra``, which no step edits): kept as loaded
# (from_spec) so that a round trip changes nothing, and MetricSpec's defaults otherwise.
_LATER = ("expression", "description", "aggregation", "favourable_trend", "date_range", "interval", "extra")
#: What step 6 may change, with :meth:`BuilderState.describe`.
DESCRIBED = ("name", "description", "aggregation", "favourable_trend", "date_range", "interval")


class BuilderState:
    """The draft of a metric, step by step (see the module docstring for a walk-through).

    ``conn`` may be None until the Connect step has run (:meth:`set_connection`). ``now`` pins the
    clock for the preview range (default: the current UTC time). ``fetch_options`` go to
    :class:`~twibox_nb.fetch.chain.PageFetcher` (a ``policy``, a ``sleep`` …). ``expression_timeout``
    is the seconds a custom expression may run on one page of the preview before it is stopped.
    """

    def __init__(
        self,
        conn: Connection | None = None,
        *,
        now: datetime | None = None,
        preview_range: str = "last_30_days",
        fetch_options: Mapping[str, Any] | None = None,
        expression_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.conn = conn
        self.expression_timeout = expression_timeout
        self.now = now
        self.fetch_options = dict(fetch_options or {})
        self.method = "GET"
        self.base_url = "https://api.twilio.com"
        self.path = ""
        self.params: list[Row] = []
        self.headers: list[Row] = []
        self.pagination: Pagination = "next_page"
        self.max_pages = 100
        self.preview_range = "last_30_days"
        self.set_preview_range(preview_range)
        self.first_page: FirstPage | None = None
        self.value: Field | Count | None = None
        self.dimension: Field | None = None
        self.date: Field | Dynamic | None = None  # None: the default (step 4 chooses it)
        self.name: str | None = None  # None: named after the endpoint until the Describe step
        self.later: dict[str, Any] = {}
        self.step: StepKey = "request"
        self.notes: list[str] = []  # things the analyst should know (e.g. a choice dropped by a refetch)
        self.stored: StoredFetch | None = None  # every page of the preview range (step 5), fetched once
        self.preview_error: TwiboxError | None = None  # why the last preview failed
        self.saved_path: str | None = None
        self._saved_spec: MetricSpec | None = None
        self._evaluated: tuple[MetricSpec, StoredFetch, MetricResult | TwiboxError] | None = None

    # --- opening a saved metric ----------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: MetricSpec, conn: Connection | None = None, **options: Any) -> BuilderState:
        """A draft holding every choice of ``spec``: ``BuilderState.from_spec(s).spec == s``.

        >>> from twibox_nb import library
        >>> spec = library.get("Messages by status")
        >>> BuilderState.from_spec(spec).spec == spec
        True
        """
        if not isinstance(spec, MetricSpec):
            raise ChoiceError(
                "request", f"{type(spec).__name__} is not a MetricSpec: a calculated metric is built from its inputs"
            )
        options.setdefault("preview_range", spec.date_range)
        state = cls(conn, **options)
        request = spec.request
        state.base_url, state.path = request.base_url, request.path
        state.params = [Row(k, v) for k, v in request.params]
        state.headers = [Row(k, v) for k, v in request.headers]
        state.pagination, state.max_pages = request.pagination, request.max_pages
        state.value, state.dimension, state.date, state.name = spec.value, spec.dimension, spec.date, spec.name
        state.later = {name: getattr(spec, name) for name in _LATER}
        return state

    def set_connection(self, conn: Connection) -> None:
        """Use another connection (the first page is fetched again on the next Continue)."""
        self.conn = conn

    @property
    def data_source(self) -> str:
        """Where the data comes from (a sandbox says so), or that there is no connection yet."""
        return self.conn.label if self.conn is not None else "Not connected: activate a connection first"

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
        self.base_url = base_url.strip().rstrip("/")

    def set_path(self, path: str) -> None:
        """Set the endpoint path; a catalogue path fills its suggested parameters when none are set yet."""
        self.path = path.strip()
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
        self.base_url, self.path = endpoint.base_url, endpoint.path
        self._apply_defaults(endpoint)

    def _apply_defaults(self, endpoint: Endpoint) -> None:
        params = endpoint.suggested_params or ({"PageSize": "1000"} if endpoint.list_key else {})
        self.params = [Row(k, v) for k, v in params.items()]
        # An instance (Balance) has no pages to follow.
        self.pagination = "next_page" if endpoint.list_key else "none"

    def add_row(self, kind: Literal["params", "headers"] = "params", key: str = "", value: str = "") -> int:
        """Append a row; returns its index."""
        rows = self._rows(kind)
        rows.append(Row(key, value))
        return len(rows) - 1

    def remove_row(self, kind: Literal["params", "headers"], index: int) -> None:
        del self._rows(kind)[index]

    def set_row(
        self, kind: Literal["params", "headers"], index: int, key: str | None = None, value: str | None = None
    ) -> None:
        row = self._rows(kind)[index]
        if key is not None:
            row.key = key
        if value is not None:
            row.value = value

    def _rows(self, kind: str) -> list[Row]:
        if kind == "params":
            return self.params
        if kind == "headers":
            return self.headers
        raise ValueError(f"rows are 'params' or 'headers', not {kind!r}")

    def set_pagination(self, pagination: str, max_pages: int | None = None) -> None:
        if pagination not in ("none", "next_page"):
            raise ChoiceError("request", f"pagination {pagination!r}: use 'none' or 'next_page'")
        self.pagination = pagination  # type: ignore[assignment]
        if max_pages is not None:
            if isinstance(max_pages, bool) or not isinstance(max_pages, int) or not 1 <= max_pages <= 100_000:
                raise ChoiceError("request", f"page cap {max_pages!r}: a whole number of pages from 1 to 100,000")
            self.max_pages = max_pages

    # --- date tokens ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def set_preview_range(self, name: str) -> None:
        """The range date tokens resolve to in the preview (checked here)."""
        resolve_range(name, self._now())  # raises DateRangeError with the allowed names
        self.preview_range = name

    @property
    def date_range(self) -> DateRange:
        return resolve_range(self.preview_range, self._now())

    def preview_range_options(self) -> list[tuple[str, str]]:
        """``(label, name)`` pairs for a range menu, each label with its concrete days."""
        return token_menu.range_options(self._now(), self.preview_range)

    def suggested_token(self, key: str) -> str:
        """The token a date parameter most likely wants, from its filter rule, kind or name.

        >>> s = BuilderState(); s.choose_endpoint("Monitor alerts")
        >>> s.suggested_token("StartDate"), s.suggested_token("EndDate"), s.suggested_token("DateSent<")
        ('start_datetime', 'end_datetime', 'end_date')
        """
        return token_menu.suggested_token(self.endpoint, key)

    def token_choices(self, key: str) -> list[TokenChoice]:
        """What the calendar menu of a parameter offers: each token with the value it sends."""
        return token_menu.token_choices(self.endpoint, key, self.date_range)

    def insert_token(self, index: int, token: str) -> None:
        """Put a date token into parameter row ``index`` (replacing its value: a date filter takes one date)."""
        if token not in TOKENS:
            raise ChoiceError("request", f"unknown date token {token!r}: use one of {', '.join(TOKENS)}")
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
        try:
            self.request_spec()
        except SpecError as exc:
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
        (:func:`describe_error` words them for a person); the previous page is kept then.
        """
        if self.conn is None:
            raise ChoiceError("request", "there is no connection yet: activate one (or the sandbox) first")
        request = self.request_spec()
        date_range = self.date_range
        http_request = build_request(request, self.conn, date_range)
        fetcher = PageFetcher(self.conn, http_request, pagination="none", progress=progress, **self.fetch_options)
        page = next(iter(fetcher))
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

    # --- steps 2 and 3: the value and the dimension (decided in field_choices) --------------------
    def _checkable(self) -> bool:
        """False before a first page with records: a saved choice is then trusted, not refused."""
        return bool(self.first_page and self.first_page.records)

    def explain_value(self, path: str) -> str | None:
        """Why ``path`` cannot be the metric's value (None when it can)."""
        return field_choices.explain_value(self.fields, path) if self._checkable() else None

    def value_choices(self, show_all: bool = False) -> list[Choice]:
        """Count of records first, then the fields that can be numbers (``show_all``: every field)."""
        records = len(self.first_page.records) if self.first_page else 0
        return field_choices.value_choices(self.fields, records, self.value, show_all)

    def select_value(self, value: Field | Count | str) -> None:
        """Choose the value: a field that can be a number, or :class:`Count`. Others are explained, not taken."""
        choice = Field(value) if isinstance(value, str) else value
        if not isinstance(choice, (Field, Count)):
            raise ChoiceError("value", "choose a field or count of records")
        reason = self.explain_value(choice.path) if isinstance(choice, Field) else None
        if reason is not None:
            raise ChoiceError("value", reason)
        self.value = choice

    def explain_dimension(self, path: str) -> str | None:
        """Why ``path`` cannot split the metric (None when it can)."""
        if not self._checkable():
            return None
        return field_choices.explain_dimension(self.fields, self.first_page.records, path)  # type: ignore[union-attr]

    def dimension_choices(self, show_all: bool = False) -> list[Choice]:
        """None first, then the fields that can split the metric (``show_all``: every field)."""
        records = self.first_page.records if self.first_page else []
        return field_choices.dimension_choices(self.fields, records, self.dimension, show_all)

    def select_dimension(self, dimension: Field | str | None) -> None:
        """Choose the dimension (None for none). A field that cannot split the metric is explained, not taken."""
        choice = Field(dimension) if isinstance(dimension, str) else dimension
        reason = self.explain_dimension(choice.path) if choice is not None else None
        if reason is not None:
            raise ChoiceError("dimension", reason)
        self.dimension = choice

    def distinct_values(self, path: str) -> list[tuple[Any, int]]:
        """The values of ``path`` in the first page's records with their counts, most frequent first
        (``None`` for null or missing: those records get no dimension)."""
        records = self.first_page.records if self.first_page else []
        return field_choices.distinct_values(self.fields, records, path)

    # --- step 4: the date ----------------------------------------------------------------------
    def date_choices(self) -> list[DateChoice]:
        """Dynamic (the time of storing) first, then the date fields with an example read as UTC."""
        return previews.date_choices(self.fields)

    def explain_date(self, path: str) -> str | None:
        """Why ``path`` cannot be the metric's date (None when it can)."""
        if not self._checkable():
            return None
        info = self.field_info(path)
        if info is None:
            return f"{path!r} is not a field of the first page's records"
        if info.as_date:
            return None
        example = f" (e.g. {info.examples[0]!r})" if info.examples else ""
        return (
            f"{path!r} holds {info.kind.replace('_', ' ')}{example}, not dates: choose a field holding "
            "RFC 2822 or ISO 8601 dates, or the time of storing (dynamic)"
        )

    def select_date(self, date: Field | Dynamic | str | None) -> None:
        """Choose the date: a date field, :class:`Dynamic` (the time of storing), or None (the default)."""
        choice = Field(date) if isinstance(date, str) else date
        if choice is not None and not isinstance(choice, (Field, Dynamic)):
            raise ChoiceError("date", "choose a date field, or Dynamic() for the time of storing")
        reason = self.explain_date(choice.path) if isinstance(choice, Field) else None
        if reason is not None:
            raise ChoiceError("date", reason)
        self.date = choice

    @property
    def effective_date(self) -> Field | Dynamic:
        return self.date if self.date is not None else self.default_date

    # --- step 5: the expression and the preview --------------------------------------------------
    @property
    def list_key(self) -> str | None:
        """Where the records are in a page: the first page's answer, else the catalogue's."""
        if self.first_page is not None:
            return self.first_page.list_key
        endpoint = self.endpoint
        return endpoint.list_key if endpoint else None

    @property
    def generated_expression(self) -> str:
        """The JSONata the value, dimension and date choices generate (one row per record)."""
        return generate(self.list_key, previews.selection_of(self.spec.replace(expression=None))).text

    @property
    def customised(self) -> bool:
        return bool(self.later.get("expression"))

    @property
    def expression(self) -> str:
        """The expression the metric runs: the customised one, else the generated one."""
        return self.later.get("expression") or self.generated_expression

    def set_expression(self, text: str) -> None:
        """Keep an edited expression as customised (the generated text itself is not a customisation).

        A syntax error raises :class:`~twibox_nb.ExpressionError` with its position, and the
        previous expression stays.
        """
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("the expression is empty: type one, or reset to the generated one", code="S0207")
        if text.strip() == self.generated_expression:
            self.later["expression"] = None
            return
        custom_expression(text, timeout=self.expression_timeout)  # the syntax check: raises with the position
        self.later["expression"] = text

    def reset_expression(self) -> None:
        """Drop the customised expression: the generated one runs again."""
        self.later["expression"] = None

    @property
    def needs_preview_fetch(self) -> bool:
        """True when the preview's pages are missing or were fetched for another request, range or connection."""
        stored = self.stored
        if stored is None or self.conn is None:
            return True
        try:
            request = self.request_spec()
        except SpecError:
            return True
        return (
            stored.request != request
            or stored.date_range != self.date_range
            or stored.connection_label != self.conn.label
        )

    def fetch_preview(self, progress: Callable[[Progress], None] | None = None) -> StoredFetch:
        """Fetch every page of the preview range once (up to the page cap) and keep the bodies.

        A first page without a next page (or without paging) is reused: no request is sent then.
        """
        if self.conn is None:
            raise ChoiceError("preview", "there is no connection yet: activate one (or the sandbox) first")
        request = self.request_spec()
        page = self.first_page
        if page is not None and not self.needs_fetch and (not page.has_more or request.pagination == "none"):
            stored = previews.single_page_fetch(
                request, self.conn, page.date_range, body=page.body, elapsed=page.elapsed, fetched_at=self._now()
            )
        else:
            stored = previews.fetch_pages(
                request, self.conn, self.date_range, now=self._now(), progress=progress,
                fetch_options=self.fetch_options,
            )  # fmt: skip
        self.stored = stored
        self._evaluated = None
        return stored

    def preview(self, progress: Callable[[Progress], None] | None = None) -> MetricResult:
        """The metric over the preview range: pages fetched once, then evaluated from memory.

        A change of value, dimension, date, expression, aggregation or interval re-evaluates the
        stored pages without a request. An expression error is raised (and kept in
        :attr:`preview_error`); the builder stays usable.
        """
        if self.needs_preview_fetch:
            self.fetch_preview(progress)
        self.preview_error = None
        try:
            return self._evaluate()
        except TwiboxError as exc:
            self.preview_error = exc
            raise

    def _evaluate(self) -> MetricResult:
        stored, spec = self.stored, self.spec
        assert stored is not None
        cached = self._evaluated
        if cached is not None and cached[1] is stored and cached[0] == spec:
            if isinstance(cached[2], TwiboxError):
                raise cached[2]  # a failure is kept too: a runaway expression is not run twice
            return cached[2]
        try:
            result = previews.preview_result(spec, stored, timeout=self.expression_timeout, source=self.data_source)
        except TwiboxError as exc:
            self._evaluated = (spec, stored, exc)
            raise
        self._evaluated = (spec, stored, result)
        return result

    @property
    def result(self) -> MetricResult | None:
        """The preview of the metric as it stands (None before the preview's fetch, or when it fails)."""
        if self.needs_preview_fetch:
            return None
        try:
            return self._evaluate()
        except TwiboxError:
            return None

    def preview_table(self, rows: int = previews.PREVIEW_ROWS) -> Any:
        """The first rows of the preview's aggregated frame (a DataFrame; None before a preview)."""
        result = self.result
        return previews.preview_table(result, rows) if result is not None else None

    def paging(self) -> list[tuple[str, str]]:
        """The pagination panel's lines (empty before the preview's fetch)."""
        return previews.paging_lines(self.stored) if self.stored is not None else []

    def truncation_warning(self) -> str | None:
        return previews.truncation_warning(self.stored) if self.stored is not None else None

    def error_pointer(self) -> str | None:
        """The expression's line with a caret under the last preview error's position (when known)."""
        exc = self.preview_error
        position = getattr(exc, "position", None)
        return previews.point_at(self.expression, position) if isinstance(exc, ExpressionError) else None

    # --- step 6: describe, save, copy as code -------------------------------------------------
    def describe(self, **changes: Any) -> None:
        """Set the name, description, aggregation, favourable trend, default range or interval.

        Each is checked as the spec checks it; a refused value raises :class:`ChoiceError` and
        nothing changes.
        """
        unknown = set(changes) - set(DESCRIBED)
        if unknown:
            raise ChoiceError("describe", f"{sorted(unknown)[0]!r} is not described here: use {', '.join(DESCRIBED)}")
        if "name" in changes and isinstance(changes["name"], str):
            changes["name"] = changes["name"].strip()
        try:
            self.spec.replace(**changes)
        except SpecError as exc:
            raise ChoiceError("describe", f"{exc.field.replace('_', ' ')}: {exc.detail}") from None
        for key, value in changes.items():
            if key == "name":
                self.name = value
            else:
                self.later[key] = value

    @property
    def default_save_path(self) -> str:
        """A file name from the metric's name (``messages_by_status.json``)."""
        slug = "".join(c if c.isalnum() else "_" for c in self.spec.name.lower()).strip("_")
        while "__" in slug:
            slug = slug.replace("__", "_")
        return f"{slug or 'metric'}.json"

    def save(self, path: str | None = None) -> str:
        """Write the spec file (atomically; its folder is created) and return where it went."""
        target = (path if path is not None else self.default_save_path).strip()
        if not target:
            raise ChoiceError("describe", "type where to save the metric file (e.g. metrics/my_metric.json)")
        spec = self.spec
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            written = spec.save(target)
        except OSError as exc:
            raise ChoiceError("describe", f"cannot write {target}: {exc.strerror or exc}") from None
        self.saved_path, self._saved_spec = str(written), spec
        return str(written)

    def copy_as_code(self) -> str:
        """The few lines that fetch this metric headlessly over the preview range (no credential in them).

        They load the saved file when the metric was saved as it stands, else hold its JSON.
        """
        spec = self.spec
        saved = self.saved_path if self._saved_spec == spec else None
        sandbox = bool(self.conn is not None and self.conn.is_sandbox)
        return previews.copy_as_code(spec, sandbox=sandbox, date_range=self.preview_range, path=saved)

    # --- navigation ----------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Step, ...]:
        return STEPS

    @property
    def current(self) -> Step:
        return next(s for s in STEPS if s.key == self.step)

    def next_step(self) -> Step | None:
        """The next available step after the current one (None at the last one built so far)."""
        later = [s for s in STEPS if s.number > self.current.number]
        return later[0] if later and later[0].available else None

    def continue_problem(self) -> str | None:
        """What keeps Continue from moving on, in plain words (None when it may go on).

        The request step needs a connection and a valid request; its Continue fetches the
        first page (which may still fail: see :meth:`advance`).
        """
        if self.step == "request":
            if self.conn is None:
                return "activate a connection (or the sandbox) first"
            return self.request_problem()
        if self.step == "value" and self.value is None:
            return "choose what to measure: a field that holds numbers, or count of records"
        if self.step == "preview":
            if self.preview_error is not None:
                return "the preview failed: fix the expression (or reset it to the generated one), then preview again"
            if self.stored is None:
                return "preview the data first"
        if self.next_step() is None:
            return "this is the last step: Save writes the metric file; builder.spec holds it"
        return None

    def advance(self, progress: Callable[[Progress], None] | None = None) -> FirstPage | None:
        """Continue: check the current step, fetch the first page when leaving step 1, move on.

        Returns the first page when one was fetched. Raises :class:`ChoiceError` (or the fetch's
        error) and stays on the step when it cannot go on.
        """
        problem = self.continue_problem()
        if problem is not None:
            raise ChoiceError(self.step, problem)
        fetched = None
        if self.step == "request" and self.needs_fetch:
            fetched = self.fetch_first_page(progress)
        following = self.next_step()
        assert following is not None  # continue_problem said so
        self.step = following.key
        return fetched

    def back(self) -> None:
        """Back one step; every choice is kept."""
        earlier = [s for s in STEPS if s.number < self.current.number]
        if earlier:
            self.step = earlier[-1].key

    # --- the metric so far ---------------------------------------------------------------------
    @property
    def default_name(self) -> str:
        endpoint = self.endpoint
        base = (
            endpoint.name if endpoint else (self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json") or "Metric")
        )
        if isinstance(self.value, Field):
            base = f"{base}: {self.value.path}"
        return f"{base} by {self.dimension.path}" if self.dimension is not None else base

    @property
    def default_date(self) -> Field | Dynamic:
        """The endpoint's own date field when the catalogue knows it, else the time of fetching."""
        endpoint = self.endpoint
        return Field(endpoint.date_field) if endpoint and endpoint.date_field else Dynamic()

    @property
    def spec(self) -> MetricSpec:
        """The :class:`~twibox_nb.model.spec.MetricSpec` so far (later steps' fields keep their defaults)."""
        return MetricSpec(
            name=self.name or self.default_name,
            request=self.request_spec(),
            value=self.value if self.value is not None else Count(),
            dimension=self.dimension,
            date=self.date if self.date is not None else self.default_date,
            **self.later,
        )

    def summary(self) -> list[tuple[str, str]]:
        """The metric so far as ``(what, choice)`` lines for people."""
        date = self.effective_date
        date_text = "time of storing (dynamic)" if isinstance(date, Dynamic) else date.path
        if self.date is None:
            date_text += " (default)"
        value = self.value
        lines = [
            ("request", f"GET {self.base_url}{self.path}" if self.path else "not set"),
            ("value", "count of records" if isinstance(value, Count) else value.path if value else "not chosen"),
            ("dimension", self.dimension.path if self.dimension else "none"),
            ("date", date_text),
            ("aggregation", str(self.later.get("aggregation", "sum"))),
        ]
        if self.later.get("expression"):
            lines.append(("expression", "customised (it wins over the value, dimension and date choices)"))
        return lines
