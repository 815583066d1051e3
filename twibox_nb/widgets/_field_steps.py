"""Steps 2 and 3, "Select value" and "Segment by dimension": lists of the state's choices.

The state says which fields are offered, with what label, and why a field is refused; these
panels list them, pass the pick on, and show the explanation when the state refuses it (the
previous choice stays selected).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .._exceptions import ChoiceError
from ..builder.field_choices import Choice
from ..builder.state import BuilderState
from ..model.spec import Count, Field
from ._common import MUTED, NOTE_STYLE, classed, esc

Guard = Callable[[Callable[..., Any]], Callable[..., Any]]
WARN_STYLE = "color:#9a6700;background:#fff8c5;border:1px solid #d4a72c66;border-radius:6px;padding:6px 10px"
MAX_VALUES_SHOWN = 25


def _options(choices: list[Any]) -> list[tuple[str, Any]]:
    """The list's entries: an unusable field says why in a few words ("✗ text, not a number")."""
    return [(c.shown, c.value) for c in choices]


class _ChoiceStep(widgets.VBox):
    """A list of choices, a "show all fields" switch and a note; subclasses say what is chosen."""

    key = ""
    intro = ""
    css = ""

    def __init__(self, state: BuilderState, guard: Guard, changed: Callable[[], None]) -> None:
        self.state, self.guard, self._changed = state, guard, changed
        self._syncing = False
        self.choices = classed(
            widgets.Select(options=[], rows=12, layout=widgets.Layout(width="720px")), f"builder-{self.css}"
        )
        self.show_all = classed(
            widgets.Checkbox(value=False, description="Show all fields (with why they cannot be used)", indent=False),
            f"builder-{self.css}-all",
        )
        self.show_all.layout.width = "auto"
        self.note = classed(widgets.HTML(), f"builder-{self.css}-note")
        self.choices.observe(guard(self._picked), names="value")
        self.show_all.observe(guard(lambda _c: self.refresh()), names="value")
        super().__init__(
            [widgets.HTML(f"<div style='{NOTE_STYLE}'>{self.intro}</div>"), self.choices, self.show_all, self.note]
        )
        classed(self, f"builder-step-{self.key}")

    @property
    def controls(self) -> list[widgets.Widget]:
        return [self.choices, self.show_all]

    def offered(self) -> list[Choice]:  # pragma: no cover - each step defines it
        raise NotImplementedError

    def chosen(self) -> Any:  # pragma: no cover
        raise NotImplementedError

    def select(self, value: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:
        return ""

    def refresh(self) -> None:
        self._syncing = True
        try:
            options = _options(self.offered())
            self.choices.options = options
            current = self._shown_choice()
            self.choices.value = current if any(value == current for _, value in options) else None
        finally:
            self._syncing = False
        refused = self.state.refused(self.key)
        self.note.value = self._refusal(refused[1]) if refused and self.choices.value == refused[0] else self.describe()
        self._changed()

    def _shown_choice(self) -> Any:
        """What the list selects: a refused pick stays selected (with its reason), else the choice."""
        refused = self.state.refused(self.key)
        return refused[0] if refused is not None else self.chosen()

    def _refusal(self, reason: str) -> str:
        return (
            f"<div style='{WARN_STYLE}'>✗ {esc(reason)}<br><span style='font-size:0.92em'>Continue stays off "
            "until you choose one that can be used.</span></div>"
        )

    def _picked(self, change) -> None:
        if self._syncing:
            return
        self.pick(change["new"])

    def pick(self, value: Any) -> bool:
        """Choose ``value`` as the list would; a refused one is explained (False) and the choice stays."""
        try:
            self.select(value)
        except ChoiceError as exc:
            # Explained, not accepted: the pick stays selected with its reason (no snapping back),
            # and the state keeps it as refused, so Continue waits for a usable one.
            self._show_chosen()
            self.note.value = self._refusal(exc.detail)
            self._changed()
            return False
        self._show_chosen()
        self.note.value = self.describe()
        self._changed()
        return True

    def pick_field(self, path: str) -> bool:
        """A field clicked in the response tree: picked like a list entry (the state decides)."""
        return self.pick(Field(path))

    def _show_chosen(self) -> None:
        self._syncing = True
        try:
            current = self._shown_choice()
            self.choices.value = current if any(v == current for _, v in self.choices.options) else None
        finally:
            self._syncing = False


class ValueStep(_ChoiceStep):
    """Step 2: count of records, or a field that holds numbers."""

    key = "value"
    css = "value"
    intro = (
        "Select what the metric measures. A value must be purely numeric: numbers, or numbers Twilio "
        'sends as text (<code>price "-0.00750"</code>). Or count the records.'
    )

    def offered(self) -> list[Choice]:
        return self.state.value_choices(self.show_all.value)

    def chosen(self) -> Any:
        return self.state.value

    def select(self, value: Any) -> None:
        if value is not None:
            self.state.select_value(value)

    def describe(self) -> str:
        value = self.state.value
        parts = []
        if isinstance(value, Count):
            parts.append("Each record counts 1: the metric is the number of records.")
        elif isinstance(value, Field):
            info = self.state.field_info(value.path)
            examples = ", ".join(esc(repr(v)) for v in info.examples) if info else ""
            parts.append(
                f"Value: <code>{esc(value.path)}</code>"
                + (f" (e.g. {examples}); empty values count as nothing." if examples else ".")
            )
        if self.state.later.get("expression"):
            parts.append("This metric has a customised expression, which wins over these choices.")
        return f"<div style='{NOTE_STYLE}'>{' '.join(parts)}</div>" if parts else ""


class DimensionStep(_ChoiceStep):
    """Step 3: none, or a field that splits the metric (with its values in the first page)."""

    key = "dimension"
    css = "dimension"
    intro = (
        "Optional: split the metric by a property, such as a status or a direction. One dimension per "
        "metric (build another metric for another split). Choose None to skip."
    )

    def __init__(self, state: BuilderState, guard: Guard, changed: Callable[[], None]) -> None:
        self.values = classed(widgets.HTML(), "builder-dimension-values")
        self.summary = classed(widgets.HTML(), "builder-summary")
        super().__init__(state, guard, changed)
        self.children = [*self.children, self.values, self.summary]

    def offered(self) -> list[Choice]:
        return self.state.dimension_choices(self.show_all.value)

    def chosen(self) -> Any:
        return self.state.dimension

    def select(self, value: Any) -> None:
        self.state.select_dimension(value)

    def describe(self) -> str:
        self.values.value = _values_html(self.state)
        self.summary.value = _summary_html(self.state)
        return ""


def _values_html(state: BuilderState) -> str:
    dimension = state.dimension
    if dimension is None:
        return f"<div style='{NOTE_STYLE}'>No dimension: the metric is one number per interval.</div>"
    values = state.distinct_values(dimension.path)
    total = sum(n for _, n in values) or 1
    rows = []
    for value, n in values[:MAX_VALUES_SHOWN]:
        shown = "<i>(empty: no segment)</i>" if value is None else f"<code>{esc(value)}</code>"
        bar = f"<div style='background:#54aeff;height:8px;width:{max(2, round(160 * n / total))}px'></div>"
        rows.append(
            f"<tr class='twibox-builder-dimension-value'><td>{shown}</td>"
            f"<td style='text-align:right'>{n:,}</td><td>{bar}</td></tr>"
        )
    more = len(values) - MAX_VALUES_SHOWN
    tail = f"<div style='{NOTE_STYLE}'>… and {more} more</div>" if more > 0 else ""
    head = (
        f"<div style='{NOTE_STYLE}'>{len(values)} distinct value{'s' if len(values) != 1 else ''} of "
        f"<code>{esc(dimension.path)}</code> in the first page's {total:,} records:</div>"
    )
    return f"{head}<table style='border-spacing:8px 2px'>{''.join(rows)}</table>{tail}"


def _summary_html(state: BuilderState) -> str:
    lines = "".join(
        f"<tr><td style='color:{MUTED};padding-right:12px'>{esc(what)}</td><td>{esc(choice)}</td></tr>"
        for what, choice in state.summary()
    )
    return (
        "<div style='margin-top:10px;border-top:1px solid #d0d7de;padding-top:6px'><b>The metric so far</b>"
        f"<table>{lines}</table><div style='{NOTE_STYLE}'><code>builder.spec</code> holds it as a MetricSpec."
        "</div></div>"
    )
