"""Generated JSONata, its compiled Python twin, and guarded custom expressions."""

from __future__ import annotations

import re
import time

import jsonata
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twibox_nb._exceptions import ExpressionError
from twibox_nb.evaluate.compiled import _compile_general, compile_python
from twibox_nb.evaluate.custom import custom_expression
from twibox_nb.evaluate.generated import Selection, generate, projection
from twibox_nb.evaluate.jsonata_ast import (
    NUMERIC_STRING,
    Constant,
    Context,
    FieldRef,
    NumberOrNull,
    ObjectOf,
    Projection,
    render,
)
from twibox_nb.evaluate.rows import rows_from_result
from twibox_nb.model.records import find_records

from ..conftest import ACCOUNT_PATH, spec_example

# ------------------------------------------------------------------------------------------------
# The compiled Python path equals jsonata-python on the rendered text.
# ------------------------------------------------------------------------------------------------

# Twilio's names and names JSONata can only reach back-quoted (a hyphen, a leading digit, a
# space, a keyword, a dot inside one name, unicode, the empty name).
TWILIO_NAMES = ["sid", "status", "price", "error_code", "date_sent", "count", "from", "capabilities", "sms", "category"]
QUOTED_NAMES = ["date-sent", "1st", "with space", "null", "and", "true", "a.b", "ünïcødé", "日付", "", "$x", "x\ny"]
NAMES = [*TWILIO_NAMES, *QUOTED_NAMES]
names = st.sampled_from(NAMES)
NUMERIC = ["-0.00750", "0", "1", "0.0", "-0", "1e5", "2192.84855", "007", "0.361280134646222", "-0.200", "30004"]
NOT_NUMERIC = [" 1", "1\n", "1.", ".5", "0x1F", "1e999", "NaN", "inf", "1_000", "+1", "--1", "1e", "1234567890123456"]
numeric_strings = st.sampled_from([*NUMERIC, *NOT_NUMERIC]) | st.from_regex(NUMERIC_STRING, fullmatch=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([30003, 30004, 0, -1, 2**60]),
    st.floats(allow_nan=False, allow_infinity=False),
    numeric_strings,
    st.text(max_size=6),
    st.sampled_from(["sent", "failed", "Fri, 24 May 2019 17:44:50 +0000", "2015-07-30T20:00:00Z"]),
)
small_objects = st.dictionaries(names, scalars, max_size=3)
values = st.one_of(
    scalars,
    scalars,
    small_objects,
    st.lists(st.one_of(scalars, small_objects), max_size=3),
    st.lists(st.lists(st.one_of(scalars, small_objects), max_size=2), max_size=2),
)
records = st.dictionaries(names, values, max_size=7)
paths = st.lists(names, min_size=1, max_size=3).map(tuple)
selections = st.builds(Selection, st.none() | paths, st.none() | paths, st.none() | paths)
list_keys = st.sampled_from(["messages", "usage_records", "alerts", "data", "incoming-phone-numbers", "null"])


def engine_rows(text: str, body) -> list:
    return rows_from_result(jsonata.Jsonata(text).evaluate(body))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(list_keys, st.lists(records, max_size=6), selections)
def test_compiled_path_equals_jsonata_on_twilio_like_pages(list_key, page_records, selection):
    body = {"page": 0, "page_size": 50, "next_page_uri": None, list_key: page_records}
    generated = generate(list_key, selection)
    assert generated.evaluate(body) == engine_rows(generated.text, body)
    assert len(generated.evaluate(body)) == len(page_records)


@settings(max_examples=60, deadline=None)
@given(records, selections)
def test_compiled_path_equals_jsonata_on_instance_bodies(record, selection):
    generated = generate(None, selection)
    mapped = generated.text if selection.value is None else generated.text.split(";\n  ", 1)[1]
    assert mapped.startswith("$.{")  # the body itself is the record (after the number function, if any)
    assert generated.evaluate(record) == engine_rows(generated.text, record) and len(generated.evaluate(record)) == 1


# Bodies no Twilio endpoint sends (null lists, records that are arrays or scalars): the two paths
# still agree, because the compiled path follows JSONata's own stepping rules.
odd_items = st.one_of(st.none(), scalars, st.lists(st.one_of(st.none(), records, scalars), max_size=3), records)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["messages", None]), st.one_of(st.none(), scalars, st.lists(odd_items, max_size=4)), selections)
def test_compiled_path_equals_jsonata_on_odd_bodies(list_key, items, selection):
    generated = generate(list_key, selection)
    for body in ({"messages": items}, items, [{"messages": items}, {"messages": items}]):
        assert generated.evaluate(body) == engine_rows(generated.text, body), body


# The specialised path (Python generated per expression, for records that are dicts) against the
# general closures it falls back to: same rows, same types (repr tells 1 from 1.0 and True).
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["messages", None]),
    st.one_of(st.lists(records | odd_items, max_size=6), records, scalars),
    selections,
)
def test_specialised_path_equals_the_general_path(list_key, items, selection):
    ast = projection(list_key, selection)
    general, _ = _compile_general(ast)
    for body in ({"messages": items}, items):
        assert repr(compile_python(ast)(body)) == repr(general(body)), body


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (0, 0),
        ("0", 0),
        ("-0.00750", -0.0075),
        ("1", 1),
        (2.5, 2.5),
        ("1e5", 100000),
        (None, None),
        ("", None),
        ("abc", None),
        (True, None),
        (False, None),
        ("1\n", None),
        (" 1", None),
        ("0x1F", None),
        ("1e999", None),
        ([1], None),
        ({"amount": 1}, None),
    ],
)
def test_value_is_a_null_safe_number(price, expected):
    """0 and "0" stay 0 (truthiness would drop them); text, booleans and arrays become null."""
    generated = generate("messages", Selection("price"))
    body = {"messages": [{"price": price}]}
    rows = [{"date": None, "value": expected, "dimension": None}]
    assert generated.evaluate(body) == rows
    assert engine_rows(generated.text, body) == rows
    assert type(generated.evaluate(body)[0]["value"]) is type(expected)


def test_numeric_string_pattern():
    pattern = re.compile(NUMERIC_STRING)
    assert all(pattern.search(text) for text in NUMERIC)
    assert not any(pattern.search(text) for text in NOT_NUMERIC)


def test_missing_value_field_is_null_and_missing_dimension_and_date_are_none():
    generated = generate("messages", Selection("price", dimension="status", date="date_sent"))
    body = {"messages": [{}, {"price": None, "status": None, "date_sent": None}]}
    # JSONata leaves a missing field's key out of the object and keeps a null one: rows hold None.
    assert jsonata.Jsonata(generated.text).evaluate(body) == [
        {"value": None},
        {"date": None, "value": None, "dimension": None},
    ]
    assert generated.evaluate(body) == [{"date": None, "value": None, "dimension": None}] * 2


def test_singletons_and_empty_pages_normalise_the_same_way():
    generated = generate("messages", Selection.count(dimension="status"))
    assert jsonata.Jsonata(generated.text).evaluate({"messages": [{"status": "sent"}]}) == {
        "value": 1,
        "dimension": "sent",
    }
    assert generated.evaluate({"messages": [{"status": "sent"}]}) == [{"date": None, "value": 1, "dimension": "sent"}]
    for empty in ({"messages": []}, {"page": 0}, {}, None):
        assert generated.evaluate(empty) == [] == engine_rows(generated.text, empty)


def test_nested_paths_step_through_arrays_like_jsonata():
    generated = generate("challenges", Selection.count(dimension="details.fields.label"))
    body = {
        "challenges": [
            {"details": {"fields": [{"label": "Action"}]}},  # one item: JSONata gives the item
            {"details": {"fields": [{"label": "Action"}, {"label": "Where"}]}},  # several: an array
            {"details": {"fields": []}},
            {"details": {"fields": [{"label": None}]}},
            {"details": [{"fields": {"label": "a"}}, {"fields": {"label": "b"}}]},
        ]
    }
    expected = [
        {"date": None, "value": 1, "dimension": "Action"},
        {"date": None, "value": 1, "dimension": ["Action", "Where"]},
        {"date": None, "value": 1, "dimension": None},
        {"date": None, "value": 1, "dimension": None},
        {"date": None, "value": 1, "dimension": ["a", "b"]},
    ]
    assert generated.evaluate(body) == expected == engine_rows(generated.text, body)


def test_rendering_quotes_names_and_nothing_else():
    assert render(FieldRef(("date_sent",))) == "date_sent"
    assert render(FieldRef(("date-sent",))) == "`date-sent`"
    assert render(FieldRef(("1st", "null", "a.b", "ünï", "from"))) == "`1st`.`null`.`a.b`.`ünï`.from"
    assert render(Constant('say "hi"\n')) == '"say \\"hi\\"\\n"'
    assert render(Projection(Context(), ObjectOf((("value", Constant(1)),)))) == '$.{"value": 1}'
    assert render(NumberOrNull(FieldRef(("price",)))) == "$numberOrNull(price)"
    text = generate("messages", Selection("price", dimension="status", date="date_sent")).text
    # The number guard is a function defined once, then called by name: readable and editable.
    assert text.startswith("(\n  /* numbers stay numbers") and text.count("$numberOrNull := function($v)") == 1
    assert text.endswith('  messages.{"date": date_sent, "value": $numberOrNull(price), "dimension": status}\n)')
    assert f"$contains($v, /{NUMERIC_STRING}/) ? $number($v)" in text and text.count("$contains") == 1
    assert generate("usage-records", Selection.count()).text == '`usage-records`.{"value": 1}'


def test_names_jsonata_cannot_write_and_bad_paths_are_refused():
    with pytest.raises(ExpressionError, match="back-quote") as caught:
        generate("messages", Selection("a`b"))
    assert caught.value.code == "field"
    for bad in ("", "a..b", ".price"):
        with pytest.raises(ExpressionError, match="not a field path"):
            Selection(bad)
    assert Selection(("a.b",)).value == ("a.b",)  # a tuple names a field whose name holds a dot


def test_generated_expressions_are_fast():
    body = {"messages": [{"price": "-0.00750", "status": "sent", "date_sent": "Fri, 24 May 2019"}] * 1000}
    generated = generate("messages", Selection("price", dimension="status", date="date_sent"))
    start = time.perf_counter()
    rows = generated.evaluate(body)
    assert len(rows) == 1000 and time.perf_counter() - start < 0.5  # ~5 ms; jsonata-python ~70 ms


# ------------------------------------------------------------------------------------------------
# Exact rows from the full response examples in Twilio's OpenAPI specs.
# ------------------------------------------------------------------------------------------------


example = spec_example  # one named 200 response example from the specs


API = "twilio_api_v2010.json"
ACCOUNT = ACCOUNT_PATH

CASES = [
    pytest.param(
        (API, f"{ACCOUNT}/Messages.json", "readFullPage1"),
        Selection("price", dimension="status", date="date_sent"),
        [
            {"date": "Fri, 24 May 2019 17:44:50 +0000", "value": -0.0075, "dimension": "sent"},
            {"date": "Fri, 24 May 2019 17:44:49 +0000", "value": -0.0075, "dimension": "received"},
        ],
        id="messages price by status",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Messages.json", "readFullPage1"),
        Selection.count(dimension="error_code"),
        [{"date": None, "value": 1, "dimension": None}, {"date": None, "value": 1, "dimension": 30004}],
        id="messages count by error_code (integer dimension, dynamic date)",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Messages.json", "readFullPage1"),
        Selection("num_media", dimension="direction", date="date_created"),
        [
            {"date": "Fri, 24 May 2019 17:44:46 +0000", "value": 0, "dimension": "outbound-api"},
            {"date": "Fri, 24 May 2019 17:44:46 +0000", "value": 3, "dimension": "inbound"},
        ],
        id="messages num_media (numeric strings) by direction",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Calls.json", "readFullPage1"),
        Selection("duration", dimension="direction", date="start_time"),
        [
            {"date": "Fri, 18 Oct 2019 17:02:00 +0000", "value": 4, "dimension": "outbound-api"},
            {"date": "Fri, 18 Oct 2019 16:02:00 +0000", "value": 3, "dimension": "inbound"},
        ],
        id="calls duration by direction",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Calls.json", "readFullPage2"),
        Selection("price", dimension="price_unit", date="end_time"),
        None,  # same records as page 1: checked against the engine only
        id="calls page 2 price by unit",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Usage/Records.json", "readFull"),
        Selection("count", dimension="category", date="start_date"),
        [{"date": "2008-01-02", "value": None, "dimension": "calleridlookups"}],
        id="usage records count (null) by category",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Usage/Records.json", "readFull"),
        Selection("price", dimension="price_unit", date="end_date"),
        [{"date": "2008-01-02", "value": 2192.84855, "dimension": "usd"}],
        id="usage records price",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Usage/Records/Daily.json", "readFull"),
        Selection("count", dimension="category", date="start_date"),
        [{"date": "2011-08-23", "value": 0, "dimension": "sms-inbound-shortcode"}],
        id="usage records daily count '0'",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/IncomingPhoneNumbers.json", "readFull"),
        Selection.count(dimension="capabilities.sms", date="date_created"),
        [{"date": "Thu, 30 Jul 2015 23:19:04 +0000", "value": 1, "dimension": False}],
        id="incoming numbers by nested boolean",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Recordings.json", "readIncludeSoftDeleted"),
        Selection("duration", dimension="status", date="start_time"),
        [
            {"date": "Mon, 14 Feb 2022 22:23:00 +0100", "value": 6, "dimension": "deleted"},
            {"date": "Mon, 14 Feb 2022 22:23:00 +0000", "value": 6, "dimension": "completed"},
        ],
        id="recordings duration by status",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Conferences.json", "readFull"),
        Selection.count(dimension="reason_conference_ended", date="date_created"),
        [
            {"date": "Fri, 03 Jul 2020 11:23:45 +0000", "value": 1, "dimension": None},
            {"date": "Thu, 02 Jul 2020 11:23:45 +0000", "value": 1, "dimension": None},
            {
                "date": "Wed, 01 Jul 2020 11:23:45 +0000",
                "value": 1,
                "dimension": "participant-with-end-conference-on-exit-left",
            },
        ],
        id="conferences count by end reason",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Conferences/{{ConferenceSid}}/Participants.json", "readFull"),
        Selection.count(dimension="coaching", date="date_created"),
        [
            {"date": "Sat, 19 Feb 2011 21:07:19 +0000", "value": 1, "dimension": True},
            {"date": "Sat, 19 Feb 2011 21:07:19 +0000", "value": 1, "dimension": False},
        ],
        id="participants by coaching",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Queues.json", "readFull"),
        Selection("current_size", dimension="friendly_name", date="date_created"),
        [{"date": "Tue, 04 Aug 2015 18:39:09 +0000", "value": 0, "dimension": "0.361280134646222"}],
        id="queues size (numeric 0), numeric-string dimension stays a string",
    ),
    pytest.param(
        ("twilio_monitor_v1.json", "/v1/Alerts", "readFull"),
        Selection.count(dimension="log_level", date="date_generated"),
        [{"date": "2015-07-30T20:00:00Z", "value": 1, "dimension": "log_level"}],
        id="monitor alerts count by log level",
    ),
    pytest.param(
        ("twilio_monitor_v1.json", "/v1/Alerts", "readFull"),
        Selection("error_code", dimension="request_method"),
        [{"date": None, "value": None, "dimension": "GET"}],
        id="monitor alerts non-numeric string value is null",
    ),
    pytest.param(
        ("twilio_monitor_v1.json", "/v1/Events", "readFull"),
        Selection.count(dimension="event_data.friendly_name.updated", date="event_date"),
        [{"date": "2014-10-03T16:48:25Z", "value": 1, "dimension": "Mr. Friendly"}],
        id="monitor events by nested field",
    ),
    pytest.param(
        ("twilio_messaging_v1.json", "/v1/Services", "readFull"),
        Selection("validity_period", dimension="usecase", date="date_created"),
        [{"date": "2015-07-30T20:12:31Z", "value": 600, "dimension": "marketing"}],
        id="messaging services validity period",
    ),
    pytest.param(
        ("twilio_verify_v2.json", "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges", "readFull"),
        Selection.count(dimension="factor_type", date="date_created"),
        [
            {"date": "2015-07-30T20:00:00Z", "value": 1, "dimension": "push"},
            {"date": "2015-07-30T20:00:00Z", "value": 1, "dimension": "totp"},
        ],
        id="verify challenges by factor type",
    ),
    pytest.param(
        ("twilio_verify_v2.json", "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges", "readFull"),
        Selection.count(dimension="details.fields.label"),
        [{"date": None, "value": 1, "dimension": "Action"}] * 2,
        id="verify challenges by a path through an array",
    ),
    pytest.param(
        ("twilio_supersim_v1.json", "/v1/UsageRecords", "readAllDay"),
        Selection("data_total_billed", dimension="iso_country", date="period.start_time"),
        [
            {"date": "2019-05-03T00:00:00Z", "value": 0.03, "dimension": None},
            {"date": "2019-05-02T00:00:00Z", "value": 0.03, "dimension": None},
        ],
        id="super sim usage billed by country, nested date",
    ),
    pytest.param(
        ("twilio_supersim_v1.json", "/v1/UsageRecords", "readAllDay"),
        Selection("data_total", dimension="billed_unit", date="period.end_time"),
        [
            {"date": "2019-05-04T00:00:00Z", "value": 300000, "dimension": "USD"},
            {"date": "2019-05-03T00:00:00Z", "value": 300000, "dimension": "USD"},
        ],
        id="super sim usage data total",
    ),
    pytest.param(
        (API, f"{ACCOUNT}/Balance.json", "fetch"),
        Selection("balance", dimension="currency"),
        [{"date": None, "value": 0.05, "dimension": "USD"}],
        id="balance (an instance body)",
    ),
]


@pytest.mark.parametrize(("where", "selection", "expected"), CASES)
def test_rows_from_twilio_examples(where, selection, expected):
    body = example(*where)
    list_key, records = find_records(body)
    generated = generate(list_key, selection)
    rows = generated.evaluate(body)
    if expected is not None:
        assert rows == expected
    assert rows == engine_rows(generated.text, body)
    assert len(rows) == len(records)


def test_empty_examples_give_no_rows():
    body = example(API, f"{ACCOUNT}/Messages.json", "readEmptySentdateLess")
    generated = generate(find_records(body)[0], Selection("price", dimension="status"))
    assert generated.evaluate(body) == [] == engine_rows(generated.text, body)


# ------------------------------------------------------------------------------------------------
# Custom expressions: the guard, error mapping, result shapes.
# ------------------------------------------------------------------------------------------------


@pytest.fixture(params=["fast", "python"])
def each_engine(request, monkeypatch):
    """Runs a custom-expression test on the fast engine (jlens, the test extra installs it) and on jsonata-python."""
    import warnings

    from twibox_nb.evaluate.engines import ENGINE_ENV, SlowEngineWarning

    if request.param == "fast":
        pytest.importorskip("jlens", reason="the fast engine is in the test extra")
    monkeypatch.setenv(ENGINE_ENV, request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowEngineWarning)  # told once per process: tested in test_engines
        yield request.param


MESSAGES = {
    "messages": [
        {"status": "sent", "price": "-0.00750", "date_sent": "Fri, 24 May 2019 17:44:50 +0000"},
        {"status": "failed", "price": None, "date_sent": "Fri, 24 May 2019 17:44:49 +0000"},
    ]
}


@pytest.mark.usefixtures("each_engine")
def test_custom_expression_rows():
    expression = custom_expression(
        'messages.{"date": date_sent, "value": $type(price) = "string" ? $number(price) : null, "dimension": status}'
    )
    assert expression.evaluate(MESSAGES) == [
        {"date": "Fri, 24 May 2019 17:44:50 +0000", "value": -0.0075, "dimension": "sent"},
        {"date": "Fri, 24 May 2019 17:44:49 +0000", "value": None, "dimension": "failed"},
    ]
    assert custom_expression("$count(messages)").evaluate(MESSAGES) == [{"date": None, "value": 2, "dimension": None}]
    assert custom_expression('messages[0].{"value": 1}').evaluate(MESSAGES) == [
        {"date": None, "value": 1, "dimension": None}
    ]
    assert custom_expression("messages[status = 'none']").evaluate(MESSAGES) == []


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize(
    "runaway",
    [
        "($f := function(){$f()}; $f())",  # endless tail recursion: jsonata-python loops forever
        "($f := function($n){$f($n + 1)}; $f(0))",
        '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+b/)',  # stuck inside C (re)
    ],
)
def test_runaway_expression_is_stopped_and_the_next_one_works(runaway):
    expression = custom_expression(runaway, timeout=1.0)
    start = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(MESSAGES)
    assert time.monotonic() - start < 10  # a correctness bound: it stops at all, not a benchmark
    assert caught.value.code == "timeout"
    assert custom_expression("$count(messages)").evaluate(MESSAGES)[0]["value"] == 2


@pytest.mark.usefixtures("each_engine")
def test_a_worker_that_died_is_replaced():
    from twibox_nb.evaluate import guard as _guard

    expression = custom_expression("$count(messages)")
    assert expression.evaluate(MESSAGES)[0]["value"] == 2
    _guard._WORKER._process.kill()  # as the system would, e.g. out of memory
    assert expression.evaluate(MESSAGES)[0]["value"] == 2


@pytest.mark.usefixtures("each_engine")
def test_deep_recursion_becomes_an_expression_error():
    expression = custom_expression("($f := function($n){$n > 0 ? 1 + $f($n - 1) : 0}; $f(100000))")
    with pytest.raises(ExpressionError, match="recursed too deeply") as caught:
        expression.evaluate({})
    assert caught.value.code == "D1011"


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ('messages.{"value": 1', "S0203", 20),
        ("messages[", "S0203", 9),
        ('messages.{"value": }', "S0211", 20),
        ("price +", "S0207", 7),
        ('"unterminated', "S0101", 13),
    ],
)
def test_syntax_errors_give_code_and_position(text, code, position):
    with pytest.raises(ExpressionError) as caught:
        custom_expression(text)
    assert (caught.value.code, caught.value.position) == (code, position)
    assert str(caught.value).startswith(f"{code}: ")


@pytest.mark.usefixtures("each_engine")
def test_number_of_null_is_t0410_with_a_hint():
    """The recipe's trap: Twilio's null prices make $number(price) fail under jsonata-python."""
    expression = custom_expression('messages.{"value": $number(price)}')
    with pytest.raises(ExpressionError, match="guard it") as caught:
        expression.evaluate(MESSAGES)
    assert caught.value.code == "T0410" and caught.value.position == 27  # just after "$number("
    assert "Object" not in caught.value.message


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('$number("abc")', "D3030"),  # a bare ValueError in jsonata-python
        ("1 / 0", "D1001"),  # a bare ZeroDivisionError
        ('$sort([1, "a"])', "D3070"),  # a bare TypeError
        ('$replace("a", "", "b")', "D3010"),  # a JException whose code is its message
        ('"a" + 1', "T2001"),
        ("$nosuchfunction()", "T1006"),
        ('$toMillis("x")', "D3110"),
    ],
)
def test_engine_errors_get_jsonata_codes(text, code):
    with pytest.raises(ExpressionError) as caught:
        custom_expression(text).evaluate({})
    assert caught.value.code == code


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('"sent"', "a string"),
        ("true", "a boolean"),
        ("[1, 2]", "item 0 of the result is a number"),
        ("messages", "none of the keys date, value, dimension"),
        ('messages.{"value": price}', "not a number"),
        ("function($x){$x}", "not JSON data"),
    ],
)
def test_wrong_shapes_explain_what_is_expected(text, fragment):
    with pytest.raises(ExpressionError) as caught:
        custom_expression(text).evaluate(MESSAGES)
    assert caught.value.code == "shape"
    assert fragment in caught.value.message
    assert "$number" in caught.value.message if fragment == "not a number" else "array of" in caught.value.message


@pytest.mark.usefixtures("each_engine")
def test_custom_expression_checks_its_arguments():
    with pytest.raises(ExpressionError):
        custom_expression("   ")
    with pytest.raises(ExpressionError, match="timeout"):
        custom_expression("1", timeout=0)
    with pytest.raises(ExpressionError, match="not JSON data") as caught:
        custom_expression("when").evaluate({"when": object()})
    assert caught.value.code == "input"


def _rows_from_result_reference(result):
    """rows_from_result without its fast lane: every row checked and cleaned field by field."""
    from twibox_nb.evaluate.rows import _clean_row

    result = [result] if isinstance(result, dict) else result
    rows = []
    for row in result:
        if not isinstance(row, dict) or (row and not row.keys() & {"date", "value", "dimension"}):
            raise ExpressionError("shape", code="shape")
        value = row.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ExpressionError("shape", code="shape")
        rows.append(_clean_row(row))
    return rows


row_dicts = st.dictionaries(
    st.sampled_from(["date", "value", "dimension", "other"]),
    st.one_of(scalars, st.lists(scalars, max_size=2), small_objects),
    max_size=4,
)


@given(st.one_of(row_dicts, st.lists(st.one_of(row_dicts, scalars), max_size=4)))
@settings(max_examples=400, deadline=None)
def test_rows_from_result_fast_lane_changes_nothing(result):
    try:
        expected = _rows_from_result_reference(result)
    except ExpressionError:
        with pytest.raises(ExpressionError):
            rows_from_result(result)
        return
    rows = rows_from_result(result)
    assert rows == expected
    assert [[type(v) for v in r.values()] for r in rows] == [[type(v) for v in r.values()] for r in expected]
