"""Calculated metrics: ratios, differences and sums of other metrics, aggregated correctly.

A ratio such as delivery rate = delivered / sent is the ratio of the *sums* per interval (and of
the totals for the whole range), never a sum or an average of per-record or per-day ratios, so its
inputs must be additive (``sum`` or ``count``). Differences and sums combine each input's own
aggregated value per interval. When the inputs share a dimension the result keeps it; inputs
split by different dimensions cannot be combined.

File format (the ``"twibox_metric": 1`` contract, with a ``calculated`` key instead of
``request``; an input is a whole metric object or ``{"library": NAME}``)::

    {"twibox_metric": 1, "name": "Delivery rate", "description": "…",
     "calculated": {"op": "ratio", "scale": 100,
                    "inputs": [{"library": "Messages delivered"}, {"library": "Messages sent"}]},
     "unit": "percent", "favourable_trend": "up", "date_range": "last_30_days", "interval": "day"}

Without ``unit``, a ratio scaled by 100 is a percentage, and a sum or a difference of inputs that
share a unit has that unit (see :attr:`CalculatedMetric.value_unit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Literal

from .._exceptions import DateRangeError, SpecError
from .dates import INTERVALS, resolve_range, shown
from .spec import SCHEMA_VERSION, MetricFile, MetricSpec, parse_json
from .units import check_unit

Op = Literal["ratio", "difference", "sum"]
OPS: tuple[str, ...] = ("ratio", "difference", "sum")
ADDITIVE = ("sum", "count")
_KNOWN = ("twibox_metric", "name", "description", "calculated", "unit", "favourable_trend", "date_range", "interval")


@dataclass(frozen=True)
class CalculatedMetric(MetricFile):
    """A metric computed from others. Usable wherever a metric is (``fetch_metric``, save/load).

    >>> from twibox_nb.model.spec import Field, RequestSpec
    >>> sent = MetricSpec("Sent", RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json"),
    ...                   date=Field("date_sent"))
    >>> delivered = sent.replace(name="Delivered", expression='messages[status="delivered"].'
    ...                          '{"date": date_sent, "value": 1}')
    >>> rate = CalculatedMetric("Delivery rate", "ratio", (delivered, sent), scale=100)
    >>> CalculatedMetric.from_json(rate.to_json()) == rate
    True
    """

    name: str
    op: Op
    inputs: tuple[MetricSpec, ...]
    description: str = ""
    favourable_trend: Literal["up", "down"] = "up"
    date_range: str = "last_30_days"
    interval: str = "day"
    scale: float = 1.0
    refs: tuple[str | None, ...] = ()  # library names the inputs were loaded from (kept on save)
    extra: tuple[tuple[str, Any], ...] = ()
    unit: str | None = None  # None: see value_unit

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "unit", check_unit("unit", self.unit))
        if not self.refs:
            object.__setattr__(self, "refs", (None,) * len(self.inputs))
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("name", "a metric needs a name")
        if self.op not in OPS:
            raise SpecError("calculated.op", f"{shown(self.op)}: use one of {', '.join(OPS)}")
        if not all(isinstance(m, MetricSpec) for m in self.inputs):
            raise SpecError("calculated.inputs", "every input is a metric (MetricSpec)")
        wanted = {"ratio": "exactly 2 (numerator, denominator)", "difference": "exactly 2", "sum": "at least 2"}
        if (self.op == "sum" and len(self.inputs) < 2) or (self.op != "sum" and len(self.inputs) != 2):
            raise SpecError("calculated.inputs", f"a {self.op} takes {wanted[self.op]} inputs, got {len(self.inputs)}")
        if self.op == "ratio":
            for which, metric in zip(("numerator", "denominator"), self.inputs, strict=True):
                if metric.aggregation not in ADDITIVE:
                    raise SpecError(
                        f"calculated.inputs.{which}",
                        f"{metric.name!r} aggregates by {metric.aggregation}; a ratio needs sums or counts "
                        "(a ratio is the ratio of the sums, never an average of ratios)",
                    )
        dimensions = {m.dimension.path if m.dimension else None for m in self.inputs}
        if len(dimensions) > 1:
            raise SpecError(
                "calculated.inputs", f"the inputs are split by different dimensions: {sorted(map(str, dimensions))}"
            )
        if self.favourable_trend not in ("up", "down"):
            raise SpecError("favourable_trend", f"{shown(self.favourable_trend)}: use 'up' or 'down'")
        if self.interval not in INTERVALS:
            raise SpecError("interval", f"{shown(self.interval)}: use one of {', '.join(INTERVALS)}")
        if (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, (int, float))
            or self.scale == 0
            or not math.isfinite(self.scale)
        ):
            raise SpecError("calculated.scale", f"{shown(self.scale)}: a finite non-zero number (100 for a percentage)")
        try:
            resolve_range(self.date_range, datetime(2026, 1, 1, tzinfo=timezone.utc))
        except DateRangeError as exc:
            raise SpecError("date_range", str(exc)) from None

    @property
    def aggregation(self) -> str:
        """How the metric combines: ``ratio``, or ``sum`` for sums and differences of additive inputs."""
        return "ratio" if self.op == "ratio" else "sum"

    @property
    def dimension(self):
        return self.inputs[0].dimension

    @property
    def value_unit(self) -> str | None:
        """The unit the value is in: the file's ``unit``, else ``percent`` for a ratio scaled by 100,
        else the inputs' shared unit for a sum or a difference (None when they differ)."""
        if self.unit is not None:
            return self.unit
        if self.op == "ratio":
            return "percent" if self.scale == 100 else None
        units = {m.unit for m in self.inputs}
        return units.pop() if len(units) == 1 and self.scale == 1 else None

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        inputs = [{"library": ref} if ref else m.to_dict() for m, ref in zip(self.inputs, self.refs, strict=True)]
        return self._file({"calculated": {"op": self.op, "scale": self.scale, "inputs": inputs}})

    @classmethod
    def from_dict(cls, data: Any, resolve: Callable[[str], MetricSpec] | None = None) -> CalculatedMetric:
        """Read the file format; ``resolve`` turns ``{"library": NAME}`` inputs into metrics."""
        if not isinstance(data, dict) or data.get("twibox_metric") != SCHEMA_VERSION:
            raise SpecError("twibox_metric", f"this twibox_nb reads metric files of version {SCHEMA_VERSION}")
        calc = data.get("calculated")
        if not isinstance(calc, dict) or not isinstance(calc.get("inputs"), list):
            raise SpecError("calculated", 'expected {"op": ..., "inputs": [...]}')
        inputs, refs = [], []
        for i, item in enumerate(calc["inputs"]):
            if isinstance(item, dict) and set(item) == {"library"}:
                if not isinstance(item["library"], str):
                    raise SpecError(f"calculated.inputs[{i}].library", "a library metric's name, as text")
                if resolve is None:
                    raise SpecError(
                        f"calculated.inputs[{i}]",
                        f"names the library metric {shown(item['library'])}: read this file with tb.load_metric, "
                        "which looks library metrics up",
                    )
                inputs.append(resolve(item["library"]))
                refs.append(item["library"])
            elif isinstance(item, dict):
                try:
                    inputs.append(MetricSpec.from_dict(item))
                except SpecError as exc:
                    raise SpecError(f"calculated.inputs[{i}].{exc.field}", exc.detail) from None
                refs.append(None)
            else:
                raise SpecError(f"calculated.inputs[{i}]", 'a metric object or {"library": NAME}')
        return cls(
            name=data.get("name", ""),
            op=calc.get("op", ""),
            inputs=tuple(inputs),
            description=data.get("description") or "",
            favourable_trend=data.get("favourable_trend", "up"),
            date_range=data.get("date_range", "last_30_days"),
            interval=data.get("interval", "day"),
            scale=calc.get("scale", 1.0),
            refs=tuple(refs),
            extra=tuple((k, v) for k, v in data.items() if k not in _KNOWN),
            unit=data.get("unit"),
        )

    @classmethod
    def from_json(cls, text: str, resolve: Callable[[str], MetricSpec] | None = None) -> CalculatedMetric:
        return cls.from_dict(parse_json(text), resolve)

    def replace(self, **changes: Any) -> CalculatedMetric:
        return replace(self, **changes)
