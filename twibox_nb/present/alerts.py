"""Alerts: conditions on a metric's value or its change, and when they would have fired.

Conditions:

* ``above`` / ``below``: the value is above / below the threshold;
* ``change_above``: the value changed by more than ``threshold`` % (either way) against the
  previous period — for a whole result, its comparison period; in a backtest, the previous
  interval. A change from 0 counts as infinitely large (it fires), from nothing (no previous
  value) it cannot be judged (it does not fire).

``check`` evaluates an alert on a fetched result (its total for the range, or the latest
interval with ``on="latest_interval"``); ``backtest`` walks the fetched history interval by
interval and says when the alert would have fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from .._exceptions import SpecError
from ..aggregate.combine import interval_series
from ..model.units import format_value

Condition = Literal["above", "below", "change_above"]


@dataclass(frozen=True)
class Alert:
    """An alert on a metric.

    >>> Alert("change_above", 25).describe()
    'changes by more than 25.00% vs the previous period'
    """

    condition: Condition
    threshold: float
    dimension: str | None = None  # watch one dimension (e.g. status "failed"); None: the whole metric
    on: Literal["total", "latest_interval"] = "total"

    def __post_init__(self) -> None:
        if self.condition not in ("above", "below", "change_above"):
            raise SpecError("alert.condition", f"{self.condition!r}: use 'above', 'below' or 'change_above'")
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, (int, float))
            or math.isnan(self.threshold)
        ):
            raise SpecError("alert.threshold", f"{self.threshold!r}: a number")
        if self.condition == "change_above" and self.threshold < 0:
            raise SpecError("alert.threshold", "a change threshold is a positive percentage")
        if self.on not in ("total", "latest_interval"):
            raise SpecError("alert.on", f"{self.on!r}: use 'total' or 'latest_interval'")

    def describe(self, unit: str | None = None) -> str:
        """The condition in words, the threshold in the metric's ``unit`` (a change in %)."""
        level = format_value(self.threshold, unit)
        change = format_value(self.threshold, "percent")
        what = {"above": f"goes above {level}", "below": f"goes below {level}",
                "change_above": f"changes by more than {change} vs the previous period"}  # fmt: skip
        where = f" ({self.dimension})" if self.dimension else ""
        return what[self.condition] + where

    def fires(self, value: float | None, previous: float | None = None) -> bool:
        """Whether the condition holds for a value (and the value it is compared with)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.condition == "above":
            return value > self.threshold
        if self.condition == "below":
            return value < self.threshold
        if previous is None or (isinstance(previous, float) and math.isnan(previous)):
            return False
        if previous == 0:
            return value != 0
        return abs(value - previous) / abs(previous) * 100 > self.threshold


@dataclass(frozen=True)
class AlertCheck:
    alert: Alert
    fired: bool
    value: float | None
    previous: float | None
    unit: str | None = None  # the metric's: the value and the threshold read in it

    def __str__(self) -> str:
        state = "FIRED" if self.fired else "quiet"
        value = "no data" if self.value is None else format_value(self.value, self.unit)
        return f"alert {state}: the metric {self.alert.describe(self.unit)} (value {value})"


def check(alert: Alert, result: Any) -> AlertCheck:
    """Evaluate ``alert`` on a fetched result."""
    if alert.on == "latest_interval" or alert.dimension is not None:
        series = interval_series(result, alert.dimension).dropna()
        value = float(series.iloc[-1]) if len(series) else None
        previous = float(series.iloc[-2]) if len(series) > 1 else None
    else:
        value, previous = result.summary.current, result.summary.previous
    return AlertCheck(alert, alert.fires(value, previous), value, previous, getattr(result.spec, "value_unit", None))


def backtest(alert: Alert, history: Any) -> pd.DataFrame:
    """When the alert would have fired over a result's intervals (or a date-indexed Series).

    Returns one row per interval: ``date``, ``value``, ``previous`` (the interval before) and
    ``fired``.

    >>> s = pd.Series([10.0, 12.0, 30.0, 29.0], index=pd.date_range("2026-11-01", periods=4, tz="UTC"))
    >>> backtest(Alert("change_above", 50), s)["fired"].tolist()
    [False, False, True, False]
    """
    series = history if isinstance(history, pd.Series) else interval_series(history, alert.dimension)
    series = series.sort_index().astype("float64")
    previous = series.shift(1)
    fired = [
        alert.fires(None if pd.isna(v) else float(v), None if pd.isna(p) else float(p))
        for v, p in zip(series, previous, strict=True)
    ]
    return pd.DataFrame({"date": series.index, "value": series.to_numpy(), "previous": previous.to_numpy(),
                         "fired": fired})  # fmt: skip
