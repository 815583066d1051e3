"""Browse the metric library: filter by data source and words, read what a metric does, open it."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from .. import library


class LibraryBrowser(widgets.VBox):
    """A thin view of :func:`twibox_nb.library.search`; ``.selected`` is the chosen metric.

    ``on_open(metric)`` is called by the Open button (the MetricBuilder passes its own).
    """

    def __init__(self, on_open: Callable[[object], None] | None = None) -> None:
        self.on_open = on_open
        self.source = widgets.Dropdown(options=["All", *library.DATA_SOURCES], description="Data source")
        self.text = widgets.Text(placeholder="words in the name or description", description="Search")
        self.metrics = widgets.Select(options=[], rows=12, layout=widgets.Layout(width="420px"))
        self.details = widgets.HTML()
        self.open_button = widgets.Button(description="Open", icon="folder-open", disabled=True)
        self.open_button.on_click(self._open)
        for w, name in ((self.source, "source"), (self.text, "search"), (self.metrics, "metrics"),
                        (self.details, "details"), (self.open_button, "open")):  # fmt: skip
            w.add_class(f"twibox-library-{name}")
        self.source.observe(self._refresh, names="value")
        self.text.observe(self._refresh, names="value")
        self.metrics.observe(self._show, names="value")
        super().__init__(
            [widgets.HBox([self.source, self.text]), widgets.HBox([self.metrics, self.details]), self.open_button]
        )
        self.add_class("twibox-library")
        self._refresh()

    @property
    def selected(self):
        return library.get(self.metrics.value) if self.metrics.value else None

    def _refresh(self, _change=None) -> None:
        table = library.search(self.source.value, self.text.value)
        self.metrics.options = table["name"].tolist()
        self.metrics.value = self.metrics.options[0] if self.metrics.options else None
        self._show()

    def _show(self, _change=None) -> None:
        name = self.metrics.value
        self.open_button.disabled = name is None or self.on_open is None
        if name is None:
            self.details.value = "<i>No metric matches.</i>"
            return
        row = library.list().set_index("name").loc[name]
        self.details.value = (
            f"<b>{html.escape(name)}</b> <span style='color:#57606a'>({html.escape(row.data_source)})</span>"
            f"<p>{html.escape(row.description)}</p>"
            f"<code>{html.escape(row.endpoint)}</code><br>aggregation <b>{row.aggregation}</b>, "
            f"trend <b>{row.favourable_trend}</b> is good"
        )

    def _open(self, _button=None) -> None:
        if self.on_open is not None and self.selected is not None:
            self.on_open(self.selected)
