"""The scorecard as a widget: the same self-contained HTML, in a box notebooks can lay out."""

from __future__ import annotations

import ipywidgets as widgets


class ScorecardWidget(widgets.VBox):
    """Shows a :class:`~twibox_nb.present.scorecard.Scorecard` (``scorecard.widget()``)."""

    def __init__(self, scorecard) -> None:
        self.scorecard = scorecard
        self.view = widgets.HTML(value=scorecard.to_html())
        self.view.add_class("twibox-scorecard")
        super().__init__([self.view])
        self.add_class("twibox-scorecard-widget")
