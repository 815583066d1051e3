"""Pre-built Twilio metrics: ready-made metric files shipped inside the package.

Each metric is one ``"twibox_metric": 1`` JSON file in this folder, named after the metric
(``Messages by status`` is ``messages-by-status.json``), with one key of its own,
``data_source`` (Messaging, Voice, Usage & billing, Account, Phone numbers, Monitor), which the
engine keeps like any other key it does not know. Every metric works on a real Twilio account and
on the embedded sandbox (the tests compare each one with the sandbox's ground truth).

>>> from twibox_nb import library
>>> table = library.list()
>>> table.loc[table["name"] == "Total spend", ["data_source", "aggregation"]].values.tolist()
[['Usage & billing', 'sum']]
>>> spec = library.get("messages by status")          # by name (any case) or by file name
>>> spec.name, spec.dimension.path, spec.favourable_trend
('Messages by status', 'status', 'up')

Fetch one like any other metric: ``twibox_nb.fetch_metric(library.get("SMS spend"), conn)``.
"""

from __future__ import annotations

import builtins
import difflib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from .._exceptions import SpecError
from ..model.calculated import CalculatedMetric
from ..model.dates import shown
from ..model.spec import MetricSpec

__all__ = [
    "DATA_SOURCES", "get", "list", "load", "load_metric", "parse_metric_text", "path", "read_metric", "search", "slug",
]  # fmt: skip

FOLDER = Path(__file__).parent
#: The data sources, in the order the listing shows them.
DATA_SOURCES = ("Messaging", "Voice", "Usage & billing", "Account", "Phone numbers", "Monitor")
COLUMNS = ("name", "data_source", "description", "endpoint", "aggregation", "unit", "favourable_trend", "date_range",
           "interval", "slug")  # fmt: skip


def slug(name: str) -> str:
    """The file name (without ``.json``) of a metric name: lower case, words joined by ``-``.

    >>> slug("Failed messages by error code"), slug("SMS spend"), slug("usage_cost by  category")
    ('failed-messages-by-error-code', 'sms-spend', 'usage-cost-by-category')
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


#: A metric file is a few kilobytes; anything over this is refused before it is read.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: How deep a metric file may nest objects and lists (a calculated metric with inline inputs needs 6).
MAX_DEPTH = 64
_FIX = "fix the file, or save the metric again with MetricSpec.save"


class _Refused(Exception):
    """Raised inside the JSON parser's hooks; becomes a SpecError naming the file."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (JSON has no NaN or Infinity); write a number or null")


def _unique_keys(pairs: builtins.list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {key[:60]!r} appears twice in one object; a metric file holds each key once")
        seen[key] = value
    return seen


def _check_shape(data: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and text that is not Unicode (lone surrogates),
    walking the parsed value without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise _Refused(
                        f"the text {value[:40]!r} holds a lone surrogate escape (\\ud800 …), not text"
                    ) from None
            continue
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)  # keys are text too
            value = builtins.list(value.values())
        if isinstance(value, builtins.list) and value:
            if depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep; a metric file nests a few")
            stack.extend((item, depth + 1) for item in value)


def parse_metric_text(text: str, source: str = "metric") -> Any:
    """Metric-file text as JSON data, strictly: every way it can be malformed is a
    :class:`SpecError` naming ``source`` and saying what is wrong and what to do.

    >>> parse_metric_text('{"name": 1, "name": 2}', "a.json")
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: metric: the key 'name' appears twice in one object; ... (in a.json); ...
    """
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
        _check_shape(data)
    except json.JSONDecodeError as exc:
        raise SpecError(
            "metric", f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} (in {source}); {_FIX}"
        ) from None
    except _Refused as exc:
        raise SpecError("metric", f"{exc} (in {source}); {_FIX}") from None
    except RecursionError:
        raise SpecError(
            "metric", f"nested too deeply to read (more than {MAX_DEPTH} levels; in {source}); {_FIX}"
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise SpecError("metric", f"a number too long to read ({str(exc)[:80]}; in {source}); {_FIX}") from None
    if not isinstance(data, dict):
        raise SpecError(
            "metric",
            f"the file holds a JSON {_json_kind(data)}, not an object (in {source}): a metric file is one object "
            '{"twibox_metric": 1, "name": …}',
        )
    return data


def _json_kind(data: Any) -> str:
    if isinstance(data, bool) or data is None:
        return "literal (true, false or null)"
    return {builtins.list: "array", str: "string"}.get(type(data), "number")


def read_metric(
    text: str, source: str = "metric", resolve: Callable[[str], MetricSpec] | None = None
) -> MetricSpec | CalculatedMetric:
    """The one reader of metric-file text: a :class:`MetricSpec`, or a :class:`CalculatedMetric` when
    it has a ``calculated`` key, whose ``{"library": NAME}`` inputs ``resolve`` looks up (default:
    :func:`get`). Every error is a :class:`SpecError` naming the field and ``source``, malformed JSON
    included (see :func:`parse_metric_text`).

    >>> read_metric('{"twibox_metric": 1, "name": "Rate", "calculated": {"op": "ratio", "inputs": '
    ...             '[{"library": "Messages delivered"}, {"library": "Messages sent"}]}}').inputs[1].name
    'Messages sent'
    """
    data = parse_metric_text(text, source)
    try:
        if "calculated" in data:
            return CalculatedMetric.from_dict(data, resolve or get)
        return MetricSpec.from_dict(data)
    except SpecError as exc:
        raise SpecError(exc.field, f"{exc.detail} (in {source})") from None


def load_metric(
    path: str | os.PathLike, resolve: Callable[[str], MetricSpec] | None = None
) -> MetricSpec | CalculatedMetric:
    """Read a metric file written by :meth:`MetricSpec.save` (or by hand, or by another tool).

    A file with a ``calculated`` key holds a :class:`~twibox_nb.model.calculated.CalculatedMetric`; its
    ``{"library": NAME}`` inputs are looked up with ``resolve`` (default: :func:`get`). The library's
    own files, ``tb.load_metric``, the store and every command go through this one reader. A file
    over 5 MB, or not UTF-8 text, is refused before it is parsed; every error is a :class:`SpecError`.

    >>> load_metric(path("Total spend")).request.params
    (('PageSize', '1000'), ('StartDate', '{{start_date}}'), ('EndDate', '{{end_date}}'), ('Category', 'totalprice'))
    """
    source = Path(path)
    try:
        with source.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # never more, whatever the file (a device, a growing file)
    except FileNotFoundError:
        raise SpecError("file", f"{source}: no such metric file") from None
    except OSError as exc:
        raise SpecError("file", f"{source}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            "file",
            f"{source}: over {MAX_FILE_BYTES // 2**20} MB, far more than a metric file holds: is it the right file?",
        )
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as exc:
        raise SpecError(
            "file",
            f"{source}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 (metric files are UTF-8 JSON)",
        ) from None
    return read_metric(text, str(source), resolve)


load = load_metric  # the library's own name for it: library.load(library.path(name))


@dataclass(frozen=True)
class _Entry:
    slug: str
    file: Path
    data_source: str
    metric: MetricSpec | CalculatedMetric


@cache
def _entries() -> dict[str, _Entry]:
    """Every library metric by slug, read once: plain metrics first, then the calculated ones,
    whose inputs are looked up among the plain ones (so reading never recurses)."""
    files = sorted(FOLDER.glob("*.json"))
    calculated = {f for f in files if '"calculated"' in f.read_text(encoding="utf-8")}
    entries: dict[str, _Entry] = {}

    def plain(name: str) -> MetricSpec:
        entry = entries.get(slug(name))
        if entry is None or not isinstance(entry.metric, MetricSpec):
            raise SpecError("calculated.inputs", f"no plain library metric {name!r}")
        return entry.metric

    for file in [f for f in files if f not in calculated] + [f for f in files if f in calculated]:
        metric = load(file, resolve=plain)
        data_source = dict(metric.extra).get("data_source", "")  # the library's own key in each file
        entries[file.stem] = _Entry(file.stem, file, str(data_source), metric)
    return dict(sorted(entries.items()))


def _find(name: str) -> _Entry:
    entries = _entries()
    key = slug(name) if isinstance(name, str) else ""
    if key in entries:
        return entries[key]
    slugs = builtins.list(entries)
    similar = [s for s in slugs if key and key in s] + difflib.get_close_matches(key, slugs, n=3, cutoff=0.6)
    close = [entries[s].metric.name for s in dict.fromkeys(similar)][:5]
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "see twibox_nb.library.list()"
    raise SpecError("library", f"no metric {shown(name)} in the library; {hint}")


def get(name: str) -> MetricSpec | CalculatedMetric:
    """The library metric called ``name`` (any case; its file name such as ``sms-spend`` works too).

    >>> get("SMS SPEND").request.path
    '/2010-04-01/Accounts/{AccountSid}/Messages.json'
    >>> get("mesages by stauts")
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: library: no metric 'mesages by stauts' ...; did you mean 'Messages by status', ...?
    """
    return _find(name).metric


def path(name: str) -> Path:
    """The JSON file of a library metric (to copy and edit, or to pass to ``twibox fetch``).

    >>> path("Total spend").name
    'total-spend.json'
    """
    return _find(name).file


def _endpoint(metric: MetricSpec | CalculatedMetric) -> str:
    if isinstance(metric, CalculatedMetric):
        symbol = {"ratio": " / ", "difference": " - ", "sum": " + "}[metric.op]
        return f"calculated: {symbol.join(m.name for m in metric.inputs)}"
    return metric.request.base_url + metric.request.path


def list() -> pd.DataFrame:  # noqa: A001  (the library's listing, as in ``library.list()``)
    """Every library metric, one row each: name, data source, description, endpoint and defaults.

    >>> list()["data_source"].unique().tolist() == builtins.list(DATA_SOURCES)
    True
    """
    rows: builtins.list[dict[str, Any]] = []
    for entry in _entries().values():
        metric = entry.metric
        rows.append(
            {
                "name": metric.name,
                "data_source": entry.data_source,
                "description": metric.description,
                "endpoint": _endpoint(metric),
                "aggregation": metric.aggregation,
                "unit": metric.value_unit,
                "favourable_trend": metric.favourable_trend,
                "date_range": metric.date_range,
                "interval": metric.interval,
                "slug": entry.slug,
            }
        )
    table = pd.DataFrame(rows, columns=builtins.list(COLUMNS))
    order = table["data_source"].map({source: i for i, source in enumerate(DATA_SOURCES)})
    return table.assign(_order=order).sort_values(["_order", "name"], ignore_index=True).drop(columns="_order")


def search(data_source: str | None = None, text: str = "") -> pd.DataFrame:
    """The library's listing, filtered by data source and by words in the name or description.

    >>> search("Voice", "spend")["name"].tolist()
    ['Call spend']
    """
    table = list()
    if data_source not in (None, "", "All"):
        table = table[table["data_source"] == data_source]
    for word in text.lower().split():
        haystack = (table["name"] + " " + table["description"]).str.lower()
        table = table[haystack.str.contains(word, regex=False)]
    return table.reset_index(drop=True)
