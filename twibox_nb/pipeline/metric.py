"""``fetch_metric``: a metric spec in, a tidy DataFrame and its summary out.

The pipeline of DESIGN.md, each step a function of plain values: resolve the range (the clock is
passed in) → build the request → fetch pages (the client, the only network IO) → evaluate each
page as it arrives into rows (only rows are kept) → clip to ``[start, end)`` on each record's own
date → aggregate per interval → compare with the previous period.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .._exceptions import FetchError, ResponseFormatError, TruncationWarning, TwiboxWarning, TwilioAPIError
from ..aggregate.frames import unreadable_note
from ..evaluate.evaluator import Evaluator
from ..fetch.chain import PageFetcher
from ..fetch.connection import Connection
from ..fetch.report import FetchReport, Progress
from ..fetch.request import build_request
from ..fetch.session import RetryPolicy
from ..fetch.slices import DEFAULT_CONCURRENCY, check_concurrency, keep_records, plan_slices
from ..fetch.slicing import Slice, SliceFetcher
from ..model.calculated import CalculatedMetric
from ..model.catalog import find_endpoint
from ..model.dates import DateRange, check_interval, comparison_range, resolve_range
from ..model.identity import metric_identity
from ..model.records import find_records
from ..model.spec import Dynamic, MetricSpec
from ..model.twilio_dates import date_keys, moment_key
from .cache import Cache, WindowKey, default_cache, is_closed
from .result import Fetched, MetricResult, combine_results, fetched_from_rows, metric_result


def _stop_when(spec: MetricSpec, date_range: DateRange) -> Callable[[Any], bool] | None:
    """For lists the catalogue knows to be newest first: stop once a page is older than the range."""
    endpoint = find_endpoint(spec.request.base_url, spec.request.path)
    if endpoint is None or not endpoint.newest_first or endpoint.date_field is None:
        return None
    field_name = endpoint.date_field
    start = moment_key(date_range.start)

    # Runs on the page chains' worker threads: date text as keys, never pandas (see date_keys).
    def passed(body: Any) -> bool:
        _, records = find_records(body)
        if not records or not isinstance(records[-1], dict):
            return False
        oldest = date_keys([records[-1].get(field_name)])[0]
        return oldest is not None and oldest < start

    return passed


def _resolve_cache(cache: Cache | bool | str | None, conn: Connection) -> Cache | None:
    if cache == "auto":
        return None if conn.is_sandbox else default_cache()  # sandbox data differs by seed, scale and clock
    if cache is True:
        return default_cache()
    if cache is False or cache is None:
        return None
    if isinstance(cache, Cache):
        return cache
    raise TypeError(f"cache must be a Cache, True, False or None; got {cache!r}")


def _fetched_to_its_end(report: FetchReport) -> bool:
    """Whether a window's fetch holds all of it, so that it may be cached."""
    return not report.truncated and report.stop_reason in ("complete", "range_start_passed")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while pages are fetched and evaluated.

    Page bodies are trees of dicts and lists without cycles, freed by reference counting as soon
    as their rows are taken; the cyclic collector would still walk the pages in flight and the
    growing rows again and again as 100,000 records arrive: about a fifth of a large fetch's time
    (benchmarks/run.py). It is restored, as it was, when the fetch ends or fails.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fetch_range(
    spec: MetricSpec,
    conn: Connection,
    *,
    evaluator: Evaluator,
    date_range: DateRange,
    interval: str,
    fetched_at: datetime,
    fetcher_options: dict[str, Any],
    concurrency: int = DEFAULT_CONCURRENCY,
    cache: Cache | None = None,
) -> tuple[Fetched, str]:
    dynamic = isinstance(spec.date, Dynamic)
    plan = None if dynamic else plan_slices(spec, date_range, concurrency)
    windows = list(plan.windows) if plan is not None else [date_range]
    # Closed windows may come from the cache; open ones (today's included) are always fetched.
    keys: list[WindowKey | None] = [None] * len(windows)
    # Where the data come from (None: a sandbox of unknown seed and scale, not cached); the spec's own
    # host is in its identity.
    origin = conn.cache_identity() if cache is not None and not dynamic else None
    if cache is not None and origin is not None and any(is_closed(w.end, fetched_at, cache.settle) for w in windows):
        # Entries are served only to the credentials that wrote them (a keyed hash, never the secret).
        identity, credential = metric_identity(spec), cache.credential_tag(conn)
        for i, window in enumerate(windows):
            if is_closed(window.end, fetched_at, cache.settle):
                keys[i] = WindowKey(conn.account_sid, origin, identity, window.start, window.end, credential)
    rows_by_window: list[list[dict[str, Any]]] = [[] for _ in windows]
    cached_records = 0
    to_fetch: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None and key is not None else None
        if hit is None:
            to_fetch.append(i)
        else:
            rows_by_window[i] = hit.rows
            cached_records += hit.records
    first_page = None
    text = spec.expression or ""
    if not to_fetch:
        report = FetchReport(0, 0, 0, 0, 0.0, "complete", False)
    elif plan is None:
        fetcher = PageFetcher(
            conn,
            build_request(spec, conn, date_range),
            pagination=spec.request.pagination,
            max_pages=spec.request.max_pages,
            stop_when=None if dynamic else _stop_when(spec, date_range),
            **fetcher_options,
        )
        rows = rows_by_window[0]
        for page in fetcher:
            if first_page is None:
                first_page = page.body
                text = evaluator.text(page.body)
            rows.extend(evaluator.rows(page.body))  # pages are evaluated as they arrive; only rows stay
        report = fetcher.report
        assert report is not None  # set when the iteration ends
        if keys[0] is not None and _fetched_to_its_end(report):
            assert cache is not None
            cache.put(keys[0], rows, records=report.records, pages=report.pages)
    else:
        slices = [Slice(build_request(spec, conn, windows[i]), _stop_when(spec, windows[i])) for i in to_fetch]
        sliced = SliceFetcher(
            conn,
            slices,
            concurrency=concurrency,
            pagination=spec.request.pagination,
            max_pages=spec.request.max_pages,
            **fetcher_options,
        )
        seen: set[str] = set()
        first_at = len(windows)
        # closing(): an error while evaluating stops the worker threads at once, instead of
        # whenever the traceback (which a notebook keeps) lets go of the generator.
        with closing(iter(sliced)) as arriving:
            for j, page in arriving:
                i = to_fetch[j]
                # Each slice keeps only its own records (a date-only filter answers whole days)
                # and a record already counted by another slice is dropped, before evaluation.
                body, _ = keep_records(page.body, plan.date_field, windows[i], seen)
                if page.number == 0 and i < first_at:  # the first page of the first window fetched
                    first_at, first_page = i, page.body
                if not text:
                    text = evaluator.text(page.body)
                rows_by_window[i].extend(evaluator.rows(body))
        report = sliced.report
        assert report is not None
        if cache is not None:
            for j, i in enumerate(to_fetch):
                done = sliced.slice_reports[j]
                key = keys[i]
                if key is not None and done is not None and _fetched_to_its_end(done):
                    cache.put(key, rows_by_window[i], records=done.records, pages=done.pages)
    report = replace(
        report,
        slices=len(windows),
        cached_windows=len(windows) - len(to_fetch),
        cached_records=cached_records,
    )
    if not text:  # every window came from the cache: the expression the pages would have had
        endpoint = find_endpoint(spec.request.base_url, spec.request.path)
        if endpoint is not None and endpoint.list_key:
            text = evaluator.text({endpoint.list_key: []})
    rows = rows_by_window[0] if len(windows) == 1 else [row for part in rows_by_window for row in part]
    fetched = fetched_from_rows(
        spec, rows, date_range, report, interval=interval, fetched_at=fetched_at, first_page=first_page
    )
    return fetched, text


def fetch_metric(  # noqa: PLR0917  (the documented signature takes these positionally)
    spec: MetricSpec,
    conn: Connection,
    date_range: str | DateRange | None = None,
    interval: str | None = None,
    compare: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    expression_timeout: float = 10.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    cache: Cache | bool | str | None = "auto",
) -> MetricResult:
    """Fetch a metric over a date range and aggregate it.

    ``spec`` is a :class:`MetricSpec` or a :class:`~twibox_nb.model.calculated.CalculatedMetric`.
    ``date_range`` and ``interval`` default to the spec's; ``compare`` is None,
    ``"previous_period"`` or ``"same_period_last_year"`` (fetched separately, with its own date
    tokens); ``progress`` hears about every page (pages and records so far); ``now`` pins the
    clock (default: the current UTC time). A fetch that stopped early warns with
    :class:`TruncationWarning` and says so in ``result.warnings``.

    ``concurrency`` (default 8, at most 32; 1 fetches one page after another) is how many
    requests may be in flight at once: an event list (Messages, Calls, Monitor alerts …) whose
    request has date tokens for both its start and end filter is fetched as date slices
    (:mod:`twibox_nb.fetch.slices`), concurrently; 429s bring the concurrency down. ``cache`` is a
    :class:`~twibox_nb.pipeline.cache.Cache`, True (the default cache), or False/None (no cache); by
    default real Twilio connections use the default cache (unless ``$TWIBOX_CACHE=off``) and
    sandbox connections none. Closed windows (ended at least an hour ago) then come from the
    cache; ``result.cached_windows`` says how many.

    >>> from twibox_nb.fetch.connection import connect
    >>> from twibox_nb.model.spec import Field, RequestSpec
    >>> spec = MetricSpec("Alerts by level", RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com",
    ...     params={"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"}),
    ...     dimension=Field("log_level"), date=Field("date_generated"), date_range="last_7_days")
    >>> result = fetch_metric(spec, connect(sandbox=True))
    >>> sorted(result.data.columns), result.stop_reason, result.summary.current == len(result.rows)
    (['date', 'dimension', 'value'], 'complete', True)
    """
    fetched_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if isinstance(spec, CalculatedMetric):
        return _fetch_calculated(
            spec, conn, date_range, interval, compare, progress,
            now=fetched_at, policy=policy, sleep=sleep, expression_timeout=expression_timeout,
            concurrency=concurrency, cache=cache,
        )  # fmt: skip
    current_range = resolve_range(date_range if date_range is not None else spec.date_range, fetched_at)
    interval = check_interval(interval if interval is not None else spec.interval)
    previous_range = comparison_range(current_range, compare)
    evaluator = Evaluator(spec, expression_timeout)
    options: dict[str, Any] = {"progress": progress, "sleep": sleep}
    if policy is not None:
        options["policy"] = policy
    check_concurrency(concurrency)
    where = {
        "evaluator": evaluator,
        "interval": interval,
        "fetched_at": fetched_at,
        "fetcher_options": options,
        "concurrency": concurrency,
        "cache": _resolve_cache(cache, conn),
    }
    with _collector_paused():
        current, text = _fetch_range(spec, conn, date_range=current_range, **where)
    previous = None
    notes: list[str] = []
    if previous_range is not None:
        if isinstance(spec.date, Dynamic):
            notes.append(
                "a dynamic-date metric has no past values in one fetch: compare it from stored history (Store)"
            )
        else:
            try:
                with _collector_paused():
                    previous, _ = _fetch_range(spec, conn, date_range=previous_range, **where)
            except (TwilioAPIError, FetchError, ResponseFormatError) as exc:
                # The range itself was fetched; the comparison is a bonus (e.g. Monitor refuses
                # alerts older than 30 days): keep the result and say why there is no comparison.
                notes.append(f"the comparison period could not be fetched: {exc}")
    for label, fetched in (("this range", current), ("the comparison period", previous)):
        if fetched is None:
            continue
        if fetched.report.truncated:
            note = f"{label}: {fetched.report.summary()}; the values are incomplete"
            notes.append(note)
            warnings.warn(f"{spec.name}: {note}", TruncationWarning, stacklevel=2)
        unreadable = unreadable_note(fetched.rows)
        if unreadable is not None:  # records the range cannot place: said, never silently dropped
            notes.append(f"{label}: {unreadable}")
            warnings.warn(f"{spec.name}: {label}: {unreadable}", TwiboxWarning, stacklevel=2)
    return metric_result(
        spec, current, previous, source=conn.label, is_sandbox=conn.is_sandbox, interval=interval,
        fetched_at=fetched_at, expression=text, warnings=notes,
    )  # fmt: skip


def _fetch_calculated(  # noqa: PLR0917
    metric: CalculatedMetric,
    conn: Connection,
    date_range: str | DateRange | None,
    interval: str | None,
    compare: str | None,
    progress: Callable[[Progress], None] | None,
    **options: Any,
) -> MetricResult:
    """Fetch every input over the same range(s), then combine per interval and in total."""
    now = options["now"]
    current_range = resolve_range(date_range if date_range is not None else metric.date_range, now)
    interval = check_interval(interval if interval is not None else metric.interval)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        results = [fetch_metric(m, conn, current_range, interval, compare, progress, **options) for m in metric.inputs]
    for warning in caught:
        warnings.warn(f"{metric.name}: {warning.message}", TruncationWarning, stacklevel=3)
    return combine_results(
        metric, results, interval=interval, source=conn.label, is_sandbox=conn.is_sandbox, fetched_at=now,
        expression="\n".join(f"{m.name}: {r.expression}" for m, r in zip(metric.inputs, results, strict=True)),
    )  # fmt: skip
