"""Databoards: a scorecard and a grid of metric charts over one date range.

``to_html()``/``save()`` write one self-contained file that works offline: the Vega, Vega-Lite and
Vega-Embed libraries are inlined once (from vl-convert's bundle), not once per chart, and nothing
is loaded from the network. ``.widget()`` shows the board in a notebook; the databoard notebook
also runs as an app under Voila.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from .._files import atomic_write_text
from ..fetch.connection import Connection
from .chart_export import localized
from .colours import ColourBook
from .goals import Goal
from .scorecard import Scorecard


@cache
def vega_bundle() -> str:
    """Vega-Embed, Vega-Lite and Vega as one script (about 0.9 MB), from vl-convert, offline."""
    import vl_convert

    return vl_convert.javascript_bundle()


class Databoard:
    """Several metrics over one date range: a scorecard on top, then one chart per metric.

    ``metrics`` are metric specs, calculated metrics, library names or fetched results; each is
    fetched once and used by both the scorecard and its chart.

    >>> import twibox_nb as tb
    >>> board = Databoard(["Messages by status", "Total spend"], tb.connect(sandbox=True), "last_7_days")
    >>> len(board.charts), board.to_html().count("function vegaEmbed") <= 1
    (2, True)
    """

    def __init__(
        self,
        metrics: Sequence[Any],
        conn: Connection | None = None,
        date_range: str | None = None,
        *,
        compare: str = "previous_period",
        interval: str | None = None,
        goals: dict[str, Goal] | None = None,
        title: str = "Databoard",
        columns: int = 2,
        now: datetime | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> None:
        self.title = title
        self.columns = max(1, int(columns))
        self.goals = dict(goals or {})
        self.scorecard = Scorecard(
            metrics, conn, date_range, compare,  # type: ignore[arg-type]
            goals=self.goals, interval=interval, title=title, now=now, progress=progress,
        )  # fmt: skip
        self.results = self.scorecard.results
        self.colours = ColourBook()  # one for the board: a value has one colour in every chart
        self.charts = [self._chart(r) for r in self.results]

    def _chart(self, result) -> Any:
        goal = self.goals.get(result.spec.name)
        options: dict[str, Any] = {"width": 420, "height": 220, "colours": self.colours}
        if goal is not None and goal.kind != "reach":  # a line at the level to stay above or below
            options["goal"] = goal.target
        return result.chart(**options)

    def to_html(self) -> str:
        """One self-contained HTML page: the libraries once, the scorecard, then every chart."""
        specs = [localized(chart.to_dict()) for chart in self.charts]  # the board's locale on every axis
        cells = "".join(
            f'<div class="twibox-chart" id="twibox-chart-{i}" style="min-width:0"></div>' for i in range(len(specs))
        )
        grid = f"display:grid;grid-template-columns:repeat({self.columns},minmax(0,1fr));gap:16px;margin-top:16px"
        # Every "<" is escaped (JSON allows \u003c) so no string inside a spec can end the script
        # element or open a comment in it, whatever a metric is called.
        data = json.dumps(specs).replace("<", "\\u003c")
        embed = (
            f"const specs = {data};\n"
            "specs.forEach((spec, i) => vegaEmbed('#twibox-chart-' + i, spec, {actions: false, renderer: 'svg'})"
            ".catch(error => { document.getElementById('twibox-chart-' + i).textContent = String(error); }));"
        )
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title>"
            f"<script>{vega_bundle()}</script></head>"
            '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px">'
            f"{self.scorecard.to_html()}<div style='{grid}'>{cells}</div>"
            f"<script>{embed}</script></body></html>"
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the board as one HTML file (atomically) that opens offline in any browser."""
        return atomic_write_text(path, self.to_html())

    def widget(self):
        """The board in a notebook: the scorecard, then the charts in a grid (ipywidgets)."""
        from ..widgets.databoard import DataboardWidget

        return DataboardWidget(self)

    def __repr__(self) -> str:
        return f"Databoard: {self.title}, {len(self.charts)} charts\n" + repr(self.scorecard)
