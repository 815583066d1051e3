"""Issue 15 in the step panels, driven in the kernel without the builder's shell.

Each panel is built on a :class:`BuilderState` as the shell builds it (state, guard, changed), so
these tests check what the panels show and do (the endpoint search, the calendar, refusals with
their reason, stale previews, the customised label, the save path, the copy button) whatever the
shell around them looks like.
"""

from __future__ import annotations

import pytest

from twibox_nb._exceptions import ExpressionError, TwilioAPIError
from twibox_nb.builder.state import BuilderState
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Count, Field
from twibox_nb.model.units import format_value
from twibox_nb.widgets._codeeditor import CopyButton
from twibox_nb.widgets._field_steps import ValueStep
from twibox_nb.widgets._later_steps import DateStep, DescribeStep, PreviewStep
from twibox_nb.widgets._request_step import RequestStep

from ..conftest import NOW


def unguarded(fn):
    return fn  # errors reach the test


@pytest.fixture
def state(sandbox):
    return BuilderState(connect(sandbox=sandbox), now=NOW, expression_timeout=0.5)


@pytest.fixture
def changes():
    return []


def request_panel(state, changes) -> RequestStep:
    return RequestStep(state, unguarded, lambda: changes.append(state.request_problem()))


def preview_panel(state) -> PreviewStep:
    def run():
        panel.clear_error()
        if not panel.apply():
            return
        try:
            state.preview()
        except ExpressionError as exc:
            panel.show_error(exc)
        panel.show_result()

    panel = PreviewStep(state, unguarded, lambda: None, run=run)
    return panel


def calls_at_preview(state, value="duration") -> BuilderState:
    state.choose_endpoint("Calls")
    state.advance()
    state.select_value(value)
    for _ in range(3):
        state.advance()
    return state


def test_the_endpoint_search_chooses_the_best_match_as_you_type(state, changes):
    r = request_panel(state, changes)
    assert r.endpoint.value is None and state.path == ""
    r.search.value = "calls"
    assert r.endpoint.value == "Calls" and state.catalogue_choice == "Calls" and r.endpoint.options[1][1] == "Calls"
    assert [row.key.value for row in r.params.children] == ["PageSize", "StartTime>", "StartTime<"]
    r.params.children[0].value.value = "50"  # an edit the next keystroke must not undo
    r.search.value = "call"  # the same best match: nothing is chosen again
    assert state.params[0].value == "50" and r.endpoint.value == "Calls"
    r.search.value = "messages"
    assert r.endpoint.value == "Messages" and state.path.endswith("/Messages.json")
    r.search.value = "nothing matches this"
    assert state.catalogue_choice == "Messages" and r.endpoint.value is None


def test_the_calendar_only_on_parameters_that_take_a_date(state, changes):
    r = request_panel(state, changes)
    r.endpoint.value = "Calls"
    rows = r.params.children
    shown = {row.key.value: row.calendar.layout.visibility != "hidden" for row in rows}
    assert shown == {"PageSize": False, "StartTime>": True, "StartTime<": True}
    assert rows[0].calendar.disabled and not rows[2].calendar.disabled
    r.add_param.click()
    empty = r.params.children[-1]
    assert empty.calendar.layout.visibility == "hidden"  # an empty key takes nothing yet
    empty.key.value = "EndTime<"
    assert empty.calendar.layout.visibility is None
    empty.calendar.click()
    assert "→ 2026-11-27" in empty.menu.children[1].description  # {{end_date}} for "<": the day after
    empty.key.value = "Status"
    assert empty.calendar.layout.visibility == "hidden" and empty.menu.layout.display == "none"


def test_ranges_and_parameters_use_one_notation(state, changes):
    r = request_panel(state, changes)
    r.endpoint.value = "Calls"
    labels = dict((name, label) for label, name in r.preview_range.options)
    assert labels["last_30_days"] == "last 30 days (2026-10-28 → 2026-11-27, end excluded)"
    assert "<code>2026-11-27</code>" in r.params.children[2].resolved.value  # StartTime< is the range's end
    assert "2026-10-28 → 2026-11-27 (end excluded)" in r.params.children[2].resolved.value  # in its tooltip


def test_a_reopened_metric_shows_its_catalogue_entry(sandbox, changes, tmp_path):
    state = BuilderState(connect(sandbox=sandbox), now=NOW)
    state.choose_endpoint("Calls")
    target = tmp_path / "calls.json"
    state.save(str(target))
    reopened = BuilderState.from_spec(str(target), state.conn, now=NOW)
    r = request_panel(reopened, changes)
    assert r.endpoint.value == "Calls" and r.path.value.endswith("/Calls.json")


def test_a_fetch_error_is_cleared_by_an_edit_and_the_old_page_marked_stale(state, changes):
    r = request_panel(state, changes)
    r.endpoint.value = "Calls"
    state.advance()
    state.back()
    r.refresh()
    assert r.fetch_note.value == ""
    r.path.value = "/2010-04-01/Accounts/{AccountSid}/Nope.json"
    assert "fetched for an earlier request" in r.fetch_note.value
    with pytest.raises(TwilioAPIError):
        state.advance()
    assert state.fetch_error is not None
    r.path.value = "/2010-04-01/Accounts/{AccountSid}/Calls.json"  # the cause changed: the error goes
    assert state.fetch_error is None


def test_a_non_twilio_host_is_refused_in_the_users_terms(state, changes):
    r = request_panel(state, changes)
    r.path.value = "https://example.com/v1/Calls"
    assert "only Twilio hosts (https://*.twilio.com) are allowed" in r.url.value
    assert "holds no query" not in r.url.value
    r.path.value = "https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Calls.json?PageSize=20"
    assert r.path.value == "/2010-04-01/Accounts/{AccountSid}/Calls.json" and r.endpoint.value == "Calls"
    assert [(row.key.value, row.value.value) for row in r.params.children] == [("PageSize", "20")]


def test_show_all_fields_says_why_and_an_unusable_pick_stays_selected(state):
    state.choose_endpoint("Messages")
    state.advance()
    v = ValueStep(state, unguarded, lambda: None)
    v.refresh()
    v.show_all.value = True
    labels = dict((value, label) for label, value in v.choices.options)
    assert labels[Field("status")].endswith("✗ text, not a number")
    assert labels[Field("subresource_uris")].endswith("✗ an object, not a number")
    assert labels[Field("date_sent")].endswith("✗ a date, not a number")
    v.choices.value = Field("status")
    assert v.choices.value == Field("status")  # no snapping back
    assert "holds text" in v.note.value and "Continue stays off" in v.note.value
    assert state.value is None and state.continue_problem() == state.choice_problem("value")
    v.refresh()  # shown again (Back, Continue, show all): still the pick and its reason
    assert v.choices.value == Field("status") and "holds text" in v.note.value
    v.choices.value = Count()
    assert state.value == Count() and state.refused("value") is None and "Continue stays off" not in v.note.value


def test_dates_are_only_fields_that_hold_dates_and_the_others_say_why(state):
    state.choose_endpoint("Messages")
    state.advance()
    d = DateStep(state, unguarded, lambda: None)
    d.refresh()
    assert Field("api_version") not in [value for _, value in d.choices.options]
    d.show_all.value = True
    labels = dict((value, label) for label, value in d.choices.options)
    assert labels[Field("api_version")].endswith("✗ text, not a date")
    assert labels[Field("price")].endswith("✗ a number, not a date")
    d.choices.value = Field("api_version")
    assert d.choices.value == Field("api_version") and "a version label" in d.note.value
    assert state.choice_problem("date").endswith("(choose a usable one to continue)")


def test_customised_as_soon_as_typed_and_a_stale_preview_is_marked(state):
    calls_at_preview(state)
    p = preview_panel(state)
    p.refresh()
    good = state.result.summary.current
    assert "Generated from your choices" in p.origin.value and p.stale.value == ""
    typed = state.generated_expression.replace("$numberOrNull(duration)", "$numberOrNull(duration) / 60")
    p.expression.draft = typed  # typed in the browser, not sent yet (no blur, no Preview)
    assert "<b>Customised</b>" in p.origin.value and not p.reset_button.disabled
    assert "Stale preview: the expression was edited" in p.stale.value
    p.expression.draft = state.generated_expression  # typed back
    assert "Generated from your choices" in p.origin.value and p.stale.value == ""
    p.expression.value = p.expression.draft = 'calls.{"value": 1'  # a syntax error
    p.preview_button.click()
    shown = format_value(good, state.unit)
    assert "Stale preview: the last preview failed" in p.stale.value and shown in p.summary.value
    p.expression.value = p.expression.draft = typed
    p.preview_button.click()
    assert p.stale.value == "" and state.result.summary.current == pytest.approx(good / 60)


def test_the_value_is_labelled_by_the_name_or_the_unit(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls_at_preview(state)
    state.describe(name="Call minutes")
    p = preview_panel(state)
    p.refresh()
    # the unit guessed from the field (a duration is in seconds) until the analyst sets one
    assert "<th>Call minutes (seconds)</th>" in p.table.value and "sum of duration" not in p.chart.value
    assert "Call minutes (seconds)" in p.chart.value
    d = DescribeStep(state, unguarded, lambda: None, saved=lambda: None)
    d.refresh()
    d.unit.value = "minutes"
    assert state.unit == "minutes" and "Call minutes (minutes) over the preview range" in d.value.value
    p.show_result()
    assert "<th>Call minutes (minutes)</th>" in p.table.value


def test_save_to_follows_the_name_until_typed(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state.choose_endpoint("Calls")
    d = DescribeStep(state, unguarded, lambda: None, saved=lambda: None)
    d.refresh()
    assert d.path.value == "calls.json"
    d.name.value = "Call minutes"
    assert d.path.value == "call_minutes.json"
    d.path.value = "metrics/mine.json"
    d.name.value = "Inbound minutes"
    assert d.path.value == "metrics/mine.json"
    d.save_button.click()
    assert (tmp_path / "metrics" / "mine.json").exists() and "tb.load_metric(&#x27;metrics/mine.json&#x27;)" in (
        d.saved.value
    )


def test_copy_as_code_hands_the_lines_to_the_browser_and_says_what_happened(state):
    state.choose_endpoint("Calls")
    d = DescribeStep(state, unguarded, lambda: None, saved=lambda: None)
    d.refresh()
    assert isinstance(d.copy, CopyButton) and d.copy.text == state.copy_as_code() and d.copy.label == "Copy as code"
    assert "tb.fetch_metric(spec, conn" in d.code.value
    d.name.value = "Renamed"
    assert '"name": "Renamed"' in d.copy.text  # the lines follow the metric
    d.copy.status = "copied"  # what the browser's Clipboard API answered
    assert "Copied" in d.copy_note.value
    d.copy.status = "Not copied: the browser only allows copying on pages served over https or from localhost."
    assert "served over https or from localhost" in d.copy_note.value
