"""The fields of a page's records: where they are, what they hold, what a metric can do with them.

Nested objects are flattened into dotted paths (``capabilities.sms``); arrays are summarised as
one field of kind ``list``, never exploded. Kinds follow what Twilio sends: many numbers arrive as
strings (``price "-0.00750"``, ``num_segments "1"``), 2010 API dates are RFC 2822 (``"Fri, 24 May
2019 17:44:50 +0000"``) and product API dates ISO 8601 (``"2015-07-30T20:00:00Z"``).

>>> page = {"messages": [{"price": "-0.00750", "status": "sent", "error_code": None},
...                      {"price": None, "status": "failed", "error_code": 30003}]}
>>> [(f.path, f.kind, f.null_share) for f in discover_fields(page)]
[('price', 'numeric_string', 0.5), ('status', 'text', 0.0), ('error_code', 'number', 0.5)]
>>> [f.path for f in dimension_fields(discover_fields(page))]
['status', 'error_code']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ..evaluate.jsonata_ast import NUMERIC_STRING
from ..model.records import find_records

__all__ = ["FieldInfo", "Kind", "date_fields", "dimension_fields", "discover_fields", "value_fields"]

Kind = Literal[
    "number",  # JSON numbers (integers or not)
    "numeric_string",  # numbers sent as strings (with or without some JSON numbers among them)
    "date_rfc2822",
    "date_iso8601",
    "text",
    "boolean",
    "object",  # a nested object (its fields are listed under their own dotted paths too)
    "list",
    "null",  # null or missing in every record
    "mixed",  # values of several kinds
]

# Integers with at most this many distinct values make a sensible split (error codes, channels).
MAX_INTEGER_DIMENSION = 20
# Text with more distinct values than this is free text or an identifier, not a dimension.
MAX_TEXT_DIMENSION = 50

_NUMERIC = re.compile(NUMERIC_STRING)  # the same strings the generated expressions read as numbers
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_RFC2822 = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(?P<day>[0-9]{{1,2}}) (?:{_MONTHS}) [0-9]{{4}} "
    r"[0-9]{2}:[0-9]{2}(?::[0-9]{2})? (?:[+-][0-9]{4}|GMT|UTC?|Z)"
)
_ISO8601 = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
# Values that identify rather than describe: Twilio SIDs and links.
_IDENTIFIER = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}|/.*|[a-z][a-z0-9+.-]*://.*")
_DATE_NAMES = re.compile(r"date|time|_at$|^start|^end|period|as_of", re.IGNORECASE)
# Fields whose name says they hold a version label: "2010-04-01" there is Twilio's API version, not a date.
_VERSION_NAMES = re.compile(r"version", re.IGNORECASE)


@dataclass(frozen=True)
class FieldInfo:
    """One field of a page's records.

    ``steps`` is the path as names (use it in a ``Selection`` when a name holds a dot), ``path``
    the same joined with dots. ``examples`` holds up to 3 distinct non-null values, first seen
    first; ``null_share`` the share of records where the field is null or missing; ``distinct``
    the number of distinct non-null values. ``as_value``, ``as_dimension`` and ``as_date`` say
    what the metric builder may offer it for.
    """

    steps: tuple[str, ...]
    kind: Kind
    examples: tuple[Any, ...]
    null_share: float
    distinct: int
    as_value: bool
    as_dimension: bool
    as_date: bool

    @property
    def path(self) -> str:
        return ".".join(self.steps)


def _tag(value: Any) -> str:
    """The kind of one non-null value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        if value == "":
            return "empty"  # Twilio's "" for unset fields says nothing about the field's kind
        if _NUMERIC.search(value):
            return "numeric_string"
        match = _RFC2822.fullmatch(value)
        if match and 1 <= int(match["day"]) <= 31:
            return "date_rfc2822"
        match = _ISO8601.fullmatch(value)
        if match and _is_date(int(match["y"]), int(match["m"]), int(match["d"])):
            return "date_iso8601"
        return "text"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return "mixed"


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _kind(tags: set[str]) -> Kind:
    tags = tags - {"empty"} or tags
    if not tags:
        return "null"
    if tags == {"empty"}:
        return "text"
    if len(tags) == 1:
        (tag,) = tags
        return tag  # type: ignore[return-value]
    if tags == {"number", "numeric_string"}:
        return "numeric_string"
    return "mixed"


def _key(value: Any) -> Any:
    """A hashable identity for a JSON value that keeps true apart from 1."""
    if isinstance(value, (dict, list)):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    return (type(value) is bool, value)


class _Observed:
    __slots__ = ("examples", "keys", "present", "tags", "values")

    def __init__(self) -> None:
        self.present = 0  # records where the field is there and not null
        self.tags: set[str] = set()
        self.keys: set[Any] = set()
        self.examples: list[Any] = []
        self.values: list[Any] = []  # distinct non-null values, up to what the rules need

    def add(self, value: Any) -> None:
        self.present += 1
        self.tags.add(_tag(value))
        key = _key(value)
        if key not in self.keys:
            self.keys.add(key)
            if len(self.values) <= MAX_TEXT_DIMENSION:
                self.values.append(value)


def _walk(record: dict[str, Any], prefix: tuple[str, ...], seen: dict[tuple[str, ...], _Observed]) -> None:
    for name, value in record.items():
        path = (*prefix, name)
        observed = seen.setdefault(path, _Observed())
        if value is None:
            continue
        observed.add(value)
        if isinstance(value, dict):
            _walk(value, path, seen)


def _examples(values: list[Any]) -> tuple[Any, ...]:
    shown = [v for v in values if v != ""] or values
    return tuple(shown[:3])


def _info(steps: tuple[str, ...], observed: _Observed, total: int) -> FieldInfo:
    kind = _kind(observed.tags)
    if kind in ("date_rfc2822", "date_iso8601") and _VERSION_NAMES.search(steps[-1]):
        kind = "text"  # api_version "2010-04-01" looks like a date but labels a version
    distinct = len(observed.keys)
    non_empty = [v for v in observed.values if v != ""]
    identifiers = bool(non_empty) and all(isinstance(v, str) and _IDENTIFIER.fullmatch(v) for v in non_empty)
    integers = all(isinstance(v, int) for v in observed.values)
    as_dimension = (kind == "boolean") or (
        (kind == "text" and bool(non_empty) and distinct <= MAX_TEXT_DIMENSION and not identifiers)
        or (kind == "number" and integers and distinct <= MAX_INTEGER_DIMENSION)
    )
    return FieldInfo(
        steps=steps,
        kind=kind,
        examples=_examples(observed.values),
        null_share=(total - observed.present) / total,
        distinct=distinct,
        as_value=kind in ("number", "numeric_string"),
        as_dimension=as_dimension,
        as_date=kind in ("date_rfc2822", "date_iso8601"),
    )


def discover_fields(body: Any) -> list[FieldInfo]:
    """The fields of the records in one response body, in the order they first appear.

    The records are found as :func:`twibox_nb.model.records.find_records` finds them (an instance body
    is its own one record). A page without records has no fields.

    >>> [(f.path, f.kind) for f in discover_fields({"balance": "0.05", "currency": "USD"})]
    [('balance', 'numeric_string'), ('currency', 'text')]
    """
    _, records = find_records(body)
    seen: dict[tuple[str, ...], _Observed] = {}
    for record in records:
        if isinstance(record, dict):
            _walk(record, (), seen)
    return [_info(steps, observed, len(records)) for steps, observed in seen.items()]


def value_fields(fields: Iterable[FieldInfo]) -> list[FieldInfo]:
    """Fields a metric can sum or average: numbers and numeric strings."""
    return [f for f in fields if f.as_value]


def dimension_fields(fields: Iterable[FieldInfo]) -> list[FieldInfo]:
    """Fields a metric can be split by: short text, booleans, integers with few values.

    Identifiers (SIDs, links) and text with more than 50 distinct values are left out.
    """
    return [f for f in fields if f.as_dimension]


def date_fields(fields: Iterable[FieldInfo]) -> list[FieldInfo]:
    """Fields holding dates, those named like dates first.

    A field named for a version (``api_version`` "2010-04-01") holds labels, not dates, and is
    not offered:

    >>> [f.path for f in date_fields(discover_fields({"date_created": "2026-11-02T10:00:00Z",
    ...                                               "api_version": "2010-04-01"}))]
    ['date_created']
    """
    dates = [f for f in fields if f.as_date]
    return sorted(dates, key=lambda f: (not _DATE_NAMES.search(f.steps[-1]), f.null_share))
