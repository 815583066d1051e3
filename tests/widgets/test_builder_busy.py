"""The MetricBuilder all day: light (widgets made lazily, all closed by close()), never silent (busy
words, controls disabled, a click during a long action ignored) and navigable (step pills)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from ipywidgets.widgets.widget import _instances

from twibox_nb.builder import preview as previews
from twibox_nb.builder.state import STEPS
from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Count, Field
from twibox_nb.widgets.builder import MetricBuilder

from ..conftest import NOW, RecordingTransport

TODAY = 282  # widgets one MetricBuilder(conn) made before issue 15 (panels and Connect built at once)


class Slow(RecordingTransport):
    """Sleeps ``seconds`` in every request, running ``look()`` first (the builder is busy then)."""

    def __init__(self, inner: httpx.BaseTransport, seconds: float = 0.2) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        time.sleep(self.seconds)
        return response


def make(sandbox, transport=None, **options) -> MetricBuilder:
    conn = connect(sandbox=sandbox, transport=transport or sandbox.transport())
    return MetricBuilder(conn, now=NOW, expression_timeout=5.0, **options)


def to_date_step(b: MetricBuilder) -> None:
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    b.value_step.choices.value = Count()
    b.continue_button.click()
    b.dimension_step.choices.value = Field("status")
    b.continue_button.click()
    assert b.state.step == "date"


def test_a_builder_is_a_fraction_of_its_old_widget_count_and_close_frees_them_all(sandbox):
    before = len(_instances)
    b = make(sandbox)
    made = len(_instances) - before
    print(f"\nwidgets of MetricBuilder(conn): {made} (was {TODAY})")
    assert made <= 115 and made < TODAY * 0.45, made
    assert set(b.panels) == {"request"} and b._connect is None and b._response is None  # the rest is lazy
    to_date_step(b)
    b.continue_button.click()  # the preview: fetches and evaluates
    b.continue_button.click()
    b.code_button.value = True
    assert b.state.step == "describe" and set(b.panels) == {s.key for s in STEPS}
    print(f"widgets after all six steps: {len(_instances) - before}")
    b.close()
    assert len(_instances) == before, "close() left widgets alive"
    b.close()  # twice is harmless


def test_a_builder_without_a_connection_builds_connect_only_and_closes_it(sandbox):
    before = len(_instances)
    b = MetricBuilder(now=NOW, sandbox=sandbox)
    made = len(_instances) - before
    print(f"\nwidgets of MetricBuilder() at Connect: {made}")
    assert made <= 80 and b.body.children == (b.connect,) and "request" not in b.panels
    b.close()
    assert len(_instances) == before


def test_a_click_during_the_first_page_fetch_is_ignored_and_the_busy_words_show(sandbox):
    slow = Slow(sandbox.transport())
    b = make(sandbox, slow)
    seen = []

    def during():
        seen.append((b.busy.words, b.progress.layout.display, b.continue_button.disabled, b.indicator.disabled))
        b._continue()  # re-entrant, as a queued click would run if the kernel handled it now
        b.continue_button.click()
        b.back_button.click()
        other = threading.Thread(target=b._continue)  # and from another thread
        other.start()
        other.join()

    slow.look = during
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    assert seen == [("Fetching the first page…", None, True, True)]
    assert b.state.step == "value" and len(slow.urls) == 1 and b.busy.ignored >= 4
    assert not b.busy.active and b.progress.layout.display == "none" and not b.indicator.disabled
    assert "1 page" in b.progress_text.value and "records in" in b.progress_text.value


def test_continue_from_step_4_moves_to_step_5_at_once_and_is_busy_there(sandbox):
    slow = Slow(sandbox.transport(), seconds=0.05)
    b = make(sandbox, slow)
    to_date_step(b)
    seen = []

    def during():
        if not seen:
            seen.append((b.state.step, b.body.children == (b.preview_step,), b.busy.words,
                         b.continue_button.disabled, b.back_button.disabled, b.preview_step.preview_button.disabled,
                         b.indicator.disabled))  # fmt: skip
            b._continue()  # a second Continue: it would go on to step 6
            b.preview_step.preview_button.click()

    slow.look = during
    b.continue_button.click()
    assert seen == [("preview", True, "Fetching the pages…", True, True, True, True)]
    assert b.state.step == "preview" and b.result is not None and b.busy.ignored == 2
    assert not b.continue_button.disabled and not b.preview_step.preview_button.disabled
    assert f"{b.result.pages} pages of at most 100" in b.progress_text.value


def test_a_long_evaluation_says_so_with_the_elapsed_time_and_preview_is_disabled(sandbox, monkeypatch):
    b = make(sandbox)
    to_date_step(b)
    b.continue_button.click()
    seen = []
    real = previews.preview_result

    def slow_evaluation(*args, **kwargs):
        time.sleep(1.6)  # the busy line's clock ticks every half second
        seen.append((b.progress.value, b.preview_step.preview_button.disabled, b.continue_button.disabled))
        b.preview_step.preview_button.click()  # ignored: an evaluation runs
        return real(*args, **kwargs)

    monkeypatch.setattr(previews, "preview_result", slow_evaluation)
    b.preview_step.expression.value = b.state.expression.replace('"value": 1', '"value": 2')
    b.preview_step.preview_button.click()
    ((text, preview_disabled, continue_disabled),) = seen
    assert "Evaluating the expression…" in text and "twibox-busy-elapsed" in text
    assert preview_disabled and continue_disabled and b.busy.ignored == 1
    assert b.state.customised and b.result is not None and not b.preview_step.preview_button.disabled


def test_saving_says_so_and_disables_save(sandbox, tmp_path, monkeypatch):
    b = make(sandbox)
    to_date_step(b)
    b.continue_button.click()
    b.continue_button.click()
    seen = []
    real = b.state.save

    def save(path=None):
        seen.append((b.busy.words, b.progress.layout.display, b.describe_step.save_button.disabled))
        return real(path)

    monkeypatch.setattr(b.state, "save", save)
    b.describe_step.path.value = str(tmp_path / "m.json")
    b.describe_step.save_button.click()
    assert seen == [("Saving…", None, True)] and (tmp_path / "m.json").exists()
    assert not b.describe_step.save_button.disabled and b.progress.layout.display == "none"


def test_a_click_sent_before_the_last_action_ended_is_ignored_once_it_is_handled(sandbox):
    """ipywidgets queues a double click's second half until the first action ends: the front end's
    send time (the comm message's date) says it was sent while the action ran."""
    b = make(sandbox, Slow(sandbox.transport(), seconds=0.3))
    first = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
    sent = [first]  # when the front end sent the message being handled
    b.busy._clock = lambda: sent[0]
    b.request.endpoint.value = "Messages"
    b.continue_button.click()  # fetches the first page (0.3 s at least)
    assert b.state.step == "value"
    b.value_step.choices.value = Count()
    sent[0] = first + timedelta(milliseconds=40)
    b.continue_button.click()  # sent 40 ms after the first: it waited behind it in the queue, ignored
    assert b.state.step == "value" and b.busy.ignored == 1
    sent[0] = first + timedelta(hours=1)
    b.continue_button.click()  # a new click
    assert b.state.step == "dimension"


def test_step_pills_go_to_reached_steps_and_say_why_not_to_others(sandbox):
    b = make(sandbox)
    b.indicator.value = "preview"
    assert b.state.step == "request" and b.indicator.value == "request"
    assert "step 5 (Preview & customize) is not reached yet" in b.error.message
    to_date_step(b)
    b.continue_button.click()
    b.indicator.value = "request"  # from step 5 back to step 1
    assert b.state.step == "request" and b.body.children == (b.request,) and b.error.value == ""
    b.indicator.value = "preview"  # and forward again: reached, nothing changed
    assert b.state.step == "preview" and b.result is not None
    b.indicator.value = "request"
    b.request.endpoint.value = "Calls"  # a new endpoint: the steps after it are not reached any more
    assert b.indicator.icons[1:] == ("lock",) * 5 or list(b.indicator.icons[1:]) == ["lock"] * 5
    b.indicator.value = "date"
    assert b.state.step == "request" and "needs the first page of the request as it is now" in b.error.message


@pytest.mark.parametrize("step", ["value", "describe"])
def test_unreached_pills_are_marked(sandbox, step):
    b = make(sandbox)
    tips = dict(zip([k for _, k in b.indicator.options], b.indicator.tooltips, strict=True))
    assert tips[step].startswith("Not now: step") and tips["request"] == "Go to 1 Prepare API request"


def test_re_running_the_cell_that_made_a_builder_closes_all_its_widgets(sandbox, monkeypatch):
    from IPython.core.events import EventManager, available_events

    from twibox_nb.widgets import _lifetime

    class Shell:  # what _lifetime reads of ipykernel's shell
        def __init__(self) -> None:
            self.parent_header: dict = {}
            self.events = EventManager(self, available_events)

        def run(self, n: int) -> None:
            self.parent_header = {"header": {"msg_id": f"m{n}", "msg_type": "execute_request"},
                                  "metadata": {"cellId": "quick-start"}}  # fmt: skip
            self.events.trigger("pre_run_cell", None)

    shell = Shell()
    monkeypatch.setattr(_lifetime, "_shell", lambda: shell)
    before = len(_instances)
    for n in range(5):  # five runs of the quick start's builder cell
        shell.run(n)
        b = make(sandbox)
        b.request.endpoint.value = "Messages"
        b.continue_button.click()
    print(f"\nwidgets after five runs of the builder's cell: {len(_instances) - before}")
    assert len(_instances) - before == len(b._made) - sum(1 for i in b._made if i not in _instances)
    shell.run(5)  # a sixth run closes the fifth builder before the cell makes another
    assert len(_instances) == before
