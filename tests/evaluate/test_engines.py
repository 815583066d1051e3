"""The JSONata engines for custom expressions: the fast one (jlens) and jsonata-python agree, the
fast one's runaways end, its errors never fall back, its internal failures do."""

from __future__ import annotations

import logging
import threading
import time
import warnings

import pytest

from twibox_nb._exceptions import ExpressionError
from twibox_nb.evaluate import engines
from twibox_nb.evaluate import guard as _guard
from twibox_nb.evaluate.custom import custom_expression

pytest.importorskip("jlens", reason="the fast engine is in the test extra: pip install -e '.[test]'")

FAST, PYTHON = engines.FAST, engines.PYTHON

# Expressions an analyst writes against Twilio's pages (the README's and the recipe's examples).
EXPRESSIONS = {
    "messages": [
        'messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}',
        'messages.{"date": date_sent, "value": $type(price) = "string" ? $number(price) : null, "dimension": status}',
        'messages[direction = "inbound"].{"date": date_sent, "value": 1, "dimension": "inbound"}',
        'messages[error_code].{"date": date_sent, "value": 1, "dimension": error_code}',
        'messages.{"date": $substring(date_sent, 5, 11), "value": $number(num_segments), "dimension": direction}',
        'messages{status: $sum(num_segments.$number())} ~> $each(function($v, $k){{"value": $v, "dimension": $k}})',
        'messages{$substring(date_sent, 5, 11): $count(sid)} ~> $each(function($v, $k){{"date": $k, "value": $v}})',
        '{"value": $count(messages[status = "failed"]) / $count(messages) * 100}',
        "$count(messages)",
        'messages[status = "no-such-status"].{"value": 1}',
        'messages[0].{"date": date_sent, "value": 1, "dimension": messaging_service_sid}',
    ],
    "calls": [
        'calls.{"date": start_time, "value": $number(duration), "dimension": status}',
        'calls[status = "completed"].{"date": start_time, "value": -$number(price), "dimension": direction}',
    ],
}


def _pages(client, api, resource: str) -> list[str]:
    """The raw JSON text of the first two pages of the last week's records."""
    if resource == "messages":
        params = {"PageSize": 200, "DateSent>": "2026-11-20"}
    else:
        params = {"PageSize": 50, "StartTime>": "2026-11-20"}
    response = client.get(f"{api}/{resource.capitalize()}.json", params=params)
    texts = [response.text]
    nxt = response.json()["next_page_uri"]
    texts.append(client.get("https://api.twilio.com" + nxt).text)
    return texts


@pytest.fixture(scope="module")
def pages(sandbox):
    import httpx

    c = sandbox.credentials
    api = f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}"
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
        return {resource: _pages(client, api, resource) for resource in EXPRESSIONS}


@pytest.fixture
def fresh(monkeypatch):
    """No memory of earlier fallbacks or warnings."""
    monkeypatch.setattr(engines, "_fast_failed", set())
    monkeypatch.setattr(engines, "_told", threading.Event())


def rows_on(engine: str, text: str, monkeypatch, **kwargs):
    monkeypatch.setenv(engines.ENGINE_ENV, engine)
    expression = custom_expression(text)
    assert expression.engine == engine
    return expression.evaluate(**kwargs)


def _cases():
    return [(resource, text) for resource, texts in EXPRESSIONS.items() for text in texts]


@pytest.mark.parametrize(("resource", "text"), _cases())
@pytest.mark.filterwarnings("ignore::twibox_nb.evaluate.engines.SlowEngineWarning")
def test_both_engines_give_the_same_rows(pages, resource, text, monkeypatch, fresh):
    import json

    for raw in pages[resource]:
        body = json.loads(raw)
        expected = rows_on(PYTHON, text, monkeypatch, body=body)
        assert rows_on(FAST, text, monkeypatch, body=body) == expected  # parsed, cut to what it reads
        assert rows_on(FAST, text, monkeypatch, raw=raw) == expected  # the page's text as it arrived
        assert rows_on(FAST, text, monkeypatch, raw=raw.encode()) == expected
        assert rows_on(PYTHON, text, monkeypatch, raw=raw) == expected
        # the numbers' types too: whole numbers are ints on both engines
        assert [type(r["value"]) for r in rows_on(FAST, text, monkeypatch, raw=raw)] == [
            type(r["value"]) for r in expected
        ]
    assert not engines._fast_failed


def test_the_fast_engine_reads_only_what_the_expression_reads():
    read = engines._read_of('messages.{"date": date_sent, "value": 1}')
    body = {"messages": [{"date_sent": "x", "body": "a secret", "price": None}], "page": 0}
    assert engines._prune(body, read) == {"messages": [{"date_sent": "x"}]}
    assert engines._prune(body, engines._read_of("$count(messages)")) == {"messages": [{}]}
    assert engines._prune(body, engines._read_of("**.price")) == body


RUNAWAYS = [
    "($f := function(){$f()}; $f())",  # endless recursion
    "($f := function($x){$f($x+1)}; $f(0))",  # endless tail recursion
    '($f := function($s){$f($s & $s)}; $f("ab"))',  # a string that doubles forever: a size limit
    "[1..10000].([1..10000])",  # 100 million items: a size limit or the deadline
    '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+b/)',  # catastrophic backtracking
    "$distinct([1..1000000])",  # quadratic inside one built-in that never checks the deadline: the watchdog
    "$count($keys([1..1000000].{$string($): 1}))",  # the same with $keys
]


@pytest.mark.parametrize("runaway", RUNAWAYS)
def test_runaways_end_quickly_on_the_fast_engine_and_the_next_evaluation_works(runaway, monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    expression = custom_expression(runaway, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate({})
    elapsed = time.monotonic() - started
    assert caught.value.code in ("timeout", "limit"), caught.value
    assert elapsed < 1.0 + engines._GRACE + 1.5  # the deadline, the watchdog's grace, a loaded CI machine
    assert not engines._fast_failed  # a runaway is the expression's fault: no fallback
    assert custom_expression("$count(messages)").evaluate({"messages": [1, 2]})[0]["value"] == 2


@pytest.mark.parametrize("text", ["[1..10000000]", "$sum([1..1e7])", "$count([1..1e7])"])
def test_large_ranges_end_with_a_result_or_a_limit(text, monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    started = time.monotonic()
    try:
        rows = custom_expression(text, timeout=1.0).evaluate({})
    except ExpressionError as exc:
        assert exc.code in ("timeout", "limit", "shape", "memory"), exc
    else:
        assert rows[0]["value"] in (50000005000000, 10000000)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ('$number("abc")', "D3030", None),
        ('messages.{"value": $number(price)}', "T0410", 27),
        ('"a" + 1', "T2001", None),
        ("1 / 0", "D1001", None),
        ("$nosuchfunction()", "T1006", 16),
    ],
)
def test_jsonata_errors_are_the_same_on_both_engines_and_never_fall_back(
    text, code, position, monkeypatch, fresh, caplog
):
    body = {"messages": [{"price": None}]}
    for engine in (FAST, PYTHON):
        monkeypatch.setenv(engines.ENGINE_ENV, engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", engines.SlowEngineWarning)
            with pytest.raises(ExpressionError) as caught:
                custom_expression(text).evaluate(body)
        assert caught.value.code == code, engine
        if position is not None:
            assert caught.value.position == position, engine
    assert not engines._fast_failed
    assert "failed internally" not in caplog.text


SYNTAX_ERRORS = [
    'messages.{"value": 1',
    "messages[",
    "$sum(1,",
    "price +",
    '{"a" 1}',
    "function($x {1}",
    "$f(]",
    "1 2",
    "a{b:1 c:2}",
    "a[1)",
    '"unterminated',
    "a := 1",
    "/abc",
]


@pytest.mark.parametrize("text", SYNTAX_ERRORS)
def test_syntax_errors_are_the_same_on_both_engines(text, monkeypatch, fresh):
    errors = []
    for engine in (FAST, PYTHON):
        monkeypatch.setenv(engines.ENGINE_ENV, engine)
        with pytest.raises(ExpressionError) as caught:
            custom_expression(text)
        errors.append((caught.value.code, caught.value.position, str(caught.value)))
    assert errors[0] == errors[1]
    assert errors[0][1] is not None
    assert not engines._fast_failed


def test_an_internal_failure_of_the_fast_engine_falls_back_once_with_a_note(monkeypatch, fresh, caplog):
    # An option jlens does not know makes it raise a TypeError in the worker: not a JSONata error.
    monkeypatch.setattr(engines, "FAST_LIMITS", {**engines.FAST_LIMITS, "no_such_option": 1})
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    text = 'messages.{"value": price ? $number(price) : null, "dimension": status}'
    body = {"messages": [{"price": "-0.0079", "status": "sent"}, {"price": None, "status": "failed"}]}
    expression = custom_expression(text)
    with caplog.at_level(logging.WARNING, logger="twibox_nb.evaluate.engines"):
        assert expression.evaluate(body) == [
            {"date": None, "value": -0.0079, "dimension": "sent"},
            {"date": None, "value": None, "dimension": "failed"},
        ]
        assert expression.evaluate(body)[1]["dimension"] == "failed"  # straight to jsonata-python now
    assert caplog.text.count("failed internally") == 1 and "TypeError" in caplog.text
    assert text in engines._fast_failed


def test_a_panic_while_compiling_falls_back_to_jsonata_python(monkeypatch, fresh, caplog):
    import jlens

    class Panic(BaseException):  # pyo3's PanicException derives from BaseException
        pass

    def explode(text):
        raise Panic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(jlens, "Expression", explode)
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    with caplog.at_level(logging.WARNING, logger="twibox_nb.evaluate.engines"):
        expression = custom_expression("$count(messages)")
    assert expression.engine == PYTHON and "Panic" in caplog.text
    assert expression.evaluate({"messages": [1, 2, 3]})[0]["value"] == 3


def test_a_worker_without_the_fast_engine_falls_back(monkeypatch, fresh, caplog):
    """The parent can import jlens but the worker cannot (another environment): jsonata-python runs it."""
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    expression = custom_expression("$count($distinct(messages))")  # $distinct: evaluated in the worker
    _guard._WORKER.evaluate("1", b"null", 30)  # a running worker
    monkeypatch.setattr(_guard._WORKER, "fast", False)
    with caplog.at_level(logging.WARNING, logger="twibox_nb.evaluate.engines"):
        assert expression.evaluate({"messages": [1]})[0]["value"] == 1
    assert "could not import the fast engine" in caplog.text


def test_without_the_fast_engine_the_user_is_told_once(monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, PYTHON)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            custom_expression("$count(messages)").evaluate({"messages": [1]})
    told = [w for w in caught if issubclass(w.category, engines.SlowEngineWarning)]
    assert len(told) == 1
    assert issubclass(engines.SlowEngineWarning, UserWarning)
    assert "pip install 'twibox-nb[fast]'" in str(told[0].message) and "jsonata-python" in str(told[0].message)
    assert told[0].filename == __file__  # points at the caller's line


def test_the_fast_engine_says_nothing(monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        custom_expression("$count(messages)").evaluate({"messages": [1]})


def test_the_engine_can_be_forced(monkeypatch):
    monkeypatch.delenv(engines.ENGINE_ENV, raising=False)
    assert engines.fast_engine_available()
    assert engines.selected_engine() == FAST
    for value, engine in [("python", PYTHON), ("fast", FAST), ("auto", FAST), (" Python ", PYTHON)]:
        monkeypatch.setenv(engines.ENGINE_ENV, value)
        assert engines.selected_engine() == engine
        assert custom_expression("1").engine == engine
    monkeypatch.setenv(engines.ENGINE_ENV, "rust")
    with pytest.raises(ExpressionError, match="fast, python or auto") as caught:
        custom_expression("1")
    assert caught.value.code == "engine"
    monkeypatch.setenv(engines.ENGINE_ENV, "fast")
    monkeypatch.setattr(engines, "fast_engine_available", lambda: False)
    with pytest.raises(ExpressionError, match=r"pip install 'twibox-nb\[fast\]'"):
        custom_expression("1")
    monkeypatch.setenv(engines.ENGINE_ENV, "auto")
    assert custom_expression("1").engine == PYTHON


@pytest.mark.parametrize("engine", [FAST, PYTHON])
def test_raw_text_that_is_not_json_is_an_input_error(engine, monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engines.SlowEngineWarning)
        for raw in ['{"messages": [', b"\xff\xfe", ""]:
            with pytest.raises(ExpressionError) as caught:
                custom_expression("$count(messages)").evaluate(raw=raw)
            assert caught.value.code == "input"
    assert not engines._fast_failed


@pytest.mark.parametrize("engine", [FAST, PYTHON])
def test_a_function_result_is_not_json_on_both_engines(engine, monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engines.SlowEngineWarning)
        for text in ["function($x){$x}", "$sum", "messages ? function(){1} : 2"]:
            with pytest.raises(ExpressionError, match="not JSON data") as caught:
                custom_expression(text).evaluate({"messages": [1]})
            assert caught.value.code == "shape"
        assert custom_expression("messages ? function(){1} : 2").evaluate({})[0]["value"] == 2


def test_a_big_body_gets_time_in_proportion(monkeypatch):
    seen = []

    def run(text, payload, engine, deadline, progress):
        seen.append(deadline)
        return {"result": None}

    def here(text, body, raw, deadline):
        seen.append(deadline)
        return {"result": None}

    monkeypatch.setattr(engines, "_run", run)
    monkeypatch.setattr(engines, "_evaluate_here", here)
    engines.evaluate("$distinct(1)", raw=b"1", timeout=2.0, engine=FAST)  # in the worker
    engines.evaluate("$distinct(1)", raw=b" " * (10 * engines.PAGE_BYTES), timeout=2.0, engine=FAST)
    engines.evaluate("1", raw=b" " * (10 * engines.PAGE_BYTES), timeout=2.0, engine=FAST)  # in this process
    engines.evaluate("1", body={"messages": [{}] * 5000}, timeout=2.0, engine=FAST)  # 5 pages of records
    assert seen == [2.0, 20.0, 20.0, 10.0]


def test_long_work_reports_its_elapsed_time(monkeypatch, fresh):
    monkeypatch.setattr(engines, "_PROGRESS_AFTER", 0.05)
    monkeypatch.setenv(engines.ENGINE_ENV, PYTHON)
    ticks: list[float] = []
    body = {"messages": [{"price": "-0.0079", "status": "sent"}] * 4000}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engines.SlowEngineWarning)
        rows = custom_expression('messages.{"value": $number(price)}', timeout=30).evaluate(body, progress=ticks.append)
    assert len(rows) == 4000
    assert ticks and ticks == sorted(ticks)
    # and the default display (tqdm) opens and closes without a notebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engines.SlowEngineWarning)
        assert len(custom_expression('messages.{"value": 1}', timeout=30).evaluate(body, progress=True)) == 4000


@pytest.mark.parametrize(
    ("text", "here"),
    [
        ('messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}', True),
        ('messages.{"date": $substring(date_sent, 5, 11), "value": $number(num_segments)}', True),
        ('messages[status in ["failed", "undelivered"]].{"date": date_sent, "value": 1}', True),
        ('($n := $count(messages); {"value": $n})', False),  # a variable: its value can be used twice
        ("[1..10000].([1..10000])", False),  # a range: memory only the worker can limit
        ('$count(messages.$pad("x", 9999999))', False),  # 10 MB per record
        ('messages.(sid & sid & sid)', False),  # builds text
        ('messages.$string($$)', False),  # the whole input for each record
        ("$distinct(messages.status)", False),  # ignores the deadline on large arrays
        ("($f := $distinct; $f(messages.status))", False),  # the same, through a variable
        ("($f := function($x){$f($x+1)}; $f(0))", False),  # defines a function
        ("messages ~> $map(λ($m){$m.sid})", False),
        ('"$distinct(" & status', False),  # in a string: errs towards the worker
        ("$nosuchfunction()", False),
    ],
)
def test_only_expressions_that_cannot_run_away_are_evaluated_in_this_process(text, here):
    assert engines.runs_in_process(text) is here


@pytest.mark.filterwarnings("ignore::twibox_nb.evaluate.engines.SlowEngineWarning")
def test_an_in_process_expression_never_reaches_the_worker(monkeypatch, fresh, sandbox):
    """The usual projection runs in this process (no round trip), with the same rows as jsonata-python."""
    import httpx

    c = sandbox.credentials
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
        body = client.get(
            f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Messages.json", params={"PageSize": 500}
        ).json()
    text = 'messages.{"date": date_sent, "value": price ? $number(price) : null, "dimension": status}'
    expected = rows_on(PYTHON, text, monkeypatch, body=body)

    def no_worker(*args, **kwargs):
        raise AssertionError("the worker was asked")

    monkeypatch.setattr(_guard, "evaluate_guarded", no_worker)
    assert rows_on(FAST, text, monkeypatch, body=body) == expected
    assert len(expected) == 500 and any(row["value"] is None for row in expected)  # unpriced messages too
    with pytest.raises(AssertionError, match="worker"):
        rows_on(FAST, "$distinct(messages.status)", monkeypatch, body=body)


def test_an_in_process_runaway_ends_at_the_deadline_and_the_next_evaluation_works(monkeypatch, fresh):
    monkeypatch.setenv(engines.ENGINE_ENV, FAST)
    # Ranges run in the worker now (their memory): this one, whose memory stays small, is sent
    # here anyway to check the in-process deadline.
    monkeypatch.setattr(engines, "runs_in_process", lambda text: True)
    expression = custom_expression("$sum([1..10000].($sum([1..10000])))", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate({})
    assert caught.value.code in ("timeout", "limit") and time.monotonic() - started < 2.5
    assert custom_expression("$count(messages)").evaluate({"messages": [1, 2]})[0]["value"] == 2
