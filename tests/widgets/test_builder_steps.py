"""The MetricBuilder driven in the kernel: set values, click, and check the spec, the data and the widgets."""

from __future__ import annotations

import json

import ipywidgets as widgets
import pytest

from twibox_nb import library
from twibox_nb.builder.request_step import POST_DISABLED_REASON
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Count, Field
from twibox_nb.widgets.builder import MetricBuilder

from ..conftest import MESSAGES_PATH, NOW, RecordingTransport

MESSAGES = MESSAGES_PATH


@pytest.fixture
def spy(sandbox):
    return RecordingTransport(sandbox.transport())


@pytest.fixture
def builder(sandbox, spy):
    return MetricBuilder(connect(sandbox=sandbox, transport=spy), now=NOW)


def pick(select: widgets.Select, value) -> None:
    select.value = value


def test_messages_through_the_first_three_steps(builder, spy):
    b, r = builder, builder.request
    assert "SANDBOX (demo data, not a real Twilio account)" in r.source.value
    assert b.continue_button.disabled and "type the endpoint path" in b.nav_note.value
    r.search.value = "messages"
    assert [label for label, _ in r.endpoint.options[1:]] == ["Messages (api)"]
    r.endpoint.value = "Messages"
    assert (r.base_url.value, r.path.value) == ("https://api.twilio.com", MESSAGES)
    rows = [(row.key.value, row.value.value) for row in r.params.children]
    assert rows == [("PageSize", "1000"), ("DateSent>", "{{start_date}}"), ("DateSent<", "{{end_date}}")]
    assert "2026-10-28" in r.params.children[1].resolved.value and "2026-11-26" in r.params.children[2].resolved.value
    assert "API docs" in r.docs.value and "message-resource" in r.docs.value and "DateSent&lt;" in r.docs.value
    assert "DateSent%3E=2026-10-28" in r.url.value and not b.continue_button.disabled

    b.continue_button.click()  # step 1 → 2: the first page
    assert b.error.value == "" and b.state.step == "value" and len(spy.urls) == 1
    assert (
        "HTTP 200 in" in b.response_status.value
        and "1,000 records under &quot;messages&quot;" in b.response_status.value
    )
    assert "more pages follow" in b.response_status.value
    tree = b.response_tree.value
    assert "<details" in tree and 'data-field="price"' in tree and "… 990 more not shown" in tree
    assert b.body.children == (b.value_step,) and b.indicator.value == "value"  # the step pills
    assert b.continue_button.disabled and "choose what to measure" in b.nav_note.value

    v = b.value_step
    offered = [value for _, value in v.choices.options]
    assert offered == [Count(), Field("error_code"), Field("num_media"), Field("num_segments"), Field("price")]
    assert any(label.startswith("price · number as text · e.g. '-0.00") for label, _ in v.choices.options)
    pick(v.choices, Field("price"))
    assert b.state.value == Field("price") and "Value: <code>price</code>" in v.note.value
    v.show_all.value = True
    labels = dict((value, label) for label, value in v.choices.options)
    assert labels[Field("status")].endswith("✗ text, not a number")  # each says why (issue 15)
    assert not any("not usable here" in label for label in labels.values())
    pick(v.choices, Field("status"))  # not a number: explained; the list keeps the pick, Continue waits
    assert v.choices.value == Field("status") and b.state.value is None and b.continue_button.disabled
    assert "&#x27;status&#x27; holds text" in v.note.value and "purely numeric" in v.note.value
    assert "Continue stays off" in v.note.value
    assert b.error.value == ""  # an explanation, not an error
    pick(v.choices, Field("price"))
    assert b.state.value == Field("price") and not b.continue_button.disabled
    pick(v.choices, Count())

    b.continue_button.click()  # step 2 → 3
    d = b.dimension_step
    assert b.state.step == "dimension" and d.choices.options[0] == ("None (one value, no segments)", None)
    pick(d.choices, Field("status"))
    assert "5 distinct values of <code>status</code> in the first page's 1,000 records" in d.values.value
    assert "<code>delivered</code></td><td style='text-align:right'>731</td>" in d.values.value
    assert d.values.value.count("twibox-builder-dimension-value") == 5
    assert "The metric so far" in d.summary.value and "date_sent (default)" in d.summary.value
    assert not b.continue_button.disabled and b.nav_note.value == ""  # the dimension is optional: on to the date

    spec = b.spec
    assert (spec.request.base_url, spec.request.path) == ("https://api.twilio.com", MESSAGES)
    assert dict(spec.request.params) == {"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"}
    assert (spec.value, spec.dimension, spec.date) == (Count(), Field("status"), Field("date_sent"))
    assert len(spy.urls) == 1  # one request for the whole walk


def test_monitor_alerts_a_product_api_with_meta_paging(builder):
    b, r = builder, builder.request
    r.base_url.value = "https://monitor.twilio.com"
    assert "/v1/Alerts" in r.path.options
    r.path.value = "/v1/Alerts"  # typing a catalogue path fills its suggested parameters
    assert [row.key.value for row in r.params.children] == ["PageSize", "StartDate", "EndDate"]
    assert "2026-10-28T00:00:00Z" in r.params.children[1].resolved.value
    r.params.children[0].value.value = "50"
    b.continue_button.click()
    assert b.state.first_page.list_key == "alerts" and len(b.state.first_page.records) == 50
    assert "50 records under &quot;alerts&quot; · more pages follow" in b.response_status.value
    assert "next_page_url" in b.response_tree.value
    v = b.value_step
    assert [value for _, value in v.choices.options] == [Count(), Field("error_code")]
    pick(v.choices, Field("error_code"))
    b.continue_button.click()
    d = b.dimension_step
    offered = [value for _, value in d.choices.options]
    assert Field("log_level") in offered and Field("error_code") in offered
    pick(d.choices, Field("log_level"))
    assert "<code>error</code>" in d.values.value and "<code>warning</code>" in d.values.value
    spec = b.spec
    assert (spec.request.base_url, spec.request.path) == ("https://monitor.twilio.com", "/v1/Alerts")
    assert dict(spec.request.params) == {
        "PageSize": "50",
        "StartDate": "{{start_datetime}}",
        "EndDate": "{{end_datetime}}",
    }
    assert (spec.value, spec.dimension, spec.date) == (Field("error_code"), Field("log_level"), Field("date_generated"))


def test_the_calendar_inserts_a_token_and_shows_what_it_resolves_to(builder):
    b, r = builder, builder.request
    r.endpoint.value = "Messages"
    r.add_param.click()
    row = r.params.children[-1]
    row.key.value = "DateSent<"
    assert row.menu.layout.display == "none"
    row.calendar.click()
    assert row.menu.layout.display is None
    labels = [button.description for button in row.menu.children]
    assert labels == [
        "range start (date) → 2026-10-28", "range end (date) → 2026-11-26",
        "range start (date and time) → 2026-10-28T00:00:00Z", "range end (date and time) → 2026-11-27T00:00:00Z",
    ]  # fmt: skip
    suggested = [b_.description for b_ in row.menu.children if b_.button_style == "info"]
    assert suggested == ["range end (date) → 2026-11-26"]
    assert all("twibox-builder-token" in b_._dom_classes for b_ in row.menu.children)
    row.menu.children[1].click()
    assert row.value.value == "{{end_date}}" and b.state.params[-1].value == "{{end_date}}"
    assert "2026-11-26" in row.resolved.value and row.menu.layout.display == "none"
    r.preview_range.value = "last_7_days"  # another preview range: every row shows its new value
    assert "2026-11-26" in row.resolved.value and "2026-11-20" in r.params.children[1].resolved.value
    row.value.value = "{{someday}}"
    assert "unknown date token" in row.resolved.value and b.continue_button.disabled
    row.remove.click()
    assert len(r.params.children) == 3 and not b.continue_button.disabled


def test_headers_post_and_paging_controls(builder):
    b, r = builder, builder.request
    r.endpoint.value = "Calls"
    assert r.method.options == ("GET",) and r.method.value == "GET"
    assert r.post.disabled and r.post.tooltip == POST_DISABLED_REASON and "only reads" in r.method_note.value
    r.add_header.click()
    header = r.headers.children[0]
    header.key.value, header.value.value = "Authorization", "Basic c2VjcmV0"
    assert b.continue_button.disabled and "carries a credential" in b.nav_note.value
    header.key.value = "X-Team"
    header.value.value = "ops"
    assert not b.continue_button.disabled
    r.pagination.value = "none"
    r.max_pages.value = 3
    spec = b.spec.request
    assert spec.headers == (("X-Team", "ops"),) and (spec.pagination, spec.max_pages) == ("none", 3)
    header.remove.click()
    assert r.headers.children == () and b.spec.request.headers == ()


def test_back_and_continue_keep_every_choice_without_fetching_again(builder, spy):
    b = builder
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    pick(b.value_step.choices, Field("price"))
    b.continue_button.click()
    pick(b.dimension_step.choices, Field("direction"))
    b.back_button.click()
    assert b.state.step == "value" and b.value_step.choices.value == Field("price")
    b.back_button.click()
    assert b.state.step == "request" and b.request.path.value == MESSAGES and b.back_button.disabled
    assert "changed since" not in b.response_status.value
    b.continue_button.click()
    b.continue_button.click()
    assert b.dimension_step.choices.value == Field("direction") and len(spy.urls) == 1
    b.back_button.click()
    b.back_button.click()
    b.request.params.children[0].value.value = "500"  # a change: the next Continue fetches again
    assert "the request changed since" in b.response_status.value
    b.continue_button.click()
    assert len(spy.urls) == 2 and len(b.state.first_page.records) == 500
    assert b.value_step.choices.value == Field("price") and b.state.dimension == Field("direction")


def test_a_bad_path_shows_twilios_404_inline(builder):
    b, r = builder, builder.request
    r.path.value = "/2010-04-01/Accounts/{AccountSid}/Nope.json"
    b.continue_button.click()  # nothing escapes the click
    assert b.state.step == "request" and b.error.layout.display is None
    assert "Twilio answered 404 (error 20404)" in b.error.message and "Check the base URL" in b.error.message
    assert "https://www.twilio.com/docs/errors/20404" in b.error.value and "Traceback" not in b.error.value
    assert not b.continue_button.disabled and not b.request.path.disabled  # usable again
    r.path.value = MESSAGES
    # Its cause changed: the 404 goes at once, not on the next Continue (issue 15).
    assert b.error.value == "" and b.error.layout.display == "none"
    b.continue_button.click()
    assert b.state.step == "value" and b.error.value == ""


def test_an_error_that_is_not_the_fetch_s_stays_when_the_request_changes(builder):
    b, r = builder, builder.request
    r.path.value = "/2010-04-01/Accounts/{AccountSid}/Nope.json"
    b.continue_button.click()
    b._report(ValueError("something else went wrong"))
    r.path.value = MESSAGES
    assert "something else went wrong" in b.error.message


def test_buttons_are_disabled_and_progress_shown_while_the_page_is_fetched(builder, spy):
    b = builder
    during = []
    spy.look = lambda: during.append(
        {
            "continue": b.continue_button.disabled,
            "back": b.back_button.disabled,
            "path": b.request.path.disabled,
            "add": b.request.add_param.disabled,
            "row": b.request.params.children[0].key.disabled,
            "progress": b.progress.layout.display,
        }
    )
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    assert during == [{"continue": True, "back": True, "path": True, "add": True, "row": True, "progress": None}]
    assert b.progress.layout.display == "none" and "<progress value='1' max='1'" in b.progress_text.value
    assert "1,000 records" in b.progress_text.value
    assert not b.back_button.disabled and not b.request.path.disabled  # restored afterwards


def test_an_unexpected_error_in_a_callback_is_shown_not_lost(builder, monkeypatch):
    b = builder
    b.request.endpoint.value = "Messages"

    def broken(progress=None):
        raise RuntimeError("the network cable is a snake")

    monkeypatch.setattr(b.state, "fetch_first_page", broken)
    b.continue_button.click()
    assert "Unexpected error (please report it): RuntimeError: the network cable is a snake" in b.error.message
    assert "Traceback" in b.error.value and isinstance(b.error.errors[-1], RuntimeError)
    assert not b.continue_button.disabled and b.progress.layout.display == "none"


def test_reopening_a_saved_metric_shows_every_choice(sandbox):
    spec = library.get("Alerts by error code")
    b = MetricBuilder.from_spec(spec, connect(sandbox=sandbox), now=NOW)
    assert b.spec == spec
    r = b.request
    assert (r.base_url.value, r.path.value) == ("https://monitor.twilio.com", "/v1/Alerts")
    assert [(row.key.value, row.value.value) for row in r.params.children] == list(spec.request.params)
    b.continue_button.click()
    assert b.value_step.choices.value == Count()
    b.continue_button.click()
    assert b.dimension_step.choices.value == Field("error_code")
    assert "<code>11200</code>" in b.dimension_step.values.value
    assert "favourable" not in b.dimension_step.summary.value and b.spec == spec  # later steps' choices kept


def test_without_a_connection_it_starts_with_the_connect_step(sandbox):
    b = MetricBuilder(sandbox=sandbox, env={}, now=NOW)
    assert b.body.children == (b.connect,) and b.connection is None
    assert b.indicator.value == "connect" and b.continue_button.disabled
    b.connect.activate_button.click()
    assert b.connection.is_sandbox and b.body.children == (b.request,)
    assert "SANDBOX" in b.request.source.value and "connect" not in [k for _, k in b.indicator.options]
    b.request.change_connection.click()
    assert b.body.children == (b.connect,)
    b.connect.activate_button.click()
    b.request.endpoint.value = "Balance"
    b.continue_button.click()
    assert b.state.first_page.list_key is None and "(the body is one record)" in b.response_status.value


def test_the_secret_typed_into_the_builders_connect_step_is_nowhere_in_widget_state(sandbox):
    c = sandbox.credentials
    b = MetricBuilder(env={}, transport=sandbox.transport(), now=NOW)
    form = b.connect
    form.account_sid.value, form.api_key.value, form.api_secret.value = c.account_sid, c.api_key, c.api_secret
    form.activate_button.click()
    assert b.connection is not None and form.api_secret.value == ""
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    saved = json.dumps(widgets.Widget.get_manager_state(drop_defaults=False))
    assert c.api_secret not in saved


INTERACTIVE = (
    widgets.Button, widgets.Text, widgets.Dropdown, widgets.Select, widgets.Checkbox, widgets.ToggleButtons,
    widgets.BoundedIntText, widgets.Combobox, widgets.Password,
)  # fmt: skip


def walk(widget: widgets.Widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def test_every_interactive_control_has_a_stable_css_class(builder):
    b = builder
    b.request.endpoint.value = "Messages"
    b.request.params.children[0].calendar.click()
    b.request.add_header.click()
    seen = []
    for panel in (b, b.connect, b.request, b.value_step, b.dimension_step):
        for w in walk(panel):
            if isinstance(w, INTERACTIVE):
                seen.append(w)
                assert any(c.startswith("twibox-") for c in w._dom_classes), w
    assert len(seen) > 25
    assert b._response is None  # built with the first page
    b.continue_button.click()
    for css in ("builder", "builder-steps", "builder-continue", "builder-back", "builder-error", "builder-response"):
        assert any(f"twibox-{css}" in w._dom_classes for w in walk(b)), css
