"""Altair charts of a metric result: a plain Vega-Lite spec, never displayed by itself.

:func:`metric_chart` (also ``result.chart()``) layers, bottom to top:

* shaded rects over intervals that are **in progress** (the clock is inside them: today, this
  month) or **partial** (the range cuts them: a week that starts before ``last_30_days``); their
  bars are drawn lighter, and the subtitle says which;
* the metric — **bars** for week, month, quarter and year, and for day or hour when there are at
  most 14 intervals; **lines** otherwise (``kind=`` overrides). Bars are stacked only when the
  metric adds up across dimensions (``sum``, ``count``, ``latest``, sums of those); an average or a
  ratio per dimension does not, so such a metric is drawn as lines by default and as overlapping
  bars if asked. A bar spans its interval; a line puts each point in the middle of its interval;
* the comparison period on the current period's dates, dashed and grey (or in its dimension's
  colour for lines), named "previous period" / "same period last year" in the legend; over
  stacked bars it is the total per interval;
* the change badge, green when the change goes the metric's favourable way, red when not, grey
  when there is none;
* the goal line and its label.

Dimensions: the top ``top`` by their value over the range keep their colour, the rest are one
"other" series, aggregated as :mod:`twibox_nb.present.chart_data` explains. Times are UTC (the x scale is
a ``utc`` scale and the data carry ``Z`` timestamps). The subtitle says what the chart cannot:
the range, truncation ("incomplete: page cap reached"), sandbox data.

Export without a browser and offline rendering live in :mod:`twibox_nb.present.chart_export` and are
re-exported here (``save_chart``, ``to_png``, ``to_svg``, ``to_html``, ``enable_offline_rendering``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import altair as alt
import pandas as pd

from ..model.dates import range_text
from ..model.units import currency_affixes, format_value, is_currency_unit, unit_title
from .chart_data import SUMMABLE, ChartData, chart_data, period_label
from .chart_export import enable_offline_rendering, save_chart, to_html, to_png, to_svg
from .colours import OTHER_COLOUR, ColourBook
from .goals import Goal, goal_progress
from .time_axis import TimeAxis, time_axis

if TYPE_CHECKING:
    from ..pipeline.result import MetricResult

__all__ = ["enable_offline_rendering", "metric_chart", "save_chart", "to_html", "to_png", "to_svg"]

Kind = Literal["line", "bar"]
FAVOURABLE, UNFAVOURABLE, NEUTRAL = "#1a7f37", "#cf222e", "#6e7781"
SINGLE_COLOUR = "#4c78a8"
PREVIOUS_COLOUR = "#555555"
SHADE_COLOUR = "#9e9e9e"
GOAL_COLOUR, GOAL_DASH = "#333333", [8, 3, 2, 3]  # dash-dotted: never taken for the previous period's dashes
FEW_INTERVALS = 14  # up to two weeks of days still read well as bars
NUMBER = ",.6~r"  # 3,176 · 0.0075 · 1,234,570: thousands separated, no float noise
_STOP_WHY = {
    "page_cap": "page cap reached",
    "cycle": "a next-page link looped back",
    "error": "an error stopped the fetch",
}


def metric_chart(
    result: MetricResult,
    *,
    kind: Kind | None = None,
    top: int = 8,
    goal: float | Goal | None = None,
    title: str | None = None,
    width: int = 640,
    height: int = 260,
    colours: ColourBook | None = None,
) -> alt.Chart | alt.LayerChart:
    """The metric as an Altair chart (a :class:`~altair.LayerChart` when anything is overlaid).

    ``kind`` is ``"line"`` or ``"bar"`` (default: by interval, see the module docstring); ``top``
    how many dimensions keep their own colour; ``goal`` a value to draw as a horizontal rule, or a
    :class:`~twibox_nb.present.goals.Goal`: a ``stay_above``/``stay_below`` level is drawn as that rule, and
    any goal's progress (reversed for down-is-good metrics) is written under the title;
    ``title`` defaults to the metric's name; ``colours`` a :class:`~twibox_nb.present.colours.ColourBook`
    shared by charts that must colour a value alike (a board's); without one a value still keeps its
    colour (statuses have fixed ones, see :mod:`twibox_nb.present.colours`). Nothing is displayed: show
    it by leaving it last in a cell, or export it with :func:`save_chart`.

    >>> import twibox_nb as tb
    >>> spec = tb.MetricSpec("Messages", tb.RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json",
    ...     params={"PageSize": "1000"}), date=tb.Field("date_sent"), date_range="last_7_days")
    >>> result = tb.fetch_metric(spec, tb.connect(sandbox=True), compare="previous_period")
    >>> chart = metric_chart(result, goal=120)
    >>> [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
    ['bar', 'rule', 'text', 'rule']
    """
    if kind not in (None, "line", "bar"):
        raise ValueError(f"kind={kind!r}: use 'line', 'bar' or None (chosen by interval)")
    progress = None
    if isinstance(goal, Goal):
        progress = goal_progress(goal, result)
        # A level to stay above or below belongs on the intervals; a total to reach does not.
        goal = None if goal.kind == "reach" else goal.target
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, (int, float)) or not math.isfinite(goal)):
        raise ValueError(f"goal={goal!r}: a finite number or a Goal")
    data = chart_data(result, top=top)
    stackable, dimensional = _aggregation(result) in SUMMABLE, data.labels is not None
    kind = kind or _default_kind(result.interval, len(data.intervals), dimensional=dimensional, stackable=stackable)
    stacked = kind == "bar" and stackable and dimensional
    x_scale = time_axis(data.intervals, result.interval, width, data.domain)
    layers: list[alt.Chart] = []
    shaded = data.intervals[data.intervals["status"].isin(["in progress", "partial"])]
    if len(shaded):
        layers.append(_shade_layer(shaded, result, x_scale, height))
    colour = _colour(data, colours or ColourBook())
    layers.append(_main_layer(result, data, kind, stacked, x_scale, colour=colour))
    if data.previous is not None and len(data.previous):
        layers.append(_previous_layer(result, data, kind, stacked, x_scale, colour=colour))
    badge = _badge(result)
    if badge is not None:
        layers.append(_badge_layer(*badge, width=width))
    if goal is not None:
        layers.extend(_goal_layers(float(goal), _unit(result)))
    heading = alt.TitleParams(
        text=title if title is not None else result.spec.name,
        subtitle=_subtitle(result, data, shaded) + ([str(progress)] if progress is not None else []),
        anchor="start",
        subtitleColor=NEUTRAL,
        offset=18 if badge is not None else 8,  # room for the badge between the title and the plot
    )
    if len(layers) == 1:
        return layers[0].properties(title=heading, width=width, height=height)
    # the goal and the comparison period each name their line in the legend
    chart = alt.layer(*layers).properties(title=heading, width=width, height=height)
    return chart.resolve_scale(strokeDash="independent")


# --- choices -----------------------------------------------------------------------------------


def _aggregation(result: MetricResult) -> str:
    spec: Any = result.spec
    inputs = getattr(spec, "inputs", None)
    if inputs is not None:  # a calculated metric adds up only if it is a sum or difference of sums
        return "sum" if spec.aggregation == "sum" and all(m.aggregation in SUMMABLE for m in inputs) else "ratio"
    return spec.aggregation


def _default_kind(interval: str, intervals: int, *, dimensional: bool, stackable: bool) -> Kind:
    if dimensional and not stackable:
        return "line"  # averages or ratios per dimension do not stack; overlapping bars hide each other
    if interval in ("hour", "day") and intervals > FEW_INTERVALS:
        return "line"
    return "bar"


def compare_label(result: MetricResult) -> str:
    """How the comparison period is called on the chart."""
    previous = result.previous
    if previous is not None and previous.date_range.name.endswith("a year earlier"):
        return "same period last year"
    return "previous period"


# --- data for the spec -------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as ISO 8601 with ``Z`` (so Vega reads them as UTC), NaN as null."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict(orient="records")


def _unit(result: MetricResult) -> str | None:
    return getattr(result.spec, "value_unit", None)


def _value_title(result: MetricResult) -> str:
    """The value axis's title: the metric's name and its unit, never the raw field (a customised
    expression may have changed what the field holds)."""
    return unit_title(result.spec.name, _unit(result))


def _value_axis(result: MetricResult) -> alt.Axis:
    """Tick labels in the value's unit: ``$20``, ``85%``, ``1,200 segments``; durations say theirs in the title."""
    unit = _unit(result)
    number = f"format(datum.value, '{NUMBER}')"
    if is_currency_unit(unit):
        before, after = (_vega_text(a) for a in currency_affixes(unit))
        return alt.Axis(labelExpr=f"{before} + {number} + {after}")
    if unit == "percent":
        return alt.Axis(labelExpr=f"{number} + '%'")
    return alt.Axis(format=NUMBER)


def _vega_text(text: str) -> str:
    """A Vega expression string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _with_text(frame: pd.DataFrame, result: MetricResult) -> pd.DataFrame:
    """``frame`` with ``value_text``: each value as the scorecard and the summary write it, for tooltips."""
    unit = _unit(result)
    return frame.assign(value_text=[format_value(v, unit) for v in frame["value"].tolist()])


def _dimension_title(result: MetricResult) -> str:
    dimension = getattr(result.spec, "dimension", None)
    return getattr(dimension, "path", None) or "dimension"


def _colour(data: ChartData, book: ColourBook) -> alt.Color:
    """Each dimension value in its own colour, the same whatever the range (and across a board's charts)."""
    labels = data.labels or []
    named = book.colours([n for n in labels if n != data.other])
    colours = iter(named)
    scale = [OTHER_COLOUR if n == data.other else next(colours) for n in labels]
    return alt.Color("dimension:N", scale=alt.Scale(domain=labels, range=scale), sort=labels)


# --- layers ------------------------------------------------------------------------------------


def _x(x_scale: TimeAxis, field: str = "date") -> alt.X:
    return x_scale.x(field)


def _main_layer(
    result: MetricResult, data: ChartData, kind: Kind, stacked: bool, x_scale: TimeAxis, *, colour: alt.Color
) -> alt.Chart:
    tooltip = [alt.Tooltip("period:N", title=result.interval)]
    if data.labels is not None:
        tooltip.append(alt.Tooltip("dimension:N", title=_dimension_title(result)))
    tooltip += [alt.Tooltip("value_text:N", title=_value_title(result)), alt.Tooltip("status:N")]
    encoding: dict[str, Any] = {
        "x": _x(x_scale, "date" if kind == "bar" else "mid"),
        "y": alt.Y("value:Q", title=_value_title(result), stack="zero" if stacked else None, axis=_value_axis(result)),
        "tooltip": tooltip,
    }
    if data.labels is not None:
        encoding["color"] = colour.legend(title=_dimension_title(result))
        encoding["order"] = alt.Order("rank:Q")
    chart = alt.Chart(alt.InlineData(values=_records(_with_text(data.main, result))))
    if kind == "bar":
        encoding["x2"] = alt.X2("end:T")
        solid = 0.6 if data.labels is not None and not stacked else 1.0  # unstacked bars overlap: see through
        # in-progress and cut intervals are drawn lighter: their values are not comparable with the others
        lighter = alt.value(round(solid * 0.45, 2))
        encoding["opacity"] = alt.when(alt.datum.status == "complete").then(alt.value(solid)).otherwise(lighter)
        # orient: with x and x2 both set, Vega-Lite would otherwise draw horizontal range bars
        return chart.mark_bar(orient="vertical", xOffset=1, x2Offset=-1, color=SINGLE_COLOUR).encode(**encoding)
    points = len(data.intervals) <= 100  # markers carry the tooltips; thousands of them are noise
    return chart.mark_line(point=points, color=SINGLE_COLOUR).encode(**encoding)


def _previous_layer(
    result: MetricResult, data: ChartData, kind: Kind, stacked: bool, x_scale: TimeAxis, *, colour: alt.Color
) -> alt.Chart:
    assert data.previous is not None
    label = compare_label(result)
    frame = data.previous
    if stacked:  # over a stack, compare with the stack's height
        frame = frame.groupby(["date", "end", "mid", "period"], sort=True)["value"].sum(min_count=1).reset_index()
        frame["dimension"] = None
    frame = frame.assign(series=label)
    coloured = data.labels is not None and not stacked
    tooltip = [alt.Tooltip("series:N", title="compared with"), alt.Tooltip("period:N", title=result.interval)]
    if coloured:
        tooltip.append(alt.Tooltip("dimension:N", title=_dimension_title(result)))
    tooltip.append(alt.Tooltip("value_text:N", title=_value_title(result)))
    encoding: dict[str, Any] = {
        "x": _x(x_scale, "date" if kind == "bar" else "mid"),
        "y": alt.Y("value:Q"),
        "strokeDash": alt.StrokeDash(
            "series:N", scale=alt.Scale(domain=[label], range=[[5, 3]]), legend=alt.Legend(title=None)
        ),
        "tooltip": tooltip,
    }
    if coloured:
        encoding["color"] = colour.legend(None)
    chart = alt.Chart(alt.InlineData(values=_records(_with_text(frame, result))))
    if kind == "bar":  # a dashed segment across each bar at last period's level
        encoding["x2"] = alt.X2("end:T")
        return chart.mark_rule(strokeWidth=2, color=PREVIOUS_COLOUR, opacity=0.85).encode(**encoding)
    return chart.mark_line(strokeWidth=1.5, color=PREVIOUS_COLOUR, opacity=0.7).encode(**encoding)


def _shade_layer(shaded: pd.DataFrame, result: MetricResult, x_scale: TimeAxis, height: int) -> alt.Chart:
    frame = shaded.assign(
        period=shaded["start"].map(lambda d: period_label(d, result.interval)),
        note=shaded["status"].map({"in progress": "in progress", "partial": "partly outside the range"}),
    )
    return (
        alt.Chart(alt.InlineData(values=_records(frame)))
        .mark_rect(color=SHADE_COLOUR, opacity=0.18, clip=True)
        .encode(
            x=_x(x_scale, "start"),
            x2=alt.X2("end:T"),
            y=alt.value(0),
            y2=alt.value(height),
            tooltip=[alt.Tooltip("period:N", title=result.interval), alt.Tooltip("note:N", title="interval")],
        )
    )


def _badge(result: MetricResult) -> tuple[str, str] | None:
    """The badge's text and colour, or None when nothing was compared."""
    if result.previous is None:
        return None
    summary, label = result.summary, compare_label(result)
    if summary.change is None:
        return f"no {label} data to compare with" if summary.previous is None else "no data now", NEUTRAL
    if summary.change == 0:
        text = f"= no change vs {label}"
    else:
        arrow = "▲" if summary.change > 0 else "▼"
        text = f"{arrow} {summary.change_label} vs {label}"
    if result.truncated:  # a change computed from missing records must not read as a fact
        text += " (incomplete data)"
    colour = NEUTRAL if summary.favourable is None else FAVOURABLE if summary.favourable else UNFAVOURABLE
    return text, colour


def _badge_layer(text: str, colour: str, *, width: int) -> alt.Chart:
    # pinned in pixels to the top right, just above the plot: it never covers a bar
    return (
        alt.Chart(alt.InlineData(values=[{"badge": text}]))
        .mark_text(align="right", baseline="bottom", dy=-4, fontSize=13, fontWeight="bold", color=colour)
        .encode(text="badge:N", x=alt.value(width), y=alt.value(0))
    )


def _goal_layers(goal: float, unit: str | None) -> list[alt.Chart]:
    """The goal as a dash-dotted rule, named in the legend ("goal $2.50"): a label on the plot covered data."""
    text = format_value(goal, unit)
    label = f"goal {text}"
    base = alt.Chart(alt.InlineData(values=[{"goal": goal, "label": label, "goal_text": text}]))
    rule = base.mark_rule(color=GOAL_COLOUR, strokeWidth=1.5).encode(
        y=alt.Y("goal:Q"),
        strokeDash=alt.StrokeDash(
            "label:N", scale=alt.Scale(domain=[label], range=[GOAL_DASH]), legend=alt.Legend(title=None)
        ),
        tooltip=[alt.Tooltip("goal_text:N", title="goal")],
    )
    return [rule]


# --- subtitle ----------------------------------------------------------------------------------


def _subtitle(result: MetricResult, data: ChartData, shaded: pd.DataFrame) -> list[str]:
    date_range = result.date_range
    if data.domain is None:  # a dynamic-date metric: one value per fetch, stamped with its time
        lines = [f"snapshot at {result.fetched_at:%Y-%m-%d %H:%M} UTC"]
    else:
        lines = [f"{date_range.name.replace('_', ' ')}: {range_text(date_range)}, UTC, by {result.interval}"]
    running = shaded[shaded["status"] == "in progress"]
    if len(running):
        lines.append(
            f"shaded: {period_label(running['start'].iloc[0], result.interval)} in progress "
            f"(data to {result.fetched_at:%Y-%m-%d %H:%M} UTC)"
        )
    cut = shaded[shaded["status"] == "partial"]
    if len(cut):
        lines.append(f"shaded: {len(cut)} interval{'s' if len(cut) > 1 else ''} partly outside the range")
    if len(shaded) and data.previous is not None and (data.previous["status"] == "partial").any():
        lines.append(f"shaded intervals are compared with the same part of the {compare_label(result)}")
    if data.folded:
        lines.append(f"top {data.dimensions - data.folded} of {data.dimensions} {_dimension_title(result)} values; "
                     f"{data.folded} more in “{data.other}”")  # fmt: skip
    if data.dropped:
        lines.append(f"top {data.dimensions - data.dropped} of {data.dimensions}; {data.dropped} not shown "
                     "(no exact “other” for this metric)")  # fmt: skip
    for which, fetched in (("", result.current), ("comparison period ", result.previous)):
        if fetched is not None and fetched.report.truncated:
            why = _STOP_WHY.get(fetched.report.stop_reason, fetched.report.stop_reason)
            lines.append(f"{which}incomplete: {why} after {fetched.report.pages} pages; records are missing")
    if result.summary.current is None:
        lines.append("no data in this range")
    if result.is_sandbox:
        lines.append("SANDBOX demo data, not a real Twilio account")
    return lines
