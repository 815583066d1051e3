"""Generated expressions: the row projection built from what a metric selects from each record.

A :class:`Selection` names the value, dimension and date fields; :func:`generate` builds the
projection's AST (``twibox_nb.evaluate.jsonata_ast``), its JSONata text and its compiled Python
twin (``twibox_nb.evaluate.compiled``) from it.

>>> g = generate("messages", Selection(value="price", dimension="status", date="date_sent"))
>>> g.evaluate({"messages": [{"price": "-0.00750", "status": "sent", "date_sent": "Fri, 24 May 2019"}]})
[{'date': 'Fri, 24 May 2019', 'value': -0.0075, 'dimension': 'sent'}]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import ExpressionError
from .compiled import compile_python
from .jsonata_ast import Constant, Context, FieldRef, Node, NumberOrNull, ObjectOf, Projection, render
from .rows import Row

__all__ = [
    "GeneratedExpression",
    "Selection",
    "generate",
    "projection",
]

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
