"""``MetricBuilder``: the reference product's custom-metric wizard as an ipywidgets view.

The widget is a thin shell around :class:`~twibox_nb.builder.state.BuilderState`: a step indicator,
one panel per step (``PANELS``), the first page's response as a clickable tree (in steps 2–4 a
click on a field picks it, as the list would: :mod:`._jsontree`), an error area
where every callback's exception is shown, a progress line, and Back / Continue (which keep every
choice). ``builder.spec`` is the :class:`~twibox_nb.model.spec.MetricSpec` so far.

>>> from datetime import datetime, timezone
>>> from twibox_nb.fetch.connection import connect
>>> from twibox_nb.sandbox import Sandbox
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # one clock for the sandbox and the builder
>>> b = MetricBuilder(connect(sandbox=Sandbox(now=now)), now=now)
>>> b.request.endpoint.value = "Monitor alerts"
>>> b.continue_button.click()
>>> b.state.step, b.state.first_page.status
('value', 200)
>>> b.value_step.choices.value = b.value_step.choices.options[0][1]   # count of records
>>> for _ in range(3): b.continue_button.click()   # → dimension → date → preview (fetches the range)
>>> b.state.step, b.result.stop_reason
('preview', 'complete')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import ipywidgets as widgets

from .._exceptions import ExpressionError, TwiboxError
from ..builder.state import STEPS, BuilderState
from ..evaluate.custom import DEFAULT_TIMEOUT
from ..fetch.connection import Connection
from ..fetch.report import Progress
from ..model.spec import MetricSpec
from ..pipeline.result import MetricResult
from ._common import MUTED, NOTE_STYLE, ErrorArea, busy, classed, esc, guard
from ._field_steps import WARN_STYLE, DimensionStep, ValueStep, _ChoiceStep
from ._jsontree import json_tree_html, json_tree_widget
from ._later_steps import DateStep, DescribeStep, PreviewStep
from ._request_step import RequestStep
from .connect import ConnectWidget

if TYPE_CHECKING:
    from ..sandbox import Sandbox

#: The panel of each step.
PANELS: dict[str, Callable[..., widgets.Widget]] = {
    "request": RequestStep,
    "value": ValueStep,
    "dimension": DimensionStep,
    "date": DateStep,
    "preview": PreviewStep,
    "describe": DescribeStep,
}


class MetricBuilder(widgets.VBox):
    """Build a metric step by step. Without ``conn`` it starts with the Connect step.

    ``now`` pins the clock of the preview range; ``preview_range`` is the range date tokens are
    shown for (and the first page is fetched for). ``sandbox``, ``env`` and ``transport`` go to
    the embedded :class:`~twibox_nb.widgets.connect.ConnectWidget`; ``fetch_options`` to the
    page fetcher (a retry ``policy`` …); ``expression_timeout`` is the seconds a custom expression
    may run on one page of the preview.
    """

    def __init__(
        self,
        conn: Connection | None = None,
        *,
        now: datetime | None = None,
        preview_range: str = "last_30_days",
        sandbox: bool | Sandbox = False,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        fetch_options: Mapping[str, Any] | None = None,
        expression_timeout: float = DEFAULT_TIMEOUT,
        state: BuilderState | None = None,
    ) -> None:
        self.state = state or BuilderState(
            conn, now=now, preview_range=preview_range, fetch_options=fetch_options,
            expression_timeout=expression_timeout,
        )  # fmt: skip
        self.error = ErrorArea("builder-error")
        self._guard = guard(self._report)
        self.title = classed(widgets.HTML("<b style='font-size:1.15em'>Metric builder</b>"), "builder-title")
        self.indicator = classed(widgets.HTML(), "builder-steps")

        self.response_status = classed(widgets.HTML(), "builder-response-status")
        # Clickable (an anywidget) where anywidget is installed: a click picks a field in steps 2–4.
        self.response_tree = classed(json_tree_widget(), "builder-response-tree")
        if self.response_tree.has_trait("picked"):
            self.response_tree.observe(self._guard(self._tree_picked), names="picked")
        self.response = classed(
            widgets.VBox([self.response_status, self.response_tree], layout=widgets.Layout(margin="8px 0 0 0")),
            "builder-response",
        )
        self.progress_bar = classed(
            widgets.IntProgress(value=0, min=0, max=1, bar_style="info", layout=widgets.Layout(width="200px")),
            "builder-progress-bar",
        )
        self.progress_text = widgets.HTML(f"<span style='{NOTE_STYLE}'>Fetching the first page…</span>")
        self.progress = classed(widgets.HBox([self.progress_bar, self.progress_text]), "builder-progress", "busy")
        self.progress.layout.display = "none"

        self.back_button = classed(widgets.Button(description="Back", icon="arrow-left"), "builder-back")
        self.continue_button = classed(
            widgets.Button(description="Continue", icon="arrow-right", button_style="success"), "builder-continue"
        )
        self.nav_note = classed(widgets.HTML(), "builder-continue-note")
        self.back_button.on_click(self._guard(self._back))
        self.continue_button.on_click(self._guard(self._continue))
        self.code_button = classed(
            widgets.ToggleButton(value=False, description="Copy as code", icon="code", tooltip="The lines that "
                                 "fetch this metric in a report notebook"),
            "builder-code-toggle",
        )  # fmt: skip
        self.code = classed(widgets.HTML(), "builder-code")
        self.code.layout.display = "none"
        self.code_button.observe(self._guard(lambda _c: self._show_code()), names="value")
        self.paging = classed(widgets.HTML(), "builder-paging")
        self.paging.layout.display = "none"

        # The panels come last: they report their first state to the navigation built above.
        self.connect = ConnectWidget(sandbox=sandbox, env=env, transport=transport, on_connect=self._connected)
        self._connecting = self.state.conn is None
        self.panels: dict[str, widgets.Widget] = {
            "request": RequestStep(self.state, self._guard, self._update_nav, change_connection=self._change_connection)
        }
        self.panels["preview"] = PreviewStep(self.state, self._guard, self._update_nav, run=self._preview)
        self.panels["describe"] = DescribeStep(self.state, self._guard, self._update_nav, saved=self._show_code)
        for key, panel in PANELS.items():
            if key not in self.panels:
                self.panels[key] = panel(self.state, self._guard, self._update_nav)
        self.body = classed(widgets.VBox(), "builder-body")

        super().__init__(
            [
                self.title,
                self.indicator,
                self.body,
                self.error,
                self.progress,
                self.paging,
                widgets.HBox([self.back_button, self.continue_button, self.code_button, self.nav_note]),
                self.code,
                self.response,
            ]
        )
        classed(self, "builder")
        self._show()

    # --- public ---------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: MetricSpec, conn: Connection | None = None, **options: Any) -> MetricBuilder:
        """Reopen a saved metric: every step shows its saved choice (Continue fetches the first page)."""
        keep = {
            k: options.pop(k) for k in ("now", "preview_range", "fetch_options", "expression_timeout") if k in options
        }
        return cls(conn, state=BuilderState.from_spec(spec, conn, **keep), **options)

    @property
    def spec(self) -> MetricSpec:
        """The metric so far (fields of steps not visited yet hold their defaults)."""
        return self.state.spec

    @property
    def result(self) -> MetricResult | None:
        """The preview as a :class:`~twibox_nb.pipeline.result.MetricResult` (None before step 5's fetch)."""
        return self.state.result

    @property
    def code_text(self) -> str:
        """The "copy as code" lines: they fetch this metric headlessly (no credential in them)."""
        return self.state.copy_as_code()

    @property
    def connection(self) -> Connection | None:
        return self.state.conn

    @property
    def request(self) -> RequestStep:
        return self.panels["request"]  # type: ignore[return-value]

    @property
    def value_step(self) -> ValueStep:
        return self.panels["value"]  # type: ignore[return-value]

    @property
    def dimension_step(self) -> DimensionStep:
        return self.panels["dimension"]  # type: ignore[return-value]

    @property
    def date_step(self) -> DateStep:
        return self.panels["date"]  # type: ignore[return-value]

    @property
    def preview_step(self) -> PreviewStep:
        return self.panels["preview"]  # type: ignore[return-value]

    @property
    def describe_step(self) -> DescribeStep:
        return self.panels["describe"]  # type: ignore[return-value]

    # --- behaviour ------------------------------------------------------------------------------
    def _report(self, exc: BaseException) -> None:
        self.error.show(exc)

    def _connected(self, conn: Connection) -> None:
        self.state.set_connection(conn)
        self._connecting = False
        self._show()

    def _change_connection(self) -> None:
        self._connecting = True
        self._show()

    def _picking_panel(self) -> _ChoiceStep | None:
        """The step that takes a field clicked in the response tree (value, dimension, date), if any."""
        panel = None if self._connecting else self.panels.get(self.state.step)
        return panel if isinstance(panel, _ChoiceStep) else None

    def _tree_picked(self, change) -> None:
        path = change["new"]
        if not path:
            return
        try:
            panel = self._picking_panel()
            if panel is not None:
                self.error.clear()
                panel.pick_field(path)
        finally:
            self.response_tree.picked = ""  # consumed: the same field can be picked again later

    def _continue(self, _button=None) -> None:
        self.error.clear()
        state = self.state
        if state.step == "preview" and not self.preview_step.apply():
            return  # a syntax error: shown under the expression, and the step stays
        if state.step == "request" and state.continue_problem() is None and state.needs_fetch:
            controls = [self.back_button, self.continue_button, *self.request.controls]
            self.progress_bar.value = 0
            self.progress_bar.max = 1
            self.progress_text.value = f"<span style='{NOTE_STYLE}'>Fetching the first page…</span>"
            with busy(controls, self.progress):
                state.advance(progress=self._progress)
        else:
            state.advance()
        self._show()

    def _preview(self) -> None:
        """Preview data: fetch the range's pages the first time (busy, with progress), then evaluate."""
        step = self.preview_step
        step.clear_error()
        self.error.clear()
        if not step.apply():
            return
        state = self.state
        try:
            if state.needs_preview_fetch and state.conn is not None:
                controls = [self.back_button, self.continue_button, self.code_button, *step.controls]
                self.progress_bar.value = 0
                self.progress_bar.max = max(1, state.max_pages)
                self.progress_text.value = f"<span style='{NOTE_STYLE}'>Fetching the pages of the range…</span>"
                with busy(controls, self.progress):
                    state.preview(progress=self._progress)
            else:
                state.preview()
        except ExpressionError as exc:
            step.show_error(exc)
        except Exception as exc:  # shown in the widget (this also runs while a step is being shown)
            self._report(exc)
        step.show_result()
        self._show_paging()
        self._update_nav()

    def _back(self, _button=None) -> None:
        self.error.clear()
        self.state.back()
        self._show()

    def _progress(self, event: Progress) -> None:
        self.progress_bar.value = min(event.pages, self.progress_bar.max)
        cap = f" of at most {event.max_pages:,}" if event.max_pages else ""
        self.progress_text.value = (
            f"<span style='{NOTE_STYLE}'>{event.pages:,} page{'' if event.pages == 1 else 's'}{cap} · "
            f"{event.records:,} records in {event.elapsed:.2f} s</span>"
        )

    def _show_paging(self) -> None:
        """The pagination panel, once the preview's pages are fetched."""
        lines = self.state.paging()
        if not lines or self._connecting:
            self.paging.layout.display = "none"
            return
        rows = "".join(
            f"<tr><td style='color:{MUTED};padding-right:12px'>{esc(what)}</td>"
            f"<td class='twibox-builder-paging-{what.replace(' ', '-')}'>{esc(text)}</td></tr>"
            for what, text in lines
        )
        warning = self.state.truncation_warning()
        warn = f"<div class='twibox-builder-truncated' style='{WARN_STYLE}'>⚠ {esc(warning)}</div>" if warning else ""
        stale = (
            f"<div style='{NOTE_STYLE}'>The request changed since: the next preview fetches again.</div>"
            if self.state.needs_preview_fetch
            else ""
        )
        self.paging.value = f"<div style='margin:6px 0'><b>Pagination</b><table>{rows}</table>{warn}{stale}</div>"
        self.paging.layout.display = None

    def _show_code(self) -> None:
        if not self.code_button.value or self._connecting:
            self.code.layout.display = "none"
            return
        try:
            text = self.state.copy_as_code()
        except TwiboxError as exc:  # e.g. no endpoint path yet: say what is missing
            text = f"# The metric is not complete yet: {exc}"
        self.code.value = (
            f"<div style='{NOTE_STYLE}'>Run these lines in a report notebook to fetch the same metric:</div>"
            f"<pre class='twibox-builder-code-text' style='background:#f6f8fa;border:1px solid #d0d7de;"
            f"border-radius:6px;padding:8px;user-select:text;max-height:320px;overflow:auto'>{esc(text)}</pre>"
        )
        self.code.layout.display = None

    def _show(self) -> None:
        """Show the current step's panel (or the Connect form), the response and the navigation."""
        if self._connecting:
            self.body.children = [self.connect]
        else:
            panel = self.panels[self.state.step]
            refresh = getattr(panel, "refresh", None)
            if refresh is not None:
                refresh()
            self.body.children = [panel]
        self.indicator.value = _indicator_html(self.state.step, self._connecting)
        self._show_response()
        self._show_paging()
        self._show_code()
        self._update_nav()

    def _show_response(self, tree: bool = True) -> None:
        page = self.state.first_page
        if page is None or self._connecting:
            self.response.layout.display = "none"
            return
        self.response.layout.display = None
        pickable = self._picking_panel() is not None and self.response_tree.has_trait("pickable")
        if pickable != getattr(self.response_tree, "pickable", False):
            self.response_tree.pickable = pickable
        hint = f" <span style='{NOTE_STYLE}'>· click a field in the tree to pick it</span>" if pickable else ""
        stale = (
            " <span style='color:#9a6700'>· the request changed since: Continue fetches it again</span>"
            if self.state.step == "request" and self.state.needs_fetch
            else ""
        )
        self.response_status.value = (
            f"<div><b>Response</b> <span style='color:{'#1a7f37' if page.status < 300 else '#cf222e'}'>"
            f"{esc(page.summary())}</span>{stale}{hint}<br><span style='{NOTE_STYLE}'>GET {esc(page.url)}</span></div>"
        )
        if tree:
            self.response_tree.value = json_tree_html(page.body)

    def _update_nav(self) -> None:
        if self._connecting:
            self.back_button.disabled = True
            self.continue_button.disabled = True
            self.nav_note.value = f"<span style='{NOTE_STYLE}'>Activate a connection (or the sandbox) to start.</span>"
            return
        state = self.state
        self.back_button.disabled = state.step == STEPS[0].key
        problem = state.continue_problem()
        self.continue_button.disabled = problem is not None
        if state.step == "request" and problem is None:
            self.continue_button.tooltip = "Fetches the first page, then select the value"
        self.nav_note.value = f"<span style='{NOTE_STYLE}'>{esc(problem)}</span>" if problem else ""
        if state.step == "request" and self.state.first_page is not None:
            self._show_response(tree=False)  # only the "changed since" mark: the tree is unchanged


def _indicator_html(current: str, connecting: bool) -> str:
    pills = []
    steps: list[tuple[str, str, str]] = [("connect", "", "Connect")] if connecting else []
    steps += [(s.key, str(s.number), s.title) for s in STEPS]
    for key, number, title in steps:
        here = key == ("connect" if connecting else current)
        style = "background:#0969da;color:white;border-color:#0969da" if here else "background:white;color:#24292f"
        label = f"{number} {title}" if number else title
        pills.append(
            f"<span class='twibox-step{' twibox-step-current' if here else ''}' style='display:inline-block;"
            f"border:1px solid #d0d7de;border-radius:12px;padding:2px 10px;margin:2px 4px 2px 0;{style}'>"
            f"{esc(label)}</span>"
        )
    return f"<div>{''.join(pills)}</div>"
