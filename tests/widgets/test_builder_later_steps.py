"""Steps 4–6 of the MetricBuilder, the pagination panel and copy-as-code, driven in the kernel."""

from __future__ import annotations

import time

import httpx
import ipywidgets as widgets
import pandas as pd
import pytest

from twibox_nb import library
from twibox_nb.fetch.connection import connect
from twibox_nb.library import load_metric
from twibox_nb.model.spec import Count, Dynamic, Field
from twibox_nb.model.units import format_value
from twibox_nb.widgets.builder import MetricBuilder

from ..conftest import NOW, RecordingTransport

RUNAWAY = "($f := function(){$f()}; $f())"


@pytest.fixture
def spy(sandbox):
    return RecordingTransport(sandbox.transport())


def make(sandbox, spy, **options) -> MetricBuilder:
    return MetricBuilder(connect(sandbox=sandbox, transport=spy), now=NOW, expression_timeout=1.0, **options)


def walk(widget: widgets.Widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def to_date_step(b: MetricBuilder, endpoint: str, value, dimension, page_size: str | None = None) -> None:
    b.request.endpoint.value = endpoint
    if page_size is not None:
        b.request.params.children[0].value.value = page_size
    b.continue_button.click()
    b.value_step.choices.value = value
    b.continue_button.click()
    b.dimension_step.choices.value = dimension
    b.continue_button.click()
    assert b.state.step == "date" and b.body.children == (b.date_step,) and b.error.value == ""


def run_code(code: str, conn, monkeypatch) -> dict:
    """Execute copy-as-code lines with ``tb.connect`` answering with ``conn`` and the clock at NOW."""
    import twibox_nb
    from twibox_nb.pipeline.metric import fetch_metric

    monkeypatch.setattr(twibox_nb, "connect", lambda *a, **k: conn)
    monkeypatch.setattr(twibox_nb, "fetch_metric", lambda *a, **k: fetch_metric(*a, now=NOW, **k))
    namespace: dict = {}
    exec(compile(code, "<copy as code>", "exec"), namespace)
    return namespace


def test_messages_count_by_status_through_all_six_steps(sandbox, spy, tmp_path, monkeypatch):
    b = make(sandbox, spy, preview_range="2026-11-02..2026-11-08")
    to_date_step(b, "Messages", Count(), Field("status"), page_size="200")
    d = b.date_step
    labels = [label for label, _ in d.choices.options]
    assert labels[0].startswith("Use the time of storing (dynamic)") and d.choices.value == Field("date_sent")
    assert any(label.startswith("date_sent · RFC 2822 · e.g. '") and label.endswith(" UTC") for label in labels)
    assert "twibox-builder-date-raw" in d.note.value and "+0000</code> → <code" in d.note.value
    d.choices.value = Field("date_created")
    d.choices.value = Field("date_sent")
    assert b.state.date == Field("date_sent") and not b.continue_button.disabled
    assert b.paging.layout.display == "none"  # nothing fetched for the range yet
    first = len(spy.urls)

    b.continue_button.click()  # step 4 → 5: every page of the range, fetched once
    p = b.preview_step
    assert b.state.step == "preview" and b.error.value == "" and p.error.value == ""
    assert p.expression.value == 'messages.{"date": date_sent, "value": 1, "dimension": status}'
    assert "Generated from your choices" in p.origin.value and p.reset_button.disabled
    result = b.result
    start, end = result.date_range.start.date(), result.date_range.end.date()
    truth = sandbox.truth.daily_counts("messages", start, end, by="status")
    data = result.data[result.data["value"] > 0]
    assert {(r.date.date(), r.dimension): r.value for r in data.itertuples()} == truth
    assert f"<b class='twibox-builder-preview-total'>{sum(truth.values()):,}</b>" in p.summary.value
    assert "twibox-builder-preview-rows" in p.table.value and "<td>delivered</td>" in p.table.value
    assert "<svg" in p.chart.value and p.chart.value.count("<path") > 2
    assert b.paging.layout.display is None and "twibox-builder-paging-stop-reason" in b.paging.value
    assert f"{result.pages} of at most 100" in b.paging.value and "complete" in b.paging.value
    assert "twibox-builder-truncated" not in b.paging.value
    fetched = len(spy.urls)
    assert fetched == first + result.pages and result.pages == 4  # 710 records, 200 a page

    b.continue_button.click()  # step 5 → 6
    s = b.describe_step
    assert b.state.step == "describe" and s.name.value == "Messages by status" and s.aggregation.value == "sum"
    assert b.continue_button.disabled and "Save writes the metric file" in b.nav_note.value
    s.name.value = "Messages per status"
    s.description.value = "Every message of the week, by status"
    s.aggregation.value = "count"
    s.trend.value = "down"
    s.interval.value = "week"
    s.date_range.value = "fortnight"  # refused, with the reason; the previous range stays
    assert "unknown date range" in s.note.value and b.spec.date_range == "last_30_days"
    s.date_range.value = "last_7_days"
    assert s.note.value == "" and "twibox-builder-describe-total" in s.value.value
    spec = b.spec
    assert (spec.name, spec.description, spec.aggregation, spec.favourable_trend, spec.interval, spec.date_range) == (
        "Messages per status", "Every message of the week, by status", "count", "down", "week", "last_7_days",
    )  # fmt: skip
    assert (spec.value, spec.dimension, spec.date, spec.expression) == (
        Count(),
        Field("status"),
        Field("date_sent"),
        None,
    )
    assert b.result.interval == "week" and b.result.summary.current == sum(truth.values())
    s.path.value = str(tmp_path / "metrics" / "per_status.json")
    s.save_button.click()
    assert "Saved to <code class='twibox-builder-saved-path'>" in s.saved.value and b.error.value == ""
    assert load_metric(tmp_path / "metrics" / "per_status.json") == b.spec

    b.code_button.value = True
    assert b.code.layout.display is None and "tb.load_metric(" in b.code.value and "per_status.json" in b.code.value
    # The browser copies (the kernel cannot reach the clipboard): the button holds the same lines.
    assert b.code_copy.layout.display is None and b.code_copy.text == b.code_text and b.code_copy.status == ""
    b.code_button.value = False
    assert b.code.layout.display == "none" and b.code_copy.layout.display == "none"
    b.code_button.value = True
    creds = sandbox.credentials
    assert not any(secret in b.code_text for secret in (creds.account_sid, creds.api_key, creds.api_secret))
    namespace = run_code(b.code_text, b.connection, monkeypatch)
    pd.testing.assert_frame_equal(namespace["result"].data, b.result.data)
    assert len(spy.urls) > fetched  # the code's own fetch; the builder's preview sent nothing more
    b.back_button.click()
    b.back_button.click()
    assert b.state.step == "date" and b.date_step.choices.value == Field("date_sent")


def test_monitor_alerts_meta_paging_with_a_page_cap_warns_of_truncation(sandbox, spy):
    b = make(sandbox, spy)
    b.request.endpoint.value = "Monitor alerts"
    b.request.params.children[0].value.value = "20"
    b.request.max_pages.value = 3
    b.continue_button.click()
    b.value_step.choices.value = Count()
    b.continue_button.click()
    b.dimension_step.choices.value = Field("log_level")
    b.continue_button.click()
    assert any("date_generated · ISO 8601" in label for label, _ in b.date_step.choices.options)
    b.continue_button.click()
    result = b.result
    assert result.truncated and result.pages == 3 and result.stop_reason == "page_cap"
    assert "3 of at most 3" in b.paging.value and "twibox-builder-truncated" in b.paging.value
    assert "page cap (3) was reached" in b.paging.value
    assert b.preview_step.expression.value == 'alerts.{"date": date_generated, "value": 1, "dimension": log_level}'
    assert set(result.rows["dimension"]) <= {"error", "warning"} and b.error.value == ""
    b.continue_button.click()
    assert b.state.step == "describe"


def test_a_dynamic_date_metric_balance(sandbox, spy, tmp_path):
    b = make(sandbox, spy)
    b.request.endpoint.value = "Balance"
    b.continue_button.click()
    b.value_step.choices.value = Field("balance")
    b.continue_button.click()
    b.continue_button.click()
    d = b.date_step
    assert d.choices.value == Dynamic() and "stamps its value with the time it ran" in d.note.value
    d.choices.value = Dynamic()
    b.continue_button.click()
    assert len(spy.urls) == 1  # the one page there is was reused for the preview
    result = b.result
    assert result.rows["date"].tolist() == [pd.Timestamp(NOW)] and len(result.data) == 1
    assert result.summary.current == float(b.state.first_page.body["balance"])
    b.continue_button.click()
    b.describe_step.aggregation.value = "latest"
    b.describe_step.path.value = str(tmp_path / "balance.json")
    b.describe_step.save_button.click()
    saved = load_metric(tmp_path / "balance.json")
    assert saved == b.spec and saved.date == Dynamic() and saved.aggregation == "latest"


def test_a_customised_expression_is_kept_and_reset_without_new_requests(sandbox, spy):
    b = make(sandbox, spy)
    to_date_step(b, "Messages", Count(), Field("status"))
    b.continue_button.click()
    p = b.preview_step
    fetched = len(spy.urls)
    everything = b.result.summary.current
    custom = 'messages[direction = "inbound"].{"date": date_sent, "value": 1, "dimension": status}'
    p.expression.value = custom
    p.preview_button.click()
    assert b.spec.expression == custom and "Customised" in p.origin.value and not p.reset_button.disabled
    inbound = b.result.summary.current
    assert 0 < inbound < everything and p.error.value == ""
    # Back to change value, dimension and date: the custom expression is kept and still wins.
    b.back_button.click()
    b.date_step.choices.value = Field("date_created")
    b.back_button.click()
    b.dimension_step.choices.value = None
    b.back_button.click()
    b.value_step.choices.value = Field("price")
    for _ in range(3):
        b.continue_button.click()
    assert b.state.step == "preview" and p.expression.value == custom and b.spec.expression == custom
    assert b.result.summary.current == inbound
    p.reset_button.click()
    assert b.spec.expression is None and p.expression.value.endswith(
        '  messages.{"date": date_created, "value": $numberOrNull(price)}\n)'
    )
    assert "price" in p.expression.value and "Generated from your choices" in p.origin.value
    assert b.result.spec.value == Field("price") and b.error.value == ""
    assert len(spy.urls) == fetched  # every re-preview ran on the stored pages


def test_a_syntax_error_and_a_runaway_expression_are_shown_and_the_builder_stays_usable(sandbox, spy):
    b = make(sandbox, spy)
    to_date_step(b, "Messages", Count(), Field("status"))
    b.continue_button.click()
    p = b.preview_step
    good = b.result.summary.current
    p.expression.value = 'messages.{"value": 1'
    p.preview_button.click()
    assert "S0203: Expected } before end of expression at position 20" in p.error.message
    assert p.expression.error_position == 20  # the highlighted editor underlines it in place
    assert "twibox-builder-expression-error" in p.error._dom_classes and p.error.layout.display is None
    assert "messages.{&quot;value&quot;: 1\n" + " " * 19 + "^" in p.pointer.value
    assert b.spec.expression is None and b.continue_button.disabled and "the preview failed" in b.nav_note.value
    shown = format_value(good, b.state.unit)
    assert "Stale preview: the last preview failed" in p.stale.value and shown in p.summary.value
    b.continue_button.click()  # refused: the typed expression does not compile
    assert b.state.step == "preview" and b.error.value == ""

    p.expression.value = 'messages.{"date": date_sent, "value": 2, "dimension": status}'  # fixed
    p.preview_button.click()
    assert p.error.value == "" and p.pointer.value == "" and b.result.summary.current == 2 * good
    assert p.stale.value == ""  # previewed: it matches again
    assert not b.continue_button.disabled

    p.expression.value = RUNAWAY
    started = time.monotonic()
    p.preview_button.click()
    assert time.monotonic() - started < 5
    assert p.error.errors[-1].code in ("timeout", "D1011") and p.error.layout.display is None
    # The last good preview stays, marked stale, as after a syntax error (issue 15)
    shown = format_value(2 * good, b.state.unit)
    assert b.result is None and b.continue_button.disabled and shown in p.summary.value
    assert "Stale preview: the last preview failed" in p.stale.value
    assert not p.preview_button.disabled and not p.reset_button.disabled and b.error.value == ""
    p.reset_button.click()  # usable: back to the generated expression
    assert p.error.value == "" and b.result.summary.current == good and not b.continue_button.disabled


def test_reopening_a_saved_metric_previews_its_custom_expression(sandbox, spy):
    spec = library.get("Messages by status").replace(
        expression='messages.{"date": date_sent, "value": 1, "dimension": direction}'
    )
    b = MetricBuilder.from_spec(spec, connect(sandbox=sandbox, transport=spy), now=NOW, expression_timeout=1.0)
    for _ in range(4):
        b.continue_button.click()
    assert b.state.step == "preview" and b.preview_step.expression.value == spec.expression
    directions = set(b.result.rows["dimension"])
    assert len(directions) >= 2 and "inbound" in directions
    b.continue_button.click()
    assert b.describe_step.name.value == spec.name and b.spec == spec


INTERACTIVE = (
    widgets.Button, widgets.Text, widgets.Textarea, widgets.Dropdown, widgets.Select, widgets.Checkbox,
    widgets.ToggleButtons, widgets.ToggleButton, widgets.BoundedIntText, widgets.Combobox,
)  # fmt: skip


def test_every_new_control_has_a_stable_css_class(sandbox, spy):
    b = make(sandbox, spy)
    to_date_step(b, "Messages", Count(), Field("status"))
    seen = []
    for panel in (b, b.date_step, b.preview_step, b.describe_step):
        for w in walk(panel):
            if isinstance(w, INTERACTIVE):
                seen.append(w)
                assert any(c.startswith("twibox-") for c in w._dom_classes), w
    assert len(seen) >= 15
    classes = {c for panel in (b, *b.panels.values()) for w in walk(panel) for c in getattr(w, "_dom_classes", ())}
    for css in (
        "builder-date", "builder-date-all", "builder-expression", "builder-preview-run", "builder-expression-reset",
        "builder-expression-error", "builder-preview-table", "builder-preview-chart", "builder-name",
        "builder-description", "builder-aggregation", "builder-trend", "builder-date-range", "builder-interval",
        "builder-save-path", "builder-save", "builder-saved", "builder-code-toggle", "builder-paging", "builder-code",
    ):  # fmt: skip
        assert f"twibox-{css}" in classes, css


def test_the_preview_fetch_shows_progress_and_disables_the_buttons(sandbox):
    seen = []
    b = None

    class Watch(RecordingTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if b is not None and b.state.step == "preview":
                p = b.preview_step
                seen.append(
                    (b.continue_button.disabled, b.back_button.disabled, p.preview_button.disabled,
                     p.expression.disabled, b.progress.layout.display)
                )  # fmt: skip
            return super().handle_request(request)

    b = make(sandbox, Watch(sandbox.transport()))
    to_date_step(b, "Monitor alerts", Count(), None, page_size="100")
    b.continue_button.click()
    assert len(seen) == b.result.pages > 1
    assert all(state == (True, True, True, True, None) for state in seen)
    assert b.progress.layout.display == "none" and not b.preview_step.preview_button.disabled
    assert f"{b.result.pages} pages of at most 100" in b.progress_text.value


def test_from_spec_keeps_the_file_it_was_read_from_and_the_catalogue_choice(sandbox, tmp_path):
    spec = library.get("Messages by status")
    path = tmp_path / "messages.json"
    spec.save(path)
    for b in (MetricBuilder.from_spec(spec, connect(sandbox=sandbox), path=str(path), now=NOW),
              MetricBuilder.from_spec(str(path), connect(sandbox=sandbox), now=NOW)):  # fmt: skip
        assert b.state.save_path == str(path) and b.state.catalogue_choice is not None
        b.close()
