"""The builder's draft (twibox_nb.builder.state) without any widget: request, tokens, first page, value, dimension."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
import pandas as pd
import pytest

from twibox_nb import library
from twibox_nb._exceptions import ChoiceError, DateRangeError, ExpressionError, SpecError, TwilioAPIError
from twibox_nb.builder.preview import point_at
from twibox_nb.builder.request_step import METHODS, POST_DISABLED_REASON, base_urls, search_endpoints
from twibox_nb.builder.state import STEPS, BuilderState, describe_error, mask_identifier
from twibox_nb.fetch.connection import connect
from twibox_nb.library import load_metric
from twibox_nb.model.calculated import CalculatedMetric
from twibox_nb.model.spec import Count, Dynamic, Field, MetricSpec, RequestSpec

from ..conftest import MESSAGES_PATH, NOW

MESSAGES = MESSAGES_PATH


def messages(state: BuilderState) -> BuilderState:
    state.choose_endpoint("Messages")
    return state


# --- step 1: the request ---------------------------------------------------------------------


def test_choosing_a_catalogue_endpoint_fills_the_request_and_shows_its_docs(state):
    messages(state)
    assert (state.base_url, state.path, state.pagination) == ("https://api.twilio.com", MESSAGES, "next_page")
    assert [(r.key, r.value) for r in state.params] == [
        ("PageSize", "1000"), ("DateSent>", "{{start_date}}"), ("DateSent<", "{{end_date}}"),
    ]  # fmt: skip
    assert state.docs_url.startswith("https://www.twilio.com/docs/messaging/api/message-resource")
    assert [f.param for f in state.date_filters] == ["DateSent", "DateSent<", "DateSent>"]
    state.choose_endpoint("balance")  # any case; an instance has no pages to follow
    assert state.pagination == "none" and state.params == []
    with pytest.raises(ChoiceError, match="no catalogue endpoint is called 'Nope'"):
        state.choose_endpoint("Nope")


def test_a_typed_catalogue_path_fills_suggested_params_only_when_there_are_none(state):
    state.set_base_url("https://monitor.twilio.com/")
    state.set_path(" /v1/Alerts ")
    assert state.base_url == "https://monitor.twilio.com" and state.endpoint.name == "Monitor alerts"
    assert [r.key for r in state.params] == ["PageSize", "StartDate", "EndDate"]
    state.set_row("params", 0, value="20")
    state.set_path("/v1/Events")  # the analyst's rows are never overwritten
    assert (state.params[0].key, state.params[0].value) == ("PageSize", "20")
    state.set_path("/v1/Something/Else")
    assert state.endpoint is None and state.docs_url is None and state.date_filters == ()


def test_catalogue_search_base_urls_and_masking():
    assert [e.name for e in search_endpoints("alerts")] == ["Monitor alerts"]
    assert {e.product for e in search_endpoints("", "https://monitor.twilio.com")} == {"monitor"}
    assert len(search_endpoints("")) == len(search_endpoints("  "))
    urls = base_urls()
    assert urls[:3] == ["https://api.twilio.com", "https://monitor.twilio.com", "https://messaging.twilio.com"]
    assert len(urls) == len(set(urls)) and all(u.startswith("https://") and u.endswith(".twilio.com") for u in urls)
    assert mask_identifier("AC" + "1" * 28 + "abcd") == "AC…abcd" and mask_identifier("AC12") == "…"


def test_post_is_listed_but_refused_with_the_reason(state):
    assert METHODS == (("GET", None), ("POST", POST_DISABLED_REASON))
    assert "only reads" in POST_DISABLED_REASON and "send" in POST_DISABLED_REASON
    with pytest.raises(ChoiceError) as refused:
        state.set_method("POST")
    assert refused.value.detail == POST_DISABLED_REASON and state.method == "GET"
    state.set_method("get")
    assert state.method == "GET"


def test_rows_add_edit_remove_and_blank_rows_are_skipped(state):
    messages(state)
    i = state.add_row("params", "Status", "delivered")
    state.add_row("params")  # blank: ignored by the spec
    h = state.add_row("headers", "X-Note", "a")
    state.set_row("params", i, value="failed")
    assert state.request_spec().params[-1] == ("Status", "failed")
    assert state.request_spec().headers == (("X-Note", "a"),)
    state.remove_row("params", i)
    state.remove_row("headers", h)
    assert [r.key for r in state.params] == ["PageSize", "DateSent>", "DateSent<", ""]
    assert state.request_spec().headers == ()
    with pytest.raises(ValueError, match="'params' or 'headers'"):
        state.add_row("cookies")  # type: ignore[arg-type]


def test_request_problems_are_said_in_plain_words(state):
    assert "type the endpoint path" in state.request_problem()
    messages(state)
    assert state.request_problem() is None
    state.add_row("params", "", "orphan")
    assert state.request_problem() == "the parameter with value 'orphan' has no key"
    state.remove_row("params", 3)
    state.add_row("headers", "Authorization", "Basic abc")
    assert "carries a credential" in state.request_problem()
    with pytest.raises(SpecError, match=r"request\.headers\.Authorization"):
        state.request_spec()


def test_date_tokens_resolve_with_each_filters_boundary_rule(state):
    messages(state)  # last_30_days at NOW = [2026-10-28, 2026-11-27)
    assert [state.row_preview(i).text for i in range(3)] == ["", "2026-10-28", "2026-11-26"]  # "<" is on or before
    assert "on or before" in state.row_preview(2).detail
    state.choose_endpoint("Calls")  # StartTime< is "before": the day after the range
    assert state.row_preview(2).text == "2026-11-27"
    state.choose_endpoint("Monitor alerts")
    assert [state.row_preview(i).text for i in (1, 2)] == ["2026-10-28T00:00:00Z", "2026-11-27T00:00:00Z"]
    state.set_preview_range("last_7_days")
    assert state.row_preview(1).text == "2026-11-20T00:00:00Z"
    with pytest.raises(DateRangeError, match="unknown date range"):
        state.set_preview_range("fortnight")
    assert state.preview_range == "last_7_days"
    labels = dict((name, label) for label, name in state.preview_range_options())
    # One notation everywhere: half-open, the end excluded, as "<" filters resolve it (issue 15).
    assert labels["last_7_days"] == "last 7 days (2026-11-20 → 2026-11-27, end excluded)"
    assert labels["today"] == "today (2026-11-27 → 2026-11-28, end excluded)"


def test_the_calendar_menu_offers_every_token_with_its_value_and_suggests_one(state):
    messages(state)
    choices = state.token_choices("DateSent<")
    assert [(c.text, c.value) for c in choices] == [
        ("{{start_date}}", "2026-10-28"), ("{{end_date}}", "2026-11-26"),
        ("{{start_datetime}}", "2026-10-28T00:00:00Z"), ("{{end_datetime}}", "2026-11-27T00:00:00Z"),
    ]  # fmt: skip
    assert [c.token for c in choices if c.suggested] == ["end_date"]
    assert state.suggested_token("DateSent>") == "start_date"
    assert state.suggested_token("DateCreated<") == "end_date"  # not a filter of Messages: the name decides
    state.choose_endpoint("Monitor alerts")
    assert state.suggested_token("StartDate") == "start_datetime" and state.suggested_token("EndDate") == "end_datetime"
    i = state.add_row("params", "EndDate", "typed text")
    state.insert_token(i, "end_datetime")  # a date filter takes one date: the value is replaced
    assert state.params[i].value == "{{end_datetime}}"
    with pytest.raises(ChoiceError, match="unknown date token 'yesterday'"):
        state.insert_token(i, "yesterday")
    state.set_row("params", i, value="{{tomorrow}}")
    assert "unknown date token {{tomorrow}}" in state.row_preview(i).error
    assert "unknown date token" in state.request_problem()


def test_preview_url_fills_the_account_and_the_tokens(state, sandbox):
    messages(state)
    url = httpx.URL(state.preview_url())
    assert url.path == f"/2010-04-01/Accounts/{sandbox.credentials.account_sid}/Messages.json"
    assert url.params["DateSent>"] == "2026-10-28" and url.params["DateSent<"] == "2026-11-26"
    unconnected = messages(BuilderState(now=NOW))
    assert "{AccountSid}" in unconnected.preview_url() and unconnected.data_source.startswith("Not connected")


# --- the first page --------------------------------------------------------------------------


def test_the_first_page_of_messages(state, transport):
    messages(state)
    assert state.needs_fetch and state.fields == []
    page = state.fetch_first_page()
    assert (page.status, page.list_key, len(page.records), page.has_more) == (200, "messages", 1000, True)
    assert page.summary().startswith("HTTP 200 in ") and '1,000 records under "messages" · more pages' in page.summary()
    assert "PageSize=1000" in page.url and "FirstPage(" in repr(page) and len(transport.urls) == 1
    assert {"price", "status", "date_sent", "num_segments"} <= {f.path for f in state.fields}
    assert not state.needs_fetch
    state.set_preview_range("last_7_days")
    assert state.needs_fetch  # another range: another first page
    state.set_preview_range("last_30_days")
    assert not state.needs_fetch
    state.set_row("params", 0, value="50")
    assert state.needs_fetch


def test_a_product_api_first_page_with_meta_paging(state):
    state.choose_endpoint("Monitor alerts")
    state.set_row("params", 0, value="50")
    page = state.fetch_first_page()
    assert (page.status, page.list_key, len(page.records), page.has_more) == (200, "alerts", 50, True)
    assert page.body["meta"]["next_page_url"].startswith("https://monitor.twilio.com/v1/Alerts")
    state.set_row("params", 0, value="1000")
    assert state.fetch_first_page().has_more is False


def test_a_bad_path_comes_back_as_a_plain_404_and_keeps_the_last_page(state):
    messages(state)
    first = state.fetch_first_page()
    state.set_path("/2010-04-01/Accounts/{AccountSid}/Nope.json")
    with pytest.raises(TwilioAPIError) as failed:
        state.advance()
    assert failed.value.status == 404 and state.step == "request" and state.first_page is first
    message, more = describe_error(failed.value)
    assert message.startswith("Twilio answered 404 (error 20404): The requested resource")
    assert "Check the base URL and the endpoint path" in message
    assert more == "https://www.twilio.com/docs/errors/20404"


def test_describe_error_words_every_kind():
    assert describe_error(ChoiceError("value", "pick one")) == ("pick one", None)
    assert describe_error(SpecError("request.path", "bad")) == ("bad", None)
    assert describe_error(DateRangeError("no such range"))[0] == "no such range"
    assert describe_error(TwilioAPIError(429, 20429, "Too many requests"))[0] == (
        "Twilio answered 429 (error 20429): Too many requests. Twilio is rate limiting this account: "
        "try again in a minute."
    )
    assert describe_error(TwilioAPIError(500, None, "Oops."))[0] == "Twilio answered 500: Oops."
    assert describe_error(KeyError("x"))[0] == "Unexpected error (please report it): KeyError: 'x'"


def test_without_a_connection_nothing_is_fetched():
    state = messages(BuilderState(now=NOW))
    assert state.continue_problem() == "activate a connection (or the sandbox) first"
    with pytest.raises(ChoiceError, match="no connection yet"):
        state.fetch_first_page()
    with pytest.raises(ChoiceError, match="activate a connection"):
        state.advance()


# --- step 2: the value -----------------------------------------------------------------------


def test_value_choices_are_count_and_the_fields_that_can_be_numbers(state):
    messages(state).advance()
    choices = state.value_choices()
    assert choices[0].value == Count() and choices[0].label == "count of records (1,000 in the first page)"
    assert [c.value.path for c in choices[1:]] == ["error_code", "num_media", "num_segments", "price"]
    price = next(c for c in choices if c.value == Field("price"))
    assert price.ok and price.label.startswith("price · number as text · e.g. '-0.00")
    everything = state.value_choices(show_all=True)
    assert len(everything) == len(state.fields) + 1
    status = next(c for c in everything if c.value == Field("status"))
    assert not status.ok and "not numbers" in status.reason


def test_a_non_numeric_value_is_explained_not_accepted(state):
    messages(state).advance()
    state.select_value(Field("price"))
    with pytest.raises(ChoiceError) as refused:
        state.select_value("status")
    assert refused.value.step == "value"
    assert "'status' holds text (" in refused.value.detail and "a metric value must be purely numeric" in str(
        refused.value
    )
    assert "segment by 'status' in the next step" in refused.value.detail
    # The list keeps showing the refused pick with its reason (issue 15), so neither it nor the
    # previous choice is the value: Continue waits for a usable one.
    assert state.value is None and state.refused("value") == (Field("status"), refused.value.detail)
    assert state.continue_problem() == state.choice_problem("value")  # the reason, and what to pick instead
    assert state.choice_problem("value").startswith("'status' holds text")
    state.select_value(Field("price"))
    assert state.refused("value") is None and state.choice_problem("value") is None
    explained = {
        "date_sent": "holds dates",
        "subresource_uris": "is an object, not a number",
        "sid": "holds text",
        "nope": "there is no field 'nope'",
    }
    for path, words in explained.items():
        assert words in state.explain_value(path), path
    state.select_value("num_segments")  # a number sent as text is a number
    state.select_value(Count())
    assert state.value == Count()
    with pytest.raises(ChoiceError, match="choose a field or count of records"):
        state.select_value(3)  # type: ignore[arg-type]


# --- step 3: the dimension -------------------------------------------------------------------


def test_dimension_choices_and_their_distinct_values(state):
    messages(state).advance()
    choices = state.dimension_choices()
    assert choices[0].value is None and choices[0].label.startswith("None")
    offered = [c.value.path for c in choices[1:]]
    assert {"status", "direction", "error_code"} <= set(offered)
    assert not {"sid", "price", "date_sent", "to", "uri"} & set(offered)
    values = state.distinct_values("status")
    truth = Counter(r["status"] for r in state.first_page.records)
    assert dict(values) == dict(truth) and values == sorted(values, key=lambda v: -v[1])
    assert sum(n for _, n in values) == 1000
    codes = dict(state.distinct_values("error_code"))
    assert codes[None] == sum(1 for r in state.first_page.records if r["error_code"] is None)
    state.select_dimension("status")
    assert state.dimension == Field("status")
    state.select_dimension(None)
    assert state.dimension is None


def test_a_field_that_cannot_split_the_metric_is_explained(state):
    messages(state).advance()
    reasons = {
        "sid": "more than 50 different values",
        "messaging_service_sid": "identifies records",
        "price": "is a number with",
        "date_sent": "holds dates",
        "subresource_uris": "holds objects",
    }
    for path, words in reasons.items():
        with pytest.raises(ChoiceError) as refused:
            state.select_dimension(path)
        assert words in refused.value.detail and refused.value.step == "dimension", path
    assert state.dimension is None


def test_codes_sent_as_text_split_a_product_api_metric(state):
    state.choose_endpoint("Monitor alerts")
    state.advance()
    assert [c.value.path for c in state.value_choices()[1:]] == ["error_code"]  # "11200": a number as text
    offered = [c.value.path for c in state.dimension_choices()[1:]]
    assert {"log_level", "error_code"} <= set(offered)
    assert "service_sid" not in offered  # empty everywhere: only listed on request
    state.select_dimension("error_code")
    levels = dict(state.distinct_values("log_level"))
    assert set(levels) == {"error", "warning"} and sum(levels.values()) == len(state.first_page.records)


# --- navigation and the spec -----------------------------------------------------------------


def test_back_and_continue_keep_choices_and_do_not_fetch_again(state, transport):
    assert [s.key for s in STEPS] == ["request", "value", "dimension", "date", "preview", "describe"]
    messages(state)
    assert state.advance() is not None and state.step == "value"
    assert state.continue_problem().startswith("choose what to measure")
    with pytest.raises(ChoiceError, match="choose what to measure"):
        state.advance()
    state.select_value("price")
    state.advance()
    state.select_dimension("status")
    assert state.step == "dimension" and state.next_step().key == "date" and state.continue_problem() is None
    state.back()
    state.back()
    state.back()  # the first step stays the first
    assert state.step == "request" and state.value == Field("price") and state.dimension == Field("status")
    assert state.advance() is None  # nothing changed: no new request
    assert len(transport.urls) == 1 and state.step == "value"


def test_a_refetch_drops_choices_that_are_not_in_the_new_records(state):
    messages(state).advance()
    state.select_value("price")
    state.select_dimension("status")
    state.back()
    state.choose_endpoint("Monitor alerts")
    state.advance()
    assert state.value is None and state.dimension is None
    assert state.notes == [
        "the value 'price' is not in the new first page's records: choose again",
        "the dimension 'status' is not in the new first page's records: choose again",
    ]


def test_the_spec_so_far_with_defaults_for_the_later_steps(state):
    messages(state).advance()
    state.select_value("price")
    state.select_dimension("status")
    spec = state.spec
    assert spec.request.path == MESSAGES and dict(spec.request.params)["DateSent<"] == "{{end_date}}"
    assert (spec.value, spec.dimension, spec.date) == (Field("price"), Field("status"), Field("date_sent"))
    assert (spec.name, spec.aggregation, spec.expression, spec.date_range) == (
        "Messages: price by status", "sum", None, "last_30_days",
    )  # fmt: skip
    assert dict(state.summary())["date"] == "date_sent (default)"
    state.back()
    state.back()
    state.choose_endpoint("Balance")
    assert state.spec.date == Dynamic()  # no date field: the time of fetching
    state.set_path("/v1/Unknown")
    assert state.spec.date == Dynamic() and state.spec.name.startswith("Unknown")


@pytest.mark.parametrize("name", library.list()["name"].tolist())
def test_every_library_metric_reopens_unchanged(name):
    spec = library.get(name)
    if isinstance(spec, CalculatedMetric):
        with pytest.raises(ChoiceError, match="built from its inputs"):
            BuilderState.from_spec(spec)  # type: ignore[arg-type]
        spec = spec.inputs[0]
    state = BuilderState.from_spec(spec)
    assert state.spec == spec and state.preview_range == spec.date_range
    assert MetricSpec.from_json(state.spec.to_json()) == spec


def test_a_reopened_metric_keeps_its_choices_through_the_steps(state):
    spec = MetricSpec(
        "Alerts by code",
        RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com",
                    params={"PageSize": "1000", "StartDate": "{{start_datetime}}"}),
        dimension=Field("error_code"), date=Field("date_generated"), aggregation="count",
        favourable_trend="down", date_range="last_7_days", interval="week", extra=(("data_source", "Monitor"),),
    )  # fmt: skip
    state = BuilderState.from_spec(spec, state.conn, now=NOW)
    state.advance()
    assert state.value == Count() and state.dimension == Field("error_code")
    state.advance()
    assert state.spec == spec
    assert ("aggregation", "count") in state.summary()


# --- step 4: the date ------------------------------------------------------------------------


def test_date_choices_read_rfc2822_and_iso_dates_as_utc(state):
    messages(state).advance()
    choices = state.date_choices()
    assert choices[0].value == Dynamic() and "time of storing" in choices[0].label
    sent = next(c for c in choices if c.value == Field("date_sent"))
    assert sent.kind == "RFC 2822" and sent.example.endswith("+0000")
    assert sent.parsed == parsedate_to_datetime(sent.example) and sent.parsed.tzinfo == timezone.utc
    assert f"→ {sent.parsed:%Y-%m-%d %H:%M:%S} UTC" in sent.label
    assert [c.value for c in choices[1:4]] == [Field("date_created"), Field("date_sent"), Field("date_updated")]
    with pytest.raises(ChoiceError, match=r"'status' holds text .*not dates"):
        state.select_date("status")
    assert state.date is None and state.effective_date == Field("date_sent")
    state.select_date(Dynamic())
    assert state.spec.date == Dynamic() and dict(state.summary())["date"] == "time of storing (dynamic)"
    state.select_date("date_created")
    assert state.spec.date == Field("date_created")

    state.back()
    state.choose_endpoint("Monitor alerts")
    state.advance()
    generated = next(c for c in state.date_choices() if c.value == Field("date_generated"))
    assert generated.kind == "ISO 8601" and generated.parsed == datetime.fromisoformat(generated.example)


# --- step 5: preview and expression ----------------------------------------------------------


def to_preview(state: BuilderState, dimension="status") -> BuilderState:
    messages(state).advance()
    state.select_value(Count())
    state.advance()
    state.select_dimension(dimension)
    state.advance()
    state.advance()
    assert state.step == "preview"
    return state


def test_the_preview_fetches_the_range_once_and_re_evaluates_without_requests(state, transport):
    to_preview(state)
    assert state.continue_problem() == "preview the data first" and state.result is None
    result = state.preview()
    fetched = len(transport.urls)
    assert fetched == 1 + state.stored.report.requests and state.stored.report.pages > 1
    assert result.stop_reason == "complete" and result.summary.current == len(result.rows) == result.records
    assert set(result.data.columns) == {"date", "dimension", "value"} and state.continue_problem() is None
    assert state.result is result  # cached while nothing changes
    assert state.paging()[0] == ("pages", f"{result.pages} of at most 100") and state.truncation_warning() is None

    state.back()
    state.back()
    state.select_dimension(None)
    state.back()
    state.select_value("price")
    state.select_date("date_created")
    state.set_expression('messages.{"date": date_created, "value": 2}')
    state.describe(aggregation="count", interval="week")
    again = state.preview()
    assert len(transport.urls) == fetched  # no new request after the first fetch
    assert again.expression.endswith('"value": 2}') and again.interval == "week"
    assert again.summary.current == len(again.rows) == again.data["value"].sum()  # count: records with a value
    assert abs(len(again.rows) - len(result.rows)) < 5  # date_created, not date_sent, is clipped to the range
    state.reset_expression()
    state.describe(aggregation="sum")
    priced = state.preview()
    assert "price" in priced.expression and "date_created" in priced.expression and not state.customised
    assert priced.summary.current == pytest.approx(priced.rows["value"].sum())
    assert len(transport.urls) == fetched


def test_the_preview_matches_the_sandbox_truth_on_a_closed_range(sandbox, transport):
    state = BuilderState(connect(sandbox=sandbox, transport=transport), now=NOW, preview_range="2026-11-02..2026-11-08")
    result = to_preview(state).preview()
    start, end = result.date_range.start.date(), result.date_range.end.date()
    truth = sandbox.truth.daily_counts("messages", start, end, by="status")
    data = result.data[result.data["value"] > 0]
    got = {(row.date.date(), row.dimension): row.value for row in data.itertuples()}
    assert got == truth and sum(truth.values()) > 500 and result.summary.current == sum(truth.values())


def test_a_customised_expression_is_kept_checked_and_reset(state, transport):
    to_preview(state)
    generated = state.generated_expression
    assert generated == 'messages.{"date": date_sent, "value": 1, "dimension": status}' == state.expression
    state.set_expression(f"  {generated}\n")  # the generated text itself is no customisation
    assert not state.customised and state.spec.expression is None
    custom = 'messages[direction = "inbound"].{"date": date_sent, "value": 1, "dimension": status}'
    state.set_expression(custom)
    assert state.customised and state.spec.expression == custom and state.expression == custom
    inbound = state.preview()
    with pytest.raises(ExpressionError) as caught:
        state.set_expression('messages.{"value": 1')
    assert caught.value.code == "S0203" and caught.value.position == 20
    assert state.spec.expression == custom  # the previous expression stays
    with pytest.raises(ExpressionError, match="empty"):
        state.set_expression("   ")
    state.reset_expression()
    assert state.spec.expression is None and state.expression == generated
    everything = state.preview()
    assert 0 < inbound.summary.current < everything.summary.current
    reopened = BuilderState.from_spec(state.spec.replace(expression=custom), state.conn, now=NOW)
    assert reopened.customised and reopened.expression == custom


def test_a_runaway_expression_is_stopped_and_the_builder_stays_usable(sandbox, transport):
    state = BuilderState(connect(sandbox=sandbox, transport=transport), now=NOW, expression_timeout=0.5)
    to_preview(state)
    state.set_expression("($f := function(){$f()}; $f())")
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        state.preview()
    assert time.monotonic() - started < 5 and caught.value.code in ("timeout", "D1011")
    assert state.preview_error is caught.value and "the preview failed" in state.continue_problem()
    assert state.result is None and time.monotonic() - started < 6  # the failure is remembered, not re-run
    state.reset_expression()
    assert state.preview().summary.current > 0 and state.continue_problem() is None


def test_an_error_position_is_pointed_at():
    assert point_at("a\nmessages.{x", 12) == "messages.{x\n" + " " * 9 + "^"  # 12th character: the {
    assert point_at("abc", None) is None


def test_a_dynamic_date_metric_previews_from_the_first_page_without_another_request(state, transport):
    state.choose_endpoint("Balance")
    page = state.advance()
    state.select_value("balance")
    state.advance()
    state.advance()
    assert state.effective_date == Dynamic() and state.date_choices()[0].value == Dynamic()
    state.advance()
    result = state.preview()
    assert len(transport.urls) == 1 and state.stored.requests == 0  # the one page there is was reused
    assert result.rows["date"].tolist() == [pd.Timestamp(NOW)]  # stamped with the time of storing
    assert result.data["date"].tolist() == [pd.Timestamp("2026-11-27", tz="UTC")]  # that day
    assert result.summary.current == float(page.body["balance"])
    assert state.spec.date == Dynamic() and state.list_key is None and not state.expression.startswith("balance.")


def preview_alerts(state, pagination: str, max_pages: int):
    """Count Monitor alerts, 20 a page, and preview them."""
    state.choose_endpoint("Monitor alerts")
    state.set_row("params", 0, value="20")
    state.set_pagination(pagination, max_pages)
    state.advance()
    state.select_value(Count())
    for _ in range(3):
        state.advance()
    return state.preview()


def test_a_page_cap_is_reported_as_truncation(state):
    result = preview_alerts(state, "next_page", 2)
    assert result.truncated and result.stop_reason == "page_cap" and result.pages == 2
    assert ("pages", "2 of at most 2") in state.paging() and "page cap (2) was reached" in state.truncation_warning()
    assert any("incomplete" in w for w in result.warnings)


def test_pagination_off_on_a_list_with_more_pages_says_to_turn_it_on(state):
    result = preview_alerts(state, "none", 1)
    assert result.truncated and result.stop_reason == "page_cap" and result.pages == 1
    warning = state.truncation_warning()
    assert "pagination is off" in warning and "Choose next-page pagination in step 1" in warning
    assert "Raise the page cap" not in warning


# --- step 6: describe, save, copy as code ----------------------------------------------------


def test_describe_save_and_copy_as_code(state, sandbox, tmp_path, monkeypatch):
    to_preview(state).preview()
    state.advance()
    assert state.step == "describe" and "last step" in state.continue_problem()
    with pytest.raises(ChoiceError, match="aggregation: 'median'"):
        state.describe(aggregation="median")
    with pytest.raises(ChoiceError, match="date range"):
        state.describe(date_range="fortnight")
    with pytest.raises(ChoiceError, match="name: a metric needs a name"):
        state.describe(name="  ")
    with pytest.raises(ChoiceError, match="'goal' is not described here"):
        state.describe(goal=3)
    state.describe(
        name=" Messages by status ", description="Every message, by its status", aggregation="sum",
        favourable_trend="down", date_range="last_7_days", interval="week",
    )  # fmt: skip
    spec = state.spec
    assert (spec.name, spec.description, spec.favourable_trend, spec.date_range, spec.interval) == (
        "Messages by status", "Every message, by its status", "down", "last_7_days", "week",
    )  # fmt: skip
    assert state.default_save_path == "messages_by_status.json"
    inline = state.copy_as_code()
    assert "tb.connect(sandbox=True)" in inline and "MetricSpec.from_json(r'''" in inline
    assert "fetch_metric(spec, conn, 'last_30_days')" in inline  # the preview's range
    where = state.save(str(tmp_path / "m.json"))
    assert load_metric(where) == spec
    assert f"tb.load_metric({where!r})" in state.copy_as_code()
    with pytest.raises(ChoiceError, match="type where to save"):
        state.save(" ")
    creds = sandbox.credentials
    for code in (inline, state.copy_as_code()):
        assert not any(secret in code for secret in (creds.account_sid, creds.api_key, creds.api_secret))
        namespace = run_code(code, state.conn, monkeypatch)
        pd.testing.assert_frame_equal(namespace["result"].data, state.result.data)


def test_copy_as_code_for_a_real_account_takes_credentials_from_the_environment():
    state = BuilderState.from_spec(library.get("Messages by status"))
    code = state.copy_as_code()
    assert "conn = tb.connect()" in code and "TWILIO_API_SECRET" in code and "sandbox" not in code
    assert MetricSpec.from_json(code.split("r'''")[1].split("'''")[0]) == state.spec


def run_code(code: str, conn, monkeypatch) -> dict:
    """Execute copy-as-code lines with ``tb.connect`` answering with ``conn`` and the clock at NOW."""
    import twibox_nb
    from twibox_nb.pipeline.metric import fetch_metric as real

    monkeypatch.setattr(twibox_nb, "connect", lambda *a, **k: conn)
    monkeypatch.setattr(twibox_nb, "fetch_metric", lambda *a, **k: real(*a, now=NOW, **k))
    namespace: dict = {}
    exec(compile(code, "<copy as code>", "exec"), namespace)
    return namespace
