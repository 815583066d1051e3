"""Combining results: a calculated metric's inputs into one value, and a result into one series.

A ratio such as delivery rate = delivered / sent is the ratio of the *sums* per interval (and of
the totals for the whole range), never a sum or an average of ratios.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..model.calculated import ADDITIVE, CalculatedMetric
from .frames import Summary, aggregate, summarize


def combine_data(metric: CalculatedMetric, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per interval and dimension: the ratio of the inputs' sums, or their difference or sum."""
    keys = ["date", "dimension"]
    wide = None
    for i, frame in enumerate(frames):
        part = frame.assign(dimension=frame["dimension"].astype(object)).set_index(keys)["value"].rename(i)
        wide = part.to_frame() if wide is None else wide.join(part, how="outer")
    assert wide is not None
    additive = [m.aggregation in ADDITIVE for m in metric.inputs]
    for i, is_additive in enumerate(additive):
        if is_additive:  # a missing interval of a sum or count is a zero, not an unknown
            wide[i] = wide[i].fillna(0.0)
    if metric.op == "ratio":
        denominator = wide[1].where(wide[1] != 0)
        value = wide[0] / denominator
    elif metric.op == "difference":
        value = wide[0] - wide[1]
    else:
        value = wide.sum(axis=1, min_count=len(frames))
    out = (value * metric.scale).rename("value").reset_index()
    out["dimension"] = out["dimension"].astype("category")
    return out[["date", "dimension", "value"]].sort_values(keys, kind="stable").reset_index(drop=True)


def combine_totals(metric: CalculatedMetric, totals: list[float | None]) -> float | None:
    """The metric over the whole range, from the inputs' totals (a ratio of sums)."""
    if metric.op == "ratio":
        numerator, denominator = totals
        if denominator in (None, 0):
            return None
        return (numerator or 0.0) / denominator * metric.scale
    values = [
        t if t is not None else (0.0 if m.aggregation in ADDITIVE else None)
        for m, t in zip(metric.inputs, totals, strict=True)
    ]
    if any(v is None for v in values):
        return None
    result = values[0] - values[1] if metric.op == "difference" else sum(values)  # type: ignore[operator]
    return result * metric.scale


def summary_of(metric: CalculatedMetric, current: list[float | None], previous: list[float | None] | None) -> Summary:
    now = combine_totals(metric, current)
    before = combine_totals(metric, previous) if previous is not None else None
    return summarize(now, before, metric.favourable_trend, metric.value_unit)


def interval_series(result: Any, dimension: str | None = None) -> pd.Series:
    """One value per interval of a metric result (indexed by interval start): one dimension's, or
    all of them together.

    All dimensions together are re-aggregated from the per-record ``rows`` (so an average stays
    an average of records, not of dimensions). A calculated metric's rows are its inputs' values
    per interval: each input is summed over the dimensions, then the inputs are combined again
    (a ratio of the totals, not a sum of ratios).
    """
    data = result.data
    if dimension is not None:
        picked = data[data["dimension"].astype(object) == dimension]
        return picked.set_index("date")["value"].sort_index()
    rows = result.rows
    if "input" not in rows.columns:
        blank = rows.assign(dimension=pd.Series([None] * len(rows), dtype="category", index=rows.index))
        merged = aggregate(blank, result.spec.aggregation, result.interval, result.date_range, result.fetched_at)
        return merged.set_index("date")["value"].sort_index()
    parts = [
        rows[rows["input"] == m.name].groupby("date")["value"].sum().reset_index().assign(dimension=None)
        for m in result.spec.inputs
    ]
    return combine_data(result.spec, parts).set_index("date")["value"].sort_index()
