"""Steps 2–4 of the builder: the value, the dimension and the date, chosen from the first page's fields.

:class:`FieldSteps` is the part of :class:`~twibox_nb.builder.state.BuilderState` that offers the
fields discovered in the first page (:mod:`twibox_nb.builder.field_choices` decides and words which
can be a value or split the metric) and takes a choice only when it can work: a refused one raises
:class:`~twibox_nb._exceptions.ChoiceError` with the reason, and the previous choice stays.
"""

from __future__ import annotations

from typing import Any

from .._exceptions import ChoiceError
from ..model.spec import Count, Dynamic, Field
from . import field_choices
from . import preview as previews
from .field_choices import Choice
from .fields import FieldInfo
from .preview import DateChoice
from .request_step import FirstPage

__all__ = ["FieldSteps"]


class FieldSteps:
    """Steps 2–4's methods of :class:`~twibox_nb.builder.state.BuilderState`, which sets these
    attributes; ``endpoint``, ``fields`` and ``field_info`` are the request step's."""

    first_page: FirstPage | None
    value: Field | Count | None
    dimension: Field | None
    date: Field | Dynamic | None
    #: The last refused pick of each step (``{"value": (Field("status"), reason)}``): the list keeps
    #: it selected with its reason, and :meth:`choice_problem` keeps Continue from moving on.
    _refused: dict[str, tuple[Any, str]] | None = None

    def _refuse(self, step: str, choice: Any, reason: str) -> None:
        if self._refused is None:
            self._refused = {}
        self._refused[step] = (choice, reason)
        raise ChoiceError(step, reason)

    def _accept(self, step: str) -> None:
        if self._refused:
            self._refused.pop(step, None)

    def refused(self, step: str) -> tuple[Any, str] | None:
        """The pick ``step`` refused last, with why (None once a usable one is chosen)."""
        return (self._refused or {}).get(step)

    def choice_problem(self, step: str | None = None) -> str | None:
        """Why Continue may not leave ``step`` (default: the current one) on its list's pick: the
        pick shown is one the step refused (None when the pick is usable)."""
        found = self.refused(step or getattr(self, "step", ""))
        return f"{found[1]} (choose a usable one to continue)" if found else None

    # --- steps 2 and 3: the value and the dimension (decided in field_choices) --------------------
    def _checkable(self) -> bool:
        """False before a first page with records: a saved choice is then trusted, not refused."""
        return bool(self.first_page and self.first_page.records)

    def explain_value(self, path: str) -> str | None:
        """Why ``path`` cannot be the metric's value (None when it can)."""
        return field_choices.explain_value(self.fields, path) if self._checkable() else None

    def value_choices(self, show_all: bool = False) -> list[Choice]:
        """Count of records first, then the fields that can be numbers (``show_all``: every field)."""
        records = len(self.first_page.records) if self.first_page else 0
        return field_choices.value_choices(self.fields, records, self.value, show_all)

    def select_value(self, value: Field | Count | str) -> None:
        """Choose the value: a field that can be a number, or :class:`Count`. Others are explained, not taken."""
        choice = Field(value) if isinstance(value, str) else value
        if not isinstance(choice, (Field, Count)):
            raise ChoiceError("value", "choose a field or count of records")
        reason = self.explain_value(choice.path) if isinstance(choice, Field) else None
        if reason is not None:
            self.value = None  # the unusable pick is not the value, and the previous one is not either
            self._refuse("value", choice, reason)
        self._accept("value")
        self.value = choice

    def explain_dimension(self, path: str) -> str | None:
        """Why ``path`` cannot split the metric (None when it can)."""
        if not self._checkable():
            return None
        return field_choices.explain_dimension(self.fields, self.first_page.records, path)  # type: ignore[union-attr]

    def dimension_choices(self, show_all: bool = False) -> list[Choice]:
        """None first, then the fields that can split the metric (``show_all``: every field)."""
        records = self.first_page.records if self.first_page else []
        return field_choices.dimension_choices(self.fields, records, self.dimension, show_all)

    def select_dimension(self, dimension: Field | str | None) -> None:
        """Choose the dimension (None for none). A field that cannot split the metric is explained, not taken."""
        choice = Field(dimension) if isinstance(dimension, str) else dimension
        reason = self.explain_dimension(choice.path) if choice is not None else None
        if reason is not None:
            self._refuse("dimension", choice, reason)
        self._accept("dimension")
        self.dimension = choice

    def distinct_values(self, path: str) -> list[tuple[Any, int]]:
        """The values of ``path`` in the first page's records with their counts, most frequent first
        (``None`` for null or missing: those records get no dimension)."""
        records = self.first_page.records if self.first_page else []
        return field_choices.distinct_values(self.fields, records, path)

    # --- step 4: the date ----------------------------------------------------------------------
    def date_choices(self, show_all: bool = False) -> list[DateChoice]:
        """Dynamic (the time of storing) first, then the date fields with an example read as UTC
        (``show_all``: then every other field, with why it cannot be the date)."""
        choices = previews.date_choices(self.fields)
        if show_all:
            taken = {c.value for c in choices}
            for info in self.fields:
                if Field(info.path) not in taken:
                    reason = self.explain_date(info.path) or "not a date"
                    short = field_choices.short_date_reason(info)
                    label = field_choices.field_label(info)
                    choices.append(DateChoice(label, Field(info.path), ok=False, reason=reason, short=short))
        return choices

    def explain_date(self, path: str) -> str | None:
        """Why ``path`` cannot be the metric's date (None when it can)."""
        if not self._checkable():
            return None
        info = self.field_info(path)
        if info is None:
            return f"{path!r} is not a field of the first page's records"
        if info.as_date:
            return None
        return _not_a_date(info)

    def select_date(self, date: Field | Dynamic | str | None) -> None:
        """Choose the date: a date field, :class:`Dynamic` (the time of storing), or None (the default)."""
        choice = Field(date) if isinstance(date, str) else date
        if choice is not None and not isinstance(choice, (Field, Dynamic)):
            raise ChoiceError("date", "choose a date field, or Dynamic() for the time of storing")
        reason = self.explain_date(choice.path) if isinstance(choice, Field) else None
        if reason is not None:
            self._refuse("date", choice, reason)
        self._accept("date")
        self.date = choice

    @property
    def effective_date(self) -> Field | Dynamic:
        return self.date if self.date is not None else self.default_date

    @property
    def default_date(self) -> Field | Dynamic:
        """The endpoint's own date field when the catalogue knows it, else the time of fetching."""
        endpoint = self.endpoint
        return Field(endpoint.date_field) if endpoint and endpoint.date_field else Dynamic()


def _not_a_date(info: FieldInfo) -> str:
    """Why a field is not a date, in plain words."""
    example = f" (e.g. {info.examples[0]!r})" if info.examples else ""
    what = "a version label" if "version" in info.steps[-1].lower() else info.kind.replace("_", " ")
    return (
        f"{info.path!r} holds {what}{example}, not dates: choose a field holding RFC 2822 or ISO 8601 "
        "dates, or the time of storing (dynamic)"
    )
