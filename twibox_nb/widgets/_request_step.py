"""Step 1, "Prepare API request": a thin view of :class:`~twibox_nb.builder.state.BuilderState`'s request.

Every control writes straight into the state and every label is read back from it; nothing here
decides anything (which tokens a filter wants, what a token resolves to, whether the request is
valid: all of that is the state's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .._exceptions import TwiboxError
from ..builder.request_step import POST_DISABLED_REASON, base_urls, best_endpoint, search_endpoints
from ..builder.state import BuilderState
from ..model.spec import PAGE_CAPS
from ._common import MUTED, NOTE_STYLE, classed, esc, link

Guard = Callable[[Callable[..., Any]], Callable[..., Any]]
RULE_NAMES = {"on": "on", "on_or_before": "on or before", "before": "before", "on_or_after": "on or after"}


def _section(title: str, hint: str = "") -> widgets.HTML:
    extra = f" <span style='{NOTE_STYLE};font-weight:normal'>{esc(hint)}</span>" if hint else ""
    return widgets.HTML(f"<div style='margin-top:8px;font-weight:600'>{esc(title)}{extra}</div>")


def _left() -> widgets.Layout:
    """A button as wide as its label, on the left (in a VBox it would stretch across)."""
    return widgets.Layout(width="auto", align_self="flex-start")


def _text(value: str, placeholder: str, width: str, name: str) -> widgets.Text:
    return classed(widgets.Text(value=value, placeholder=placeholder, layout=widgets.Layout(width=width)), name)


class _RowControls:
    """Key, value and remove of one parameter or header row, wired to the builder state's ``kind`` rows."""

    kind = "params"  # or "headers": the BuilderState rows this row edits

    def _controls(self, step: RequestStep, index: int, placeholder: str, noun: str) -> None:
        self.step, self.index = step, index
        row = getattr(step.state, self.kind)[index]
        css = "builder-param" if self.kind == "params" else "builder-header"
        self.key = _text(row.key, placeholder, "190px", f"{css}-key")
        self.value = _text(row.value, "Value", "230px", f"{css}-value")
        self.remove = classed(
            widgets.Button(icon="trash", tooltip=f"Remove this {noun}", layout=widgets.Layout(width="40px")),
            f"{css}-remove",
        )
        self.key.observe(step.guard(self._edited), names="value")
        self.value.observe(step.guard(self._edited), names="value")
        self.remove.on_click(step.guard(self._remove))

    def _edited(self, _change=None) -> None:
        self.step.state.set_row(self.kind, self.index, key=self.key.value, value=self.value.value)
        self.step.changed()

    def _remove(self, _button=None) -> None:
        self.step.state.remove_row(self.kind, self.index)
        self.step.rebuild_rows()


class _ParamRow(_RowControls, widgets.VBox):
    """Key, value, a calendar button with its token menu, what the value resolves to, remove."""

    def __init__(self, step: RequestStep, index: int) -> None:
        self._controls(step, index, "Key", "parameter")
        self.calendar = classed(
            widgets.Button(icon="calendar", tooltip="Insert a date token", layout=widgets.Layout(width="40px")),
            "builder-param-date",
        )
        self.resolved = classed(widgets.HTML(), "builder-param-resolved")
        self.menu = classed(
            widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", margin="0 0 0 24px")), "builder-token-menu"
        )
        self.menu.layout.display = "none"
        self.calendar.on_click(step.guard(self._toggle_menu))
        super().__init__([widgets.HBox([self.key, self.value, self.calendar, self.remove, self.resolved]), self.menu])
        classed(self, "builder-param-row")
        self.show_resolved()
        self.show_calendar()

    def show_calendar(self) -> None:
        """The calendar only where the parameter takes a date (not on an empty key, not on PageSize)."""
        takes = self.step.state.takes_date(self.index)
        self.calendar.layout.visibility = None if takes else "hidden"  # hidden, so the rows stay aligned
        self.calendar.disabled = not takes
        if not takes:
            self.menu.layout.display = "none"

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.key, self.value, self.calendar, self.remove, *self.menu.children]

    def _edited(self, _change=None) -> None:
        self.step.state.set_row("params", self.index, key=self.key.value, value=self.value.value)
        self.show_resolved()
        self.show_calendar()
        if self.menu.layout.display != "none":
            self._fill_menu()
        self.step.changed()

    def show_resolved(self) -> None:
        preview = self.step.state.row_preview(self.index)
        if preview.error:
            self.resolved.value = f"<span style='color:#cf222e'>{esc(preview.error)}</span>"
        elif preview.text:
            self.resolved.value = (
                f"<span title='{esc(preview.detail)}' style='color:{MUTED}'>→ <code>{esc(preview.text)}</code></span>"
            )
        else:
            self.resolved.value = ""

    def _toggle_menu(self, _button=None) -> None:
        if self.menu.layout.display == "none":
            self._fill_menu()
            self.menu.layout.display = None
        else:
            self.menu.layout.display = "none"

    def _fill_menu(self) -> None:
        buttons = []
        for choice in self.step.state.token_choices(self.key.value.strip()):
            button = classed(
                widgets.Button(
                    description=f"{choice.label} → {choice.value}",
                    tooltip=f"Insert {choice.text}",
                    button_style="info" if choice.suggested else "",
                    layout=widgets.Layout(width="auto"),
                ),
                "builder-token",
                f"builder-token-{choice.token.replace('_', '-')}",
            )
            button.on_click(self.step.guard(lambda _b, token=choice.token: self._insert(token)))
            buttons.append(button)
        self.menu.children = buttons

    def _insert(self, token: str) -> None:
        self.step.state.insert_token(self.index, token)
        self.value.value = self.step.state.params[self.index].value  # observer updates the rest
        self.menu.layout.display = "none"


class _HeaderRow(_RowControls, widgets.HBox):
    """Header name, value and remove."""

    kind = "headers"

    def __init__(self, step: RequestStep, index: int) -> None:
        self._controls(step, index, "Header", "header")
        super().__init__([self.key, self.value, self.remove])
        classed(self, "builder-header-row")

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.key, self.value, self.remove]


class RequestStep(widgets.VBox):
    """The controls of step 1. ``changed()`` is called after every edit (the builder re-checks Continue)."""

    key = "request"

    def __init__(
        self,
        state: BuilderState,
        guard: Guard,
        changed: Callable[[], None],
        change_connection: Callable[[], None] | None = None,
    ) -> None:
        self.state, self.guard, self._changed = state, guard, changed
        self._syncing = True  # until the controls show the state (no search chooses anything meanwhile)
        g = guard
        self.source = classed(widgets.HTML(), "builder-source")
        self.change_connection = classed(
            widgets.Button(description="Change", icon="exchange", layout=widgets.Layout(width="auto")),
            "builder-change-connection",
        )
        self.change_connection.layout.display = None if change_connection else "none"
        if change_connection:
            self.change_connection.on_click(g(lambda _b: change_connection()))

        self.method = classed(widgets.ToggleButtons(options=["GET"], value="GET"), "builder-method")
        self.method.style.button_width = "64px"
        self.post = classed(
            widgets.Button(description="POST", disabled=True, tooltip=POST_DISABLED_REASON), "builder-method-post"
        )
        self.post.layout.width = "64px"
        self.method_note = classed(
            widgets.HTML(f"<span style='{NOTE_STYLE}'>{esc(POST_DISABLED_REASON)}</span>"), "builder-method-note"
        )

        self.search = classed(
            widgets.Text(
                placeholder="Search the catalogue: messages, calls, alerts…", layout=widgets.Layout(width="300px")
            ),
            "builder-endpoint-search",
        )
        self.endpoint = classed(widgets.Dropdown(layout=widgets.Layout(width="360px")), "builder-endpoint")
        self.base_url = classed(
            widgets.Dropdown(options=base_urls(), description="Base URL", layout=widgets.Layout(width="420px")),
            "builder-base-url",
        )
        self.path = classed(
            widgets.Combobox(
                placeholder="/2010-04-01/Accounts/{AccountSid}/Messages.json",
                description="Endpoint",
                ensure_option=False,
                layout=widgets.Layout(width="620px"),
            ),
            "builder-path",
        )
        self.docs = classed(widgets.HTML(), "builder-docs")

        self.params = classed(widgets.VBox(), "builder-params")
        self.add_param = classed(
            widgets.Button(description="Add parameter", icon="plus", layout=_left()),
            "builder-param-add",
        )
        self.headers = classed(widgets.VBox(), "builder-headers")
        self.add_header = classed(
            widgets.Button(description="Add header", icon="plus", layout=_left()),
            "builder-header-add",
        )
        self.pagination = classed(
            widgets.Dropdown(
                options=[("None: the first page only", "none"), ("Next page: follow Twilio's links", "next_page")],
                description="Pagination",
                layout=widgets.Layout(width="420px"),
            ),
            "builder-pagination",
        )
        self.max_pages = classed(
            widgets.BoundedIntText(
                min=PAGE_CAPS[0], max=PAGE_CAPS[-1], description="Page cap", layout=widgets.Layout(width="180px")
            ),
            "builder-max-pages",
        )
        self.preview_range = classed(
            widgets.Dropdown(description="Preview range", layout=widgets.Layout(width="420px")),
            "builder-preview-range",
        )
        self.url = classed(widgets.HTML(), "builder-url")
        self.fetch_note = classed(widgets.HTML(), "builder-fetch-note")
        for control in (self.base_url, self.path, self.pagination, self.preview_range):
            control.style.description_width = "100px"

        self.search.observe(g(self._search), names="value")
        self.endpoint.observe(g(self._choose), names="value")
        self.base_url.observe(g(self._base_url), names="value")
        self.path.observe(g(self._path), names="value")
        self.add_param.on_click(g(self._add_param))
        self.add_header.on_click(g(self._add_header))
        self.pagination.observe(g(self._paging), names="value")
        self.max_pages.observe(g(self._paging), names="value")
        self.preview_range.observe(g(self._range), names="value")

        super().__init__(
            [
                widgets.HBox([self.source, self.change_connection]),
                widgets.HBox([self.method, self.post]),
                self.method_note,
                _section("Endpoint", "start from the catalogue, or type any read-only path"),
                widgets.HBox([self.search, self.endpoint]),
                self.base_url,
                self.path,
                self.docs,
                _section("Parameters", "key/value pairs; the calendar inserts a date token"),
                self.params,
                self.add_param,
                _section("Headers", "rarely needed; credentials come from the connection"),
                self.headers,
                self.add_header,
                _section("Pagination & preview"),
                widgets.HBox([self.pagination, self.max_pages]),
                self.preview_range,
                self.url,
                self.fetch_note,
            ]
        )
        classed(self, "builder-step-request")
        self._list_endpoints("")
        self._syncing = False
        self.refresh()

    # --- state → controls ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the state (after a step change, a catalogue choice or opening a saved metric)."""
        state = self.state
        self._syncing = True
        try:
            self.source.value = _source_html(state)
            options = list(self.base_url.options)
            if state.base_url not in options:
                self.base_url.options = [*options, state.base_url]  # a host the list does not know
            self.base_url.value = state.base_url
            self._path_options()
            self.path.value = state.path
            self.pagination.value = state.pagination
            self.max_pages.value = state.max_pages
            self.preview_range.options = state.preview_range_options()
            self.preview_range.value = state.preview_range
            self._show_catalogue_choice()
        finally:
            self._syncing = False
        self.rebuild_rows()

    def _show_catalogue_choice(self) -> None:
        """The catalogue menu shows the entry the request matches (after opening a saved metric too)."""
        name = self.state.catalogue_choice
        if name is not None and name not in [value for _, value in self.endpoint.options]:
            self.search.value = ""  # every endpoint listed again (the observer is muted while syncing)
            self._list_endpoints("")
        self.endpoint.value = name

    def rebuild_rows(self) -> None:
        self.params.children = [_ParamRow(self, i) for i in range(len(self.state.params))]
        self.headers.children = [_HeaderRow(self, i) for i in range(len(self.state.headers))]
        self.changed()

    def changed(self) -> None:
        """After any edit: the docs, the URL preview, and the builder's Continue."""
        state = self.state
        endpoint = state.endpoint
        if endpoint is not None:
            filters = ", ".join(
                f"<code>{esc(f.param)}</code> ({RULE_NAMES.get(f.rule or '', 'rule not documented')})"
                for f in endpoint.filters
            )
            self.docs.value = (
                f"<div style='{NOTE_STYLE}'><b>{esc(endpoint.name)}</b>: {esc(endpoint.description)}. "
                + (link(endpoint.docs, "API docs ↗") if endpoint.docs else "")
                + (f"<br>Date filters: {filters}" if filters else "<br>No date filters: use a dynamic date.")
                + (f"<br>Records under <code>{esc(endpoint.list_key)}</code>" if endpoint.list_key else "")
                + "</div>"
            )
        else:
            self.docs.value = (
                f"<div style='{NOTE_STYLE}'>Not in the catalogue: any GET path works; "
                f"{link('https://www.twilio.com/docs/usage/api', 'Twilio API reference ↗')}</div>"
            )
        self.fetch_note.value = (
            f"<div style='{NOTE_STYLE};color:#9a6700'>The response shown was fetched for an earlier request: "
            "Continue fetches this one.</div>"
            if state.first_page_stale
            else ""
        )
        problem = state.request_problem()
        if problem:
            self.url.value = f"<div style='{NOTE_STYLE};color:#9a6700'>⚠ {esc(problem)}</div>"
        else:
            self.url.value = (
                f"<div style='{NOTE_STYLE}'>First page for the preview range:<br>"
                f"<code style='word-break:break-all'>GET {esc(state.preview_url())}</code></div>"
            )
        self._changed()

    @property
    def controls(self) -> list[widgets.Widget]:
        """Everything a click could change (disabled while a request runs)."""
        rows = [c for row in (*self.params.children, *self.headers.children) for c in row.controls]
        return [
            self.search, self.endpoint, self.base_url, self.path, self.add_param, self.add_header,
            self.pagination, self.max_pages, self.preview_range, self.change_connection, *rows,
        ]  # fmt: skip

    # --- controls → state ----------------------------------------------------------------------
    def _path_options(self) -> None:
        self.path.options = [e.path for e in search_endpoints("", self.state.base_url)]

    def _list_endpoints(self, text: str) -> None:
        found = search_endpoints(text)
        options: list[tuple[str, str | None]] = [
            (f"Choose from {len(found)} catalogue endpoint{'s' if len(found) != 1 else ''}…", None)
        ]
        options += [(f"{e.name} ({e.product})", e.name) for e in found]
        self.endpoint.options = options

    def _search(self, _change=None) -> None:
        """List the matches, best first, and choose the best one as the analyst types."""
        text = self.search.value
        best = best_endpoint(text) if not self._syncing else None
        self._syncing = True
        try:
            self._list_endpoints(text)
            current = self.state.catalogue_choice
            self.endpoint.value = current if current in [v for _, v in self.endpoint.options] else None
        finally:
            self._syncing = False
        if best is not None and best.name != self.state.catalogue_choice:
            self.endpoint.value = best.name  # the observer chooses it (and fills its parameters)

    def _choose(self, change) -> None:
        if self._syncing or change["new"] is None:
            return
        self.state.choose_endpoint(change["new"])
        self.refresh()

    def _base_url(self, change) -> None:
        if self._syncing:
            return
        self.state.set_base_url(change["new"])
        self._path_options()
        self.changed()

    def _path(self, change) -> None:
        if self._syncing:
            return
        self.state.set_path(change["new"])
        # A catalogue path may have filled the suggested parameters (and the paging): show them.
        shown = [(row.key.value, row.value.value) for row in self.params.children]
        split = self.state.path != change["new"].strip()  # a whole Twilio URL: host and query taken apart
        if split or shown != [(p.key, p.value) for p in self.state.params]:
            self.refresh()
        else:
            self.changed()

    def _add_param(self, _button=None) -> None:
        self.state.add_row("params")
        self.rebuild_rows()

    def _add_header(self, _button=None) -> None:
        self.state.add_row("headers")
        self.rebuild_rows()

    def _paging(self, _change=None) -> None:
        if self._syncing:
            return
        self.state.set_pagination(self.pagination.value, self.max_pages.value)
        self.changed()

    def _range(self, change) -> None:
        if self._syncing or change["new"] is None:
            return
        self.state.set_preview_range(change["new"])
        for row in self.params.children:
            row.show_resolved()
        self.changed()


def _source_html(state: BuilderState) -> str:
    conn = state.conn
    if conn is None:
        badge = "<span style='color:#9a6700'>not connected</span>"
    elif conn.is_sandbox:
        badge = (
            "<span style='background:#fff8c5;border:1px solid #d4a72c;border-radius:4px;padding:1px 6px'>"
            f"{esc(conn.label)}</span>"
        )
    else:
        badge = f"<b>{esc(conn.label)}</b>"
    where = ""
    try:
        routed = state.routed_base_url
    except TwiboxError:
        routed = state.base_url  # not a Twilio host: the request check says so below
    if conn is not None and routed != state.base_url:
        where = f" <span style='{NOTE_STYLE}'>(requests go to {esc(routed)})</span>"
    return f"<div>Data source: {badge}{where}</div>"
