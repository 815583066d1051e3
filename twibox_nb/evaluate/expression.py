"""JSONata that maps one page body to metric rows ``{"date", "value", "dimension"}``.

Two kinds of expression:

* **Generated** (:func:`generate`): a pure row projection built from a small AST, rendered to
  JSONata text by one function (:func:`render`, which does all quoting) and compiled from the same
  AST to a Python function (:func:`compile_python`) that returns exactly what jsonata-python
  returns for the rendered text, ~30x faster. No group-by: aggregation happens later, in pandas.
* **Custom** (:func:`custom_expression`): JSONata a user wrote, run on the fast engine (jlens,
  ``pip install 'twibox-nb[fast]'``) or on jsonata-python, in a worker process that is killed when
  an evaluation runs past its timeout (see ``twibox_nb.evaluate.engines`` and ``twibox_nb.evaluate.guard``).

Rows are dicts with exactly the keys ``date``, ``value`` and ``dimension``, in that order; a key
JSONata left out (its expression was undefined, e.g. a missing field, or a dynamic date) is
``None`` like a JSON null. Numbers that are whole (``2.0``) become ``int``; everything else keeps
its JSON type (an ``error_code`` dimension stays an integer). Field paths step through arrays as
JSONata's do: ``details.fields.label`` gives ``"a"`` when ``fields`` holds one object and
``["a", "b"]`` when it holds two (a value that is an array is not a number: null).

>>> g = generate("messages", Selection(value="price", dimension="status", date="date_sent"))
>>> g.evaluate({"messages": [{"price": "-0.00750", "status": "sent", "date_sent": "Fri, 24 May 2019"}]})
[{'date': 'Fri, 24 May 2019', 'value': -0.0075, 'dimension': 'sent'}]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from .._exceptions import ExpressionError

__all__ = [
    "DEFAULT_TIMEOUT",
    "NUMERIC_STRING",
    "ROW_KEYS",
    "Constant",
    "Context",
    "CustomExpression",
    "FieldRef",
    "GeneratedExpression",
    "NumberOrNull",
    "ObjectOf",
    "Projection",
    "Row",
    "Selection",
    "compile_python",
    "custom_expression",
    "engine_error",
    "generate",
    "projection",
    "render",
    "rows_from_result",
]


class Row(TypedDict):
    """One metric row: the value of one record (or one custom result) on a date, by dimension."""

    date: Any
    value: int | float | None
    dimension: Any


ROW_KEYS = ("date", "value", "dimension")

#: The strings a metric reads as numbers: what JSONata's ``$number`` and Python's ``float`` both
#: read the same way. ASCII digits only (Python's ``\d`` takes other scripts' digits), at most 15
#: before the point and a two-digit exponent (so the result is always finite: ``"1e999"`` would
#: make ``$number`` fail), and ``$(?!\n)`` because Python's ``$`` also matches before a final
#: newline and JavaScript's does not. ``"-0.00750"``, ``"0"``, ``"12"`` and ``"1e5"`` qualify;
#: ``""``, ``" 1"``, ``"1."``, ``".5"`` and ``"0x1F"`` do not.
NUMERIC_STRING = r"^-?[0-9]{1,15}(\.[0-9]+)?([eE][-+]?[0-9]{1,2})?$(?!\n)"
_NUMERIC_STRING = re.compile(NUMERIC_STRING)

# ---------------------------------------------------------------------------------------------
# The AST of generated expressions. Small on purpose: a projection of fields into row objects.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """A field path relative to the context (a record): ``("capabilities", "sms")``."""

    steps: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.steps or not all(isinstance(s, str) for s in self.steps):
            raise ExpressionError(f"a field path needs at least one name, got {self.steps!r}", code="field")
        for step in self.steps:
            if "`" in step:
                # JSONata's back-quoted names have no escape for a back-quote.
                raise ExpressionError(
                    f"the field name {step!r} holds a back-quote (`), which JSONata cannot name", code="field"
                )


@dataclass(frozen=True)
class Context:
    """The context value itself (``$``): the body of an instance response is its one record."""


@dataclass(frozen=True)
class Constant:
    """A JSON scalar written into the expression (``1`` for counting, ``null``)."""

    value: bool | int | float | str | None


@dataclass(frozen=True)
class NumberOrNull:
    """The field as a number, or null: numbers as they are, numeric strings converted, else null.

    Rendered as ``($v := price; $type($v) = "number" ? $v : ($type($v) = "string" and
    $contains($v, /…/) ? $number($v) : null))``. Why this form: ``price ? $number(price) : null``
    tests truthiness, so a numeric ``0`` (falsy) would become null and ``"abc"`` would raise
    D3030; plain ``$number(price)`` raises T0410 on Twilio's null prices and turns booleans into
    1 and 0. Testing ``$type`` keeps 0 and ``"0"`` as 0, and the regular expression
    (:data:`NUMERIC_STRING`) lets through only strings ``$number`` converts without error.
    """

    operand: FieldRef


@dataclass(frozen=True)
class ObjectOf:
    """An object constructor: ``{"date": …, "value": …}`` (JSONata leaves undefined values out)."""

    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Projection:
    """Each item of ``source`` mapped to a row object: ``messages.{…}`` or ``$.{…}``."""

    source: FieldRef | Context
    row: ObjectOf


Node = FieldRef | Context | Constant | NumberOrNull | ObjectOf | Projection

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words the JSONata tokenizer reads as operators or literals rather than as field names.
_RESERVED = frozenset({"and", "or", "in", "true", "false", "null", "function"})


def render(node: Node) -> str:
    """The JSONata text of an AST node. All quoting happens here.

    >>> render(Projection(FieldRef(("messages",)), ObjectOf((("value", NumberOrNull(FieldRef(("date-sent",)))),))))[:38]
    'messages.{"value": ($v := `date-sent`;'
    >>> render(FieldRef(("capabilities", "sms")))
    'capabilities.sms'
    """

    def name(step: str) -> str:
        # Names that are not plain identifiers (``date-sent``, ``1st``, ``null``, ``a.b``, unicode)
        # are back-quoted; JSONata has no escapes inside back-quotes (FieldRef refuses "`").
        return step if _PLAIN_NAME.fullmatch(step) and step not in _RESERVED else f"`{step}`"

    def string(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # JSONata string literals take JSON escapes

    if isinstance(node, FieldRef):
        return ".".join(name(step) for step in node.steps)
    if isinstance(node, Context):
        return "$"
    if isinstance(node, Constant):
        value = node.value
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError(f"{value} cannot be written in JSONata", code="field")
        return string(value) if isinstance(value, str) else json.dumps(value)
    if isinstance(node, NumberOrNull):
        pattern = f"/{NUMERIC_STRING}/"
        return (
            f"($v := {render(node.operand)}; $type($v) = {string('number')} ? $v : "
            f"($type($v) = {string('string')} and $contains($v, {pattern}) ? $number($v) : null))"
        )
    if isinstance(node, ObjectOf):
        return "{" + ", ".join(f"{string(key)}: {render(value)}" for key, value in node.items) + "}"
    if isinstance(node, Projection):
        return f"{render(node.source)}.{render(node.row)}"
    raise TypeError(f"not an expression node: {node!r}")


# ---------------------------------------------------------------------------------------------
# The compiled Python path: the same AST evaluated with JSONata's semantics (as jsonata-python
# implements them in Jsonata.evaluate_path / evaluate_step / Functions.lookup), so that both paths
# give the same rows on any JSON body, including records that hold arrays.
# ---------------------------------------------------------------------------------------------


class _Undefined:
    """JSONata's "undefined" (no value at all), distinct from JSON null."""

    def __repr__(self) -> str:
        return "undefined"


class _Null:
    """JSON null found by a lookup; a bare ``None`` inside data arrays is what JSONata skips."""

    def __repr__(self) -> str:
        return "null"


_UNDEFINED = _Undefined()
_NULL = _Null()


class _Seq(list):  # type: ignore[type-arg]
    """A JSONata sequence (a result of stepping through arrays), as opposed to a JSON array."""


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key not in value:
            return _UNDEFINED
        found = value[key]
        return _NULL if found is None else found
    if isinstance(value, list):  # paths map over arrays, flattening one level per array met
        out = _Seq()
        for item in value:
            found = _lookup(item, key)
            if found is _UNDEFINED:
                continue
            if isinstance(found, list):
                out.extend(found)
            else:
                out.append(found)
        return out
    return _UNDEFINED


def _collapse(value: Any) -> Any:
    """JSONata's singleton rule: an empty sequence is undefined, a one-item sequence its item."""
    if isinstance(value, _Seq):
        if not value:
            return _UNDEFINED
        if len(value) == 1:
            # a data array's null comes out of a sequence as a bare None: undefined to JSONata
            return _UNDEFINED if value[0] is None else value[0]
    return value


def _step(inputs: list[Any], key: str, last: bool) -> list[Any]:
    results = [r for r in (_collapse(_lookup(item, key)) for item in inputs) if r is not _UNDEFINED]
    if last and len(results) == 1 and isinstance(results[0], list) and not isinstance(results[0], _Seq):
        return results[0]  # a path ending on one array returns that array, not its items
    out = _Seq()
    for result in results:
        if isinstance(result, list):
            out.extend(result)
        else:
            out.append(result)
    return out


def _path(context: Any, steps: tuple[str, ...]) -> Any:
    inputs = context if isinstance(context, list) else [context]
    result: list[Any] = _Seq()
    for index, key in enumerate(steps):
        result = _step(inputs, key, last=index == len(steps) - 1)
        if not result:
            break
        inputs = result
    return _collapse(result)


def _group_context(item: Any) -> Any:
    """The context an object constructor sees for one item (JSONata groups an array's items)."""
    if not isinstance(item, list):
        return item
    data: Any = _UNDEFINED
    for element in item:
        if element is None:
            continue
        if data is _UNDEFINED:
            data = element
        else:
            data = _Seq(
                [*(data if isinstance(data, list) else [data]), *(element if isinstance(element, list) else [element])]
            )
    return data


def _plain(value: Any) -> Any:
    """Internal markers to JSON: null to None, sequences to lists."""
    if value is _NULL:
        return None
    if isinstance(value, _Seq):
        return [_plain(v) for v in value]
    return value


_Compiled = Callable[[Any], Any]


def _compile(node: Node) -> _Compiled:
    if isinstance(node, FieldRef):
        steps = node.steps

        def field_ref(context: Any) -> Any:
            # Fast lane for the usual case, objects all the way down; anything else (an array, a
            # null or a scalar on the way) takes JSONata's full stepping rules from the start.
            value = context
            for key in steps:
                if type(value) is not dict:
                    return _path(context, steps)
                if key not in value:
                    return _UNDEFINED
                value = value[key]
            return _NULL if value is None else value

        return field_ref
    if isinstance(node, Constant):
        constant = _NULL if node.value is None else node.value
        return lambda context: constant
    if isinstance(node, NumberOrNull):
        operand = _compile(node.operand)

        def number_or_null(context: Any) -> Any:
            value = operand(context)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _NUMERIC_STRING.search(value):
                return float(value)
            return _NULL

        return number_or_null
    if isinstance(node, ObjectOf):
        items = [(key, _compile(value)) for key, value in node.items]

        def object_of(context: Any) -> dict[str, Any]:
            row = {}
            for key, compiled in items:
                value = compiled(context)
                if value is not _UNDEFINED and value is not None:  # undefined values are left out
                    row[key] = _plain(value)
            return row

        return object_of
    raise TypeError(f"cannot compile {node!r} on its own")


def compile_python(node: Projection) -> Callable[[Any], list[Row]]:
    """A Python function giving, for any JSON body, the rows jsonata-python gives for ``render(node)``.

    Two layers: a function generated for this AST (:func:`_specialise`) handles the usual page,
    a list of records that are dicts down every path, at about 1 µs a record; anything else (a
    record that is not a dict, an array or a scalar on a path, an odd body) goes through the
    general closures (:func:`_compile_general`), record by record, with JSONata's full rules.

    >>> rows = compile_python(Projection(Context(), ObjectOf((("value", Constant(1)),))))
    >>> rows({"balance": "1.00"}), rows(None)
    ([{'date': None, 'value': 1, 'dimension': None}], [])
    """
    general, make_row = _compile_general(node)
    rows_of = _specialise(node.row, make_row)
    if rows_of is None:
        return general
    source = node.source
    if isinstance(source, Context):

        def evaluate_context(body: Any) -> list[Row]:
            if type(body) is list:
                return rows_of(body)
            if type(body) is dict:
                return rows_of([body])
            return general(body)

        return evaluate_context
    if len(source.steps) != 1:
        return general
    list_key = source.steps[0]

    def evaluate(body: Any) -> list[Row]:
        # A dict body holding a JSON array under the key is what every Twilio list page is; its
        # items are exactly the records the general path would step into.
        if type(body) is dict:
            records = body.get(list_key)
            if type(records) is list:
                return rows_of(records)
        return general(body)

    return evaluate


def _compile_general(node: Projection) -> tuple[Callable[[Any], list[Row]], _Compiled]:
    """The general compiled path (any JSON body) and its row constructor for one context."""
    if not isinstance(node, Projection):
        raise TypeError("compile_python compiles a Projection (a whole expression)")
    make_row = _compile(node.row)
    source = node.source

    def items_of(body: Any) -> list[Any]:
        if isinstance(source, Context):
            if body is None:
                return []
            return list(body) if isinstance(body, list) else [body]
        inputs: list[Any] = [body]
        for key in source.steps:  # never the last step: the row constructor follows
            inputs = _step(inputs, key, last=False)
        return inputs

    def evaluate(body: Any) -> list[Row]:
        return [_clean_row(make_row(_group_context(item))) for item in items_of(body)]

    return evaluate, make_row


# ---------------------------------------------------------------------------------------------
# The specialised path: Python source generated from the AST for records that are plain dicts.
# Field names never enter the source text: they are bound as constants (``_k0_0`` …) in the
# namespace the source runs in, so no name can change what the code does.
# ---------------------------------------------------------------------------------------------

_MISSING = _Undefined()  # a key that is absent (distinct from a JSON null)
# Types a value keeps as it is through _plain and _clean (whole floats, lists and dicts change).
_AS_IS = frozenset({str, int, bool, type(None)})
# Numeric strings repeat (Twilio's prices take a few dozen values): convert each once.
_NUMBER_CACHE_SIZE = 4096


def _number_of_text(text: str) -> int | float | None:
    """NumberOrNull of a string, cleaned: the number of a numeric string, else None."""
    return _clean(float(text)) if _NUMERIC_STRING.search(text) else None


def _number_of_other(value: Any) -> Any:
    """NumberOrNull of any other looked-up value (not missing, None or a str), cleaned."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _clean(value)
    return None


def _specialise(row: ObjectOf, make_row: _Compiled) -> Callable[[list[Any]], list[Row]] | None:
    """Generate ``rows_of(records)`` for a row constructor, or None when the AST is not a plain
    row (repeated keys, nested objects): the general path then serves every body.

    Each record that is a dict is read with dict lookups; a record that is not a dict, or one
    where a path meets anything but a dict before its last name, is handed whole to the general
    row constructor (``make_row``), so the rows are always exactly the general path's.
    """
    keys = [key for key, _ in row.items]
    if len(set(keys)) != len(keys):
        return None
    namespace: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_AS_IS": _AS_IS,
        "_clean": _clean,
        "_clean_row": _clean_row,
        "_make_row": make_row,
        "_number_of_text": _number_of_text,
        "_number_of_other": _number_of_other,
        "_NUMBER_CACHE_SIZE": _NUMBER_CACHE_SIZE,
    }
    body: list[str] = []
    row_values: dict[str, str] = {}

    def walk(var: str, steps: tuple[str, ...], index: int) -> None:
        # ``var`` ends as the value at the path, or _MISSING when a name is absent; a non-dict
        # before the last name sends the record to the general path (JSONata steps into arrays).
        for depth, step in enumerate(steps):
            constant = f"_k{index}_{depth}"
            namespace[constant] = step
            if depth == 0:
                body.append(f"{var} = record.get({constant}, _MISSING)")
            else:
                body.append(f"if type({var}) is dict:")
                body.append(f"    {var} = {var}.get({constant}, _MISSING)")
                body.append(f"elif {var} is not _MISSING:")
                body.append("    append(_clean_row(_make_row(record)))")
                body.append("    continue")

    for index, (key, node) in enumerate(row.items):
        var = f"v{index}"
        if isinstance(node, Constant):
            constant = f"_c{index}"
            namespace[constant] = _clean(node.value)  # a null constant is a None in the row too
            row_values[key] = constant
        elif isinstance(node, FieldRef):
            # absent and null both give None; whole floats, lists and dicts are cleaned
            if len(node.steps) == 1:
                namespace[f"_k{index}_0"] = node.steps[0]
                body.append(f"{var} = record.get(_k{index}_0)")
                body.append(f"if type({var}) not in _AS_IS:")
            else:
                walk(var, node.steps, index)
                body.append(f"if {var} is _MISSING:")
                body.append(f"    {var} = None")
                body.append(f"elif type({var}) not in _AS_IS:")
            body.append(f"    {var} = _clean({var})")
            row_values[key] = var
        elif isinstance(node, NumberOrNull):
            walk(var, node.operand.steps, index)
            body.append(f"if type({var}) is str:")
            body.append(f"    number = numbers.get({var}, _MISSING)")
            body.append("    if number is _MISSING:")
            body.append(f"        number = _number_of_text({var})")
            body.append("        if len(numbers) < _NUMBER_CACHE_SIZE:")
            body.append(f"            numbers[{var}] = number")
            body.append(f"    {var} = number")
            body.append(f"elif type({var}) is float:")
            body.append(f"    if {var}.is_integer():")
            body.append(f"        {var} = int({var})")
            body.append(f"elif {var} is _MISSING or {var} is None:")
            body.append(f"    {var} = None")
            body.append(f"elif type({var}) is not int:")
            body.append(f"    {var} = _number_of_other({var})")
            row_values[key] = var
        else:
            return None
    fields = ", ".join(f'"{key}": {row_values.get(key, "None")}' for key in ROW_KEYS)  # fixed keys only
    source = "\n".join(
        [
            "def _make(numbers):",
            "    def rows_of(records):",
            "        out = []",
            "        append = out.append",
            "        for record in records:",
            "            if type(record) is not dict:",
            "                append(_clean_row(_make_row(_group_context(record))))",
            "                continue",
            *(f"            {line}" for line in body),
            f"            append({{{fields}}})",
            "        return out",
            "    return rows_of",
        ]
    )
    namespace["_group_context"] = _group_context
    exec(compile(source, "<twibox_nb generated expression>", "exec"), namespace)
    return namespace["_make"]({})


# ---------------------------------------------------------------------------------------------
# Rows: one normalisation for every engine's output.
# ---------------------------------------------------------------------------------------------


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
    '(a single object or a single number is also accepted), e.g. messages.{"date": date_sent, '
    '"value": 1, "dimension": status}.'
)


def rows_from_result(result: Any) -> list[Row]:
    """Normalise what an engine returned into rows, or raise ``ExpressionError(code="shape")``.

    JSONata collapses one-item sequences, so one object stands for ``[object]`` and undefined
    (``None``) for no rows. A number is one row with only a value.

    >>> rows_from_result({"value": 2.0, "dimension": "sent"})
    [{'date': None, 'value': 2, 'dimension': 'sent'}]
    >>> rows_from_result(3)
    [{'date': None, 'value': 3, 'dimension': None}]
    >>> rows_from_result(None)
    []
    """
    if result is None:
        return []
    if isinstance(result, (int, float)) and not isinstance(result, bool):
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


# ---------------------------------------------------------------------------------------------
# Selections and generated expressions.
# ---------------------------------------------------------------------------------------------

FieldPath = tuple[str, ...]


def _as_path(path: str | Sequence[str] | None, what: str) -> FieldPath | None:
    if path is None:
        return None
    steps = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    if not steps or any(not isinstance(s, str) for s in steps) or (isinstance(path, str) and "" in steps):
        raise ExpressionError(
            f"{what}: {path!r} is not a field path (write 'price' or 'capabilities.sms')", code="field"
        )
    return steps


@dataclass(frozen=True)
class Selection:
    """What a metric reads from each record.

    ``value``: a field path (``"price"``, ``"capabilities.sms"``, or a tuple of names for names
    holding dots) whose number is the value, or ``None`` to count records (each counts 1).
    ``dimension``: a field path whose value (kept as its JSON type) splits the metric, or ``None``.
    ``date``: a field path holding the record's date, or ``None`` for a *dynamic* date (the engine
    stamps the fetch time later; rows carry ``date=None``).

    >>> Selection(value="price", dimension="status", date="date_sent").value
    ('price',)
    >>> Selection.count(dimension="log_level").value is None
    True
    """

    value: FieldPath | None = None
    dimension: FieldPath | None = None
    date: FieldPath | None = None

    def __init__(
        self,
        value: str | Sequence[str] | None = None,
        dimension: str | Sequence[str] | None = None,
        date: str | Sequence[str] | None = None,
    ) -> None:
        object.__setattr__(self, "value", _as_path(value, "value"))
        object.__setattr__(self, "dimension", _as_path(dimension, "dimension"))
        object.__setattr__(self, "date", _as_path(date, "date"))

    @classmethod
    def count(
        cls, *, dimension: str | Sequence[str] | None = None, date: str | Sequence[str] | None = None
    ) -> Selection:
        """Count records (each counts 1)."""
        return cls(None, dimension, date)

    @property
    def is_count(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class GeneratedExpression:
    """A generated row projection: its AST, its JSONata ``text``, and a fast :meth:`evaluate`."""

    ast: Projection
    text: str
    _evaluate: Callable[[Any], list[Row]] = field(repr=False, compare=False)

    def evaluate(self, body: Any) -> list[Row]:
        """The rows of one page body, computed in Python (same result as the JSONata text)."""
        return self._evaluate(body)


def projection(list_key: str | None, selection: Selection) -> Projection:
    """The AST of the row projection for records under ``list_key`` (``None``: the body is the record)."""
    items: list[tuple[str, Node]] = []
    if selection.date is not None:
        items.append(("date", FieldRef(selection.date)))
    items.append(("value", Constant(1) if selection.value is None else NumberOrNull(FieldRef(selection.value))))
    if selection.dimension is not None:
        items.append(("dimension", FieldRef(selection.dimension)))
    source: FieldRef | Context = Context() if list_key is None else FieldRef((list_key,))
    return Projection(source, ObjectOf(tuple(items)))


def generate(list_key: str | None, selection: Selection) -> GeneratedExpression:
    """The expression for a selection on a list (``"messages"``) or an instance body (``None``).

    A dynamic date and an absent dimension are left out of the text (their rows hold ``None``).

    >>> generate("alerts", Selection.count(dimension="log_level", date="date_generated")).text
    'alerts.{"date": date_generated, "value": 1, "dimension": log_level}'
    >>> generate(None, Selection(value="balance")).evaluate({"balance": "0.0", "currency": "USD"})
    [{'date': None, 'value': 0, 'dimension': None}]
    """
    ast = projection(list_key, selection)
    return GeneratedExpression(ast=ast, text=render(ast), _evaluate=compile_python(ast))


# ---------------------------------------------------------------------------------------------
# Custom expressions: the fast engine or jsonata-python under a guard, errors normalised in one place.
# ---------------------------------------------------------------------------------------------

#: Seconds one evaluation of a page (up to 1 MiB of JSON, about 1000 Twilio records; a larger
#: body gets proportionally more) may take before it is stopped.
DEFAULT_TIMEOUT = 5.0

_CODE = re.compile(r"[A-Z][0-9]{4}")

# jsonata-python raises some errors as bare Python exceptions: (type, message fragment, JSONata's
# code and words for the same error).
_BARE_ERRORS: tuple[tuple[str, str, str, str], ...] = (
    ("ValueError", "could not convert string to float", "D3030", "Unable to cast value to a number"),
    ("ValueError", "Invalid isoformat string", "D3110", "$toMillis needs an ISO 8601 timestamp"),
    ("ZeroDivisionError", "", "D1001", "Number out of range (a division by zero)"),
    ("OverflowError", "", "D1001", "Number out of range"),
    ("TypeError", "not supported between instances", "D3070", "$sort needs all strings or all numbers"),
)

_HINTS = {
    "T0410": " Twilio sends null for values it does not know yet (a price): $number(null) fails, so "
    "guard it, e.g. ($type(price) = 'string' ? $number(price) : null).",
    "D3030": " $number() accepts only numeric text: test the text first, e.g. "
    "$contains(x, /^-?[0-9]+(\\.[0-9]+)?$/) ? $number(x) : null.",
}


def _with_hint(message: str, code: str) -> str:
    hint = _HINTS.get(code)
    return f"{message.rstrip('.')}.{hint}" if hint else message


def _code_of_message(message: str) -> str | None:
    """jsonata-python sometimes puts the message where the code belongs: find the code by text."""
    try:
        from jsonata.jexception import JException
    except ImportError:  # pragma: no cover - jsonata-python is a dependency
        return None
    for code, template in JException.error_codes.items():
        if "{" not in template and template.replace("Object", "function") == message:
            return code
    return None


# jlens quotes the tokens of its syntax errors (Expected "}", got "c") and writes numbers as floats
# (got 1.0), where jsonata-python, and the messages users have seen so far, do not.
_JLENS_QUOTED = re.compile(r'(Expected |got |The symbol )"((?:[^"\\]|\\.)*)"')
_JLENS_WHOLE = re.compile(r"(got |Syntax error: )(-?[0-9]+)\.0\b")


def engine_error(description: dict[str, Any]) -> ExpressionError:
    """The one place where engine failures become ``ExpressionError(message, code, position)``.

    ``description`` comes from ``twibox_nb.evaluate.worker.describe`` (an exception raised by
    jsonata-python or jlens, in the worker or while compiling here) or from the guard
    (``timeout``, ``crash``) or ``twibox_nb.evaluate.engines`` (``input``: the body is not JSON data).
    The fast engine's own deadline (D1012) is a ``timeout`` too, its stack limit the same D1011
    as jsonata-python's, and its size limits (U1001, U1006) are code ``"limit"``.
    """
    kind, code, position = description.get("type"), description.get("code"), description.get("position")
    # jsonata-python's messages come from a Java port that wrote "Object" where JSONata says "function".
    message = re.sub(r"\bObject\b", "function", description.get("message") or "")
    message = message.replace("Argument None of function None", "An argument of a function")
    if kind == "timeout" or (kind == "JlensError" and code == "D1012"):
        return ExpressionError(
            "the expression ran too long and was stopped (an endless loop or recursion?)", code="timeout"
        )
    if kind == "crash":
        return ExpressionError(message, code="crash")
    if kind in {"input", "_BadInput"}:
        return ExpressionError(f"the page body is not JSON data: {message}", code="input")
    if kind == "JlensError" and code is not None and code.startswith("U"):
        return ExpressionError(
            f"{message}: the expression was stopped by a safety limit of the JSONata engine "
            "(an endless loop, or a result far larger than a metric needs?)",
            code="limit",
            position=position,
        )
    if kind == "RecursionError" or (kind == "JlensError" and code == "D1011"):
        return ExpressionError(
            "Stack overflow: the expression recursed too deeply. Check for a recursive function that "
            "never ends, or rewrite it as tail-recursive.",
            code="D1011",
            position=position,
        )
    if kind == "_NotJSON" or (kind == "ValueError" and "JSON compliant" in message):
        return ExpressionError(f"{message}. {_SHAPE_HELP}", code="shape")
    if kind == "JlensError" and code is not None and _CODE.fullmatch(code):
        if code.startswith("S0"):  # syntax errors in the same words on both engines: Expected } before …
            message = _JLENS_QUOTED.sub(r"\1\2", message)
            message = _JLENS_WHOLE.sub(r"\1\2", message)
        return ExpressionError(_with_hint(message, code), code=code, position=position)
    if kind == "JException":
        if code is None or not _CODE.fullmatch(code):
            # Some errors carry their message where the code belongs (and a meaningless location).
            message = re.sub(r"\bObject\b", "function", code or message)
            code, position = _code_of_message(message) or "engine", None
        return ExpressionError(_with_hint(message, code), code=code, position=position)
    for bare_kind, fragment, bare_code, words in _BARE_ERRORS:
        if kind == bare_kind and fragment in message:
            text = _with_hint(f"{words} ({kind}: {message})", bare_code)
            return ExpressionError(text, code=bare_code, position=position)
    # Anything else is a failure jsonata-python did not name: say so, with Python's own words.
    return ExpressionError(f"the JSONata engine failed without an error code: {kind}: {message}", code="engine")


@dataclass(frozen=True)
class CustomExpression:
    """A user-written JSONata expression, compiled (its syntax checked) and run under a guard.

    ``engine`` is ``"fast"`` (jlens) or ``"python"`` (jsonata-python): see ``twibox_nb.evaluate.engines``.
    """

    text: str
    timeout: float = DEFAULT_TIMEOUT
    engine: str | None = None

    def evaluate(
        self,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        progress: bool | Callable[[float], None] | None = None,
    ) -> list[Row]:
        """The rows of one page body; ``ExpressionError`` on any failure, timeouts included.

        Pass the body parsed (``body``) or as the JSON text it arrived as (``raw``, ``str`` or
        UTF-8 ``bytes``: faster, nothing is serialised and the fast engine parses only the fields
        the expression reads). The evaluation runs in a worker process that is killed after
        ``timeout`` seconds per MiB of input (about a page of 1000 Twilio records); the next
        evaluation starts a fresh one (~0.1 s). ``progress``: see ``twibox_nb.evaluate.engines.evaluate``.
        """
        from .engines import evaluate

        answer = evaluate(self.text, body, raw=raw, timeout=self.timeout, engine=self.engine, progress=progress)
        if "error" in answer:
            raise engine_error(answer["error"])
        return rows_from_result(answer["result"])


def custom_expression(text: str, *, timeout: float = DEFAULT_TIMEOUT) -> CustomExpression:
    """Check a user's JSONata and return it ready to evaluate page by page.

    Syntax errors raise ``ExpressionError`` at once, with JSONata's code and position. The engine
    is the fast one when installed (``TWIBOX_JSONATA_ENGINE`` forces one; see ``twibox_nb.evaluate.engines``).

    >>> custom_expression('$sum(price) +')
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.ExpressionError: S0207: Unexpected end of expression at position 13
    """
    from .engines import check_syntax, selected_engine

    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", code="S0207")
    if not timeout > 0:
        raise ExpressionError(f"timeout must be a positive number of seconds, got {timeout!r}", code="timeout")
    # Parsing is fast and cannot run away; evaluation is what needs a guard.
    engine, error = check_syntax(text, selected_engine())
    if error is not None:
        raise engine_error(error)
    return CustomExpression(text=text, timeout=float(timeout), engine=engine)
