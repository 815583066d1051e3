"""The builder's draft (twibox_nb.builder) without any widget: request, tokens, first page, value, dimension."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from twibox_nb import library
from twibox_nb._exceptions import DateRangeError, SpecError, TwilioAPIError
from twibox_nb.builder import (
    METHODS,
    POST_DISABLED_REASON,
    STEPS,
    BuilderState,
    ChoiceError,
    base_urls,
    describe_error,
    mask_identifier,
    search_endpoints,
)
from twibox_nb.calculated import CalculatedMetric
from twibox_nb.connection import connect
from twibox_nb.spec import Count, Dynamic, Field, MetricSpec, RequestSpec

from ..conftest import NOW

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"


class Counting(httpx.BaseTransport):
    """The sandbox's transport, counting the requests that reach it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.urls = inner, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return self.inner.handle_request(request)


@pytest.fixture
def transport(sandbox):
    return Counting(sandbox.transport())


@pytest.fixture
def state(sandbox, transport):
    return BuilderState(connect(sandbox=sandbox, transport=transport), now=NOW)


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
    assert labels["last_7_days"] == "last 7 days (2026-11-20 → 2026-11-26)" and labels["today"] == "today (2026-11-27)"


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
    assert state.value == Field("price")  # the previous choice stays
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
    assert [s.key for s in STEPS if s.available] == ["request", "value", "dimension"]
    messages(state)
    assert state.advance() is not None and state.step == "value"
    assert state.continue_problem().startswith("choose what to measure")
    with pytest.raises(ChoiceError, match="choose what to measure"):
        state.advance()
    state.select_value("price")
    state.advance()
    state.select_dimension("status")
    assert state.step == "dimension" and state.next_step() is None
    assert "last step available" in state.continue_problem()
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
