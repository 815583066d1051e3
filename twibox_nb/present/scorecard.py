"""Scorecards: each metric's current value, what it is compared with, the change and a sparkline.

``to_html()`` is self-contained (inline styles and inline SVG sparklines, no scripts, no external
URL), so it can be pasted into an email; in a notebook the scorecard shows as that HTML, and
``.widget()`` gives an ipywidgets view (from ``twibox_nb.widgets``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from .._exceptions import SpecError
from ..aggregate.combine import interval_series
from ..fetch.connection import SANDBOX_LABEL, Connection
from ..model.dates import range_text
from ..model.units import change_label, format_value
from .goals import Goal, goal_progress

ScorecardCompare = Literal["previous_period", "same_period_last_year", "goal"]
COLOURS = {True: "#1a7f37", False: "#cf222e", None: "#6e7781"}  # favourable, unfavourable, neutral


@dataclass(frozen=True)
class ScorecardRow:
    name: str
    current: float | None
    compared_with: float | None
    change: float | None
    change_pct: float | None
    favourable: bool | None
    trend: str
    sparkline: tuple[float, ...]
    note: str = ""  # truncation, goal progress …
    unit: str | None = None  # the value's (model/units.py): formats the numbers; a percentage changes in points
    standing: str = ""  # against a goal: "26 of 30 days kept", "82.00% of the goal" (then there is no change)
    compared_text: str = ""  # how the compared-with cell reads, when not a plain value ("≤ $2.50 per day")
    goal: str = ""  # compared with a period, and a goal too: its column ("≤ $2.50 per day: 26 of 30 days kept")
    goal_met: bool | None = None  # that goal kept (or on track), for its colour

    @property
    def change_label(self) -> str:
        """``+1.4%``; ``+1.2 pt`` for a percentage; the change in the unit when there is no % (from 0);
        against a goal, where the metric stands (like for like: a level per interval by its intervals)."""
        if self.standing:
            return self.standing
        return "–" if self.change is None else change_label(self.change, self.change_pct, self.unit)


def format_number(value: float | None, unit: str | None = None) -> str:
    """``value`` in ``unit`` as the scorecard shows it (:func:`twibox_nb.model.units.format_value`).

    >>> format_number(1234.5), format_number(65.82, "USD"), format_number(None)
    ('1,234.5', '$65.82', '–')
    """
    return format_value(value, unit)


def sparkline_svg(values: Sequence[float], colour: str = "#0969da", width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line of ``values`` (gaps are skipped)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(points) < 2:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = (hi - lo) or 1.0
    last = max(i for i, _ in points) or 1
    coords = " ".join(
        f"{2 + i / last * (width - 4):.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in points
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="trend"><polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/></svg>'
    )


class Scorecard:
    """Fetch several metrics over one range and compare each with a period or a goal.

    ``metrics`` are metric specs, calculated metrics, library names, or already fetched results.
    ``compare`` is ``"previous_period"``, ``"same_period_last_year"`` or ``"goal"`` (then
    ``goals`` maps metric names to :class:`~twibox_nb.present.goals.Goal`).

    >>> import twibox_nb as tb
    >>> from twibox_nb.model.spec import Field, RequestSpec
    >>> spec = tb.MetricSpec("Alerts", RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com",
    ...     params={"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"}),
    ...     date=Field("date_generated"), favourable_trend="down")
    >>> card = Scorecard([spec], tb.connect(sandbox=True), date_range="last_7_days")
    >>> "<script" in card.to_html(), card.rows[0].name
    (False, 'Alerts')
    """

    def __init__(
        self,
        metrics: Sequence[Any],
        conn: Connection | None = None,
        date_range: str | None = None,
        compare: ScorecardCompare = "previous_period",
        *,
        goals: dict[str, Goal] | None = None,
        interval: str | None = None,
        title: str = "Scorecard",
        now: datetime | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> None:
        if compare not in ("previous_period", "same_period_last_year", "goal"):
            raise SpecError("compare", f"{compare!r}: use 'previous_period', 'same_period_last_year' or 'goal'")
        goals = dict(goals or {})
        self.title = title
        self.compare = compare
        options = {"date_range": date_range, "interval": interval, "compare": None if compare == "goal" else compare,
                   "now": now, "progress": progress}  # fmt: skip
        self.results = [self._fetch(m, conn, **options) for m in metrics]
        if compare == "goal":
            missing = [r.spec.name for r in self.results if r.spec.name not in goals]
            if missing:
                raise SpecError("goals", f"compare='goal' needs a goal for every metric; none for {missing}")
        self.goals = goals
        self.rows = [self._row(r) for r in self.results]

    @staticmethod
    def _fetch(metric, conn, *, date_range, interval, compare, now, progress):
        from ..pipeline.metric import fetch_metric
        from ..pipeline.result import MetricResult

        if isinstance(metric, MetricResult):
            return metric
        if isinstance(metric, str):
            from .. import library

            metric = library.get(metric)
        if conn is None:
            raise SpecError("conn", "a connection is needed to fetch metrics (twibox_nb.connect(...))")
        return fetch_metric(metric, conn, date_range, interval, compare, progress, now=now)

    def _row(self, result) -> ScorecardRow:
        spec = result.spec
        series = interval_series(result)
        spark = tuple(float(v) for v in series.tolist())
        note = "incomplete: " + result.current.report.summary() if result.truncated else ""
        if self.compare == "goal":
            # Like for like: a total goal (reach) against the range's total, a level per interval
            # (stay above/below) by the share of intervals that kept to it, never against the total.
            progress = goal_progress(self.goals[spec.name], result)
            good = progress.met or (progress.on_track and progress.goal.kind == "reach")
            return ScorecardRow(
                spec.name, result.summary.current, float(progress.goal.target), None, None, good,
                spec.favourable_trend, spark, note, spec.value_unit, progress.standing, progress.target_text,
            )  # fmt: skip
        s = result.summary
        goal, met = "", None
        if spec.name in self.goals:  # compared with a period, and with its goal in a column of its own
            progress = goal_progress(self.goals[spec.name], result)
            goal, met = f"{progress.target_text}: {progress.standing}", progress.met or progress.on_track
        return ScorecardRow(spec.name, s.current, s.previous, s.change, s.change_pct, s.favourable,
                            spec.favourable_trend, spark, note, spec.value_unit, goal=goal, goal_met=met)  # fmt: skip

    @property
    def is_sandbox(self) -> bool:
        return any(r.is_sandbox for r in self.results)

    def to_frame(self) -> pd.DataFrame:
        """The scorecard as a table (one row per metric)."""
        return pd.DataFrame(
            [
                {
                    "metric": r.name,
                    "current": r.current,
                    "unit": r.unit,
                    "compared_with": r.compared_with,
                    "change": r.change,
                    "change_pct": r.change_pct,
                    "change_label": r.change_label,
                    "goal": r.goal,
                    "favourable": r.favourable,
                    "note": r.note,
                }
                for r in self.rows
            ]
        )

    @staticmethod
    def _compared(row: ScorecardRow) -> str:
        return row.compared_text or format_number(row.compared_with, row.unit)

    @staticmethod
    def _goal_cell(row: ScorecardRow) -> str:
        if not row.goal:
            return '<span style="color:#6e7781">–</span>'
        mark, colour = ("✓" if row.goal_met else "✗"), COLOURS[bool(row.goal_met)]
        return f'<span style="color:{colour};font-weight:600">{mark} {html.escape(row.goal)}</span>'

    def _change_cell(self, row: ScorecardRow) -> str:
        if row.standing:
            mark, colour = ("✓" if row.favourable else "✗"), COLOURS[row.favourable]
            return f'<span style="color:{colour};font-weight:600">{mark} {html.escape(row.standing)}</span>'
        if row.change is None:
            return '<span style="color:#6e7781">–</span>'
        arrow = "▲" if row.change > 0 else "▼" if row.change < 0 else "="
        colour = COLOURS[row.favourable]
        return f'<span style="color:{colour};font-weight:600">{arrow} {html.escape(row.change_label)}</span>'

    def to_html(self) -> str:
        """Self-contained HTML (inline styles and SVG only), fit to paste into an email."""
        label = {"previous_period": "previous period", "same_period_last_year": "same period last year",
                 "goal": "goal"}[self.compare]  # fmt: skip
        ranges = sorted({f"{r.date_range.name.replace('_', ' ')}: {range_text(r.date_range)}, UTC"
                         for r in self.results})  # fmt: skip
        cell = "padding:6px 10px;border-bottom:1px solid #d0d7de;text-align:right"
        head = "padding:6px 10px;border-bottom:2px solid #d0d7de;text-align:right;color:#57606a;font-weight:600"
        goals = any(row.goal for row in self.rows)
        rows = []
        for row in self.rows:
            note = f'<div style="color:#9a6700;font-size:11px">{html.escape(row.note)}</div>' if row.note else ""
            line = COLOURS[row.favourable] if row.favourable is not None else "#0969da"
            rows.append(
                "<tr>"
                f'<td style="{cell};text-align:left">{html.escape(row.name)}{note}</td>'
                f'<td style="{cell};font-size:16px;font-weight:600">{format_number(row.current, row.unit)}</td>'
                f'<td style="{cell};color:#57606a">{html.escape(self._compared(row))}</td>'
                f'<td style="{cell}">{self._change_cell(row)}</td>'
                + (f'<td style="{cell}">{self._goal_cell(row)}</td>' if goals else "")
                + f'<td style="{cell}">{sparkline_svg(row.sparkline, line)}</td>'
                "</tr>"
            )
        sandbox = (
            f'<div style="color:#9a6700;font-size:12px">{SANDBOX_LABEL}</div>'
            if self.is_sandbox
            else ""
        )
        return (
            '<div style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;color:#1f2328">'
            f'<div style="font-size:15px;font-weight:600">{html.escape(self.title)}</div>{sandbox}'
            f'<div style="color:#57606a;font-size:12px">{html.escape("; ".join(ranges))} · compared with {label}</div>'
            '<table style="border-collapse:collapse;margin-top:6px;width:100%">'
            f'<tr><th style="{head};text-align:left">metric</th><th style="{head}">value</th>'
            f'<th style="{head}">{label}</th><th style="{head}">change</th>'
            + (f'<th style="{head}">goal</th>' if goals else "")
            + f'<th style="{head}">trend</th></tr>'
            + "".join(rows)
            + "</table></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def widget(self):
        """The scorecard as an ipywidgets view."""
        from ..widgets.scorecard import ScorecardWidget

        return ScorecardWidget(self)

    def __repr__(self) -> str:
        lines = [f"Scorecard: {self.title}" + (" (SANDBOX demo data)" if self.is_sandbox else "")]
        for row in self.rows:
            lines.append(f"  {row.name}: {format_number(row.current, row.unit)} vs {self._compared(row)} "
                         f"({row.change_label})")
        return "\n".join(lines)
