"""``MetricSpec``: everything the builder collects, as a plain immutable value and a JSON file.

The file format (``"twibox_metric": 1``) is a contract other tools read and write::

    {
      "twibox_metric": 1,
      "name": "Messages by status",
      "description": "…",
      "request": {"method": "GET", "base_url": "https://api.twilio.com",
                  "path": "/2010-04-01/Accounts/{AccountSid}/Messages.json",
                  "params": {"PageSize": "1000", "DateSent>": "{{start_date}}"}, "headers": {},
                  "pagination": "next_page", "max_pages": 100},
      "value": {"count": true},            # or {"field": "price"}
      "dimension": {"field": "status"},    # or null
      "date": {"field": "date_sent"},      # or {"dynamic": true}
      "expression": null,                  # or the customised JSONata text (then authoritative)
      "aggregation": "sum", "unit": "count",  # unit: optional, see model/units.py
      "favourable_trend": "up", "date_range": "last_30_days", "interval": "day"
    }

Keys other tools add are kept and written back unchanged. A spec never holds a credential:
headers and parameters that carry one are refused.

Version rules. The version changes only when a reader of the old version would misread a new
file. An optional key whose absence keeps the old meaning is added without a new version: files
without it read as before, and an older twibox_nb keeps it as a key it does not know and writes
it back unchanged. ``unit`` came that way: a file without one has a plain number as its value
(formatted without a unit), and ``unit`` is written only when set, so an old file read and saved
again stays byte for byte the same.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from .._exceptions import DateRangeError, SpecError
from .._files import atomic_write_text
from .dates import INTERVALS, resolve_range, shown, tokens_in
from .secrets import check_saveable
from .units import check_unit

SCHEMA_VERSION = 1
Aggregation = Literal["latest", "sum", "min", "max", "average", "count"]
AGGREGATIONS: tuple[str, ...] = ("latest", "sum", "min", "max", "average", "count")
Trend = Literal["up", "down"]
Pagination = Literal["none", "next_page"]
PAGINATIONS: tuple[str, ...] = get_args(Pagination)
PAGE_CAPS = range(1, 100_001)  # max_pages: at least one page, at most 100,000
# A Twilio host, {product}.{edge}.{region}.twilio.com: the one pattern (fetch.hosts uses it too).
TWILIO_HOST = re.compile(r"^([a-z0-9-]+)(?:\.[a-z0-9-]+)*\.twilio\.com$")

# Names and values that would put a credential into a saved file.
_SECRET_NAME = re.compile(r"(?i)(authori[sz]ation|auth|token|secret|password|passwd|api[-_]?key|cookie|credential)")
_ALLOWED_NAMES = frozenset({"PageToken"})  # Twilio's paging parameter is not a credential
_SECRET_VALUE = re.compile(r"(?i)^\s*(basic|bearer|digest)\s+\S+|^[0-9a-f]{32}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
# What a request can carry: no control characters (CR/LF would inject headers, NUL and tab cut
# or corrupt the line), nothing longer than a URL servers accept, header names that are HTTP tokens.
MAX_TEXT = 2_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def check_text(where: str, what: str, text: str) -> None:
    r"""Refuse text a request cannot carry: a control character, or more than 2,000 characters.

    >>> check_text("request.path", "the path", "/v1/Alerts\r\nX-Injected: 1")
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: request.path: the path holds a control character ('\r' at position 10), which ...
    """
    if len(text) > MAX_TEXT:
        raise SpecError(
            where, f"{what} is {len(text):,} characters long, over the limit of {MAX_TEXT:,}: {shown(text)}"
        )
    bad = _CONTROL.search(text)
    if bad:
        why = " (CR or LF would inject headers)" if bad[0] in "\r\n" else ""
        raise SpecError(
            where,
            f"{what} holds a control character ({bad[0]!r} at position {bad.start()}), which a request cannot "
            f"carry{why}: {shown(text)}; remove it",
        )



def parse_json(text: str) -> Any:
    """The JSON value of a metric's text, or a :class:`SpecError` saying why it cannot be read.

    >>> parse_json('{"name": "x"}')
    {'name': 'x'}
    >>> parse_json("[" * 100_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: metric: JSON nested too deeply or with a number too long to read
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError("metric", f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except (RecursionError, ValueError):  # 100,000 levels deep, or an integer of 4,300+ digits
        raise SpecError("metric", "JSON nested too deeply or with a number too long to read") from None

@dataclass(frozen=True)
class Field:
    """A field path relative to one record, dotted for nested objects: ``"price"``, ``"capabilities.sms"``."""

    path: str

    def __post_init__(self) -> None:
        if (
            not isinstance(self.path, str)
            or not self.path.strip()
            or self.path.startswith(".")
            or self.path.endswith(".")
        ):
            raise SpecError(
                "field", f"a field path is a non-empty name such as 'price' or 'a.b', got {shown(self.path)}"
            )


@dataclass(frozen=True)
class Count:
    """The value of each record is 1: the metric counts records."""


@dataclass(frozen=True)
class Dynamic:
    """No date field: each fetch is stamped with the time of fetching."""


def _pairs(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    items = value.items() if isinstance(value, dict) else value
    out = []
    try:
        for key, item in items:
            if not isinstance(key, str) or not key:
                raise SpecError(where, f"names must be non-empty strings, got {shown(key)}")
            check_text(where, "the name", key)
            if (
                isinstance(item, bool)
                or not isinstance(item, (str, int, float))
                or (isinstance(item, float) and not math.isfinite(item))
            ):
                raise SpecError(f"{where}.{key}", f"values must be strings (or numbers), got {shown(item)}")
            value = item if isinstance(item, str) else str(item)
            check_text(f"{where}.{key}", "the value", value)
            out.append((key, value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(where, "expected a mapping of names to string values") from None
    return tuple(out)


def _refuse_credentials(where: str, pairs: tuple[tuple[str, str], ...]) -> None:
    for name, value in pairs:
        if name not in _ALLOWED_NAMES and _SECRET_NAME.search(name):
            raise SpecError(
                f"{where}.{name}",
                "carries a credential; a metric spec never holds one (it is saved to disk and shared). "
                "Credentials come from the connection: twibox_nb.connect() or TWILIO_* environment variables",
            )
        if _SECRET_VALUE.search(value):
            raise SpecError(
                f"{where}.{name}",
                "looks like a credential (an auth token or an Authorization value); a metric spec never holds one",
            )


@dataclass(frozen=True)
class RequestSpec:
    """The request half of a metric: always a GET against a Twilio product host."""

    path: str
    base_url: str = "https://api.twilio.com"
    method: str = "GET"
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    pagination: Pagination = "next_page"
    max_pages: int = 100

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, before anyone sees it
        set_(self, "params", _pairs("request.params", self.params))
        set_(self, "headers", _pairs("request.headers", self.headers))
        for name, _ in self.headers:
            if not _HEADER_NAME.match(name):
                raise SpecError(
                    f"request.headers.{name}",
                    "a header name is letters, digits and !#$%&'*+-.^_`|~ only (no spaces or ':')",
                )
        if not isinstance(self.method, str) or self.method.upper() != "GET":
            raise SpecError(
                "request.method",
                f"{shown(self.method)} is not allowed: only GET. twibox_nb only reads; other methods change the "
                "account (send messages, delete resources)",
            )
        set_(self, "method", "GET")
        if isinstance(self.base_url, str):
            check_text("request.base_url", "the base URL", self.base_url)
        if not isinstance(self.base_url, str) or not _is_twilio_base(self.base_url.rstrip("/")):
            raise SpecError(
                "request.base_url",
                f"{shown(self.base_url)} is not a Twilio product host such as https://api.twilio.com",
            )
        set_(self, "base_url", self.base_url.rstrip("/"))
        if not isinstance(self.path, str) or not self.path.startswith("/") or "?" in self.path or "#" in self.path:
            raise SpecError(
                "request.path",
                f"{shown(self.path)}: a path starts with '/' and holds no query or fragment (use params)",
            )
        check_text("request.path", "the path", self.path)
        unknown = set(_PLACEHOLDER.findall(self.path)) - {"AccountSid"}
        if unknown:
            raise SpecError(
                "request.path", f"unknown placeholder {{{sorted(unknown)[0]}}}: only {{AccountSid}} is filled in"
            )
        if self.pagination not in PAGINATIONS:
            raise SpecError("request.pagination", f"{shown(self.pagination)}: use 'none' or 'next_page'")
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages not in PAGE_CAPS:
            raise SpecError(
                "request.max_pages", f"{shown(self.max_pages)}: a whole number of pages, at least 1 and at most 100,000"
            )
        _refuse_credentials("request.headers", self.headers)
        _refuse_credentials("request.params", self.params)
        for name, value in self.params:
            for token in tokens_in(value):
                if token not in ("start_date", "end_date", "start_datetime", "end_datetime"):
                    raise SpecError(
                        f"request.params.{name}",
                        f"unknown date token {{{{{token}}}}}: use {{{{start_date}}}}, {{{{end_date}}}}, "
                        "{{start_datetime}} or {{end_datetime}}",
                    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "base_url": self.base_url,
            "path": self.path,
            "params": dict(self.params),
            "headers": dict(self.headers),
            "pagination": self.pagination,
            "max_pages": self.max_pages,
        }


_KNOWN_KEYS = (
    "twibox_metric", "name", "description", "request", "value", "dimension", "date", "expression",
    "aggregation", "unit", "favourable_trend", "date_range", "interval",
)  # fmt: skip


class MetricFile:
    """What every kind of metric file shares: JSON text and an atomic save (needs ``to_dict``)."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - each kind defines its own
        raise NotImplementedError

    def _file(self, body: dict[str, Any]) -> dict[str, Any]:
        """The file's keys in their order: version, name, description, what the kind holds, the
        presentation keys, then the keys other tools added (kept as they were)."""
        me: Any = self
        return {
            "twibox_metric": SCHEMA_VERSION,
            "name": me.name,
            "description": me.description,
            **body,
            **({"unit": me.unit} if me.unit is not None else {}),
            "favourable_trend": me.favourable_trend,
            "date_range": me.date_range,
            "interval": me.interval,
            **dict(me.extra),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the metric as JSON, atomically: the file is either the old one or the new one."""
        check_saveable(self.to_dict())  # no credential under any name, in any value (model/secrets.py)
        return atomic_write_text(path, self.to_json() + "\n")


@dataclass(frozen=True)
class MetricSpec(MetricFile):
    """A metric: the request, what to read from each record, and how to aggregate it.

    >>> spec = MetricSpec(
    ...     name="Messages by status",
    ...     request=RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json",
    ...                         params={"PageSize": "1000", "DateSent>": "{{start_date}}"}),
    ...     value=Count(), dimension=Field("status"), date=Field("date_sent"))
    >>> MetricSpec.from_json(spec.to_json()) == spec
    True
    >>> spec.to_dict()["value"], spec.to_dict()["date"]
    ({'count': True}, {'field': 'date_sent'})
    """

    name: str
    request: RequestSpec
    value: Field | Count = field(default_factory=Count)
    dimension: Field | None = None
    date: Field | Dynamic = field(default_factory=Dynamic)
    expression: str | None = None
    description: str = ""
    aggregation: Aggregation = "sum"
    favourable_trend: Trend = "up"
    date_range: str = "last_30_days"
    interval: str = "day"
    extra: tuple[tuple[str, Any], ...] = ()  # keys other tools wrote, kept as they were
    unit: str | None = None  # what the value counts in: "USD", "percent", "seconds" … (model/units.py)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("name", "a metric needs a name")
        object.__setattr__(self, "unit", check_unit("unit", self.unit))
        if not isinstance(self.description, str):
            raise SpecError("description", "must be text")
        if not isinstance(self.request, RequestSpec):
            raise SpecError("request", "must be a RequestSpec")
        if not isinstance(self.value, (Field, Count)):
            raise SpecError("value", "use Field('path') or Count()")
        if self.dimension is not None and not isinstance(self.dimension, Field):
            raise SpecError("dimension", "use Field('path') or None")
        if not isinstance(self.date, (Field, Dynamic)):
            raise SpecError("date", "use Field('path') or Dynamic()")
        if self.expression is not None and (not isinstance(self.expression, str) or not self.expression.strip()):
            raise SpecError("expression", "null (use the generated expression) or the JSONata text")
        if self.aggregation not in AGGREGATIONS:
            raise SpecError("aggregation", f"{shown(self.aggregation)}: use one of {', '.join(AGGREGATIONS)}")
        if self.favourable_trend not in ("up", "down"):
            raise SpecError("favourable_trend", f"{shown(self.favourable_trend)}: use 'up' or 'down'")
        if self.interval not in INTERVALS:
            raise SpecError("interval", f"{shown(self.interval)}: use one of {', '.join(INTERVALS)}")
        try:
            resolve_range(self.date_range, datetime(2026, 1, 1, tzinfo=timezone.utc))
        except DateRangeError as exc:
            raise SpecError("date_range", str(exc)) from None

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self._file(
            {
                "request": self.request.to_dict(),
                "value": {"count": True} if isinstance(self.value, Count) else {"field": self.value.path},
                "dimension": None if self.dimension is None else {"field": self.dimension.path},
                "date": {"dynamic": True} if isinstance(self.date, Dynamic) else {"field": self.date.path},
                "expression": self.expression,
                "aggregation": self.aggregation,
            }
        )

    @classmethod
    def from_dict(cls, data: Any) -> MetricSpec:
        if not isinstance(data, dict):
            raise SpecError("metric", "a metric file holds one JSON object")
        version = data.get("twibox_metric")
        if version != SCHEMA_VERSION:
            raise SpecError(
                "twibox_metric",
                f"{shown(version)}: this twibox_nb reads metric files of version {SCHEMA_VERSION}"
                + (" (a newer twibox_nb wrote this one: upgrade)" if isinstance(version, int) and version > 1 else ""),
            )
        request = data.get("request")
        if not isinstance(request, dict):
            raise SpecError("request", "missing, or not an object with method, base_url, path …")
        unknown = set(request) - {f.name for f in fields(RequestSpec)}
        if unknown:
            raise SpecError(f"request.{sorted(unknown)[0]}", "unknown request key")
        if "path" not in request:
            raise SpecError("request.path", "missing")
        return cls(
            name=data.get("name", ""),
            description=data.get("description") or "",
            request=RequestSpec(**request),
            value=_choice("value", data.get("value", {"count": True}), {"count": Count}),
            dimension=None if data.get("dimension") is None else _choice("dimension", data["dimension"], {}),
            date=_choice("date", data.get("date", {"dynamic": True}), {"dynamic": Dynamic}),
            expression=data.get("expression"),
            aggregation=data.get("aggregation", "sum"),
            favourable_trend=data.get("favourable_trend", "up"),
            date_range=data.get("date_range", "last_30_days"),
            interval=data.get("interval", "day"),
            extra=tuple((k, v) for k, v in data.items() if k not in _KNOWN_KEYS),
            unit=data.get("unit"),
        )

    @classmethod
    def from_json(cls, text: str) -> MetricSpec:
        return cls.from_dict(parse_json(text))

    @property
    def value_unit(self) -> str | None:
        """The unit the value is in (the file's ``unit``): the same question a calculated metric answers."""
        return self.unit

    def replace(self, **changes: Any) -> MetricSpec:
        """A copy with some fields changed (specs are immutable)."""
        return replace(self, **changes)


def _is_twilio_base(url: str) -> bool:
    """``https://`` and a Twilio host, nothing after it."""
    scheme, _, host = url.partition("://")
    return scheme == "https" and bool(TWILIO_HOST.match(host))


def _choice(where: str, value: Any, flags: dict[str, type]) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((key, item),) = value.items()
        if key == "field" and isinstance(item, str):
            try:
                return Field(item)
            except SpecError as exc:
                raise SpecError(where, exc.detail) from None
        if key in flags and item is True:
            return flags[key]()
    allowed = ['{"field": PATH}', *(f'{{"{k}": true}}' for k in flags)]
    if where == "dimension":
        allowed.append("null")
    try:
        text = shown(json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    raise SpecError(where, f"{text} is not allowed: use " + " or ".join(allowed))
