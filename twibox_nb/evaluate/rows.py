"""Rows: one normalisation for every engine's output (generated and custom expressions alike).

Rows are dicts with exactly the keys ``date``, ``value`` and ``dimension``, in that order; a key
JSONata left out (its expression was undefined, e.g. a missing field, or a dynamic date) is
``None`` like a JSON null. Numbers that are whole (``2.0``) become ``int``; everything else keeps
its JSON type (an ``error_code`` dimension stays an integer). Field paths step through arrays as
JSONata's do: ``details.fields.label`` gives ``"a"`` when ``fields`` holds one object and
``["a", "b"]`` when it holds two (a value that is an array is not a number: null).
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from .._exceptions import ExpressionError

__all__ = [
    "ROW_KEYS",
    "Row",
    "rows_from_result",
]


class Row(TypedDict):
    """One metric row: the value of one record (or one custom result) on a date, by dimension."""

    date: Any
    value: int | float | None
    dimension: Any


ROW_KEYS = ("date", "value", "dimension")


def _clean(value: Any) -> Any:
    # Whole floats become ints on both paths (jsonata-python already does this for its output).
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _clean_row(row: dict[str, Any]) -> Row:
    return {
        "date": _clean(row.get("date")),
        "value": _clean(row.get("value")),
        "dimension": _clean(row.get("dimension")),
    }


_SHAPE_HELP = (
    'A metric expression must return an array of {"date", "value", "dimension"} objects '
    '(a single object is also accepted, and a single number when the metric\'s date is dynamic), '
    'e.g. messages.{"date": date_sent, "value": 1, "dimension": status}.'
)

_NUMBER_HELP = (
    "the expression returned a single number ({number}), which has no date, but this metric's date "
    "is a field of each record, so the number would fall outside every interval and be dropped. "
    'Return one row per record with its date, e.g. messages.{{"date": date_sent, "value": 1}} '
    "(aggregation sum or count adds them up per interval), or make the metric's date dynamic "
    "(the value as it is now, stamped with the time of the fetch)."
)


def rows_from_result(result: Any, *, dated: bool = False) -> list[Row]:
    """Normalise what an engine returned into rows, or raise ``ExpressionError(code="shape")``.

    JSONata collapses one-item sequences, so one object stands for ``[object]`` and undefined
    (``None``) for no rows. A number is one row with only a value: the value now, for a metric
    whose date is dynamic (stamped with the time of the fetch). For a ``dated`` metric (its date
    a record field) such a row would match no interval, so a number is refused.

    >>> rows_from_result({"value": 2.0, "dimension": "sent"})
    [{'date': None, 'value': 2, 'dimension': 'sent'}]
    >>> rows_from_result(3)
    [{'date': None, 'value': 3, 'dimension': None}]
    >>> rows_from_result(None)
    []
    >>> rows_from_result(3, dated=True)
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.ExpressionError: shape: the expression returned a single number (3), which has no date, ...
    """
    if result is None:
        return []
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if dated:
            raise ExpressionError(_NUMBER_HELP.format(number=_clean(result)), code="shape")
        return [_clean_row({"value": result})]
    if isinstance(result, dict):
        result = [result]
    if not isinstance(result, list):
        raise ExpressionError(f"the expression returned {_describe(result)}. {_SHAPE_HELP}", code="shape")
    rows = []
    append = rows.append
    for index, row in enumerate(result):
        # Fast lane for the usual row: a dict of scalars, its value a number or null, nothing to
        # clean (a whole float is) and nothing to check (a row of nulls may lack every key).
        if type(row) is dict:
            date, value, dimension = row.get("date"), row.get("value"), row.get("dimension")
            if (
                type(date) in _KEPT
                and type(dimension) in _KEPT
                and (
                    type(value) is int
                    or (type(value) is float and not value.is_integer())
                    or (value is None and (date is not None or dimension is not None))
                )
            ):
                append({"date": date, "value": value, "dimension": dimension})
                continue
        if not isinstance(row, dict):
            raise ExpressionError(f"item {index} of the result is {_describe(row)}. {_SHAPE_HELP}", code="shape")
        if row and not row.keys() & _ROW_KEY_SET:
            keys = ", ".join(sorted(row)[:6])
            raise ExpressionError(
                f"item {index} of the result has none of the keys date, value, dimension "
                f"(it has {keys}). {_SHAPE_HELP}",
                code="shape",
            )
        value = row.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ExpressionError(
                f"item {index} has value {value!r}, not a number: convert it, e.g. with $number(), "
                "which needs a guard for nulls: ($type(price) = 'string' ? $number(price) : null).",
                code="shape",
            )
        append(_clean_row(row))
    return rows


_ROW_KEY_SET = frozenset(ROW_KEYS)
# Types a date or dimension keeps as they are (a float is cleaned: 2.0 becomes 2; arrays and objects too).
_KEPT = frozenset({str, int, bool, type(None)})


def _describe(value: Any) -> str:
    kinds = {
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "an array",
        dict: "an object",
    }
    kind = kinds.get(type(value), type(value).__name__)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{kind} ({text[:60]}{'…' if len(text) > 60 else ''})"
