"""Issue 15 without any widget: the builder's state stays consistent, navigable and in plain words.

Each test is one point of the issue (a new analyst built, saved and reopened a Calls metric with
clicks only): the save path follows the name, a reopened file is saved in place, errors and
previews go stale when their cause changes, fields are refused with their reason, one range
notation, the calendar only where a date goes, and only Twilio hosts.
"""

from __future__ import annotations

import pytest

from twibox_nb import library
from twibox_nb._exceptions import ChoiceError, ExpressionError, TwilioAPIError
from twibox_nb.builder import token_menu
from twibox_nb.builder.request_step import best_endpoint, search_endpoints
from twibox_nb.builder.state import BuilderState
from twibox_nb.fetch.connection import connect
from twibox_nb.library import load_metric
from twibox_nb.model.spec import Count, Field

from ..conftest import NOW


def calls_to_preview(state: BuilderState, value="duration") -> BuilderState:
    state.choose_endpoint("Calls")
    state.advance()
    state.select_value(value)
    for _ in range(3):
        state.advance()
    assert state.step == "preview"
    return state


# --- consistent ------------------------------------------------------------------------------


def test_the_save_path_follows_the_name_until_the_analyst_types_one(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state.choose_endpoint("Calls")
    assert state.save_path == "calls.json" and state.save_path_follows_name
    state.describe(name="Call minutes")  # renamed in step 6: "Save to" follows
    assert state.save_path == "call_minutes.json"
    state.set_save_path("metrics/my-calls.json")  # typed: it stays theirs through renames
    state.describe(name="Inbound call minutes")
    assert state.save_path == "metrics/my-calls.json" and not state.save_path_follows_name
    state.set_save_path("")  # emptied: it follows the name again
    assert state.save_path == "inbound_call_minutes.json"
    written = state.save()
    state.describe(name="Renamed after saving")  # saved: the same file is written again
    assert state.save() == written and sorted(p.name for p in tmp_path.iterdir()) == ["inbound_call_minutes.json"]


def test_a_reopened_file_is_saved_where_it_came_from_with_its_catalogue_entry(state, tmp_path):
    state.choose_endpoint("Calls")
    state.describe(name="Calls by status")
    target = tmp_path / "metrics" / "calls-by-status.json"
    state.save(str(target))
    saved = load_metric(target)
    for reopened in (
        BuilderState.from_spec(str(target), state.conn, now=NOW),  # the file's path
        BuilderState.from_spec(load_metric(target), state.conn, now=NOW, path=target),  # or path=
    ):
        assert reopened.save_path == str(target) and reopened.catalogue_choice == "Calls"
        assert reopened.spec == saved
        assert f"tb.load_metric({str(target)!r})" in reopened.copy_as_code()  # saved as it stands
        reopened.describe(name="Renamed")
        assert reopened.save() == str(target) and [p.name for p in target.parent.iterdir()] == [target.name]
        saved.save(target)  # as it was, for the second way of reopening it
    fresh = BuilderState.from_spec(library.get("Messages by status"))  # no file: it follows the name
    assert fresh.save_path == "messages_by_status.json" and fresh.catalogue_choice == "Messages"


def test_an_edit_of_the_request_clears_the_fetch_error_and_marks_the_old_page_stale(state):
    state.choose_endpoint("Calls")
    page = state.fetch_first_page()
    assert not state.first_page_stale and state.fetch_error is None
    state.set_path("/2010-04-01/Accounts/{AccountSid}/Nope.json")
    with pytest.raises(TwilioAPIError):
        state.advance()
    assert state.fetch_error is not None and state.first_page is page and state.first_page_stale
    edits = [
        lambda: state.set_path("/2010-04-01/Accounts/{AccountSid}/Calls.json"),
        lambda: state.set_row("params", 0, value="50"),
        lambda: state.add_row("params"),
        lambda: state.remove_row("params", len(state.params) - 1),
        lambda: state.set_base_url("https://api.twilio.com"),
        lambda: state.set_pagination("none"),
        lambda: state.set_preview_range("last_7_days"),
        lambda: state.insert_token(1, "start_date"),
    ]
    for edit in edits:
        state.fetch_error = TwilioAPIError(404, 20404, "not found", None, "u")
        edit()
        assert state.fetch_error is None, edit
    state.set_row("params", 0, value="50")  # the same value again is no edit, but nothing to clear either
    assert state.first_page_stale  # the page shown was fetched for another request
    state.advance()
    assert state.fetch_error is None and not state.first_page_stale


def test_a_preview_that_no_longer_matches_is_stale_after_every_kind_of_failure(sandbox, transport):
    state = BuilderState(connect(sandbox=sandbox, transport=transport), now=NOW, expression_timeout=0.5)
    calls_to_preview(state)
    assert state.preview_stale() is None and state.shown_preview is None
    good = state.preview()
    assert state.shown_preview is good and state.preview_stale() is None
    # typed in the editor, not applied yet
    assert "edited" in state.preview_stale(state.expression.replace("duration)", "duration) / 60"))
    # a syntax error: the previous preview stays, marked stale
    with pytest.raises(ExpressionError):
        state.set_expression('calls.{"value": 1')
    assert state.shown_preview is good and "failed" in state.preview_stale()
    # a timeout: the previous preview is still there, marked stale the same way
    state.set_expression("($f := function(){$f()}; $f())")
    with pytest.raises(ExpressionError):
        state.preview()
    assert state.result is None and state.shown_preview is good and "failed" in state.preview_stale()
    state.reset_expression()
    again = state.preview()
    assert state.preview_stale() is None and state.shown_preview is again
    state.select_value(Count())  # another choice: stale until previewed
    assert "changed" in state.preview_stale()
    state.describe(name="Only a new name")
    state.preview()
    state.describe(name="Another name")  # naming does not change the data
    assert state.preview_stale() is None


def test_customised_as_soon_as_the_text_differs_from_the_generated_one(state):
    calls_to_preview(state)
    generated = state.generated_expression
    assert state.expression_origin() == "generated" == state.expression_origin(f"  {generated}\n")
    typed = generated.replace("duration", "duration / 60", 1)  # typed, Preview not pressed
    assert state.expression_origin(typed) == "customised" and not state.customised


def test_the_value_label_comes_from_the_name_or_the_unit_never_the_raw_field(state):
    calls_to_preview(state)
    state.set_expression(state.generated_expression.replace("$numberOrNull(duration)", "$numberOrNull(duration) / 60"))
    state.describe(name="Call minutes")
    state.preview()
    assert state.value_label == "Call minutes" and list(state.preview_table().columns)[-1] == "Call minutes"
    state.set_unit("minutes")
    assert state.value_label == "Call minutes (minutes)" and state.spec.to_dict()["unit"] == "minutes"
    assert "Call minutes (minutes)" in state.preview_table().columns
    reopened = BuilderState.from_spec(state.spec)
    assert reopened.unit == "minutes" and reopened.spec == state.spec
    with pytest.raises(ChoiceError, match=r"unit: .* is not a unit: use count, percent, .* or a short word"):
        state.set_unit("x" * 41)
    state.set_unit("")
    assert state.unit is None and "unit" not in state.spec.to_dict()


# --- navigable -------------------------------------------------------------------------------


def test_the_endpoint_search_ranks_the_best_match_first():
    assert best_endpoint("calls").name == "Calls" and search_endpoints("calls")[0].name == "Calls"
    assert best_endpoint("messages").name == "Messages" and best_endpoint("mess").name == "Messages"
    assert best_endpoint("no such endpoint") is None and best_endpoint("") is None


def test_the_calendar_is_offered_only_where_a_parameter_takes_a_date(state):
    state.choose_endpoint("Calls")
    rows = {row.key: state.takes_date(i) for i, row in enumerate(state.params)}
    assert rows == {"PageSize": False, "StartTime>": True, "StartTime<": True}
    index = state.add_row("params")
    assert not state.takes_date(index)  # an empty key takes nothing yet
    for key, takes in (("To", False), ("Status", False), ("EndTime<", True), ("DateCreatedAfter", True)):
        state.set_row("params", index, key=key)
        assert state.takes_date(index) is takes, key
    state.set_row("params", index, key="Anything", value="{{end_date}}")  # a token already: a date
    assert state.takes_date(index)


def test_ranges_read_the_same_everywhere_as_the_parameters_resolve_them(state):
    state.choose_endpoint("Calls")  # StartTime< is "before": the day after the range's last day
    end = state.row_preview(2).text
    shown = token_menu.range_text(state.date_range)
    assert shown == f"2026-10-28 → {end} (end excluded)" == "2026-10-28 → 2026-11-27 (end excluded)"
    assert dict((n, label) for label, n in state.preview_range_options())["last_30_days"] == (
        "last 30 days (2026-10-28 → 2026-11-27, end excluded)"
    )
    assert shown in state.row_preview(2).detail and "excludes this value" in state.row_preview(2).detail


# --- plain words -----------------------------------------------------------------------------


def test_a_host_that_is_not_twilio_is_refused_as_such(state):
    state.set_path("https://example.com/2010-04-01/Calls.json?PageSize=5")
    problem = state.request_problem()
    assert "only Twilio hosts (https://*.twilio.com) are allowed" in problem and "example.com" in problem
    assert "holds no query" not in problem
    state.set_path("/2010-04-01/Accounts/{AccountSid}/Calls.json")
    state.set_base_url("https://evil.example")
    assert "only Twilio hosts (https://*.twilio.com) are allowed" in state.request_problem()
    state.set_base_url("https://api.twilio.com")
    state.params = []
    state.set_path("https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Calls.json?PageSize=20&Status=busy")
    assert state.request_problem() is None and state.catalogue_choice == "Calls"  # a Twilio URL is split
    assert state.path.endswith("/Calls.json") and [(r.key, r.value) for r in state.params] == [
        ("PageSize", "20"),
        ("Status", "busy"),
    ]


def test_every_unusable_field_says_why_in_a_few_words(state):
    state.choose_endpoint("Messages")
    state.advance()
    shown = {c.value.path: c.shown for c in state.value_choices(show_all=True) if isinstance(c.value, Field)}
    assert shown["status"].endswith("✗ text, not a number")
    assert shown["date_sent"].endswith("✗ a date, not a number")
    assert shown["subresource_uris"].endswith("✗ an object, not a number")
    assert "✗" not in shown["price"] and all("not usable here" not in s for s in shown.values())
    dims = {c.value.path: c.shown for c in state.dimension_choices(show_all=True) if c.value is not None}
    assert dims["sid"].endswith("✗ free text (over 50 values)")
    assert dims["date_sent"].endswith("✗ a date: choose it in Select date")
    dates = {c.value.path: c for c in state.date_choices(show_all=True) if isinstance(c.value, Field)}
    assert dates["status"].shown.endswith("✗ text, not a date") and "not dates" in dates["status"].reason
    assert dates["api_version"].shown.endswith("✗ text, not a date")
    assert "a version label" in state.explain_date("api_version")
    assert all(c.ok for c in state.date_choices()) and Field("api_version") not in [
        c.value for c in state.date_choices()
    ]


def test_an_unusable_pick_is_remembered_with_its_reason_for_every_step(state):
    state.choose_endpoint("Messages")
    state.advance()
    for step, select, field in (
        ("value", state.select_value, "status"),
        ("dimension", state.select_dimension, "sid"),
        ("date", state.select_date, "status"),
    ):
        with pytest.raises(ChoiceError) as refused:
            select(field)
        assert state.refused(step) == (Field(field), refused.value.detail)
        assert state.choice_problem(step) == f"{refused.value.detail} (choose a usable one to continue)"
    state.select_value(Count())
    state.select_dimension(None)
    state.select_date(None)
    assert all(state.refused(step) is None for step in ("value", "dimension", "date"))


def test_continue_waits_while_a_refused_pick_is_shown_on_the_dimension_and_date_steps(state):
    state.choose_endpoint("Messages")
    state.advance()
    state.select_value(Count())
    state.advance()
    with pytest.raises(ChoiceError):
        state.select_dimension("sid")
    assert state.continue_problem() == state.choice_problem() and "choose a usable one" in state.continue_problem()
    state.select_dimension("status")
    assert state.continue_problem() is None
    state.advance()
    with pytest.raises(ChoiceError):
        state.select_date("status")
    assert "choose a usable one" in state.continue_problem()
    state.select_date("date_sent")
    assert state.continue_problem() is None
