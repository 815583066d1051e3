"""The one Evaluator: page bodies to rows with a metric's expression, for fetches, previews and syncs.

A metric's expression is its customised JSONata when it has one (compiled once, run under the
guard), else the projection generated from its value, dimension and date for each list key the
pages hold (2010 lists name their key: ``messages``, ``calls`` …), built once per key.

>>> from twibox_nb.model.spec import Count, Field, MetricSpec, RequestSpec
>>> spec = MetricSpec("By status", RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json"),
...                   Count(), Field("status"), Field("date_sent"))
>>> evaluator = Evaluator(spec)
>>> body = {"messages": [{"status": "sent", "date_sent": "Fri, 24 May 2019 17:44:50 +0000"}]}
>>> evaluator.rows(body)
[{'date': 'Fri, 24 May 2019 17:44:50 +0000', 'value': 1, 'dimension': 'sent'}]
>>> evaluator.text(body)
'messages.{"date": date_sent, "value": 1, "dimension": status}'
"""

from __future__ import annotations

from typing import Any

from ..model.records import find_records
from ..model.spec import Count, Dynamic, MetricSpec
from .custom import DEFAULT_TIMEOUT, CustomExpression, custom_expression
from .generated import GeneratedExpression, Selection, generate

__all__ = ["Evaluator", "selection_of"]


def selection_of(spec: MetricSpec) -> Selection:
    """What the generated expression reads, from the spec's value, dimension and date."""
    return Selection(
        value=None if isinstance(spec.value, Count) else spec.value.path,
        dimension=spec.dimension.path if spec.dimension is not None else None,
        date=None if isinstance(spec.date, Dynamic) else spec.date.path,
    )


class Evaluator:
    """Turns page bodies into rows with the spec's expression (custom, or generated per list key)."""

    def __init__(self, spec: MetricSpec, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.spec = spec
        self.selection = selection_of(spec)
        dated = not isinstance(spec.date, Dynamic)  # a custom expression's rows then need their dates
        self.custom = custom_expression(spec.expression, timeout=timeout, dated=dated) if spec.expression else None
        self.generated: dict[str | None, GeneratedExpression] = {}

    def expression_for(self, body: Any) -> CustomExpression | GeneratedExpression:
        if self.custom is not None:
            return self.custom
        return self.generated_for(find_records(body)[0])

    def generated_for(self, list_key: str | None) -> GeneratedExpression:
        """The projection for one list key, built once."""
        if list_key not in self.generated:
            self.generated[list_key] = generate(list_key, self.selection)
        return self.generated[list_key]

    def text(self, body: Any) -> str:
        return self.expression_for(body).text

    def rows(self, body: Any) -> list[dict[str, Any]]:
        return self.expression_for(body).evaluate(body)
