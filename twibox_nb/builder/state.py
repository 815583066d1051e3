"""The metric builder's draft, without any UI: every decision the MetricBuilder widget shows.

:class:`BuilderState` holds what an analyst is building, step by step, as plain values: the
request (base URL, path, parameter and header rows, paging), the preview range that date tokens
resolve to, the first page fetched and the fields discovered in it, the value and the dimension.
Its :attr:`~BuilderState.spec` is the :class:`~twibox_nb.model.spec.MetricSpec` so far. The widgets in
:mod:`twibox_nb.widgets.builder` only show this state and call its methods, so everything here is
tested without ipywidgets (and a report notebook could drive it too).

Each step's choices and wording sit in their own module, and :class:`BuilderState` composes them:
:mod:`~twibox_nb.builder.request_step` (step 1, and the first page), :mod:`~twibox_nb.builder.field_steps`
(steps 2–4: value, dimension, date), :mod:`~twibox_nb.builder.preview_step` (step 5: expression and
preview) and :mod:`~twibox_nb.builder.describe` (step 6: naming and saving). This module holds the
draft's attributes, the navigation between the steps and the metric so far.

>>> from datetime import datetime, timezone
>>> from twibox_nb.fetch.connection import connect
>>> from twibox_nb.sandbox import Sandbox
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # one clock for the sandbox and the builder
>>> state = BuilderState(connect(sandbox=Sandbox(now=now)), now=now)
>>> state.choose_endpoint("Messages")
>>> [(row.key, row.value) for row in state.params]
[('PageSize', '1000'), ('DateSent>', '{{start_date}}'), ('DateSent<', '{{end_date}}')]
>>> state.row_preview(1).text
'2026-10-28'
>>> page = state.advance()                     # step 1 → 2: fetches the first page
>>> page.status, state.step
(200, 'value')
>>> state.select_value(Field("status"))        # doctest: +ELLIPSIS
Traceback (most recent call last):
...
twibox_nb._exceptions.ChoiceError: value: 'status' holds text (...), not numbers: a metric value must be ...; ...
>>> state.select_value(Count()); state.select_dimension(Field("status"))
>>> state.spec.to_dict()["value"], state.spec.to_dict()["dimension"], state.spec.to_dict()["date"]
({'count': True}, {'field': 'status'}, {'field': 'date_sent'})
>>> for _ in range(3): state.advance()        # steps 2 → 3 → 4 → 5
>>> state.step
'preview'
>>> state.expression
'messages.{"date": date_sent, "value": 1, "dimension": status}'
>>> result = state.preview()                   # every page of the preview range, fetched once
>>> int(result.summary.current) == len(result.rows), state.stored.report.stop_reason
(True, 'complete')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .._exceptions import ChoiceError, SpecError, TwiboxError, TwilioAPIError
from ..evaluate.custom import DEFAULT_TIMEOUT
from ..fetch.connection import Connection
from ..fetch.report import Progress
from ..model.spec import Count, Dynamic, Field, MetricSpec, Pagination
from ..pipeline.result import MetricResult
from .describe import DescribeStep
from .field_steps import FieldSteps
from .preview import StoredFetch
from .preview_step import PreviewStep
from .request_step import FirstPage, ParamRow, RequestStep

__all__ = [
    "STEPS",
    "BuilderState",
    "Step",
    "StepKey",
    "describe_error",
    "mask_identifier",
]

StepKey = Literal["request", "value", "dimension", "date", "preview", "describe"]


@dataclass(frozen=True)
class Step:
    """One step of the builder."""

    key: StepKey
    number: int
    title: str
    optional: bool = False


# The reference product's six steps.
STEPS: tuple[Step, ...] = (
    Step("request", 1, "Prepare API request"),
    Step("value", 2, "Select value"),
    Step("dimension", 3, "Segment by dimension", optional=True),
    Step("date", 4, "Select date", optional=True),
    Step("preview", 5, "Preview & customize"),
    Step("describe", 6, "Describe metric"),
)


def _number(key: str) -> int:
    return next(s.number for s in STEPS if s.key == key)


def mask_identifier(value: str, keep: int = 4) -> str:
    """A SID shown without most of its digits (prefix and the last ``keep`` characters).

    >>> mask_identifier("AC" + "0" * 28 + "beef")
    'AC…beef'
    """
    value = value.strip()
    if len(value) <= keep + 2:
        return "…"
    return f"{value[:2]}…{value[-keep:]}"


def describe_error(exc: BaseException) -> tuple[str, str | None]:
    """``(message, more_info link)`` for an error, in plain words; unexpected errors say they are bugs.

    >>> describe_error(TwilioAPIError(404, 20404, "The requested resource /x was not found",
    ...                               "https://www.twilio.com/docs/errors/20404", "https://api.twilio.com/x"))
    ('Twilio answered 404 (error 20404): The requested resource /x was not found. Check the base URL and \
the endpoint path: Twilio has no list there.', 'https://www.twilio.com/docs/errors/20404')
    """
    if isinstance(exc, TwilioAPIError):
        code = f" (error {exc.code})" if exc.code is not None else ""
        hint = {
            400: "Check the parameters: Twilio refused one of them.",
            401: "The connection's credentials were not accepted: connect again.",
            403: "The credentials may not read this resource (a restricted API key?).",
            404: "Check the base URL and the endpoint path: Twilio has no list there.",
            429: "Twilio is rate limiting this account: try again in a minute.",
        }.get(exc.status, "")
        message = exc.message.rstrip(".")
        return f"Twilio answered {exc.status}{code}: {message}.{' ' + hint if hint else ''}", exc.more_info
    if isinstance(exc, (ChoiceError, SpecError)):
        return exc.detail, None
    if isinstance(exc, TwiboxError):
        return str(exc), None
    return f"Unexpected error (please report it): {type(exc).__name__}: {exc}", None


# The MetricSpec fields steps 5–6 edit (and ``extra``, which no step edits): kept as loaded
# (from_spec) so that a round trip changes nothing, and MetricSpec's defaults otherwise.
_LATER = ("expression", "description", "aggregation", "unit", "favourable_trend", "date_range", "interval", "extra")


class BuilderState(RequestStep, FieldSteps, PreviewStep, DescribeStep):
    """The draft of a metric, step by step (see the module docstring for a walk-through).

    ``conn`` may be None until the Connect step has run (:meth:`set_connection`). ``now`` pins the
    clock for the preview range (default: the current UTC time). ``fetch_options`` go to
    :class:`~twibox_nb.fetch.chain.PageFetcher` (a ``policy``, a ``sleep`` …). ``expression_timeout``
    is the seconds a custom expression may run on one page of the preview before it is stopped.
    """

    def __init__(
        self,
        conn: Connection | None = None,
        *,
        now: datetime | None = None,
        preview_range: str = "last_30_days",
        fetch_options: Mapping[str, Any] | None = None,
        expression_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.conn = conn
        self.expression_timeout = expression_timeout
        self.now = now
        self.fetch_options = dict(fetch_options or {})
        self.method = "GET"
        self.base_url = "https://api.twilio.com"
        self.path = ""
        self.params: list[ParamRow] = []
        self.headers: list[ParamRow] = []
        self.pagination: Pagination = "next_page"
        self.max_pages = 100
        self.preview_range = "last_30_days"
        self.set_preview_range(preview_range)
        self.first_page: FirstPage | None = None
        self.value: Field | Count | None = None
        self.dimension: Field | None = None
        self.date: Field | Dynamic | None = None  # None: the default (step 4 chooses it)
        self.name: str | None = None  # None: named after the endpoint until the Describe step
        self.later: dict[str, Any] = {}
        self.step: StepKey = "request"
        self._furthest: StepKey = "request"  # the furthest step Continue reached (see :attr:`reached`)
        self.notes: list[str] = []  # things the analyst should know (e.g. a choice dropped by a refetch)
        self.stored: StoredFetch | None = None  # every page of the preview range (step 5), fetched once
        self.preview_error: TwiboxError | None = None  # why the last preview failed
        self.saved_path: str | None = None
        self._saved_spec: MetricSpec | None = None
        self._evaluated: tuple[MetricSpec, StoredFetch, MetricResult | TwiboxError] | None = None

    # --- opening a saved metric ----------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: MetricSpec | str, conn: Connection | None = None, **options: Any) -> BuilderState:
        """A draft holding every choice of ``spec``: ``BuilderState.from_spec(s).spec == s``.

        ``spec`` may be a metric file's path (a str or path-like), or ``path=`` may say which file it was read from:
        Save then writes that same file (never a second copy under a name of its own), and the
        lines of "copy as code" load it. The catalogue's entry for the request is chosen again.

        >>> from twibox_nb import library
        >>> spec = library.get("Messages by status")
        >>> BuilderState.from_spec(spec).spec == spec
        True
        >>> state = BuilderState.from_spec(spec, path="metrics/messages.json")
        >>> state.save_path, state.catalogue_choice
        ('metrics/messages.json', 'Messages')
        """
        import os

        path = options.pop("path", None)
        if isinstance(spec, (str, os.PathLike)):
            from ..library import load_metric

            path, spec = (path if path is not None else spec), load_metric(spec)
        if not isinstance(spec, MetricSpec):
            raise ChoiceError(
                "request", f"{type(spec).__name__} is not a MetricSpec: a calculated metric is built from its inputs"
            )
        options.setdefault("preview_range", spec.date_range)
        state = cls(conn, **options)
        request = spec.request
        state.base_url, state.path = request.base_url, request.path
        state.params = [ParamRow(k, v) for k, v in request.params]
        state.headers = [ParamRow(k, v) for k, v in request.headers]
        state.pagination, state.max_pages = request.pagination, request.max_pages
        state.value, state.dimension, state.date, state.name = spec.value, spec.dimension, spec.date, spec.name
        state.later = {name: getattr(spec, name) for name in _LATER}
        if path is not None:  # the file it came from: saved as it stands, and saved there again
            state.set_save_path(os.fspath(path))
            state._chosen_save_path = os.fspath(path)
            state.saved_path, state._saved_spec = os.fspath(path), spec
        return state

    def set_connection(self, conn: Connection) -> None:
        """Use another connection (the first page is fetched again on the next Continue)."""
        self.conn = conn

    @property
    def data_source(self) -> str:
        """Where the data comes from (a sandbox says so), or that there is no connection yet."""
        return self.conn.label if self.conn is not None else "Not connected: activate a connection first"

    # --- navigation ----------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Step, ...]:
        return STEPS

    @property
    def current(self) -> Step:
        return next(s for s in STEPS if s.key == self.step)

    def next_step(self) -> Step | None:
        """The step after the current one (None at the last one)."""
        later = [s for s in STEPS if s.number > self.current.number]
        return later[0] if later else None

    def continue_problem(self) -> str | None:
        """What keeps Continue from moving on, in plain words (None when it may go on).

        The request step needs a connection and a valid request; its Continue fetches the
        first page (which may still fail: see :meth:`advance`).
        """
        if self.step == "request":
            if self.conn is None:
                return "activate a connection (or the sandbox) first"
            return self.request_problem()
        if self.step in ("value", "dimension", "date"):
            refused = self.choice_problem()  # a pick the step refused is shown: it must not go on
            if refused is not None:
                return refused
        if self.step == "value" and self.value is None:
            return "choose what to measure: a field that holds numbers, or count of records"
        if self.step == "preview":
            if self.preview_error is not None:
                return "the preview failed: fix the expression (or reset it to the generated one), then preview again"
            if self.stored is None:
                return "preview the data first"
        if self.next_step() is None:
            return "this is the last step: Save writes the metric file; builder.spec holds it"
        return None

    def advance(self, progress: Callable[[Progress], None] | None = None) -> FirstPage | None:
        """Continue: check the current step, fetch the first page when leaving step 1, move on.

        Returns the first page when one was fetched. Raises :class:`ChoiceError` (or the fetch's
        error) and stays on the step when it cannot go on.
        """
        problem = self.continue_problem()
        if problem is not None:
            raise ChoiceError(self.step, problem)
        fetched = None
        if self.step == "request" and self.needs_fetch:
            fetched = self.fetch_first_page(progress)
        following = self.next_step()
        assert following is not None  # continue_problem said so
        if fetched is not None or following.number > _number(self._furthest):
            self._furthest = following.key  # a new first page: the steps after it are reached afresh
        self.step = following.key
        return fetched

    @property
    def reached(self) -> Step:
        """The furthest step the analyst may go to now (a step pill further on refuses: :meth:`go_to`)."""
        return max((s for s in STEPS if self.reach_problem(s.number) is None), key=lambda s: s.number)

    def reach_problem(self, step: StepKey | int) -> str | None:
        """Why ``step`` cannot be gone to now, in plain words (None when it can).

        Earlier steps and the current one always can; a later one only once Continue reached it and
        while nothing since invalidated it (a changed request needs a new first page, a value must be
        chosen, a preview must have succeeded).
        """
        number = step if isinstance(step, int) else _number(step)
        target = STEPS[number - 1]
        if number <= self.current.number:
            return None
        if number > _number(self._furthest):
            return (
                f"step {number} ({target.title}) is not reached yet: Continue from step {self.current.number} "
                f"({self.current.title}) leads there"
            )
        if self.conn is None:
            return "activate a connection (or the sandbox) first"
        if self.needs_fetch:
            return (
                f"step {number} ({target.title}) needs the first page of the request as it is now: Continue "
                "from step 1 fetches it"
            )
        if number > 2 and self.value is None:
            return f"step {number} ({target.title}) needs a value: choose one in step 2 (Select value)"
        if number > 5 and (self.preview_error is not None or self.stored is None):
            return f"step {number} ({target.title}) needs a preview that works: preview the data in step 5 first"
        return None

    def go_to(self, key: StepKey) -> None:
        """Go to a step already reached (a step pill); every choice is kept.

        Raises :class:`ChoiceError` saying why when ``key`` is not reached (or no step at all).
        """
        if key not in {s.key for s in STEPS}:
            raise ChoiceError("step", f"{key!r} is no step: one of {', '.join(s.key for s in STEPS)}")
        problem = self.reach_problem(key)
        if problem is not None:
            raise ChoiceError(key, problem)
        self.step = key

    def back(self) -> None:
        """Back one step; every choice is kept."""
        earlier = [s for s in STEPS if s.number < self.current.number]
        if earlier:
            self.step = earlier[-1].key

    # --- the metric so far ---------------------------------------------------------------------
    @property
    def spec(self) -> MetricSpec:
        """The :class:`~twibox_nb.model.spec.MetricSpec` so far (later steps' fields keep their defaults)."""
        return MetricSpec(
            name=self.name or self.default_name,
            request=self.request_spec(),
            value=self.value if self.value is not None else Count(),
            dimension=self.dimension,
            date=self.date if self.date is not None else self.default_date,
            **{**self.later, "unit": self.unit},  # the unit set, else the one the value's field suggests
        )

    def summary(self) -> list[tuple[str, str]]:
        """The metric so far as ``(what, choice)`` lines for people."""
        date = self.effective_date
        date_text = "time of storing (dynamic)" if isinstance(date, Dynamic) else date.path
        if self.date is None:
            date_text += " (default)"
        value = self.value
        lines = [
            ("request", f"GET {self.base_url}{self.path}" if self.path else "not set"),
            ("value", "count of records" if isinstance(value, Count) else value.path if value else "not chosen"),
            ("dimension", self.dimension.path if self.dimension else "none"),
            ("date", date_text),
            ("aggregation", str(self.later.get("aggregation", "sum"))),
        ]
        if self.later.get("expression"):
            lines.append(("expression", "customised (it wins over the value, dimension and date choices)"))
        return lines
