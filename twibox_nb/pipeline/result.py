"""A metric's result: what one fetch of one range produced, and the one place a MetricResult is built.

``fetch_metric``, the builder's preview and the store's history all end in :func:`metric_result`
(a calculated metric's, in :func:`combine_results`), so a result means the same wherever it came
from: its summary compares the current total with the previous one under the metric's trend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from ..aggregate.combine import combine_data, summary_of
from ..aggregate.frames import Summary, aggregate, clip, rows_frame, summarize, total
from ..fetch.report import FetchReport
from ..model.calculated import CalculatedMetric
from ..model.dates import DateRange
from ..model.spec import Dynamic, MetricSpec


@dataclass(frozen=True)
class Fetched:
    """What one fetch of one range produced."""

    date_range: DateRange
    rows: pd.DataFrame  # per-record rows, clipped to the range
    data: pd.DataFrame  # aggregated per interval
    total: float | None
    report: FetchReport
    first_page: Any = field(repr=False, default=None)


@dataclass(frozen=True, repr=False)
class MetricResult:
    """A fetched metric.

    ``data`` is the tidy frame aggregated to the interval (``date``, ``dimension``, ``value``);
    ``rows`` the per-record rows before aggregation; ``summary`` the total for the range compared
    with the comparison period; ``pages``, ``records``, ``stop_reason``, ``truncated`` and
    ``elapsed`` say how the fetch of the range went (``previous`` holds the comparison fetch).
    """

    spec: MetricSpec
    source: str  # where the data came from; sandbox data says so
    is_sandbox: bool
    interval: str
    fetched_at: datetime
    expression: str
    current: Fetched
    previous: Fetched | None
    summary: Summary
    warnings: tuple[str, ...] = ()

    @property
    def date_range(self) -> DateRange:
        return self.current.date_range

    @property
    def data(self) -> pd.DataFrame:
        return self.current.data

    @property
    def rows(self) -> pd.DataFrame:
        return self.current.rows

    @property
    def pages(self) -> int:
        return self.current.report.pages

    @property
    def records(self) -> int:
        return self.current.report.records

    @property
    def stop_reason(self) -> str:
        return self.current.report.stop_reason

    @property
    def truncated(self) -> bool:
        return self.current.report.truncated or bool(self.previous and self.previous.report.truncated)

    @property
    def cached_windows(self) -> int:
        """How many closed windows of the range came from the cache (no request sent for them)."""
        return self.current.report.cached_windows

    @property
    def elapsed(self) -> float:
        return self.current.report.elapsed + (self.previous.report.elapsed if self.previous else 0.0)

    @property
    def first_page(self) -> Any:
        """The body of the first page (for previews and field discovery)."""
        return self.current.first_page

    def chart(self, **options: Any) -> Any:
        """The metric as an Altair chart; never displays by itself.

        Options are those of :func:`twibox_nb.present.charts.metric_chart` (``kind``, ``top``, ``goal``,
        ``title``, ``width``, ``height``).
        """
        from ..present.charts import metric_chart

        return metric_chart(self, **options)

    def __repr__(self) -> str:
        lines = [
            f"MetricResult: {self.spec.name}",
            f"  source:   {self.source}",
            f"  range:    {self.date_range} by {self.interval}",
            f"  value:    {self.summary}",
            f"  fetch:    {self.current.report.summary()}",
        ]
        if self.previous is not None:
            lines.append(f"  compared: {self.previous.date_range}: {self.previous.report.summary()}")
        lines += [f"  warning:  {w}" for w in self.warnings]
        return "\n".join(lines)


def fetched_from_rows(
    spec: MetricSpec,
    rows: list[dict[str, Any]],
    date_range: DateRange,
    report: Any,
    *,
    interval: str,
    fetched_at: datetime,
    first_page: Any = None,
) -> Fetched:
    """The rows an expression yielded for one range, as a :class:`Fetched`: typed, then clipped to
    ``[start, end)`` on each record's own date (a dynamic-date metric's rows are stamped with
    ``fetched_at`` instead), aggregated per interval, and totalled. Fetches and previews both end here.
    """
    dynamic = isinstance(spec.date, Dynamic)
    frame = rows_frame(rows, stamp=fetched_at if dynamic else None)
    if not dynamic:
        frame = clip(frame, date_range)
    data = aggregate(frame, spec.aggregation, interval, None if dynamic else date_range, fetched_at)
    return Fetched(date_range, frame, data, total(frame, spec.aggregation), report, first_page)


def metric_result(
    spec: Any,
    current: Fetched,
    previous: Fetched | None,
    *,
    source: str,
    is_sandbox: bool,
    interval: str,
    fetched_at: datetime,
    expression: str,
    warnings: Sequence[str] = (),
    summary: Summary | None = None,
) -> MetricResult:
    """The one constructor of :class:`MetricResult`: the summary compares the totals of ``current``
    and ``previous`` under the metric's favourable trend, unless one is given (a calculated metric's,
    from its inputs' totals)."""
    if summary is None:
        summary = summarize(current.total, previous.total if previous else None, spec.favourable_trend, spec.value_unit)
    return MetricResult(
        spec=spec, source=source, is_sandbox=is_sandbox, interval=interval, fetched_at=fetched_at,
        expression=expression, current=current, previous=previous, summary=summary, warnings=tuple(warnings),
    )  # fmt: skip


STOP_SEVERITY = ("complete", "range_start_passed", "page_cap", "cycle", "error")


def combined_report(reports: list[FetchReport]) -> FetchReport:
    """One report for several fetches: counts add up, the worst stop reason wins."""
    worst = max(reports, key=lambda r: STOP_SEVERITY.index(r.stop_reason))
    return FetchReport(
        pages=sum(r.pages for r in reports),
        records=sum(r.records for r in reports),
        requests=sum(r.requests for r in reports),
        retries=sum(r.retries for r in reports),
        elapsed=sum(r.elapsed for r in reports),
        stop_reason=worst.stop_reason,
        truncated=any(r.truncated for r in reports),
        error=worst.error,
        next_url=worst.next_url,
        slices=sum(r.slices for r in reports),
        concurrency=max(r.concurrency for r in reports),
        throttled_to=min((r.throttled_to for r in reports if r.throttled_to is not None), default=None),
        cached_windows=sum(r.cached_windows for r in reports),
        cached_records=sum(r.cached_records for r in reports),
    )


def _combined(metric: CalculatedMetric, parts: list[Fetched], total: float | None, report: Any) -> Fetched:
    """The inputs' parts of one range as one: their values combined per interval, ``total`` and ``report`` given."""
    rows = pd.concat(
        [p.data.assign(input=m.name) for m, p in zip(metric.inputs, parts, strict=True)], ignore_index=True
    )
    return Fetched(
        date_range=parts[0].date_range,
        rows=rows,  # for a calculated metric: each input's value per interval, in column "input"
        data=combine_data(metric, [p.data for p in parts]),
        total=total,
        report=report,
    )


def combine_results(
    metric: CalculatedMetric,
    results: list[MetricResult],
    *,
    interval: str,
    source: str,
    is_sandbox: bool,
    fetched_at: datetime,
    expression: str,
    merge: Callable[[list[Any]], Any] = combined_report,
) -> MetricResult:
    """A calculated metric's result from its inputs' results over the same range(s): combined per
    interval, and in total from the inputs' totals (a ratio of sums). ``merge`` joins the inputs'
    reports (fetch reports here; the store passes its own)."""
    notes = [f"{m.name}: {w}" for m, r in zip(metric.inputs, results, strict=True) for w in r.warnings]
    compared = all(r.previous is not None for r in results)
    summary = summary_of(
        metric,
        [r.summary.current for r in results],
        [r.summary.previous for r in results] if compared else None,
    )

    def joined(parts: list[Fetched], value: float | None) -> Fetched:
        return _combined(metric, parts, value, merge([p.report for p in parts]))

    current = joined([r.current for r in results], summary.current)
    previous = joined([r.previous for r in results], summary.previous) if compared else None  # type: ignore[misc]
    return metric_result(
        metric, current, previous, source=source, is_sandbox=is_sandbox, interval=interval,
        fetched_at=fetched_at, expression=expression, warnings=notes, summary=summary,
    )  # fmt: skip
