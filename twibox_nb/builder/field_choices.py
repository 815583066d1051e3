"""Which fields of a first page a metric can use for what, and why not, in plain words.

Pure functions of the fields :func:`twibox_nb.builder.fields.discover_fields` found and the page's records;
:class:`twibox_nb.builder.state.BuilderState` offers their answers in the value and dimension steps (and
the date step can use them the same way).

>>> from twibox_nb.builder.fields import discover_fields
>>> records = [{"price": "-0.0075", "status": "sent", "sid": "SM" + "0" * 32},
...            {"price": None, "status": "failed", "sid": "SM" + "1" * 32}]
>>> fields = discover_fields({"messages": records})
>>> explain_value(fields, "price") is None, explain_value(fields, "status")
(True, "'status' holds text ('sent', 'failed'), not numbers: a metric value must be purely numeric; \
choose count of records and segment by 'status' in the next step")
>>> explain_dimension(fields, records, "sid")
"'sid' identifies records (SIDs or links): every record would be a group of its own"
>>> distinct_values(fields, records, "status")
[('failed', 1), ('sent', 1)]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..model.spec import Count, Field
from .fields import MAX_INTEGER_DIMENSION, MAX_TEXT_DIMENSION, FieldInfo

__all__ = [
    "Choice",
    "dimension_choices",
    "distinct_values",
    "explain_dimension",
    "explain_value",
    "field_label",
    "find_field",
    "short_date_reason",
    "short_dimension_reason",
    "short_value_reason",
    "value_choices",
]

_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,12}$")
_MISSING = object()
_DATES = ("date_rfc2822", "date_iso8601")
_KIND_WORDS = {
    "number": "number",
    "numeric_string": "number as text",
    "date_rfc2822": "date (RFC 2822)",
    "date_iso8601": "date (ISO 8601)",
    "text": "text",
    "boolean": "true/false",
    "object": "object",
    "list": "list",
    "null": "always empty here",
    "mixed": "mixed",
}


@dataclass(frozen=True)
class Choice:
    """One option of the value or dimension step. ``ok`` False comes with the ``reason`` (a
    sentence) and ``short`` (a few words for the list: "not a number", "a list" …)."""

    label: str
    value: Field | Count | None
    ok: bool = True
    reason: str | None = None
    info: FieldInfo | None = None
    short: str | None = None

    @property
    def shown(self) -> str:
        """The label as the list shows it: an unusable field says why in a few words.

        >>> Choice("status · text", None, ok=False, short="text, not a number").shown
        'status · text  ✗ text, not a number'
        """
        return self.label if self.ok else f"{self.label}  ✗ {self.short or 'cannot be used here'}"


_VALUE_SHORT = {
    "date_rfc2822": "a date, not a number",
    "date_iso8601": "a date, not a number",
    "object": "an object, not a number",
    "list": "a list, not a number",
    "boolean": "true/false, not a number",
    "mixed": "numbers mixed with other values",
    "text": "text, not a number",
}
_DATE_SHORT = {
    "number": "a number, not a date",
    "numeric_string": "a number, not a date",
    "object": "an object, not a date",
    "list": "a list, not a date",
    "boolean": "true/false, not a date",
    "mixed": "values of several kinds, not dates",
    "text": "text, not a date",
    "null": "always empty here: no date",
}


def short_value_reason(info: FieldInfo) -> str:
    """Why a field cannot be the value, in a few words (for a list entry)."""
    return _VALUE_SHORT.get(info.kind, "not a number")


def short_date_reason(info: FieldInfo) -> str:
    """Why a field cannot be the date, in a few words (for a list entry)."""
    return _DATE_SHORT.get(info.kind, "no date")


def short_dimension_reason(info: FieldInfo) -> str:
    """Why a field cannot split the metric, in a few words (for a list entry)."""
    if info.kind in _DATES:
        return "a date: choose it in Select date"
    if info.kind in ("object", "list"):
        return f"{'an object' if info.kind == 'object' else 'a list'}, not one plain value"
    if info.kind in ("number", "numeric_string"):
        return f"a number with {_plural(info.distinct, 'value')}: use it as the value"
    if info.kind == "text" and info.distinct > MAX_TEXT_DIMENSION:
        return f"free text (over {MAX_TEXT_DIMENSION} values)"
    if info.kind == "text":
        return "identifies records: one group each"
    return "values of several kinds"


def find_field(fields: Sequence[FieldInfo], path: str) -> FieldInfo | None:
    return next((f for f in fields if f.path == path), None)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _short(value: Any, width: int = 32) -> str:
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _examples(info: FieldInfo) -> str:
    shown = ", ".join(_short(v) for v in info.examples)
    return shown + (" …" if info.distinct > len(info.examples) else "")


def field_label(info: FieldInfo) -> str:
    """``price · number as text · e.g. '-0.00790', '-0.00750' · 20% empty``."""
    parts = [info.path, _KIND_WORDS[info.kind]]
    if info.examples and info.kind not in ("object", "list"):
        parts.append("e.g. " + ", ".join(_short(v, 24) for v in info.examples[:2]))
    if 0 < info.null_share < 1:
        parts.append(f"{info.null_share:.0%} empty")
    return " · ".join(parts)


# --- the value -------------------------------------------------------------------------------


def explain_value(fields: Sequence[FieldInfo], path: str) -> str | None:
    """Why ``path`` cannot be the metric's value (None when it can)."""
    info = find_field(fields, path)
    if info is None:
        return f"there is no field {path!r} in the first page's records"
    if info.kind in ("number", "numeric_string", "null"):
        return None  # "null": empty in every record of this page, so it may well hold numbers
    name, shown = repr(info.path), _examples(info)
    if info.kind in _DATES:
        return f"{name} holds dates ({shown}), not numbers: choose it in the Select date step"
    if info.kind == "object":
        inner = [f.path for f in fields if f.steps[:-1] == info.steps and f.as_value]
        return f"{name} is an object, not a number" + (
            f": choose one of its number fields ({', '.join(inner)})" if inner else ""
        )
    if info.kind == "list":
        return f"{name} holds lists, not numbers: a metric value must be one number per record"
    if info.kind == "boolean":
        return f"{name} is true/false, not a number: count the records and segment them by {name} instead"
    if info.kind == "mixed":
        return f"{name} holds numbers and other values ({shown}): a metric value must be purely numeric"
    advice = (
        f"choose count of records and segment by {name} in the next step"
        if info.as_dimension
        else "choose a number field, or count of records"
    )
    return f"{name} holds text ({shown}), not numbers: a metric value must be purely numeric; {advice}"


def value_choices(
    fields: Sequence[FieldInfo], records: int, current: Field | Count | None = None, show_all: bool = False
) -> list[Choice]:
    """Count of records first, then the fields that can be numbers (``show_all``: every field, with reasons)."""
    out = [Choice(f"count of records ({records:,} in the first page)", Count())]
    for info in fields:
        reason = explain_value(fields, info.path)
        # A field empty in every record is accepted (it may hold numbers) but only listed on request.
        if (reason is None and info.kind != "null") or show_all:
            short = short_value_reason(info) if reason is not None else None
            out.append(Choice(field_label(info), Field(info.path), reason is None, reason, info, short))
    if isinstance(current, Field) and not any(c.value == current for c in out):
        out.append(Choice(f"{current.path} · saved choice", current))  # not in this page: keep it visible
    return out


# --- the dimension ---------------------------------------------------------------------------


def _get(record: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        if not isinstance(record, dict) or step not in record:
            return _MISSING
        record = record[step]
    return record


def distinct_values(fields: Sequence[FieldInfo], records: Sequence[Any], path: str) -> list[tuple[Any, int]]:
    """The values of ``path`` in ``records`` with their counts, most frequent first.

    ``None`` stands for null or missing (those records get no dimension).
    """
    info = find_field(fields, path)
    steps = info.steps if info is not None else tuple(path.split("."))
    counts: Counter[Any] = Counter()
    first_seen: dict[Any, Any] = {}
    for record in records:
        value = _get(record, steps)
        value = None if value is _MISSING else value
        # True apart from 1; objects and lists by their text (they are not hashable)
        key = (type(value) is bool, repr(value) if isinstance(value, (dict, list)) else value)
        counts[key] += 1
        first_seen.setdefault(key, value)
    return sorted(((first_seen[k], n) for k, n in counts.items()), key=lambda item: (-item[1], str(item[0])))


def _is_code(fields: Sequence[FieldInfo], records: Sequence[Any], info: FieldInfo) -> bool:
    """Integers sent as text with few values (Monitor's ``error_code`` "11200") split like codes."""
    if info.kind != "numeric_string" or info.distinct > MAX_INTEGER_DIMENSION:
        return False
    return all(
        value is None or type(value) is int or (isinstance(value, str) and _INTEGER_TEXT.match(value))
        for value, _ in distinct_values(fields, records, info.path)
    )


def explain_dimension(fields: Sequence[FieldInfo], records: Sequence[Any], path: str) -> str | None:
    """Why ``path`` cannot split the metric (None when it can)."""
    info = find_field(fields, path)
    if info is None:
        return f"there is no field {path!r} in the first page's records"
    if info.as_dimension or info.kind == "null" or _is_code(fields, records, info):
        return None
    name = repr(info.path)
    if info.kind in _DATES:
        return f"{name} holds dates: choose it in the Select date step (the metric is split by interval there)"
    if info.kind in ("object", "list"):
        return f"{name} holds {'objects' if info.kind == 'object' else 'lists'}: a dimension is one plain value"
    if info.kind in ("number", "numeric_string"):
        return (
            f"{name} is a number with {_plural(info.distinct, 'different value')} in the first page: use it as "
            f"the value; only integers with at most {MAX_INTEGER_DIMENSION} values (codes) split a metric"
        )
    if info.kind == "text" and info.distinct > MAX_TEXT_DIMENSION:
        return (
            f"{name} has more than {MAX_TEXT_DIMENSION} different values in the first page: free text, not categories"
        )
    if info.kind == "text":
        return f"{name} identifies records (SIDs or links): every record would be a group of its own"
    return f"{name} holds values of several kinds ({_examples(info)}): a dimension needs one kind"


def dimension_choices(
    fields: Sequence[FieldInfo], records: Sequence[Any], current: Field | None = None, show_all: bool = False
) -> list[Choice]:
    """None first, then the fields that can split the metric (``show_all``: every field, with reasons)."""
    out = [Choice("None (one value, no segments)", None)]
    for info in fields:
        reason = explain_dimension(fields, records, info.path)
        if (reason is None and info.kind != "null") or show_all:
            label = f"{field_label(info)} · {_plural(info.distinct, 'value')}"
            short = short_dimension_reason(info) if reason is not None else None
            out.append(Choice(label, Field(info.path), reason is None, reason, info, short))
    if current is not None and not any(c.value == current for c in out):
        out.append(Choice(f"{current.path} · saved choice", current))
    return out
