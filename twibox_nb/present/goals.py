"""Goals: reach a value, or stay above / below one, over a timeframe.

* ``reach``: the metric's value over the timeframe (its own aggregation: sums and counts add up)
  should get to the target. For a metric whose favourable trend is up, progress is
  ``value / target``; for a down-is-good metric the goal is to get *down* to the target, and
  progress is reversed: ``target / value`` (1 once the value is at or below the target).
  ``on_track`` compares with a straight-line pace: by halfway through the timeframe, half the
  target for a sum or count (the whole target for other aggregations).
* ``stay_above`` / ``stay_below``: every interval's value should stay on the right side of the
  target; progress is the share of intervals so far that did, and ``missed`` lists the others.

Timeframes: ``month``, ``quarter``, ``year`` (the current one, by the clock) or any date range
name (``2026-01-01..2026-03-31``, ``this_month`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import pandas as pd

from .._exceptions import SpecError
from ..aggregate.combine import interval_series
from ..aggregate.frames import total
from ..model.dates import DateRange, resolve_range
from ..model.units import format_value

GoalKind = Literal["reach", "stay_above", "stay_below"]
TIMEFRAMES = {"month": "this_month", "quarter": "this_quarter", "year": "this_year"}


@dataclass(frozen=True)
class Goal:
    """A target for a metric over a timeframe.

    >>> Goal("reach", 10_000, "month")
    Goal(kind='reach', target=10000, timeframe='month')
    """

    kind: GoalKind
    target: float
    timeframe: str = "month"

    def __post_init__(self) -> None:
        if self.kind not in ("reach", "stay_above", "stay_below"):
            raise SpecError("goal.kind", f"{self.kind!r}: use 'reach', 'stay_above' or 'stay_below'")
        if isinstance(self.target, bool) or not isinstance(self.target, (int, float)):
            raise SpecError("goal.target", f"{self.target!r}: a number")
        try:
            self.date_range(datetime(2026, 6, 15, tzinfo=timezone.utc))
        except Exception as exc:  # a DateRangeError: say it about the goal's field
            raise SpecError(
                "goal.timeframe", f"{self.timeframe!r}: month, quarter, year or a date range ({exc})"
            ) from None

    def date_range(self, now: datetime) -> DateRange:
        return resolve_range(TIMEFRAMES.get(self.timeframe, self.timeframe), now)


@dataclass(frozen=True)
class GoalProgress:
    """Where a metric stands against a goal."""

    goal: Goal
    value: float | None  # reach: the value so far; stay_*: the latest interval's value
    progress: float  # 0..1 (can exceed 1 for reach goals beaten)
    met: bool  # reach: the target is reached; stay_*: no interval missed so far
    on_track: bool
    elapsed: float  # share of the timeframe that has passed
    missed: tuple[pd.Timestamp, ...] = ()
    unit: str | None = None  # the metric's (model/units.py): the target reads in it
    intervals: int = 0  # stay_*: the intervals with a value so far
    interval: str = "day"  # stay_*: what one interval is

    @property
    def kept(self) -> int:
        """stay_*: the intervals that kept to the level."""
        return self.intervals - len(self.missed)

    @property
    def target_text(self) -> str:
        """The target as people read it: ``$2.50``; a level per interval says so (``≤ $2.50 per day``)."""
        target = format_value(self.goal.target, self.unit)
        if self.goal.kind == "reach":
            return target
        return f"{'≥' if self.goal.kind == 'stay_above' else '≤'} {target} per {self.interval}"

    @property
    def standing(self) -> str:
        """Like for like: a total against a total (``82% of the goal``), a level per interval by the
        intervals that kept to it (``26 of 30 days kept``)."""
        if self.goal.kind == "reach":
            return "no data" if self.value is None else f"{format_value(self.progress * 100, 'percent')} of the goal"
        plural = self.interval if self.intervals == 1 else f"{self.interval}s"
        return f"{self.kept} of {self.intervals} {plural} kept"

    def __str__(self) -> str:
        verb = {"reach": "reach", "stay_above": "stay above", "stay_below": "stay below"}[self.goal.kind]
        state = "met" if self.met else ("on track" if self.on_track else "behind")
        target = format_value(self.goal.target, self.unit)
        return f"goal: {verb} {target} ({self.goal.timeframe}): {self.standing} — {state}"


def goal_progress(
    goal: Goal, result: Any, *, dimension: str | None = None, now: datetime | None = None
) -> GoalProgress:
    """Progress of a fetched metric (``fetch_metric`` over the goal's timeframe) against ``goal``."""
    now = now or result.fetched_at
    timeframe = goal.date_range(now)
    span = (timeframe.end - timeframe.start).total_seconds()
    elapsed = min(1.0, max(0.0, (now - timeframe.start).total_seconds() / span))
    series = interval_series(result, dimension)
    series = series[(series.index >= pd.Timestamp(timeframe.start)) & (series.index < pd.Timestamp(timeframe.end))]
    down = result.spec.favourable_trend == "down"
    additive = result.spec.aggregation in ("sum", "count")
    unit = getattr(result.spec, "value_unit", None)
    if goal.kind == "reach":
        value = result.summary.current if dimension is None else _dimension_total(result, dimension, timeframe)
        if value is None:
            return GoalProgress(goal, None, 0.0, False, False, elapsed, unit=unit)
        if down:
            progress = 1.0 if value <= goal.target else (goal.target / value if value else 1.0)
            met = value <= goal.target
            on_track = value <= (goal.target * elapsed if additive else goal.target) or met
        else:
            progress = value / goal.target if goal.target else (1.0 if value >= 0 else 0.0)
            met = value >= goal.target
            on_track = met or value >= (goal.target * elapsed if additive else goal.target)
        return GoalProgress(goal, value, progress, met, on_track, elapsed, unit=unit)
    present = series.dropna()
    ok = present >= goal.target if goal.kind == "stay_above" else present <= goal.target
    missed = tuple(present.index[~ok])
    progress = float(ok.mean()) if len(ok) else 0.0
    latest = float(present.iloc[-1]) if len(present) else None
    return GoalProgress(goal, latest, progress, not missed and len(ok) > 0, not missed, elapsed, missed, unit=unit,
                        intervals=len(ok), interval=result.interval)  # fmt: skip


def _dimension_total(result: Any, dimension: str, timeframe: DateRange) -> float | None:
    """One dimension's value over the timeframe, from the per-record rows."""
    rows = result.rows
    if "input" in rows.columns:  # a calculated metric: its per-interval values are all there is
        picked = result.data[result.data["dimension"].astype(object) == dimension]["value"].dropna()
        return float(picked.sum()) if len(picked) else None
    inside = (rows["date"] >= pd.Timestamp(timeframe.start)) & (rows["date"] < pd.Timestamp(timeframe.end))
    picked = rows[inside & (rows["dimension"].astype(object) == dimension)]
    return total(picked, result.spec.aggregation)
