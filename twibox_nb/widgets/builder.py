"""``MetricBuilder``: the reference product's custom-metric wizard as an ipywidgets view.

The widget is a thin shell around :class:`~twibox_nb.builder.state.BuilderState`: step pills (one
``ToggleButtons``: a click goes to any step already reached), one panel per step (``PANELS``, each
built when it is first shown), the first page's response as a clickable tree (in steps 2–4 a
click on a field picks it, as the list would: :mod:`._jsontree`), an error area where every
callback's exception is shown, a busy line, and Back / Continue (which keep every choice).
``builder.spec`` is the :class:`~twibox_nb.model.spec.MetricSpec` so far.

Every kernel-side action says what it does in the busy line ("Fetching the first page…",
"Fetching the pages…", "Evaluating the expression…", "Saving…") with the time it takes, and the
controls that would act again are disabled meanwhile; a click that arrives during an action, or
was sent before it ended, is ignored (:class:`~._common.Busy`). :meth:`MetricBuilder.close` closes
every widget the builder made; re-running the cell that made a builder calls it
(:func:`~._lifetime.track`).

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

import functools
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import ipywidgets as widgets

from .._exceptions import ChoiceError, ExpressionError, TwiboxError
from ..builder.state import STEPS, BuilderState
from ..evaluate.custom import DEFAULT_TIMEOUT
from ..fetch.connection import Connection
from ..fetch.report import Progress
from ..model.spec import MetricSpec
from ..pipeline.result import MetricResult
from ._codeeditor import code_block_html, copy_button_widget
from ._common import MUTED, NOTE_STYLE, Busy, ErrorArea, classed, close_all, esc, guard, made_widgets
from ._field_steps import WARN_STYLE, DimensionStep, ValueStep, _ChoiceStep
from ._jsontree import json_tree_html, json_tree_widget
from ._later_steps import DateStep, DescribeStep, PreviewStep
from ._lifetime import track
from ._request_step import RequestStep
from ._style import title_html
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
#: The words shown while a panel's callback of this name runs (the builder's own actions say theirs).
BUSY_WORDS = {"_save": "Saving…"}


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
        self._made: set[str] = set()  # the model ids of every widget this builder made (close() closes them)
        with made_widgets(self._made):
            self.state = state or BuilderState(
                conn, now=now, preview_range=preview_range, fetch_options=fetch_options,
                expression_timeout=expression_timeout,
            )  # fmt: skip
            self._build()
            self._connect_options = {"sandbox": sandbox, "env": env, "transport": transport}
            self._connecting = self.state.conn is None
            self._show()
        track(self)  # re-running the cell that made this builder closes it (and every widget it made)

    def _build(self) -> None:
        self.error, self._fetch_error = ErrorArea("builder-error"), None  # and the fetch error it shows, if any
        self.panels: dict[str, widgets.Widget] = {}  # built when first shown
        self._connect: ConnectWidget | None = None
        self._response: widgets.VBox | None = None
        self._syncing = False
        self._uid = uuid.uuid4().hex[:8]
        self.title = classed(widgets.HTML(), "builder-title")
        self.indicator = classed(
            widgets.ToggleButtons(options=[(s.title, s.key) for s in STEPS], style={"button_width": "auto"}),
            "builder-steps", f"steps-{self._uid}",
        )  # fmt: skip
        self.indicator.observe(self._guard(self._pill), names="value")
        self.progress = classed(widgets.HTML(), "builder-progress", "busy")
        self.progress_text = self.progress  # the busy line's words, progress and elapsed time
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
        self.code_copy = copy_button_widget(label="Copy to clipboard") or widgets.HTML()  # the browser copies
        self.code.layout.display = self.code_copy.layout.display = "none"
        self.code_button.observe(self._guard(lambda _c: self._show_code()), names="value")
        self.paging = classed(widgets.HTML(), "builder-paging")
        self.paging.layout.display = "none"
        self.busy = Busy(self.progress, self._busy_controls, done=self._update_nav)
        self.body = classed(widgets.VBox(), "builder-body")
        self._nav = widgets.HBox([self.back_button, self.continue_button, self.code_button, self.nav_note])
        super().__init__()
        self._arrange()
        classed(self, "builder")

    def _arrange(self) -> None:
        response = [self._response] if self._response is not None else []
        self.children = [
            self.title, self.indicator, self.body, self.error, self.progress, self._nav, self.paging, self.code,
            self.code_copy, *response,
        ]  # fmt: skip

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Every callback: errors shown in the widget, widgets it makes remembered (for :meth:`close`),
        a click ignored while an action runs, and the busy words of ``BUSY_WORDS`` shown while it runs."""
        safe = guard(self._report)(fn)
        words = BUSY_WORDS.get(getattr(fn, "__name__", ""))

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], widgets.Button) and not self.busy.accepts():
                return None
            with made_widgets(self._made):
                if words is None:
                    return safe(*args, **kwargs)
                with self.busy(words):
                    return safe(*args, **kwargs)

        return inner

    # --- public ---------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: MetricSpec | str, conn: Connection | None = None, **options: Any) -> MetricBuilder:
        """Reopen a saved metric (or its file; ``path=`` names the file it came from, which Save keeps)."""
        state_options = ("now", "preview_range", "fetch_options", "expression_timeout", "path")
        keep = {k: options.pop(k) for k in state_options if k in options}
        return cls(conn, state=BuilderState.from_spec(spec, conn, **keep), **options)

    def close(self) -> None:
        """Close every widget this builder made, the panels built later and their rows included."""
        if self.comm is None:
            return
        parts = [*self.children, *self.panels.values(), self._nav, self.layout]
        parts += [w for w in (self._connect, self._response) if w is not None]
        close_all(parts, self._made - {self.model_id})
        super().close()

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
    def connect(self) -> ConnectWidget:
        """The Connect form (built when first needed)."""
        if self._connect is None:
            with made_widgets(self._made):
                self._connect = ConnectWidget(**self._connect_options, on_connect=self._connected)
        return self._connect

    def panel(self, key: str) -> widgets.Widget:
        """The panel of step ``key``, built the first time it is asked for."""
        if key not in self.panels:
            extra: dict[str, Any] = {
                "request": {"change_connection": self._change_connection},
                "preview": {"run": self._preview},
                "describe": {"saved": self._show_code},
            }.get(key, {})
            with made_widgets(self._made):
                self.panels[key] = PANELS[key](self.state, self._guard, self._update_nav, **extra)
        return self.panels[key]

    request: RequestStep = property(lambda self: self.panel("request"))  # type: ignore[assignment]
    value_step: ValueStep = property(lambda self: self.panel("value"))  # type: ignore[assignment]
    dimension_step: DimensionStep = property(lambda self: self.panel("dimension"))  # type: ignore[assignment]
    date_step: DateStep = property(lambda self: self.panel("date"))  # type: ignore[assignment]
    preview_step: PreviewStep = property(lambda self: self.panel("preview"))  # type: ignore[assignment]
    describe_step: DescribeStep = property(lambda self: self.panel("describe"))  # type: ignore[assignment]

    @property
    def response(self) -> widgets.VBox:
        """The first page's status and tree (built with the first page)."""
        if self._response is None:
            with made_widgets(self._made):
                status = classed(widgets.HTML(), "builder-response-status")
                # Clickable (an anywidget) where anywidget is installed: a click picks a field in steps 2–4.
                tree = classed(json_tree_widget(), "builder-response-tree")
                if tree.has_trait("picked"):
                    tree.observe(self._guard(self._tree_picked), names="picked")
                self._response = classed(
                    widgets.VBox([status, tree], layout=widgets.Layout(margin="8px 0 0 0")), "builder-response"
                )
            self._arrange()
        return self._response

    @property
    def response_status(self) -> widgets.HTML:
        return self.response.children[0]  # type: ignore[return-value]

    @property
    def response_tree(self) -> widgets.Widget:
        return self.response.children[1]

    # --- behaviour ------------------------------------------------------------------------------
    def _report(self, exc: BaseException) -> None:
        self.error.show(exc)
        self._fetch_error = exc if exc is self.state.fetch_error else None  # cleared when the request is edited

    def _busy_controls(self) -> list[widgets.Widget]:
        """What would act again while an action runs: the navigation, the pills and the step's controls."""
        panel = self.panels.get(self.state.step) if not self._connecting else None
        return [self.back_button, self.continue_button, self.code_button, self.indicator,
                *getattr(panel, "controls", ())]  # fmt: skip

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
            if panel is not None and self.busy.accepts():
                self.error.clear()
                panel.pick_field(path)
        finally:
            self.response_tree.picked = ""  # consumed: the same field can be picked again later

    def _pill(self, change) -> None:
        """A step pill: go to a step already reached (one further on says why it cannot)."""
        key = change["new"]
        if self._syncing or key == "connect" or key == change["old"]:
            return
        if not self.busy.accepts():
            self._show_indicator()
            return
        self.error.clear()
        try:
            if self._connecting and self.state.conn is None:
                raise ChoiceError(key, "activate a connection (or the sandbox) first")
            self.state.go_to(key)
        except ChoiceError:
            self._show_indicator()  # the pill goes back to the current step
            raise
        self._connecting = False
        with self.busy(""):
            self._show()

    def _continue(self, _button=None) -> None:
        if not self.busy.accepts():
            return  # a click that arrived while an action ran (or was sent before it ended)
        self.error.clear()
        state = self.state
        if state.step == "preview" and not self.preview_step.apply():
            return  # a syntax error: shown under the expression, and the step stays
        fetch = state.step == "request" and state.continue_problem() is None and state.needs_fetch
        with self.busy("Fetching the first page…" if fetch else ""):
            if fetch:
                self.busy.progress("", 0, 1)
            state.advance(progress=self._progress if fetch else None)
            self._show()

    def _preview(self) -> None:
        """Preview data: fetch the range's pages the first time (busy, with progress), then evaluate."""
        step = self.preview_step
        step.clear_error()
        self.error.clear()
        if not step.apply():
            return
        state = self.state
        fetch = state.needs_preview_fetch and state.conn is not None
        with self.busy("Fetching the pages…" if fetch else "Evaluating the expression…", step.controls):
            try:
                if fetch:
                    self.busy.progress(f"at most {state.max_pages:,} pages", 0, max(1, state.max_pages))
                    state.fetch_preview(progress=self._progress)
                    self.busy.say("Evaluating the expression…")
                state.preview()
            except ExpressionError as exc:
                step.show_error(exc)
            except Exception as exc:  # shown in the widget (this also runs while a step is being shown)
                self._report(exc)
        step.show_result()
        self._show_paging()
        self._update_nav()

    def _back(self, _button=None) -> None:
        if not self.busy.accepts():
            return
        self.error.clear()
        with self.busy(""):
            self.state.back()
            self._show()

    def _progress(self, event: Progress) -> None:
        cap = f" of at most {event.max_pages:,}" if event.max_pages else ""
        self.busy.progress(
            f"{event.pages:,} page{'' if event.pages == 1 else 's'}{cap} · {event.records:,} records in "
            f"{event.elapsed:.2f} s",
            event.pages, event.max_pages or 1,
        )  # fmt: skip

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
            self.code.layout.display = self.code_copy.layout.display = "none"
            return
        try:
            text = self.state.copy_as_code()
        except TwiboxError as exc:  # e.g. no endpoint path yet: say what is missing
            text = f"# The metric is not complete yet: {exc}"
        self.code.value = code_block_html(text, "Run these lines in a report notebook to fetch the same metric:", esc)
        if hasattr(self.code_copy, "text"):
            self.code_copy.text, self.code_copy.status = text, ""
        self.code.layout.display = self.code_copy.layout.display = None

    def _show(self) -> None:
        """Show the current step's panel (or the Connect form), the response and the navigation.

        The panel is shown before it refreshes, so a slow refresh (step 5 fetches and evaluates the
        preview) shows its busy state on the step it belongs to.
        """
        if self._connecting:
            self.body.children = [self.connect]
            self._show_indicator()
        else:
            panel = self.panel(self.state.step)
            self.body.children = [panel]
            self._show_indicator()
            refresh = getattr(panel, "refresh", None)
            if refresh is not None:
                refresh()
        self._show_response()
        self._show_paging()
        self._show_code()
        self._update_nav()

    def _show_indicator(self) -> None:
        """The step pills: the current one pressed, the ones not reachable now dimmed, saying why."""
        state, pills = self.state, [(f"{s.number} {s.title}", s.key) for s in STEPS]
        why = [state.reach_problem(s.key) if not self._connecting else "activate a connection first" for s in STEPS]
        if self._connecting:
            pills, why = [("Connect", "connect"), *pills], [None, *why]
        self._syncing = True
        try:
            if list(self.indicator.options) != pills:
                self.indicator.options = pills
            self.indicator.value = "connect" if self._connecting else state.step
            tips = [f"Not now: {w}" if w else f"Go to {label}" for (label, _), w in zip(pills, why, strict=True)]
            self.indicator.tooltips = tips
            self.indicator.icons = ["" if w is None else "lock" for w in why]
        finally:
            self._syncing = False
        css = f".twibox-steps-{self._uid}"
        dim = "".join(
            f"{css} button:nth-of-type({i}){{opacity:.5;border-style:dashed;cursor:not-allowed}}"
            for i, w in enumerate(why, 1) if w is not None
        )  # fmt: skip
        self.title.value = title_html(css, dim)  # the pills' look and the builder's CSS (._style)

    def _show_response(self, tree: bool = True) -> None:
        page = self.state.first_page
        if page is None or self._connecting:
            if self._response is not None:
                self._response.layout.display = "none"
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
        busy = self.busy.active  # an action runs: nothing that would act again is enabled
        if self._fetch_error is not None and self.state.fetch_error is not self._fetch_error:
            self.error.clear()  # its cause changed: the request was edited since that fetch
            self._fetch_error = None
        if self._connecting:
            self.back_button.disabled = True
            self.continue_button.disabled = True
            self.nav_note.value = f"<span style='{NOTE_STYLE}'>Activate a connection (or the sandbox) to start.</span>"
            return
        state = self.state
        self.back_button.disabled = busy or state.step == STEPS[0].key
        problem = state.continue_problem()
        self.continue_button.disabled = busy or problem is not None
        if state.step == "request" and problem is None:
            self.continue_button.tooltip = "Fetches the first page, then select the value"
        self.nav_note.value = f"<span style='{NOTE_STYLE}'>{esc(problem)}</span>" if problem else ""
        if not busy:
            self._show_indicator()  # what is reachable may have changed (a new request, a value chosen)
        if state.step == "request" and self.state.first_page is not None:
            self._show_response(tree=False)  # only the "changed since" mark: the tree is unchanged
