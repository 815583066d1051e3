"""Generate the endpoint catalogue from the vendored Twilio OpenAPI specs: ``catalogue.json.xz``.

``python -m twibox_nb.openapi.catalogue`` reads the 55 vendored spec files (never anything outside
the package) and writes one compact entry for every GET operation, list and instance alike, beside
this module; ``--out PATH`` writes elsewhere and ``--check`` only says whether the shipped file is
up to date. The bytes are deterministic: sorted keys, no timestamps, xz at a fixed preset.

Each entry holds the product and version (from the spec's file name: ``twilio_api_v2010.json`` is
``api`` ``v2010``), the base URL (the ``servers`` URL), the path and its parameters, the
operationId, summary and description, ``kind`` (``list`` for ``List…`` operations, ``instance``
for ``Fetch…``; ``shape`` says whether the response agrees), for lists the list key (the response's
array property other than ``meta``) and the paging shape (``next_page_uri`` in the 2010 API's
body, ``meta.next_page_url`` elsewhere), the record's fields, its own date field, the date filters
with their boundary rules, PageSize's limits, a documentation link and whether records are events.

The rules, in one place:

* **Date field**: the record field that a date filter of the list targets (``DateSent`` ->
  ``date_sent``, ``StartTime>`` -> ``start_time``, ``DateCreatedAfter`` -> ``date_created``), else
  the first of :data:`DATE_PREFERENCE` the record has, else its first date-formatted field other
  than ``date_updated``; ``None`` when the record has no date at all.
* **Boundary rule** of a date filter, from the parameter's description: the clause about the
  parameter's own operator (``<=``/``>=`` for ``X<``/``X>``) or its own words when it has none.
  "midnight" makes it undecided (midnight opening or closing the day?); "on or before", "at or
  before", "and earlier", "<=" give ``on_or_before``; "before" and "exclusive" give ``before``;
  "on or after", "at or after", "and later", ">=" give ``on_or_after``; "after" alone gives
  ``after``; the plain name of a ``X``/``X<``/``X>`` trio is ``on`` when its first sentence names
  one day. Anything else is ``None`` (undecided).
* **Records** (for instances too: the record is the list's): ``aggregate`` when a path segment
  names a sum (:data:`AGGREGATE_WORDS`: usage records, statistics, a summary, metrics, and the 2010
  API's ``Usage/Records``); ``event`` when the record has a date field and the list takes a date
  filter on that field, or the last named segment is an event noun (:data:`EVENT_WORDS`: Messages,
  Calls, Executions… and Voice Insights' per-call Summaries); else ``unknown`` (configuration such
  as Services or phone numbers: each record is a thing, not something that happened).
* **Docs**: the operation's or path's ``externalDocs``, else a ``twilio.com/docs`` link in the
  path's or operation's description, else the :data:`OVERLAY`'s, else a link built from the
  product name (``docs_source`` says which: ``spec``, ``overlay`` or ``derived``).

What the specs cannot say (newest-first order, Monitor's 30-day retention, the documentation pages
of the common endpoints) sits in :data:`OVERLAY`, taken from ``twibox_nb.model.catalog``.
"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import sys
from pathlib import Path
from typing import Any

from .. import openapi
from .._files import atomic_write_bytes

__all__ = ["AGGREGATE_WORDS", "DATE_PREFERENCE", "EVENT_WORDS", "OUTPUT", "OVERLAY", "build", "entries", "main"]

OUTPUT = Path(__file__).with_name("catalogue.json.xz")
FORMAT = 1  # bump when the entry layout changes
_PRESET = 9
_DOCS = "https://www.twilio.com/docs"
_ACCOUNT = "/2010-04-01/Accounts/{AccountSid}"

DATE_PREFERENCE = (
    "date_sent", "start_time", "event_date", "date_generated", "message_date", "timestamp", "date",
    "start_date", "date_enqueued", "date_created", "create_date", "created_at", "conversation_date_created",
)  # fmt: skip
AGGREGATE_WORDS = frozenset(
    {"UsageRecords", "Statistics", "CumulativeStatistics", "RealTimeStatistics", "Summary", "Metrics"}
)
EVENT_WORDS = frozenset(
    {
        "Messages", "Calls", "Events", "Alerts", "Notifications", "Recordings", "Conferences", "Participants",
        "Executions", "Steps", "Logs", "Attempts", "Verifications", "Transcripts", "Transcriptions", "Compositions",
        "Rooms", "Media", "Feedbacks", "Assessments", "Comments", "Segments", "Receipts", "Summaries",
        "Annotations", "Sentences", "OperatorResults",
    }
)  # fmt: skip

# Facts the specs cannot tell, keyed by (product, path); from twibox_nb.model.catalog.
OVERLAY: dict[tuple[str, str], dict[str, Any]] = {
    ("api", f"{_ACCOUNT}/Messages.json"): {
        "newest_first": True, "docs": f"{_DOCS}/messaging/api/message-resource#read-multiple-message-resources"},
    ("api", f"{_ACCOUNT}/Calls.json"): {
        "newest_first": True, "docs": f"{_DOCS}/voice/api/call-resource#read-multiple-call-resources"},
    ("api", f"{_ACCOUNT}/Conferences.json"): {"docs": f"{_DOCS}/voice/api/conference-resource"},
    ("api", f"{_ACCOUNT}/Recordings.json"): {"docs": f"{_DOCS}/voice/api/recording"},
    ("api", f"{_ACCOUNT}/Notifications.json"): {"docs": f"{_DOCS}/usage/api/notification"},
    ("api", f"{_ACCOUNT}/IncomingPhoneNumbers.json"): {
        "docs": f"{_DOCS}/phone-numbers/api/incomingphonenumber-resource"},
    ("api", f"{_ACCOUNT}/Queues.json"): {"docs": f"{_DOCS}/voice/api/queue-resource"},
    ("api", f"{_ACCOUNT}/Balance.json"): {"docs": f"{_DOCS}/usage/api/balance"},
    **{("api", f"{_ACCOUNT}/Usage/Records{sub}.json"): {"docs": f"{_DOCS}/usage/api/usage-record"}
       for sub in ("", "/Daily", "/Monthly", "/Yearly", "/Today", "/Yesterday", "/ThisMonth", "/LastMonth",
                   "/AllTime")},
    ("monitor", "/v1/Alerts"): {"newest_first": True, "retention_days": 30, "docs": f"{_DOCS}/usage/monitor-alert"},
    ("monitor", "/v1/Events"): {"docs": f"{_DOCS}/usage/monitor-events"},
    ("messaging", "/v1/Services"): {"docs": f"{_DOCS}/messaging/api/service-resource"},
}  # fmt: skip

_DATE_FORMATS = ("date-time", "date", "date-time-rfc-2822")
_DOCS_URL = re.compile(r"https://www\.twilio\.com/docs[^\s)\]\"'`,]*")
_SPEC_NAME = re.compile(r"twilio_(?P<product>.+?)(?:_(?P<version>v\d+))?\.json")


def _resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """Follow ``$ref`` (``#/components/...``) until a node holds no reference of its own."""
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        parts = node["$ref"].lstrip("#/").split("/")
        target: Any = doc
        for part in parts:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node if isinstance(node, dict) else {}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _words(operation_id: str) -> str:
    stem = re.sub(r"^(List|Fetch)", "", operation_id)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", stem).strip()


def _response(op: dict[str, Any]) -> dict[str, Any]:
    responses = op.get("responses", {})
    for code in sorted(responses):
        if code.startswith("2"):
            content = responses[code].get("content", {})
            for media in sorted(content):
                if "json" in media:
                    return content[media].get("schema", {})
    return {}


def _field(doc: dict[str, Any], name: str, prop: Any) -> dict[str, Any]:
    raw = prop if isinstance(prop, dict) else {}
    node = _resolve(doc, raw)
    if not node and isinstance(raw.get("allOf"), list):
        node = _resolve(doc, raw["allOf"][0])
    kind = node.get("type") or raw.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    enum = node.get("enum") or (node.get("items", {}).get("enum") if isinstance(node.get("items"), dict) else None)
    return {
        "name": name,
        "type": kind,
        "format": node.get("format") or raw.get("format"),
        "enum": [str(v) for v in enum] if isinstance(enum, list) else None,
        "description": (raw.get("description") or node.get("description") or "").strip(),
    }


def _fields(doc: dict[str, Any], record: dict[str, Any]) -> list[dict[str, Any]]:
    props = dict(record.get("properties") or {})
    for part in record.get("allOf") or ():
        props.update(_resolve(doc, part).get("properties") or {})
    return [_field(doc, name, prop) for name, prop in props.items()]


def _is_date_field(field: dict[str, Any]) -> bool:
    return field["format"] in _DATE_FORMATS or field["name"] in DATE_PREFERENCE


_UPPER = ("Before", "To", "End")
_LOWER = ("After", "From", "Start")


def _target(param: str) -> str:
    """The record field a date filter's name points at: ``DateCreatedAfter`` -> ``date_created``."""
    base = param.rstrip("<>")
    base = re.sub(r"^(Before|After)(?=[A-Z])", "", base)
    base = re.sub(r"(?<=[a-z])(After|Before|From|To)$", "", base)
    return _snake(base)


def _is_date_filter(param: dict[str, Any]) -> bool:
    schema = param.get("schema") or {}
    name, text = param.get("name", ""), (param.get("description") or "").lower()
    if schema.get("type") not in (None, "string") or schema.get("enum") or name.startswith("Sort"):
        return False
    if schema.get("format") in ("date-time", "date"):
        return True
    dated = re.search(r"\b(date|datetime|timestamp|iso ?8601|time)\b", text) is not None
    dated = (
        dated or re.match(r"(Before|After)(Date|Start|End|Created)", name) is not None
    )  # "Filter by before StartTime."
    return (
        dated
        and re.search(r"(Date|Time|After|Before|From|To)[<>]?$|^(Start|End)$|^(Before|After)[A-Z]", name) is not None
    )


def _clause(text: str, operator: str) -> str:
    """The part of ``text`` about one operator (``<=`` or ``>=``), to the next clause boundary."""
    at = text.find(operator)
    if at < 0:
        return ""
    end = min(
        (i for i in (text.find(", and", at), text.find(" and `", at), text.find(". ", at)) if i > 0), default=len(text)
    )
    return text[at:end]


def _rule_of(text: str) -> str | None:
    text = text.lower()
    if "midnight" in text:
        return None
    checks = (
        (r"on or before|on and before|at or before|and earlier|or earlier|<=", "on_or_before"),
        (r"on or after|on and after|at or after|and later|or later|>=", "on_or_after"),
        (r"\bbefore\b|\(exclusive\)|\bexclusive\b", "before"),
        (r"\bafter\b", "after"),
    )
    for pattern, rule in checks:
        if re.search(pattern, text):
            return rule
    return None


def boundary_rule(param: str, description: str, trio: bool) -> str | None:
    """A date filter's boundary rule from its own description; ``None`` where the text does not decide.

    >>> boundary_rule("StartTime<", "Only include calls that started before this date.", True)
    'before'
    >>> boundary_rule("DateCreated<", "`DateCreated<=YYYY-MM-DD` reads those created on or before midnight.", True)
    """
    text = " ".join(description.split())
    if param.endswith("<") or param.endswith(">"):
        operator = param[-1] + "="
        clause = _clause(text, operator)
        if clause:  # the operator itself decides, unless its clause speaks of midnight
            return None if "midnight" in clause.lower() else _rule_of(operator)
        return _rule_of(text) if not re.search(r"\bbefore\b.*\bafter\b|\bafter\b.*\bbefore\b", text) else None
    if trio:  # the plain name: what the text says before any operator (or its first sentence)
        cut = min((i for i in (text.find("<="), text.find(">=")) if i >= 0), default=-1)
        head = (text[:cut] if cut >= 0 else text.split(". ")[0]).lower()
        if re.search(r"\b(before|after)\b", head):
            return None
        return "on" if re.search(r"on this date|specific|specified date|`yyyy-mm-dd`", head) else None
    return _rule_of(text)


def _filters(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {p.get("name") for p in params}
    found = []
    for param in params:
        if param.get("in") != "query" or not _is_date_filter(param):
            continue
        name, text = param["name"], param.get("description") or ""
        trio = f"{name}<" in names or f"{name}>" in names
        only_day = "`yyyy-mm-dd`" in text.lower() and not re.search(
            r"hh:mm|date and time|iso ?8601|timestamp", text, re.IGNORECASE
        )
        kind = "date" if (param.get("schema") or {}).get("format") == "date" or only_day else "datetime"
        found.append(
            {
                "param": name,
                "rule": boundary_rule(name, text, trio),
                "kind": kind,
                "target": _target(name),
                "description": " ".join(text.split()),
            }
        )
    return found


def _date_field(fields: list[dict[str, Any]], filters: list[dict[str, Any]]) -> str | None:
    dated = [f["name"] for f in fields if _is_date_field(f)]
    for flt in filters:
        if flt["field"] in dated:
            return flt["field"]
    for name in DATE_PREFERENCE:
        if name in dated:
            return name
    return next((n for n in dated if n != "date_updated"), None)


def _records(path: str, list_key: str | None, date_field: str | None, filters: list[dict[str, Any]]) -> str:
    segments = [s.removesuffix(".json") for s in path.split("/") if s and not s.startswith("{")]
    usage = "Usage" in segments and "Records" in segments  # the 2010 API's Usage/Records (not Usage/Triggers)
    if usage or any(s in AGGREGATE_WORDS for s in segments) or (list_key or "").startswith("usage_records"):
        return "aggregate"
    sliced = any(f["field"] == date_field for f in filters)  # a filter on the record's own date
    if date_field and (sliced or (segments and segments[-1] in EVENT_WORDS)):
        return "event"
    return "unknown"


def _docs(op: dict[str, Any], item: dict[str, Any], product: str, overlay: dict[str, Any]) -> tuple[str, str]:
    for node in (op, item):
        url = (node.get("externalDocs") or {}).get("url")
        if url:
            return url, "spec"
    for text in (item.get("description"), op.get("description"), op.get("summary")):
        match = _DOCS_URL.search(text or "")
        if match:
            return match.group(0).rstrip("."), "spec"
    if "docs" in overlay:
        return overlay["docs"], "overlay"
    return f"{_DOCS}/{product.replace('_', '-')}/api", "derived"


def _paging(doc: dict[str, Any], props: dict[str, Any]) -> str | None:
    """Where a page says what comes next: Twilio's two shapes, or the odd one a few lists have."""
    meta = _resolve(doc, props.get("meta")).get("properties") or {}
    if "next_page_uri" in props:
        return "next_page_uri"  # the 2010-04-01 API: paging keys in the body
    for key in ("next_page_url", "next_token"):
        if key in meta:
            return f"meta.{key}"  # the other products: a meta object
    if "has_next" in props:
        return "has_next"  # numbered pages (numbers v2's short-code applications)
    return None  # one page only, or a paging the spec does not describe


def _entry(doc: dict[str, Any], spec: str, path: str, item: dict[str, Any]) -> dict[str, Any]:
    match = _SPEC_NAME.fullmatch(spec)
    product, version = (match["product"], match["version"] or "") if match else (spec, "")
    op = item["get"]
    params = [_resolve(doc, p) for p in (item.get("parameters") or []) + (op.get("parameters") or [])]
    servers = item.get("servers") or doc.get("servers") or [{}]
    base_url = (servers[0].get("url") or f"https://{product}.twilio.com").rstrip("/")
    operation_id = op.get("operationId") or ""
    schema = _resolve(doc, _response(op))
    props = schema.get("properties") or {}
    arrays = sorted(
        (_resolve(doc, _resolve(doc, v).get("items")).get("type") != "object", k)
        for k, v in props.items()
        if k != "meta" and _resolve(doc, v).get("type") == "array"
    )  # arrays of records (objects) first, then by name
    paging = _paging(doc, props)
    kind = "list" if operation_id.startswith("List") else "instance"
    list_key = arrays[0][1] if kind == "list" and arrays else None
    if list_key is not None:
        record = _resolve(doc, _resolve(doc, props[list_key]).get("items"))
    else:
        record = schema
    fields = _fields(doc, record)
    filters = _filters(params) if kind == "list" else []
    dated = {f["name"] for f in fields if _is_date_field(f)}
    for flt in filters:  # the record's date field a filter is on, where its name says so
        target = flt.pop("target")
        flt["field"] = target if target in dated else None
    date_field = _date_field(fields, filters)
    size = next((_resolve(doc, p.get("schema")) for p in params if p.get("name") == "PageSize"), None)
    overlay = OVERLAY.get((product, path), {})
    docs, docs_source = _docs(op, item, product, overlay)
    return {
        "product": product, "version": version, "spec": spec, "base_url": base_url, "path": path,
        "path_params": [p["name"] for p in params if p.get("in") == "path"],
        "operation_id": operation_id, "name": _words(operation_id),
        "summary": " ".join((op.get("summary") or "").split()),
        "description": " ".join((op.get("description") or item.get("description") or "").split()),
        "kind": kind, "shape": "list" if arrays and paging else "instance",
        "list_key": list_key, "paging": paging if kind == "list" else None,
        "fields": fields, "date_field": date_field, "filters": filters,
        "page_size": [size.get("minimum"), size.get("maximum")] if size else None,
        "docs": docs, "docs_source": docs_source,
        "records": _records(path, list_key, date_field, filters),
        "newest_first": overlay.get("newest_first"), "retention_days": overlay.get("retention_days"),
    }  # fmt: skip


def entries() -> list[dict[str, Any]]:
    """Every GET operation of the vendored specs, as catalogue entries, sorted by product, version and path."""
    found = []
    for spec in openapi.names():
        doc = openapi.load(spec)
        for path, item in (doc.get("paths") or {}).items():
            if isinstance(item, dict) and isinstance(item.get("get"), dict):
                found.append(_entry(doc, spec, path, item))
    return sorted(found, key=lambda e: (e["product"], e["version"], e["path"]))


def build() -> bytes:
    """The catalogue file's bytes: the same specs always give the same bytes."""
    data = {"format": FORMAT, "commit": openapi.commit(), "entries": entries()}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=_PRESET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twibox_nb.openapi.catalogue", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUTPUT, help="where to write (default: beside this module)")
    parser.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        current = args.out.read_bytes() if args.out.is_file() else b""
        print(f"{args.out} is {'up to date' if current == data else 'out of date'}.")
        return 0 if current == data else 1
    atomic_write_bytes(args.out, data)
    print(f"Wrote {args.out} ({len(data):,} bytes).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
