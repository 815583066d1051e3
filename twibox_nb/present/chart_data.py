"""The frames a metric chart draws, in pure pandas (no Altair here, so the rules are easy to test).

* **Top N plus "other".** Dimensions are ranked by their value over the whole range (as
  :func:`~twibox_nb.aggregate.frames.total` computes it, by magnitude: spend is negative), the first
  ``top`` keep their name and the rest are folded into one ``"other"`` series, aggregated the way
  the metric is:

  - ``sum``, ``count``: the sum of the members;
  - ``latest``: the sum of the members' latest values (as ``total`` combines dimensions);
  - ``average``, ``min``, ``max``: recomputed from the members' *records* (the average of all their
    records, never an average of averages);
  - calculated metrics (ratio, difference, sum): each input is folded by sum, then combined (a
    ratio of the sums of "other", never a sum of ratios). A calculated metric with an input that
    cannot be summed has no exact "other": the smaller dimensions are left out, and said so.

  Folding one dimension alone into "other" hides its name and saves no colour, so a metric with
  ``top + 1`` dimensions shows them all.
* **Intervals.** Every interval of the range with its natural end; an interval is ``in progress``
  when the clock (``fetched_at``) is inside it and the range has not ended, ``partial`` when the
  range cuts it (a week that starts before ``last_30_days`` does), ``future`` when it starts after
  the clock (a running ``this_month``: its zero-filled days are not data and are not drawn).
* **Comparison.** The previous period's intervals are moved onto the current period's by position
  (the first day of October onto the first day of November), so calendar months, weeks and a
  year back all line up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ..aggregate.frames import aggregate, bucket, total
from ..model.dates import DateRange

if TYPE_CHECKING:
    from ..pipeline.result import Fetched, MetricResult

OTHER = "other"
NO_DIMENSION = "(none)"  # records without a dimension value, in a metric that has one
SUMMABLE = ("sum", "count", "latest")  # per interval, a group of dimensions is the sum of its members
RECOMPUTED = ("average", "min", "max")  # a group is computed again from its members' records
Status = Literal["complete", "in progress", "partial", "future"]

_FREQ = {"hour": "h", "day": "D", "week": "7D", "month": "MS", "quarter": "QS", "year": "YS"}
_STEP: dict[str, Any] = {
    "hour": pd.Timedelta(hours=1),
    "day": pd.Timedelta(days=1),
    "week": pd.Timedelta(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}


def period_label(start: pd.Timestamp, interval: str) -> str:
    """How an interval is named in tooltips and notes.

    >>> monday = pd.Timestamp("2026-11-23", tz="UTC")
    >>> period_label(monday, "week"), period_label(monday, "month"), period_label(monday, "quarter")
    ('week of 2026-11-23', '2026-11', '2026 Q4')
    """
    if interval == "hour":
        return f"{start:%Y-%m-%d %H:00} UTC"
    if interval == "day":
        return f"{start:%Y-%m-%d}"
    if interval == "week":
        return f"week of {start:%Y-%m-%d}"
    if interval == "month":
        return f"{start:%Y-%m}"
    if interval == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


def interval_table(date_range: DateRange, interval: str, clock: datetime) -> pd.DataFrame:
    """Every interval that overlaps the range: ``start``, ``end`` (natural end) and ``status``.

    >>> from datetime import timezone
    >>> from twibox_nb.model.dates import resolve_range
    >>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
    >>> table = interval_table(resolve_range("this_month", now), "day", now)
    >>> table["status"].value_counts().to_dict()
    {'complete': 26, 'future': 3, 'in progress': 1}
    """
    start, end, now = pd.Timestamp(date_range.start), pd.Timestamp(date_range.end), pd.Timestamp(clock)
    first = bucket(pd.Series([start]), interval).iloc[0]
    starts = pd.date_range(first, end - pd.Timedelta(microseconds=1), freq=_FREQ[interval], tz="UTC")
    if len(starts) == 0 or starts[0] != first:
        starts = starts.insert(0, first)
    table = pd.DataFrame({"start": starts, "end": starts + _STEP[interval]})
    running = (table["start"] <= now) & (now < table["end"]) & (now <= end)
    cut = (table["start"] < start) | (table["end"] > end)
    table["status"] = "complete"
    table.loc[cut, "status"] = "partial"
    table.loc[running, "status"] = "in progress"
    table.loc[table["start"] > now, "status"] = "future"
    return table


@dataclass(frozen=True)
class ChartData:
    """What :func:`~twibox_nb.present.charts.metric_chart` draws (dates are UTC timestamps).

    * ``main``: one row per interval and series: date (interval start), end, mid (where a line
      puts its point), dimension (label, or None without a dimension), value, period (the
      interval's name), status, rank (legend order);
    * ``labels``: the series in legend order ("other" last), None for a metric without a dimension;
    * ``previous``: the comparison period on the current dates (same columns, ``period`` naming
      its own interval), or None;
    * ``intervals``: see :func:`interval_table`; ``domain``: the x extent (None for a snapshot);
    * ``other``: the label of the "other" series (None when nothing was folded); ``folded`` /
      ``dropped``: how many dimensions went into it or were left out; ``dimensions``: how many
      there were.
    """

    main: pd.DataFrame
    labels: list[str] | None
    previous: pd.DataFrame | None
    intervals: pd.DataFrame
    domain: tuple[pd.Timestamp, pd.Timestamp] | None
    other: str | None = None
    folded: int = 0
    dropped: int = 0
    dimensions: int = 0


# --- folding dimensions ------------------------------------------------------------------------


def _dimension_labels(values: pd.Series) -> pd.Series:
    return values.astype(object).map(lambda v: NO_DIMENSION if v is None or pd.isna(v) else str(v))


def _fold_rule(result: MetricResult) -> str:
    """``sum``, ``records``, ``calculated`` or ``drop`` (see the module docstring)."""
    spec = result.spec
    inputs = getattr(spec, "inputs", None)
    if inputs is not None:
        return "calculated" if all(m.aggregation in SUMMABLE for m in inputs) else "drop"
    if spec.aggregation in SUMMABLE:
        return "sum"
    return "records" if {"date", "value", "dimension"} <= set(result.rows.columns) else "drop"


def _is_dynamic(result: MetricResult) -> bool:
    from ..model.spec import Dynamic

    return isinstance(getattr(result.spec, "date", None), Dynamic)


def _summed(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    labelled = frame.assign(dimension=_dimension_labels(frame["dimension"]).map(mapping))
    labelled = labelled[labelled["dimension"].notna()]
    return labelled.groupby(["date", "dimension"], sort=True)["value"].sum(min_count=1).reset_index()


def _fold(result: MetricResult, fetched: Fetched, mapping: dict[str, str], rule: str) -> pd.DataFrame:
    """``fetched``'s data with dimensions renamed by ``mapping`` (absent → left out) and merged."""
    if rule in ("sum", "drop"):
        return _summed(fetched.data, mapping)
    if rule == "records":
        rows = fetched.rows.assign(dimension=_dimension_labels(fetched.rows["dimension"]).map(mapping))
        rows = rows[rows["dimension"].notna()].assign(dimension=lambda f: f["dimension"].astype("category"))
        dynamic = _is_dynamic(result)
        data = aggregate(
            rows, result.spec.aggregation, result.interval, None if dynamic else fetched.date_range, result.fetched_at
        )
        return data.assign(dimension=data["dimension"].astype(object))
    # calculated: fold each input by sum, then combine (a ratio of the folded sums)
    from ..aggregate.combine import combine_data

    spec: Any = result.spec
    parts = []
    for metric in spec.inputs:
        mine = fetched.rows[fetched.rows["input"] == metric.name]
        parts.append(_summed(mine, mapping))
    combined = combine_data(spec, parts)
    return combined.assign(dimension=combined["dimension"].astype(object))


def _ranking(result: MetricResult, rule: str) -> pd.Series:
    """Each dimension's value over the whole range, largest magnitude first (ties by name)."""
    records = {"date", "value", "dimension"} <= set(result.rows.columns) and "input" not in result.rows.columns
    if rule in ("records", "sum") and records:
        rows = result.rows.assign(dimension=_dimension_labels(result.rows["dimension"]))
        values = {name: total(group, result.spec.aggregation) for name, group in rows.groupby("dimension")}
    elif rule == "calculated":
        from ..aggregate.combine import combine_totals

        spec: Any = result.spec
        rows = result.rows.assign(dimension=_dimension_labels(result.rows["dimension"]))
        values = {}
        for name, group in rows.groupby("dimension"):
            sums = [group.loc[group["input"] == m.name, "value"].sum() for m in spec.inputs]
            values[name] = combine_totals(spec, [float(s) for s in sums])
    else:  # no records to rank by: the sum of the interval values
        data = result.data.assign(dimension=_dimension_labels(result.data["dimension"]))
        values = data.groupby("dimension")["value"].sum().to_dict()
    ranked = pd.Series(values, dtype="float64")
    order = sorted(ranked.index, key=lambda n: (pd.isna(ranked[n]), -abs(ranked[n]) if pd.notna(ranked[n]) else 0, n))
    return ranked[order]


# --- putting it together -----------------------------------------------------------------------


def _stamp(frame: pd.DataFrame, intervals: pd.DataFrame, interval: str) -> pd.DataFrame:
    ends = dict(zip(intervals["start"], intervals["end"], strict=True))
    status = dict(zip(intervals["start"], intervals["status"], strict=True))
    out = frame.copy()
    out["end"] = out["date"].map(lambda d: ends.get(d, d + _STEP[interval]))
    out["mid"] = out["date"] + (out["end"] - out["date"]) / 2
    out["status"] = out["date"].map(lambda d: status.get(d, "complete"))
    out["period"] = out["date"].map(lambda d: period_label(d, interval))
    return out


@dataclass(frozen=True)
class _Series:
    """Which dimensions keep their name, and where the others go."""

    labels: list[str]
    mapping: dict[str, str]  # dimension → label; a dimension missing here is left out
    other: str
    folded: int
    dropped: int
    dimensions: int


def _series(result: MetricResult, rule: str, top: int) -> _Series:
    names = [str(n) for n in _ranking(result, rule).index]
    keep = names if len(names) <= top + 1 else names[:top]
    rest = names[len(keep) :]
    other = OTHER if OTHER not in names else f"{OTHER} ({len(rest)} more)"  # never merge with a real "other"
    mapping = {n: n for n in keep}
    if rest and rule != "drop":
        mapping.update(dict.fromkeys(rest, other))
        return _Series([*keep, other], mapping, other, len(rest), 0, len(names))
    return _Series(keep, mapping, other, 0, len(rest), len(names))


def chart_data(result: MetricResult, *, top: int = 8) -> ChartData:
    """The frames for one metric result (see the module docstring for the rules).

    >>> import twibox_nb as tb
    >>> spec = tb.MetricSpec("Messages by status", tb.RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json",
    ...     params={"PageSize": "1000"}), dimension=tb.Field("status"), date=tb.Field("date_sent"))
    >>> result = tb.fetch_metric(spec, tb.connect(sandbox=True), "last_7_days")
    >>> data = chart_data(result, top=2)
    >>> data.labels[-1], data.folded == data.dimensions - 2
    ('other', True)
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top={top!r}: the number of dimensions to name, at least 1")
    dynamic = _is_dynamic(result)
    dimensional = bool(result.data["dimension"].notna().any()) or bool(result.rows["dimension"].notna().any())
    rule = _fold_rule(result)
    series = _series(result, rule, top) if dimensional else None
    if series is not None:
        main = _fold(result, result.current, series.mapping, rule)
    else:
        main = result.data.assign(dimension=None)[["date", "dimension", "value"]]
    if dynamic:  # a snapshot stamped with the time of fetching: no range to lay out
        dates = pd.Series(sorted(main["date"].unique()), dtype="datetime64[ns, UTC]")
        intervals = pd.DataFrame({"start": dates, "end": dates + _STEP[result.interval], "status": "complete"})
        domain = None
    else:
        intervals = interval_table(result.date_range, result.interval, result.fetched_at)
        domain = (intervals["start"].iloc[0], intervals["end"].iloc[-1])
        # a running range's future intervals hold the zeros gap-filling put there, not data
        main = main[main["date"].isin(intervals.loc[intervals["status"] != "future", "start"])]
    labels = list(series.labels) if series is not None else None
    main = _stamp(main.reset_index(drop=True), intervals, result.interval)
    main["rank"] = main["dimension"].map({n: i for i, n in enumerate(labels or [])}).fillna(0).astype(int)
    previous = None
    if result.previous is not None and not dynamic:
        previous = _previous(result, result.previous, series, rule, intervals)
        if labels is not None:  # the comparison period can hold dimensions the current one lacks
            labels += [n for n in previous["dimension"].dropna().unique() if n not in labels]
    return ChartData(
        main=main.sort_values(["date", "rank"], kind="stable").reset_index(drop=True),
        labels=labels,
        previous=previous,
        intervals=intervals,
        domain=domain,
        other=series.other if series and (series.folded or series.other in (labels or [])) else None,
        folded=series.folded if series else 0,
        dropped=series.dropped if series else 0,
        dimensions=series.dimensions if series else 0,
    )


def _previous(
    result: MetricResult, previous: Fetched, series: _Series | None, rule: str, current: pd.DataFrame
) -> pd.DataFrame:
    """The comparison period folded like the current one and moved onto its intervals by position."""
    if series is not None:
        mapping = series.mapping
        if rule != "drop":  # dimensions the current period did not have go into "other" too
            names = _dimension_labels(previous.data["dimension"]).unique().tolist()
            mapping = {**{n: series.other for n in names if n not in mapping}, **mapping}
        data = _fold(result, previous, mapping, rule)
    else:
        data = previous.data.assign(dimension=None)[["date", "dimension", "value"]]
    own = interval_table(previous.date_range, result.interval, result.fetched_at)
    onto = dict(zip(own["start"], current["start"], strict=False))  # position i → position i
    moved = data[data["date"].isin(onto)].copy()
    moved["period"] = moved["date"].map(lambda d: period_label(d, result.interval))
    moved["date"] = moved["date"].map(onto)
    moved["status"] = "complete"
    # An interval the range cuts, or the clock is inside, is compared with the same part of the
    # previous period (the first 4 days of a week with its first 4 days), and one that has not
    # started with nothing: a whole interval against a part of one reads as a fall that is not there.
    status = dict(zip(current["start"], current["status"], strict=True))
    moved = moved[moved["date"].map(status) != "future"]
    parts = _matching_parts(result, previous, series, mapping if series is not None else {}, current)
    if parts is not None:
        moved = pd.concat([moved[~moved["date"].isin(parts["date"].unique())], parts], ignore_index=True)
    ends = dict(zip(current["start"], current["end"], strict=True))
    moved["end"] = moved["date"].map(ends)
    moved["mid"] = moved["date"] + (moved["end"] - moved["date"]) / 2
    return moved.sort_values(["date"], kind="stable").reset_index(drop=True)


def _matching_parts(
    result: MetricResult, previous: Fetched, series: _Series | None, mapping: dict[str, str], current: pd.DataFrame
) -> pd.DataFrame | None:
    """The previous period's value over the same part of each cut or running interval, from its records.

    None when there are no records to cut (a calculated metric holds values per interval only).
    """
    rows = previous.rows
    if "input" in rows.columns or not {"date", "value", "dimension"} <= set(rows.columns):
        return None
    cut = current[current["status"].isin(["partial", "in progress"])]
    if cut.empty:
        return None
    start, end = pd.Timestamp(result.date_range.start), pd.Timestamp(result.date_range.end)
    now = pd.Timestamp(result.fetched_at)
    shift = start - pd.Timestamp(previous.date_range.start)
    labels = _dimension_labels(rows["dimension"])
    out = []
    for begin, finish in zip(cut["start"], cut["end"], strict=True):
        low, high = max(begin, start) - shift, min(finish, end, now) - shift
        window = rows[(rows["date"] >= low) & (rows["date"] < high)]
        if series is None:
            groups = [(None, window)]
        else:
            named = labels[window.index].map(mapping)
            groups = [(name, window[named == name]) for name in named.dropna().unique()]
        for name, group in groups:
            value = total(group, result.spec.aggregation)
            if value is None and result.spec.aggregation in ("sum", "count"):
                value = 0.0
            period = f"{low:%Y-%m-%d %H:%M} to {high:%Y-%m-%d %H:%M} UTC (the same part)"
            out.append({"date": begin, "dimension": name, "value": value, "period": period, "status": "partial"})
    return pd.DataFrame(out, columns=["date", "dimension", "value", "period", "status"]) if out else None
