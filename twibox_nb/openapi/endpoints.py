"""Search the whole Twilio read API: ``endpoints(text, product)`` over the catalogue generated from the specs.

The catalogue (``catalogue.json.xz`` beside this module, written by
``python -m twibox_nb.openapi.catalogue``) holds every GET operation of Twilio's vendored OpenAPI
specs. It is read on first use and kept: later searches cost no file access.

>>> from twibox_nb.openapi.endpoints import endpoints
>>> messages = endpoints("messages", product="api")[0]
>>> messages.base_url + messages.path
'https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages.json'
>>> messages.list_key, messages.date_field, messages.paging
('messages', 'date_sent', 'next_page_uri')
>>> [(f.param, f.rule) for f in messages.filters]
[('DateSent', 'on'), ('DateSent<', 'on_or_before'), ('DateSent>', 'on_or_after')]
>>> sorted({e.product for e in endpoints("executions")})
['studio']
"""

from __future__ import annotations

import json
import lzma
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .._exceptions import SpecError

__all__ = ["ApiEndpoint", "ApiField", "ApiFilter", "CATALOGUE", "KINDS", "endpoints", "products"]

CATALOGUE = Path(__file__).with_name("catalogue.json.xz")
KINDS = ("list", "instance", "all")
MAX_TEXT = 200  # characters of search text: more is no search anyone types


@dataclass(frozen=True)
class ApiField:
    """One field of a record, as the spec describes it (``enum`` is empty when the spec lists no values)."""

    name: str
    type: str | None
    format: str | None
    enum: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ApiFilter:
    """A date filter query parameter and its boundary rule.

    ``rule`` is ``on``, ``on_or_before``, ``before``, ``on_or_after`` or ``after``, as the parameter's
    own description says; ``None`` where the text does not decide (tokens should then widen the
    range). ``kind`` is ``date`` (``YYYY-MM-DD`` only) or ``datetime``; ``field`` is the record's
    date field the filter is on, where its name says so.
    """

    param: str
    rule: str | None
    kind: str
    field: str | None
    description: str


@dataclass(frozen=True)
class ApiEndpoint:
    """One GET operation of a Twilio product: where it is, what it answers, and how to slice it by date.

    ``kind`` is ``list`` or ``instance``. For lists, ``list_key`` names the array of records and
    ``paging`` where the next page's link is (``next_page_uri`` in the 2010 API,
    ``meta.next_page_url`` in the others). ``records`` is ``event`` (one record, one dated event:
    a range can be fetched in slices that add up), ``aggregate`` (usage, statistics: each record
    sums a window) or ``unknown``. ``docs_source`` says whether ``docs`` comes from the ``spec``,
    the hand-kept ``overlay`` or is ``derived`` from the product name. ``newest_first`` and
    ``retention_days`` are ``None`` where nothing is known.
    """

    product: str
    version: str
    base_url: str
    path: str
    path_params: tuple[str, ...]
    operation_id: str
    name: str
    summary: str
    description: str
    kind: str
    list_key: str | None
    paging: str | None
    fields: tuple[ApiField, ...]
    date_field: str | None
    filters: tuple[ApiFilter, ...]
    page_size: tuple[int | None, int | None] | None
    docs: str
    docs_source: str
    records: str
    newest_first: bool | None
    retention_days: int | None
    spec: str

    @property
    def url(self) -> str:
        """The base URL and path together, parameters still in braces."""
        return self.base_url + self.path

    def field(self, name: str) -> ApiField | None:
        """The record field called ``name``, if the spec lists it."""
        return next((f for f in self.fields if f.name == name), None)

    def rule(self, param: str) -> str | None:
        """The boundary rule of the date filter ``param`` (``None`` if undecided or not a date filter)."""
        return next((f.rule for f in self.filters if f.param == param), None)


def _endpoint(raw: dict[str, Any]) -> ApiEndpoint:
    size = raw.get("page_size")
    return ApiEndpoint(
        product=raw["product"], version=raw["version"], base_url=raw["base_url"], path=raw["path"],
        path_params=tuple(raw["path_params"]), operation_id=raw["operation_id"], name=raw["name"],
        summary=raw["summary"], description=raw["description"], kind=raw["kind"], list_key=raw["list_key"],
        paging=raw["paging"],
        fields=tuple(ApiField(f["name"], f["type"], f["format"], tuple(f["enum"] or ()), f["description"])
                     for f in raw["fields"]),
        date_field=raw["date_field"],
        filters=tuple(ApiFilter(f["param"], f["rule"], f["kind"], f["field"], f["description"])
                      for f in raw["filters"]),
        page_size=(size[0], size[1]) if size else None, docs=raw["docs"], docs_source=raw["docs_source"],
        records=raw["records"], newest_first=raw["newest_first"], retention_days=raw["retention_days"],
        spec=raw["spec"],
    )  # fmt: skip


@cache
def _catalogue() -> tuple[tuple[ApiEndpoint, str], ...]:
    """Every entry with its lower-cased search text, read once."""
    try:
        with lzma.open(CATALOGUE, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, lzma.LZMAError, ValueError) as exc:
        raise SpecError(
            "endpoints",
            f"cannot read the endpoint catalogue {CATALOGUE.name} ({exc}); "
            "regenerate it with `python -m twibox_nb.openapi.catalogue`.",
        ) from None
    found = []
    for raw in data["entries"]:
        entry = _endpoint(raw)
        text = " ".join((entry.product, entry.version, entry.name, entry.summary, entry.path, entry.operation_id))
        found.append((entry, text.lower()))
    return tuple(found)


def products() -> list[str]:
    """The products the catalogue knows (``api``, ``conversations``, ``verify`` …), sorted.

    >>> "conversations" in products()
    True
    """
    return sorted({e.product for e, _ in _catalogue()})


def _check(text: object, product: object, kind: object) -> tuple[list[str], str | None]:
    if text is not None and not isinstance(text, str):
        raise SpecError("text", f"search text must be a string of words, not {type(text).__name__}.")
    if product is not None and not isinstance(product, str):
        raise SpecError("product", f"product must be a product name such as 'api', not {type(product).__name__}.")
    if not isinstance(kind, str) or kind not in KINDS:
        raise SpecError("kind", f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}.")
    if text is not None and len(text) > MAX_TEXT:
        raise SpecError("text", f"search text is {len(text):,} characters long; search with a few words "
                                f"(at most {MAX_TEXT} characters).")  # fmt: skip
    name = None
    if product is not None and product.strip():
        name = product.strip().lower().replace("-", "_")
        known = products()
        if name not in known:
            close = [p for p in known if name[:3] and p.startswith(name[:3])] or known[:5]
            raise SpecError("product", f"no Twilio product named {product[:40]!r}; try {', '.join(close)} "
                                       f"(there are {len(known)}).")  # fmt: skip
    return re.findall(r"[^\s/{}.]+", (text or "").lower()), name


def endpoints(text: str | None = None, product: str | None = None, *, kind: str = "list") -> list[ApiEndpoint]:
    """Twilio's GET endpoints whose product, name, summary and path hold every word of ``text``.

    Words match case-insensitively, anywhere in those (``"usage daily"`` finds the daily usage
    records); ``product`` keeps one product (``"api"``, ``"conversations"``…); ``kind`` is
    ``"list"`` (the default), ``"instance"`` or ``"all"``. Results are sorted by product, then
    path. Nothing found is an empty list; a text that is not a string, or longer than any search
    (200 characters), an unknown product or kind raise :class:`~twibox_nb.SpecError`.

    >>> [e.path for e in endpoints("usage daily")]
    ['/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json']
    >>> len(endpoints(product="monitor"))
    3
    >>> endpoints("alerts", product="monitor")[0].retention_days
    30
    >>> endpoints("no such words at all")
    []
    >>> endpoints(42)
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: text: search text must be a string of words, not int.
    """
    words, name = _check(text, product, kind)
    found = [
        entry
        for entry, haystack in _catalogue()
        if kind in ("all", entry.kind)
        and (name is None or entry.product == name)
        and all(word in haystack for word in words)
    ]
    return sorted(found, key=lambda e: (e.product, e.path, e.version))
