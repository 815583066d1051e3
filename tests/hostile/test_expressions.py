"""Hostile custom expressions: refused at once, or stopped in the worker, never growing this process.

Every case runs under the suite's time and memory bounds (tests/hostile/conftest.py): the growth
an expression causes must happen, if at all, in the worker process, which is replaced afterwards.
"""

from __future__ import annotations

import time
import warnings

import pytest

import twibox_nb as tb
from twibox_nb._exceptions import ExpressionError
from twibox_nb.evaluate import engines, limits
from twibox_nb.evaluate.custom import custom_expression
from twibox_nb.model.spec import Count, Dynamic, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric

from ..conftest import MESSAGES_REQUEST, NOW

ENGINES = [engines.PYTHON] + ([engines.FAST] if engines.fast_engine_available() else [])


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    monkeypatch.setenv(engines.ENGINE_ENV, request.param)
    warnings.simplefilter("ignore", engines.SlowEngineWarning)
    return request.param


def still_works() -> None:
    """The next evaluation, on a fresh or surviving worker, is answered as usual."""
    assert custom_expression("$count($distinct(messages))").evaluate({"messages": [1, 2, 2]})[0]["value"] == 2


@pytest.mark.bounds(seconds=10, megabytes=100)
def test_a_1_mb_expression_is_refused_at_once_with_its_size_the_limit_and_how_to_change_it(engine):
    text = "[" + ",".join(["1"] * 500_000) + "]"  # 1 MB: jsonata-python took 20 s and more to parse one
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        custom_expression(text)
    assert time.monotonic() - started < 5  # parsing it took 20 s and more
    message = str(caught.value)
    assert caught.value.code == "size" and "1,000,001 characters" in message and "20,000" in message
    assert limits.MAX_CHARS_ENV in message
    assert len(custom_expression("$count(messages)").text) < limits.DEFAULT_MAX_CHARS


@pytest.mark.bounds(seconds=15, megabytes=100)
def test_the_limit_can_be_raised_and_a_slow_parse_is_then_stopped_in_the_worker(monkeypatch):
    """jsonata-python parses in the worker, under the timeout: the notebook waits no longer than that."""
    monkeypatch.setenv(engines.ENGINE_ENV, engines.PYTHON)
    monkeypatch.setenv(limits.MAX_CHARS_ENV, "off")
    text = "[" + ",".join(["1"] * 500_000) + "]"
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="too long to parse") as caught:
        custom_expression(text, timeout=1.0)
    assert caught.value.code == "timeout" and time.monotonic() - started < 10  # the parse alone took 20 s
    monkeypatch.setenv(limits.MAX_CHARS_ENV, "30")
    with pytest.raises(ExpressionError, match="over the limit of 30"):
        custom_expression("messages." + "a." * 20 + "b")
    still_works()


@pytest.mark.bounds(seconds=15, megabytes=100)
def test_pad_to_a_gigabyte_is_stopped_without_growing_this_process(engine):
    # A generous timeout, so that a loaded machine (a slow worker start) still meets the memory
    # limit first; this case's own time bound says how long it may take.
    with pytest.raises(ExpressionError) as caught:
        custom_expression('$pad("x", 1000000000)', timeout=12.0).evaluate({})
    # jsonata-python runs out of the worker's memory; jlens refuses a $pad over 1e7 itself.
    assert caught.value.code == ("memory" if engine == engines.PYTHON else "D2016"), caught.value
    if engine == engines.PYTHON:
        assert "ran out of memory" in str(caught.value) and limits.MEMORY_ENV in str(caught.value)
    still_works()


@pytest.mark.bounds(seconds=20, megabytes=100)
def test_lists_of_ten_million_are_stopped_by_memory_or_time_in_the_worker(engine):
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        # jlens gets a generous timeout, so that a loaded machine still meets its memory limit first.
        timeout = 5.0 if engine == engines.PYTHON else 12.0
        custom_expression("$count([1..6].[[1..10000000]])", timeout=timeout).evaluate({})
    # 1.6 GB on jlens (the memory limit); jsonata-python is slower than it is hungry (the timeout).
    assert caught.value.code == ("timeout" if engine == engines.PYTHON else "memory"), caught.value
    assert time.monotonic() - started < 15  # the timeout or the memory limit, not 1.6 GB later
    still_works()


@pytest.mark.bounds(seconds=60, megabytes=100)
def test_the_memory_limit_says_how_to_raise_it_and_raising_it_works(engine, monkeypatch):
    # A text of 300 MB on jsonata-python (jlens refuses a $pad over 1e7); lists of 1.6 GB on jlens,
    # whose own 1 GiB arena, mapped when it is imported, is always usable (see limits.py).
    text, value, megabytes = ('$length($pad("x", 300000000))', 300_000_000, 100)
    if engine == engines.FAST:
        text, value, megabytes = ("$count([1..6].[[1..10000000]])", 6, 1024)
    monkeypatch.setenv(limits.MEMORY_ENV, str(megabytes))
    # Timeouts generous enough that a loaded machine meets the memory limit (or the answer) first.
    with pytest.raises(ExpressionError) as caught:
        custom_expression(text, timeout=20).evaluate({})
    assert caught.value.code == "memory" and f"{megabytes:,} MB" in str(caught.value)
    assert f"os.environ['{limits.MEMORY_ENV}'] = '{2 * megabytes}'" in str(caught.value)
    monkeypatch.setenv(limits.MEMORY_ENV, "3000")
    assert custom_expression(text, timeout=30).evaluate({})[0]["value"] == value


def test_only_bounded_expressions_are_evaluated_in_this_process():
    assert engines.runs_in_process('messages.{"date": date_sent, "value": price ? $number(price) : null}')
    for text in ["$count([1..6].[[1..10000000]])", '$pad("x", 1000000000)', "($a := sid & sid; $a & $a)"]:
        assert not engines.runs_in_process(text), text


@pytest.mark.bounds(seconds=30, megabytes=150)
def test_a_fetch_with_a_hostile_expression_stops_in_the_worker(conn, engine):
    """The fetch path evaluates custom expressions through the guarded Evaluator, like previews and syncs."""
    spec = MetricSpec("Hostile", MESSAGES_REQUEST, value=Count(), date=Field("date_sent"),
                      expression="$count([1..6].[[1..10000000]])")  # fmt: skip
    with pytest.raises(ExpressionError) as caught:
        fetch_metric(spec, conn, "last_7_days", "day", now=NOW, expression_timeout=2.0)
    assert caught.value.code in ("memory", "timeout")
    still_works()


def test_a_single_number_on_a_dated_metric_is_refused_with_what_to_do(conn, engine):
    spec = MetricSpec("Count", MESSAGES_REQUEST, value=Count(), date=Field("date_sent"), expression="$count(messages)")
    with pytest.raises(ExpressionError, match=r"single number .* has no date") as caught:
        fetch_metric(spec, conn, "last_7_days", "day", now=NOW)
    assert caught.value.code == "shape" and "dynamic" in str(caught.value)


def test_a_single_number_on_a_dynamic_metric_is_the_value_now(conn, sandbox, engine):
    request = RequestSpec(MESSAGES_REQUEST.path, params={"PageSize": "1000"}, max_pages=1)
    spec = MetricSpec("Count", request, value=Count(), date=Dynamic(), expression="$count(messages)",
                      aggregation="latest")  # fmt: skip
    result = tb.fetch_metric(spec, conn, "today", "day", now=NOW)
    assert len(result.rows) == 1 and result.rows["value"].iloc[0] == result.records > 0
    assert result.summary.current == result.records and result.data["value"].sum() == result.records
