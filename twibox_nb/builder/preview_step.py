"""Step 5 of the builder, "Preview & customize": the expression and the preview, without any UI.

:class:`PreviewStep` is the part of :class:`~twibox_nb.builder.state.BuilderState` that generates
the JSONata from the value, dimension and date choices (or keeps a customised one), fetches every
page of the preview range once, and evaluates the metric from those pages whenever a choice
changes (:mod:`twibox_nb.builder.preview` does the work).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._exceptions import ChoiceError, ExpressionError, SpecError, TwiboxError
from ..evaluate.custom import custom_expression
from ..evaluate.evaluator import selection_of
from ..evaluate.generated import generate
from ..fetch.connection import Connection
from ..fetch.report import Progress
from ..model.spec import MetricSpec
from ..pipeline.result import MetricResult
from . import preview as previews
from .preview import StoredFetch
from .request_step import FirstPage

__all__ = ["PreviewStep"]


class PreviewStep:
    """Step 5's methods of :class:`~twibox_nb.builder.state.BuilderState`, which sets these attributes;
    ``spec`` and ``data_source`` are the state's, the request, range and first page the request step's."""

    conn: Connection | None
    fetch_options: dict[str, Any]
    expression_timeout: float
    first_page: FirstPage | None
    later: dict[str, Any]
    stored: StoredFetch | None
    preview_error: TwiboxError | None
    _evaluated: tuple[MetricSpec, StoredFetch, MetricResult | TwiboxError] | None
    #: The last preview that worked, with the metric it was computed for: still shown after a
    #: failure or an edit, marked stale (see :meth:`preview_stale`).
    _last_preview: tuple[MetricSpec, MetricResult] | None = None

    # --- step 5: the expression and the preview --------------------------------------------------
    @property
    def list_key(self) -> str | None:
        """Where the records are in a page: the first page's answer, else the catalogue's."""
        if self.first_page is not None:
            return self.first_page.list_key
        endpoint = self.endpoint
        return endpoint.list_key if endpoint else None

    @property
    def generated_expression(self) -> str:
        """The JSONata the value, dimension and date choices generate (one row per record)."""
        return generate(self.list_key, selection_of(self.spec.replace(expression=None))).text

    @property
    def customised(self) -> bool:
        return bool(self.later.get("expression"))

    def differs_from_generated(self, text: str | None) -> bool:
        """True when ``text`` (the editor's, typed or not yet applied) is not the generated expression."""
        return bool(text and text.strip()) and text.strip() != self.generated_expression.strip()

    def expression_origin(self, text: str | None = None) -> str:
        """Where the expression in the editor comes from, in words: "customised" as soon as its text
        differs from the generated one (before Preview is pressed), else "generated"."""
        text = self.expression if text is None else text
        return "customised" if self.differs_from_generated(text) else "generated"

    @property
    def expression(self) -> str:
        """The expression the metric runs: the customised one, else the generated one."""
        return self.later.get("expression") or self.generated_expression

    def set_expression(self, text: str) -> None:
        """Keep an edited expression as customised (the generated text itself is not a customisation).

        A syntax error raises :class:`~twibox_nb.ExpressionError` with its position, and the
        previous expression stays.
        """
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("the expression is empty: type one, or reset to the generated one", code="S0207")
        if text.strip() == self.generated_expression:
            self.later["expression"] = None
            return
        try:
            custom_expression(text, timeout=self.expression_timeout)  # the syntax check: raises with the position
        except ExpressionError as exc:
            self.preview_error = exc  # the preview shown no longer matches the editor: stale
            raise
        self.later["expression"] = text

    def reset_expression(self) -> None:
        """Drop the customised expression: the generated one runs again."""
        self.later["expression"] = None

    @property
    def needs_preview_fetch(self) -> bool:
        """True when the preview's pages are missing or were fetched for another request, range or connection."""
        stored = self.stored
        if stored is None or self.conn is None:
            return True
        try:
            request = self.request_spec()
        except SpecError:
            return True
        return (
            stored.request != request
            or stored.date_range != self.date_range
            or stored.connection_label != self.conn.label
        )

    def fetch_preview(self, progress: Callable[[Progress], None] | None = None) -> StoredFetch:
        """Fetch every page of the preview range once (up to the page cap) and keep the bodies.

        A first page without a next page (or without paging) is reused: no request is sent then.
        """
        if self.conn is None:
            raise ChoiceError("preview", "there is no connection yet: activate one (or the sandbox) first")
        request = self.request_spec()
        page = self.first_page
        if page is not None and not self.needs_fetch and (not page.has_more or request.pagination == "none"):
            stored = previews.single_page_fetch(
                request, self.conn, page.date_range, body=page.body, elapsed=page.elapsed, fetched_at=self._now(),
                more=page.has_more,
            )  # fmt: skip
        else:
            stored = previews.fetch_pages(
                request, self.conn, self.date_range, now=self._now(), progress=progress,
                fetch_options=self.fetch_options,
            )  # fmt: skip
        self.stored = stored
        self._evaluated = None
        return stored

    def preview(self, progress: Callable[[Progress], None] | None = None) -> MetricResult:
        """The metric over the preview range: pages fetched once, then evaluated from memory.

        A change of value, dimension, date, expression, aggregation or interval re-evaluates the
        stored pages without a request. An expression error is raised (and kept in
        :attr:`preview_error`); the builder stays usable.
        """
        if self.needs_preview_fetch:
            self.fetch_preview(progress)
        self.preview_error = None
        try:
            result = self._evaluate()
        except TwiboxError as exc:
            self.preview_error = exc
            raise
        self._last_preview = (self.spec, result)
        return result

    @property
    def shown_preview(self) -> MetricResult | None:
        """The last preview that worked (None before one did): what the step shows, stale or not."""
        return self._last_preview[1] if self._last_preview is not None else None

    def preview_stale(self, text: str | None = None) -> str | None:
        """Why the preview shown no longer matches the metric, in words (None when it matches).

        The same after every kind of change or failure: an edited or refused expression (``text``
        is the editor's, applied or not), a failed evaluation (a syntax error, a timeout), another
        value, dimension, date or aggregation, or a request fetched again.
        """
        if self._last_preview is None:
            return None
        if self.preview_error is not None:
            return "the last preview failed: this is the one before it"
        if text is not None and text.strip() != self.expression.strip():
            return "the expression was edited: preview again to see its data"
        if self.needs_preview_fetch:
            return "the request changed: the next preview fetches again"
        if _what_previews(self._last_preview[0]) != _what_previews(self.spec):
            return "the metric changed since: preview again"
        return None

    def _evaluate(self) -> MetricResult:
        stored, spec = self.stored, self.spec
        assert stored is not None
        cached = self._evaluated
        if cached is not None and cached[1] is stored and cached[0] == spec:
            if isinstance(cached[2], TwiboxError):
                raise cached[2]  # a failure is kept too: a runaway expression is not run twice
            return cached[2]
        try:
            result = previews.preview_result(spec, stored, timeout=self.expression_timeout, source=self.data_source)
        except TwiboxError as exc:
            self._evaluated = (spec, stored, exc)
            raise
        self._evaluated = (spec, stored, result)
        return result

    @property
    def result(self) -> MetricResult | None:
        """The preview of the metric as it stands (None before the preview's fetch, or when it fails)."""
        if self.needs_preview_fetch:
            return None
        try:
            return self._evaluate()
        except TwiboxError:
            return None

    def preview_table(self, rows: int = previews.PREVIEW_ROWS, result: MetricResult | None = None) -> Any:
        """The first rows of the preview's aggregated frame (a DataFrame; None before a preview),
        its value column headed by :attr:`value_label` (the name, or the unit set)."""
        result = result if result is not None else self.result
        if result is None:
            return None
        return previews.preview_table(result, rows).rename(columns={"value": self.value_label})

    def paging(self) -> list[tuple[str, str]]:
        """The pagination panel's lines (empty before the preview's fetch)."""
        return previews.paging_lines(self.stored) if self.stored is not None else []

    def truncation_warning(self) -> str | None:
        return previews.truncation_warning(self.stored) if self.stored is not None else None


def _what_previews(spec: MetricSpec) -> tuple[Any, ...]:
    """What a preview's data depends on (not the name or the description)."""
    return (spec.request, spec.value, spec.dimension, spec.date, spec.expression, spec.aggregation, spec.interval)
