"""The dashboard app: a title, the account, a range picker, the scorecard and the charts, nothing else.

:class:`DashboardApp` is what ``twibox app`` serves under Voila (``notebooks/06-dashboard-app.ipynb``
holds the same one cell, :data:`APP_CELL`). It is thin: a
:class:`~twibox_nb.present.databoard.Databoard` fetches the metrics and builds the scorecard and
the charts; this widget lays them out (the scorecard across the page, the charts drawn to SVG by
vl-convert in two columns) and re-fetches when another range is picked. While it fetches, the
picker is disabled and the status reads "Updating…"; a failure shows one plain sentence in the
app, never a traceback.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from .._exceptions import CredentialsError, FetchError, TwiboxError, TwilioAPIError
from ..fetch.connection import Connection
from ..model.secrets import redact
from ..present.chart_export import to_svg
from ..present.databoard import Databoard
from ..present.goals import Goal
from ._common import close_all

# The notebook the app is: notebooks/06-dashboard-app.ipynb holds exactly this (a test keeps them
# equal), and ``twibox app`` writes it to a temporary folder for Voila.
APP_CELL = "import twibox_nb as tb\n\ntb.DashboardApp()"
METRICS = ("Messages by status", "Delivery rate", "Total spend", "Calls by status")
GOALS = {"Delivery rate": Goal("stay_above", 85, "month"), "Total spend": Goal("stay_below", 5, "month")}
RANGES = {
    "Last 7 days": "last_7_days",
    "Last 30 days": "last_30_days",
    "Last 4 weeks": "last_4_weeks",
    "Month to date": "month_to_date",
    "This month": "this_month",
}
CREDENTIALS = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUTH_TOKEN")
CREDENTIALS_HELP = (
    "Set TWILIO_ACCOUNT_SID with TWILIO_API_KEY and TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN) where the app starts, "
    "then start it again."
)
APP_CSS = """<style>
.twibox-app {max-width: 100%; box-sizing: border-box; padding: 4px 8px 16px; font-family: -apple-system, "Segoe UI",
  Helvetica, Arial, sans-serif; color: #1f2328}
.twibox-app .widget-html, .twibox-app .widget-html-content {max-width: 100%; line-height: 1.4}
.twibox-app-bar {align-items: center; flex-wrap: wrap; gap: 12px}
.twibox-app-bar .widget-dropdown {width: auto}
.twibox-app-bar select {min-width: 150px}
.twibox-app-status {color: #57606a; font-size: 13px}
.twibox-app-status.twibox-busy {color: #9a6700}
.twibox-app-error .widget-html-content {color: #cf222e; font-size: 14px}
.twibox-app-charts {width: 100%; margin-top: 16px}
.twibox-app-scorecard {margin-top: 8px}
.twibox-app-charts .twibox-chart {min-width: 0; overflow: hidden}
.twibox-app-charts svg {max-width: 100%; height: auto; display: block}
</style>"""


def default_connection() -> Connection:
    """Your account when any TWILIO_* credential is in the environment, else the embedded sandbox."""
    from ..fetch.connection import connect

    if any(os.environ.get(name) for name in CREDENTIALS):
        return connect()
    return connect(sandbox=True)


def plain_error(exc: BaseException) -> str:
    """The app's error line: what went wrong and what to do, in one or two sentences, never a traceback.

    >>> print(plain_error(FetchError("GET https://api.twilio.com/…: ConnectError (gave up after 5 retries)")))
    Twilio could not be reached: the requests failed after several tries. Check the network, then pick a range ...
    """
    if isinstance(exc, CredentialsError):
        return f"No Twilio account is connected. {CREDENTIALS_HELP}"
    if isinstance(exc, TwilioAPIError):
        if exc.status in (401, 403):
            return f"Twilio did not accept these credentials ({exc.status}: {exc.message}). {CREDENTIALS_HELP}"
        return f"Twilio answered with an error ({exc.status}: {exc.message}). Pick a range to try again."
    if isinstance(exc, FetchError):
        return (
            "Twilio could not be reached: the requests failed after several tries. "
            "Check the network, then pick a range to try again."
        )
    if isinstance(exc, TwiboxError):
        return f"The dashboard could not be updated: {redact(str(exc))}"
    return (
        f"The dashboard could not be updated (an unexpected {type(exc).__name__}). Pick a range to try again, "
        "or open the metrics in a notebook to see the details."
    )


class DashboardApp(widgets.VBox):
    """A dashboard app of library metrics: the scorecard across the page, the charts below, a range picker.

    ``conn`` defaults to :func:`default_connection` (your account from the TWILIO_* variables, else
    the sandbox); ``metrics`` and ``goals`` default to :data:`METRICS` and :data:`GOALS`; ``now``
    pins the clock (tests). Picking a range re-fetches every metric.

    >>> import twibox_nb as tb
    >>> app = tb.DashboardApp(tb.connect(sandbox=True), date_range="last_7_days")
    >>> app.picker.value, len(app.charts.children), "SANDBOX" in app.header.value
    ('last_7_days', 4, True)
    >>> app.picker.value = "month_to_date"  # what picking "Month to date" does
    >>> app.board.results[0].date_range.name, app.error.layout.display
    ('month_to_date', 'none')
    """

    def __init__(
        self,
        conn: Connection | None = None,
        metrics: Sequence[Any] = METRICS,
        *,
        goals: dict[str, Goal] | None = None,
        date_range: str = "last_30_days",
        title: str = "Twilio dashboard",
        columns: int = 2,
        now: datetime | None = None,
    ) -> None:
        self.metrics = list(metrics)
        self.goals = dict(GOALS if goals is None else goals)
        self.title = title
        self.columns = max(1, int(columns))
        self.now = now
        self.board: Databoard | None = None
        self.conn: Connection | None = None
        failure: BaseException | None = None
        try:
            self.conn = default_connection() if conn is None else conn
        except Exception as exc:  # no or bad credentials: say so in the app
            failure = exc
        self.header = widgets.HTML(self._header_html())
        self.header.add_class("twibox-app-header")
        options = dict(RANGES)
        if date_range not in options.values():
            options[date_range.replace("_", " ").capitalize()] = date_range
        self.picker = widgets.Dropdown(
            options=options, value=date_range, description="Range", style={"description_width": "initial"}
        )
        self.picker.add_class("twibox-app-range")
        self.status = widgets.HTML("")
        self.status.add_class("twibox-app-status")
        bar = widgets.HBox([self.picker, self.status])
        bar.add_class("twibox-app-bar")
        self.error = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.error.add_class("twibox-app-error")
        self.scorecard = widgets.HTML("")
        self.scorecard.add_class("twibox-app-scorecard")
        self.charts = widgets.GridBox(
            [],
            layout=widgets.Layout(grid_template_columns=f"repeat({self.columns}, minmax(0, 1fr))", grid_gap="16px"),
        )
        self.charts.add_class("twibox-app-charts")
        super().__init__([widgets.HTML(APP_CSS), self.header, bar, self.error, self.scorecard, self.charts])
        self.add_class("twibox-app")
        if failure is not None:
            self._show_error(failure)
        else:
            self.refresh()
        self.picker.observe(lambda _change: self.refresh(), names="value")

    def _header_html(self) -> str:
        account = self.conn.label if self.conn is not None else "no account connected"
        colour = "#9a6700" if self.conn is not None and self.conn.is_sandbox else "#57606a"
        return (
            f'<div style="font-size:22px;font-weight:600">{html.escape(self.title)}</div>'
            f'<div class="twibox-app-account" style="color:{colour};font-size:13px">{html.escape(account)}</div>'
        )

    def refresh(self) -> None:
        """Fetch every metric over the picked range and show them; the picker is disabled meanwhile."""
        if self.conn is None:
            return
        self.picker.disabled = True
        self.status.value = "Updating…"
        self.status.add_class("twibox-busy")
        try:
            # a level to keep each day is judged over the days on the page, whatever the goal's own timeframe
            goals = {name: replace(goal, timeframe=self.picker.value) if goal.kind != "reach" else goal
                     for name, goal in self.goals.items()}  # fmt: skip
            board = Databoard(
                self.metrics, self.conn, self.picker.value, goals=goals, title="Scorecard",
                columns=self.columns, now=self.now,
            )  # fmt: skip
            pictures = [to_svg(chart) for chart in board.charts]  # threads measured no faster: vl-convert is serial
        except Exception as exc:
            self._show_error(exc)
        else:
            self._show(board, pictures)
        finally:
            self.picker.disabled = False
            self.status.remove_class("twibox-busy")

    def _show(self, board: Databoard, pictures: list[str]) -> None:
        self.board = board
        self.error.value, self.error.layout.display = "", "none"
        self.scorecard.value = board.scorecard.to_html()
        views = []
        for svg in pictures:
            view = widgets.HTML(svg)
            view.add_class("twibox-chart")
            views.append(view)
        old, self.charts.children = self.charts.children, tuple(views)
        close_all(old)  # with their layouts and styles: nothing of the last range stays in the kernel
        self.status.value = self._updated(board)

    def _show_error(self, exc: BaseException) -> None:
        self.error.value = html.escape(plain_error(exc))
        self.error.layout.display = None
        # the last good figures stay, marked with their time
        self.status.value = "not updated" if self.board is None else self._updated(self.board)

    @staticmethod
    def _updated(board: Databoard) -> str:
        return f"last updated {max(r.fetched_at for r in board.results):%H:%M} UTC"

    def close(self) -> None:
        """Close the app and every widget in it: an open grid of closed charts would break saving the notebook."""
        close_all(self.children)
        super().close()
