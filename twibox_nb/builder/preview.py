"""The builder's preview, without any UI: fetch a range's pages once, then re-evaluate them at will.

Steps 4–6 of the metric builder change what is read from each record (value, dimension, date,
a custom expression) and how it is aggregated, but never the request. So the preview fetches
every page of the preview range once (:func:`fetch_pages`, honouring the page cap), keeps the page
bodies in a :class:`StoredFetch`, and :func:`preview_result` turns them into a
:class:`~twibox_nb.pipeline.result.MetricResult` as :func:`~twibox_nb.pipeline.metric.fetch_metric` would, with no
new request. :func:`copy_as_code` writes the few lines that fetch the same metric headlessly.

>>> from datetime import datetime, timezone
>>> from twibox_nb.fetch.connection import connect
>>> from twibox_nb.sandbox import Sandbox
>>> from twibox_nb.model.spec import Count, Field, MetricSpec, RequestSpec
>>> spec = MetricSpec("Alerts by level", RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com",
...     params={"PageSize": "200", "StartDate": "{{start_datetime}}"}), Count(), Field("log_level"),
...     Field("date_generated"), date_range="last_7_days")
>>> now = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)  # one clock for the sandbox and the fetch
>>> stored = fetch_pages(spec.request, connect(sandbox=Sandbox(now=now)), "last_7_days", now=now)
>>> result = preview_result(spec, stored)
>>> result.summary.current == len(result.rows), stored.report.stop_reason
(True, 'complete')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from ..aggregate.frames import parse_dates
from ..evaluate.custom import DEFAULT_TIMEOUT
from ..evaluate.evaluator import Evaluator
from ..fetch.chain import PageFetcher
from ..fetch.connection import Connection
from ..fetch.report import STOP_WORDS, FetchReport, Progress
from ..fetch.request import build_request
from ..model.dates import DateRange, check_interval, resolve_range
from ..model.records import find_records
from ..model.spec import Dynamic, Field, MetricSpec, RequestSpec
from ..pipeline.result import MetricResult, fetched_from_rows, metric_result
from .fields import FieldInfo, date_fields

__all__ = [
    "DateChoice",
    "StoredFetch",
    "copy_as_code",
    "date_choices",
    "fetch_pages",
    "paging_lines",
    "point_at",
    "preview_result",
]

#: Rows of the aggregated frame the preview table shows.
PREVIEW_ROWS = 12


@dataclass(frozen=True, repr=False)
class StoredFetch:
    """Every page body of one fetch of the preview range, and how the fetch went."""

    request: RequestSpec
    date_range: DateRange
    connection_label: str
    is_sandbox: bool
    fetched_at: datetime
    bodies: tuple[Any, ...]
    report: FetchReport
    max_pages: int
    list_key: str | None = None
    requests: int = field(default=0)  # requests this fetch sent (0 when the first page was reused)

    def __repr__(self) -> str:  # bodies are large: never shown whole
        return f"StoredFetch({self.report.summary()}, range={self.date_range})"


def fetch_pages(
    request: RequestSpec,
    conn: Connection,
    date_range: str | DateRange,
    *,
    now: datetime | None = None,
    progress: Callable[[Progress], None] | None = None,
    fetch_options: Mapping[str, Any] | None = None,
) -> StoredFetch:
    """Fetch every page of ``request`` over ``date_range`` (up to its page cap) and keep the bodies.

    No early stop on the records' dates: the preview may later read another date field, and the
    clip to ``[start, end)`` happens on evaluation, so the rows are those :func:`fetch_metric` gets.
    """
    fetched_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    resolved = resolve_range(date_range, fetched_at)
    http_request = build_request(request, conn, resolved)
    fetcher = PageFetcher(
        conn,
        http_request,
        pagination=request.pagination,
        max_pages=request.max_pages,
        progress=progress,
        **dict(fetch_options or {}),
    )
    bodies = tuple(page.body for page in fetcher)
    report = fetcher.report
    assert report is not None  # set when the iteration ends
    return StoredFetch(
        request=request,
        date_range=resolved,
        connection_label=conn.label,
        is_sandbox=conn.is_sandbox,
        fetched_at=fetched_at,
        bodies=bodies,
        report=report,
        max_pages=request.max_pages,
        list_key=find_records(bodies[0])[0] if bodies else None,
        requests=report.requests,
    )


def single_page_fetch(
    request: RequestSpec,
    conn: Connection,
    date_range: DateRange,
    *,
    body: Any,
    elapsed: float,
    fetched_at: datetime,
    more: bool = False,
) -> StoredFetch:
    """A fetch made of a first page that is all there is to read: it has no next page, or
    ``more`` pages follow but pagination is off (then it is truncated at the cap, as a fetch says)."""
    key, records = find_records(body)
    report = FetchReport(1, len(records), 1, 0, elapsed, "page_cap" if more else "complete", more)
    return StoredFetch(
        request, date_range, conn.label, conn.is_sandbox, fetched_at, (body,), report, request.max_pages, key, 0
    )


def preview_result(
    spec: MetricSpec, stored: StoredFetch, *, timeout: float = DEFAULT_TIMEOUT, source: str | None = None
) -> MetricResult:
    """The metric over the stored pages, as :func:`~twibox_nb.pipeline.metric.fetch_metric` computes it.

    The expression is the spec's custom one, or the one generated for each body's list key.
    Raises :class:`~twibox_nb.ExpressionError` (a syntax error with its position, a timeout …).
    """
    evaluator = Evaluator(spec, timeout)
    rows = [row for body in stored.bodies for row in evaluator.rows(body)]
    # The text shown: the custom expression, else the one generated for the first page (or the list key).
    first = stored.bodies[0] if stored.bodies else None
    text = spec.expression or (
        evaluator.text(first) if first is not None else evaluator.generated_for(stored.list_key).text
    )
    interval = check_interval(spec.interval)
    current = fetched_from_rows(
        spec, rows, stored.date_range, stored.report, interval=interval, fetched_at=stored.fetched_at, first_page=first
    )
    notes = (f"this range: {stored.report.summary()}; the values are incomplete",) if stored.report.truncated else ()
    return metric_result(
        spec, current, None, source=source or stored.connection_label, is_sandbox=stored.is_sandbox,
        interval=interval, fetched_at=stored.fetched_at, expression=text, warnings=notes,
    )  # fmt: skip


def preview_table(result: MetricResult, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows of the aggregated frame, as the preview shows them (dates as text)."""
    data = result.data.head(rows).copy()
    if "date" in data.columns and len(data):
        data["date"] = pd.to_datetime(data["date"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    if "dimension" in data.columns and data["dimension"].isna().all():
        data = data.drop(columns="dimension")
    return data.reset_index(drop=True)


# --- step 4: the date ------------------------------------------------------------------------


@dataclass(frozen=True)
class DateChoice:
    """One option of the date step: dynamic, or a date field with an example and its UTC reading."""

    label: str
    value: Field | Dynamic
    kind: str = ""  # "RFC 2822", "ISO 8601" (empty for dynamic)
    example: Any = None  # a raw value as Twilio sent it
    parsed: datetime | None = None  # the example read as a UTC datetime
    ok: bool = True  # False: listed only to say why it cannot be the date
    reason: str | None = None  # why not, as a sentence (when ``ok`` is False)
    short: str | None = None  # why not, in a few words for the list

    @property
    def shown(self) -> str:
        """The label as the list shows it: an unusable field says why in a few words."""
        return self.label if self.ok else f"{self.label}  ✗ {self.short or 'not a date'}"


DYNAMIC_LABEL = "Use the time of storing (dynamic): each fetch stamps its value with the time it ran"
_FORMATS = {"date_rfc2822": "RFC 2822", "date_iso8601": "ISO 8601"}


def parse_example(value: Any) -> datetime | None:
    """A Twilio date as a UTC datetime (None when it cannot be read).

    >>> parse_example("Fri, 24 May 2019 17:44:50 +0000")
    datetime.datetime(2019, 5, 24, 17, 44, 50, tzinfo=datetime.timezone.utc)
    """
    parsed = parse_dates(pd.Series([value])).iloc[0]
    return None if pd.isna(parsed) else parsed.to_pydatetime().astimezone(timezone.utc)


def date_choices(fields: list[FieldInfo]) -> list[DateChoice]:
    """Dynamic first, then the date fields (named like dates first), each with a parsed example."""
    out = [DateChoice(DYNAMIC_LABEL, Dynamic())]
    for info in date_fields(fields):
        example = info.examples[0] if info.examples else None
        parsed = parse_example(example) if example is not None else None
        kind = _FORMATS.get(info.kind, info.kind)
        shown = f" · e.g. {example!r} → {parsed:%Y-%m-%d %H:%M:%S} UTC" if parsed is not None else ""
        out.append(DateChoice(f"{info.path} · {kind}{shown}", Field(info.path), kind, example, parsed))
    return out


# --- step 5: errors and paging ---------------------------------------------------------------


def point_at(text: str, position: int | None) -> str | None:
    """The line of ``text`` holding ``position`` (JSONata counts characters from 1 past the error)
    with a caret under it, or None without a usable position.

    >>> print(point_at('messages.{"value": 1', 20))
    messages.{"value": 1
                       ^
    """
    if position is None or not text or position < 0:
        return None
    index = min(max(position - 1, 0), len(text))
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start : end if end != -1 else len(text)]
    return f"{line}\n{' ' * (index - start)}^"


_STOPS = {**STOP_WORDS, "complete": "complete: the last page had no next page"}  # the panel says why


def paging_lines(stored: StoredFetch) -> list[tuple[str, str]]:
    """The pagination panel: pages of the cap, records, requests, stop reason (``(what, text)``)."""
    report = stored.report
    stop = _STOPS[report.stop_reason]
    if report.error is not None:
        stop += f": {report.error}"
    lines = [
        ("pages", f"{report.pages:,} of at most {stored.max_pages:,}"),
        ("records", f"{report.records:,}"),
        ("requests", f"{report.requests:,}" + (f" ({report.retries} retried)" if report.retries else "")),
        ("stop reason", stop),
        ("time", f"{report.elapsed:.2f} s"),
    ]
    return lines


def truncation_warning(stored: StoredFetch) -> str | None:
    """What to tell the analyst when records are missing (None when the fetch is complete)."""
    report = stored.report
    if not report.truncated:
        return None
    if report.stop_reason == "page_cap" and stored.request.pagination == "none":
        return (
            "Truncated: pagination is off, so only the first page was read, and it links to more pages: "
            "records are missing and the values are too low. Choose next-page pagination in step 1."
        )
    if report.stop_reason == "page_cap":
        return (
            f"Truncated: the page cap ({stored.max_pages:,}) was reached with more pages left, so records "
            "are missing and the values are too low. Raise the page cap in step 1, or shorten the range."
        )
    return f"Truncated: {report.summary()}. The values are incomplete."


# --- copy as code ----------------------------------------------------------------------------

_ENV_COMMENT = (
    "# Credentials come from the environment: TWILIO_ACCOUNT_SID with TWILIO_API_KEY and\n"
    "# TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN); TWILIO_REGION / TWILIO_EDGE choose the host.\n"
)


def copy_as_code(
    spec: MetricSpec, *, sandbox: bool = False, date_range: str | None = None, path: str | None = None
) -> str:
    """The few lines that fetch the metric headlessly (no credential ever: they come from the env).

    ``path``: a saved spec file to load instead of the inline JSON.

    >>> from twibox_nb.model.spec import RequestSpec
    >>> print(copy_as_code(MetricSpec("Alerts", RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com")),
    ...                    sandbox=True, path="alerts.json"), end="")
    import twibox_nb as tb
    <BLANKLINE>
    conn = tb.connect(sandbox=True)  # the demo sandbox: no credentials needed
    spec = tb.load_metric('alerts.json')
    result = tb.fetch_metric(spec, conn, 'last_30_days')
    result.data
    """
    lines = ["import twibox_nb as tb", ""]
    if sandbox:
        lines.append("conn = tb.connect(sandbox=True)  # the demo sandbox: no credentials needed")
    else:
        lines += [_ENV_COMMENT.rstrip("\n"), "conn = tb.connect()"]
    if path is not None:
        lines.append(f"spec = tb.load_metric({str(path)!r})")
    else:
        text = json.dumps(spec.to_dict(), indent=2, ensure_ascii=False)
        quoted = f"r'''{text}'''" if "'''" not in text and not text.endswith("\\") else repr(text)
        lines.append(f"spec = tb.MetricSpec.from_json({quoted})")
    lines.append(f"result = tb.fetch_metric(spec, conn, {(date_range or spec.date_range)!r})")
    lines.append("result.data")
    return "\n".join(lines) + "\n"
