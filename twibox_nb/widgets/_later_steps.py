"""Steps 4–6, "Select date", "Preview & customize" and "Describe metric", as thin panels.

Every decision is the state's (:class:`~twibox_nb.builder.state.BuilderState`): these panels show its
choices, pass edits on, and show what it refuses or what fails (an expression's error with a
caret under its position) next to the control that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .._exceptions import ChoiceError, ExpressionError, TwiboxError
from ..builder.describe import DESCRIBED
from ..builder.preview import DateChoice, point_at
from ..builder.state import BuilderState
from ..builder.token_menu import PREVIEW_RANGES, range_text
from ..model.dates import INTERVALS
from ..model.spec import AGGREGATIONS, Dynamic
from ..model.units import KNOWN_UNITS, format_value
from ._codeeditor import code_editor_widget, copy_button_widget
from ._common import NOTE_STYLE, OK_STYLE, ErrorArea, classed, esc
from ._field_steps import WARN_STYLE, Guard, _ChoiceStep

CHART_SIZE = {"width": 480, "height": 180}
#: The units the Describe step offers (any other word, or another currency code, may be typed).
UNIT_CHOICES = (*KNOWN_UNITS, "USD", "EUR", "GBP")
AGGREGATION_HELP = {
    "latest": "latest: the most recent value in each interval (a balance, a level)",
    "sum": "sum: add the values up (counts, costs)",
    "min": "min: the smallest value",
    "max": "max: the largest value",
    "average": "average: the mean of the values",
    "count": "count: the number of records that have a value",
}


class DateStep(_ChoiceStep):
    """Step 4: the time of storing (dynamic), or a date field shown with an example read as UTC."""

    key = "date"
    css = "date"
    intro = (
        "Optional: the date each value belongs to. Choose a date field of the records (RFC 2822 as in "
        "the 2010 API, or ISO 8601 as in the product APIs: both are read as UTC), or the time of storing "
        "for values that have no date of their own, such as a balance."
    )

    def offered(self) -> list[DateChoice]:  # type: ignore[override]
        return self.state.date_choices(self.show_all.value)  # with why the others are not dates

    def chosen(self) -> Any:
        return self.state.effective_date

    def select(self, value: Any) -> None:
        if value is not None:
            self.state.select_date(value)

    def describe(self) -> str:
        date = self.state.effective_date
        default = " (the endpoint's own date: the default)" if self.state.date is None else ""
        if isinstance(date, Dynamic):
            text = (
                "Each fetch stamps its value with the time it ran: one value per fetch, so store the "
                f"values to build a history{default}."
            )
        else:
            choice = next((c for c in self.state.date_choices() if c.value == date), None)
            if choice is not None and choice.parsed is not None:
                text = (
                    f"Date: <code>{esc(date.path)}</code>{esc(default)} · {esc(choice.kind)} · raw "
                    f"<code class='twibox-builder-date-raw'>{esc(choice.example)}</code> → "
                    f"<code class='twibox-builder-date-parsed'>{choice.parsed:%Y-%m-%d %H:%M:%S} UTC</code>"
                )
            else:
                text = f"Date: <code>{esc(date.path)}</code>{esc(default)}"
        return f"<div style='{NOTE_STYLE}'>{text}</div>"


class PreviewStep(widgets.VBox):
    """Step 5: the expression (generated, or customised and resettable) and a preview of the data."""

    def __init__(self, state: BuilderState, guard: Guard, changed: Callable[[], None], run: Callable[[], None]) -> None:
        self.state, self._changed, self._run = state, changed, run
        self.expression = classed(code_editor_widget(), "builder-expression")
        self.origin = classed(widgets.HTML(), "builder-expression-origin")
        self.preview_button = classed(
            widgets.Button(description="Preview data", icon="play", button_style="primary"), "builder-preview-run"
        )
        self.reset_button = classed(
            widgets.Button(description="Reset to generated", icon="undo"), "builder-expression-reset"
        )
        self.error = ErrorArea("builder-expression-error")
        self.pointer = classed(widgets.HTML(), "builder-expression-pointer")
        self.summary = classed(widgets.HTML(), "builder-preview-summary")
        self.table = classed(widgets.HTML(), "builder-preview-table")
        self.chart = classed(widgets.HTML(), "builder-preview-chart")
        self.stale = classed(widgets.HTML(), "builder-preview-stale")
        self.preview_button.on_click(guard(lambda _b: self._run()))
        self.reset_button.on_click(guard(self._reset))
        # Every keystroke (the editor's draft) and every sent text: say at once whether the text is
        # the generated one, and whether the preview shown still matches it.
        for trait in ("draft", "value"):
            if self.expression.has_trait(trait):
                self.expression.observe(guard(lambda _c: self._typed()), names=trait)
        intro = widgets.HTML(
            f"<div style='{NOTE_STYLE}'>The JSONata expression turns each page into rows "
            "(<code>date</code>, <code>value</code>, <code>dimension</code>). It is generated from your "
            "choices; edit it to customise the metric (an edited expression wins over the choices). "
            "Preview data runs it over the pages already fetched: no new requests.</div>"
        )
        super().__init__(
            [
                intro,
                self.expression,
                self.origin,
                widgets.HBox([self.preview_button, self.reset_button]),
                self.error,
                self.pointer,
                self.stale,
                self.summary,
                widgets.HBox([self.table, self.chart], layout=widgets.Layout(align_items="flex-start")),
            ]
        )
        classed(self, "builder-step-preview")

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.expression, self.preview_button, self.reset_button]

    def refresh(self) -> None:
        """Entering the step: show the expression and preview (fetching the pages the first time)."""
        self._set_text(self.state.expression)
        self._run()

    def _set_text(self, text: str) -> None:
        self.expression.value = text
        if self.expression.has_trait("draft"):
            self.expression.draft = text

    @property
    def typed(self) -> str:
        """The editor's text as typed so far (sent or not)."""
        draft = getattr(self.expression, "draft", "")
        return draft or self.expression.value

    def _typed(self) -> None:
        self._show_origin()
        self._show_stale()

    def apply(self) -> bool:
        """Pass the typed expression on; a syntax error is shown with its position (False then)."""
        text = self.expression.value
        if text == self.state.expression:
            return True
        try:
            self.state.set_expression(text)
        except ExpressionError as exc:
            self.state.preview_error = exc
            self.show_error(exc, text)
            self._changed()
            return False
        return True

    def show_error(self, exc: BaseException, text: str | None = None) -> None:
        self.error.show(exc)
        position = getattr(exc, "position", None)
        if hasattr(self.expression, "error_position"):  # the highlighted editor marks it in place
            self.expression.error_position = position if isinstance(position, int) else -1
        where = point_at(text if text is not None else self.state.expression, getattr(exc, "position", None))
        self.pointer.value = (
            f"<pre style='margin:2px 0;color:#82071e;font-size:12px'>{esc(where)}</pre>" if where else ""
        )
        self._show_origin()
        self._show_stale()

    def clear_error(self) -> None:
        self.error.clear()
        self.pointer.value = ""
        if hasattr(self.expression, "error_position"):
            self.expression.error_position = -1

    def _show_origin(self) -> None:
        if self.state.expression_origin(self.typed) == "customised":
            self.origin.value = (
                f"<div style='{NOTE_STYLE}'><b>Customised</b>: this expression wins over the value, dimension "
                "and date choices; Reset to generated drops it.</div>"
            )
        else:
            self.origin.value = f"<div style='{NOTE_STYLE}'>Generated from your choices.</div>"
        self.reset_button.disabled = not (self.state.customised or self.state.differs_from_generated(self.typed))

    def _show_stale(self) -> None:
        why = self.state.preview_stale(self.typed)
        self.stale.value = (
            f"<div class='twibox-builder-stale' style='{WARN_STYLE};margin-top:6px'>Stale preview: {esc(why)}. "
            "The data below is from the last preview that worked.</div>"
            if why
            else ""
        )

    def _reset(self, _button=None) -> None:
        self.state.reset_expression()
        self._set_text(self.state.expression)
        self._run()

    def show_result(self) -> None:
        """Show the state's preview: the total, the first rows of the aggregated frame, a small chart.

        After a failure the last preview that worked stays, marked stale (the same for a syntax
        error, a timeout or any other failure); before any preview, nothing is shown.
        """
        self._show_origin()
        current = self.state.result
        if current is not None:
            self.clear_error()
            self._set_text(self.state.expression)
        result = current if current is not None else self.state.shown_preview
        self._show_stale()
        self._show_origin()
        if result is None:
            self.summary.value = self.table.value = self.chart.value = ""
            return
        spec = result.spec
        unit = self.state.unit
        value = "no data" if result.summary.current is None else format_value(result.summary.current, unit)
        self.summary.value = (
            f"<div style='margin-top:6px'><b>Preview</b> {esc(range_text(result.date_range))} by "
            f"{esc(result.interval)} · {esc(spec.aggregation)}: "
            f"<b class='twibox-builder-preview-total'>{esc(value)}</b> · "
            f"{len(result.rows):,} rows from {result.records:,} records</div>"
        )
        frame = self.state.preview_table(result=result)
        shown = frame.to_html(
            index=False, border=0, classes="twibox-builder-preview-rows", float_format=lambda v: format_value(v, unit)
        )
        more = len(result.data) - len(frame)
        tail = f"<div style='{NOTE_STYLE}'>… {more:,} more rows in builder.result.data</div>" if more > 0 else ""
        self.table.value = f"<div class='twibox-table-box' style='font-size:12px;margin-right:16px'>{shown}{tail}</div>"
        self.chart.value = _chart_svg(result, self.state.value_label)


def _retitle(node: Any, label: str) -> Any:
    """A Vega-Lite spec with every title of the ``value`` field (axis, tooltip) set to ``label``."""
    if isinstance(node, list):
        return [_retitle(item, label) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _retitle(item, label) for key, item in node.items()}
    if out.get("field") == "value" and "title" in out:
        out["title"] = label
    return out


def _chart_svg(result: Any, label: str | None = None) -> str:
    """The preview's chart as inline SVG, its value titled ``label`` (the metric's name or unit, not
    the raw field); a chart that cannot be drawn says why (the data is still there)."""
    if result.data.empty:
        return f"<div style='{NOTE_STYLE}'>No rows in the range: nothing to chart.</div>"
    from ..present.chart_export import to_svg

    try:
        chart = result.chart(**CHART_SIZE)
        svg = to_svg(_retitle(chart.to_dict(), label) if label else chart)
    except Exception as exc:  # the chart is a bonus: the preview's data stays shown
        return f"<div style='{WARN_STYLE}'>The chart could not be drawn: {esc(type(exc).__name__)}: {esc(exc)}</div>"
    return f"<div class='twibox-builder-chart-svg'>{svg}</div>"


class DescribeStep(widgets.VBox):
    """Step 6: name, description, aggregation, favourable trend, default range and interval; Save."""

    def __init__(
        self, state: BuilderState, guard: Guard, changed: Callable[[], None], saved: Callable[[], None]
    ) -> None:
        self.state, self._changed, self._saved = state, changed, saved
        self._syncing = False
        wide = widgets.Layout(width="560px")
        self.name = classed(widgets.Text(description="Name", continuous_update=False, layout=wide), "builder-name")
        self.description = classed(
            widgets.Textarea(description="Description", rows=2, continuous_update=False, layout=wide),
            "builder-description",
        )
        self.aggregation = classed(
            widgets.Dropdown(
                description="Aggregation",
                options=[(AGGREGATION_HELP[a], a) for a in AGGREGATIONS],
                layout=widgets.Layout(width="560px"),
            ),
            "builder-aggregation",
        )
        self.trend = classed(
            widgets.ToggleButtons(
                description="Favourable", options=[("Up is good", "up"), ("Down is good", "down")], value="up"
            ),
            "builder-trend",
        )
        self.date_range = classed(
            widgets.Combobox(
                description="Range",
                options=list(PREVIEW_RANGES),
                ensure_option=False,
                continuous_update=False,
                placeholder="last_30_days, last_4_weeks, since:2026-01-01 …",
            ),
            "builder-date-range",
        )
        self.interval = classed(widgets.Dropdown(description="Interval", options=list(INTERVALS)), "builder-interval")
        self.unit = classed(
            widgets.Combobox(
                description="Unit", options=list(UNIT_CHOICES), ensure_option=False, continuous_update=False,
                placeholder="count, percent, seconds, USD … (optional)",
            ),
            "builder-unit",
        )
        self.note = classed(widgets.HTML(), "builder-describe-note")
        self.value = classed(widgets.HTML(), "builder-describe-value")
        self.path = classed(
            widgets.Text(description="Save to", continuous_update=False, layout=wide), "builder-save-path"
        )
        self.save_button = classed(
            widgets.Button(description="Save", icon="save", button_style="success"), "builder-save"
        )
        self.saved = classed(widgets.HTML(), "builder-saved")
        self.code = classed(widgets.HTML(), "builder-describe-code")
        self.copy = copy_button_widget(label="Copy as code")
        if self.copy is not None:
            classed(self.copy, "builder-copy-code")
            self.copy.observe(guard(lambda _c: self._copied()), names="status")
        self.copy_note = classed(widgets.HTML(), "builder-copy-note")
        self._inputs: dict[str, widgets.Widget] = {
            "name": self.name,
            "description": self.description,
            "aggregation": self.aggregation,
            "favourable_trend": self.trend,
            "date_range": self.date_range,
            "interval": self.interval,
        }
        for key, control in self._inputs.items():
            control.observe(guard(lambda change, key=key: self._edited(key, change["new"])), names="value")
        self.save_button.on_click(guard(self._save))
        self.unit.observe(guard(self._unit), names="value")
        self.path.observe(guard(self._path_typed), names="value")
        copy_row = [self.copy] if self.copy is not None else []
        super().__init__(
            [
                widgets.HTML(f"<div style='{NOTE_STYLE}'>Describe the metric, then save it as a JSON spec file.</div>"),
                *self._inputs.values(),
                self.unit,
                self.note,
                self.value,
                widgets.HBox([self.path, self.save_button]),
                self.saved,
                widgets.HBox([*copy_row, self.copy_note]),
                self.code,
            ]
        )
        classed(self, "builder-step-describe")

    @property
    def controls(self) -> list[widgets.Widget]:
        copy = [self.copy] if self.copy is not None else []
        return [*self._inputs.values(), self.unit, self.path, self.save_button, *copy]

    def refresh(self) -> None:
        spec = self.state.spec
        self._syncing = True
        try:
            for key in DESCRIBED:
                self._inputs[key].value = getattr(spec, key)
            self.unit.value = self.state.unit or ""
        finally:
            self._syncing = False
        self._show_path()
        self._show_value()

    def _show_path(self) -> None:
        """"Save to" follows the name until the analyst types a path (the state keeps which)."""
        self._syncing = True
        try:
            self.path.value = self.state.save_path
        finally:
            self._syncing = False
        self._show_code()

    def _path_typed(self, change) -> None:
        if self._syncing:
            return
        self.state.set_save_path(change["new"])
        self._show_code()

    def _unit(self, change) -> None:
        if self._syncing:
            return
        try:
            self.state.set_unit(change["new"])
        except ChoiceError as exc:
            self.note.value = f"<div style='{WARN_STYLE}'>✗ {esc(exc.detail)}</div>"
            return
        self.note.value = ""
        self._show_value()
        self._changed()

    def _show_code(self) -> None:
        """The lines that fetch this metric headlessly, and the button that copies them."""
        try:
            text = self.state.copy_as_code()
        except TwiboxError as exc:
            text = f"# The metric is not complete yet: {exc}"
        if self.copy is not None:
            self.copy.text = text
        self.copy_note.value = (
            f"<span style='{NOTE_STYLE}'>the lines that fetch this metric in a report notebook</span>"
        )
        self.code.value = (
            f"<pre class='twibox-builder-describe-code-text' style='background:#f6f8fa;border:1px solid #d0d7de;"
            f"border-radius:6px;padding:8px;user-select:text;max-height:220px;overflow:auto'>{esc(text)}</pre>"
        )

    def _copied(self) -> None:
        status = self.copy.status if self.copy is not None else ""
        if status == "copied":
            self.copy_note.value = f"<span style='{OK_STYLE};padding:2px 8px'>Copied</span>"
        elif status:
            self.copy_note.value = f"<span style='{WARN_STYLE};padding:2px 8px'>{esc(status)}</span>"

    def _edited(self, key: str, value: Any) -> None:
        if self._syncing:
            return
        try:
            self.state.describe(**{key: value})
        except ChoiceError as exc:
            self.note.value = f"<div style='{WARN_STYLE}'>✗ {esc(exc.detail)}</div>"
            return
        self.note.value = ""
        if key == "name":
            self._show_path()  # "Save to" follows the name until a path is typed
        self._show_value()
        self._show_code()
        self._changed()

    def _show_value(self) -> None:
        result = self.state.result
        if result is None:
            self.value.value = ""
            return
        current = result.summary.current
        shown = "no data" if current is None else format_value(current, self.state.unit)
        self.value.value = (
            f"<div style='{NOTE_STYLE}'>{esc(self.state.value_label)} over the preview range "
            f"({esc(range_text(result.date_range))}): <b class='twibox-builder-describe-total'>{esc(shown)}</b>"
            f" ({esc(result.spec.aggregation)}); "
            "<code>builder.result</code> holds the preview, <code>builder.spec</code> the metric.</div>"
        )

    def _save(self, _button=None) -> None:
        try:
            where = self.state.save(self.path.value if self.path.value.strip() else None)
        except (ChoiceError, TwiboxError) as exc:
            detail = getattr(exc, "detail", str(exc))
            self.saved.value = f"<div style='{WARN_STYLE}'>✗ {esc(detail)}</div>"
            return
        from pathlib import Path

        self.saved.value = (
            f"<div style='{OK_STYLE}'>Saved to <code class='twibox-builder-saved-path'>"
            f"{esc(Path(where).resolve())}</code>. Load it with <code>tb.load_metric({esc(repr(where))})</code>.</div>"
        )
        self._show_path()  # saved there: the path stays (a rename now renames the metric, not the file)
        self._saved()
