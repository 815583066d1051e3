"""The small AST of generated JSONata, and the one place that writes its text (:func:`render`).

A generated expression is a projection of fields into row objects, nothing more; every name and
string is quoted by :func:`render` alone. The compiled twin of the same AST is in
``twibox_nb.evaluate.compiled``; building the AST from what a metric selects, in
``twibox_nb.evaluate.generated``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from .._exceptions import ExpressionError

__all__ = [
    "NUMBER_OR_NULL",
    "NUMERIC_STRING",
    "Constant",
    "Context",
    "FieldRef",
    "NumberOrNull",
    "ObjectOf",
    "Projection",
    "render",
]

#: The strings a metric reads as numbers: what JSONata's ``$number`` and Python's ``float`` both
#: read the same way. ASCII digits only (Python's ``\d`` takes other scripts' digits), at most 15
#: before the point and a two-digit exponent (so the result is always finite: ``"1e999"`` would
#: make ``$number`` fail), and ``$(?!\n)`` because Python's ``$`` also matches before a final
#: newline and JavaScript's does not. ``"-0.00750"``, ``"0"``, ``"12"`` and ``"1e5"`` qualify;
#: ``""``, ``" 1"``, ``"1."``, ``".5"`` and ``"0x1F"`` do not.
NUMERIC_STRING = r"^-?[0-9]{1,15}(\.[0-9]+)?([eE][-+]?[0-9]{1,2})?$(?!\n)"

#: The function a projection that reads numbers defines once, before it maps the records.
NUMBER_OR_NULL = (
    "$numberOrNull := function($v) {\n"
    '    $type($v) = "number" ? $v\n'
    f'    : $type($v) = "string" and $contains($v, /{NUMERIC_STRING}/) ? $number($v)\n'
    "    : null\n"
    "  }"
)

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

    Rendered as a call, ``$numberOrNull(price)``, of a small function the projection defines
    once at its top (:data:`NUMBER_OR_NULL`)::

        $numberOrNull := function($v) {
          $type($v) = "number" ? $v
          : $type($v) = "string" and $contains($v, /…/) ? $number($v)
          : null
        }

    Why this form: ``price ? $number(price) : null`` tests truthiness, so a numeric ``0`` (falsy)
    would become null and ``"abc"`` would raise D3030; plain ``$number(price)`` raises T0410 on
    Twilio's null prices and turns booleans into 1 and 0. Testing ``$type`` keeps 0 and ``"0"``
    as 0, and the regular expression (:data:`NUMERIC_STRING`) lets through only strings
    ``$number`` converts without error.
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

    >>> print(render(Projection(FieldRef(("messages",)), ObjectOf((("value", NumberOrNull(FieldRef(("n",)))),)))))
    ... # doctest: +ELLIPSIS
    (
      /* numbers stay numbers, numeric text becomes a number, anything else null */
      $numberOrNull := function($v) {
        $type($v) = "number" ? $v
        : $type($v) = "string" and $contains($v, /^-?[0-9]{1,15}...$(?!\\n)/) ? $number($v)
        : null
      };
      messages.{"value": $numberOrNull(n)}
    )
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
        return f"$numberOrNull({render(node.operand)})"  # defined once by the projection (below)
    if isinstance(node, ObjectOf):
        return "{" + ", ".join(f"{string(key)}: {render(value)}" for key, value in node.items) + "}"
    if isinstance(node, Projection):
        mapped = f"{render(node.source)}.{render(node.row)}"
        if not any(isinstance(value, NumberOrNull) for _, value in node.row.items):
            return mapped
        comment = "/* numbers stay numbers, numeric text becomes a number, anything else null */"
        return f"(\n  {comment}\n  {NUMBER_OR_NULL};\n  {mapped}\n)"
    raise TypeError(f"not an expression node: {node!r}")
