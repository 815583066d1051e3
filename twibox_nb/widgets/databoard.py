"""The databoard as a widget: the scorecard, then each chart as an SVG in a grid.

Charts are drawn to SVG by vl-convert (no browser, no CDN), so the board shows the same in
JupyterLab, Notebook 7 and Voila, and in a saved notebook.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..present.chart_export import to_svg


class DataboardWidget(widgets.VBox):
    """Shows a :class:`~twibox_nb.present.databoard.Databoard` (``board.widget()``)."""

    def __init__(self, board) -> None:
        self.board = board
        self.scorecard = widgets.HTML(value=board.scorecard.to_html())
        self.charts = [widgets.HTML(value=to_svg(chart)) for chart in board.charts]
        for view in self.charts:
            view.add_class("twibox-chart")
        grid = widgets.GridBox(
            self.charts,
            layout=widgets.Layout(grid_template_columns=f"repeat({board.columns}, minmax(0, 1fr))", grid_gap="16px"),
        )
        super().__init__([self.scorecard, grid])
        self.add_class("twibox-databoard")
