"""The MetricBuilder's busy state in a real browser, offline: JupyterLab, Notebook 7 and Voila, 1280 px wide.

The notebook drives a builder to step 4 against a sandbox that answers every request 700 ms late.
The test then double-clicks Continue: the first preview's fetch is slow, and the second click waits
in the kernel's queue behind it. The builder must land on step 5 only (not 6), the busy words must
show, and meanwhile Back, Continue, Copy as code, Preview data and the step pills must be disabled.
A "ping" button shown under the builder then tells when the kernel has handled everything sent
before it (comm messages are handled in the order they were sent), so the queued second click has
been handled, on every front end (Voila has no kernel status to watch). Then a step pill goes back
from step 5 to step 1. In JupyterLab the file browser is open beside the notebook. Screenshots go to
the ``shots`` folder.
"""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

from .conftest import FRONT_ENDS
from .test_builder_six_steps import current_step

CELL = """\
from datetime import datetime, timezone
import ipywidgets as widgets
import twibox_nb as tb
from twibox_nb.model.spec import Count, Field
from twibox_nb.widgets.builder import MetricBuilder

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
slow = tb.Sandbox(seed=7, now=NOW, faults=tb.Faults(latency_ms=700))
builder = MetricBuilder(tb.connect(sandbox=slow), now=NOW, preview_range="last_7_days")
builder.request.endpoint.value = "Messages"
builder.request.params.children[0].value.value = "100"  # a few pages: the first preview takes seconds
builder.continue_button.click()
builder.value_step.choices.value = Count()
builder.continue_button.click()
builder.dimension_step.choices.value = Field("status")
builder.continue_button.click()
assert builder.state.step == "date"
ping = widgets.Button(description="ping 0")
ping.add_class("twibox-test-ping")
ping.on_click(lambda b: setattr(b, "description", f"ping {int(b.description.split()[1]) + 1}"))
display(builder, ping)
"""

# The busy words and, at the same instant, whether Back, Continue, Copy as code, Preview data and
# every step pill are disabled.
_BUSY_SNAPSHOT = """() => ({
  words: document.querySelector('.twibox-builder-progress').textContent,
  controls: [...document.querySelectorAll('.twibox-builder-back, .twibox-builder-continue,'
    + ' .twibox-builder-code-toggle, .twibox-builder-preview-run, .twibox-builder-steps button')]
    .map(b => [b.textContent.trim(), b.disabled]),
  pills: [...document.querySelectorAll('.twibox-builder-steps button')].map(b => Number(getComputedStyle(b).opacity)),
})"""


def kernel_caught_up(page, times: int) -> None:
    """Click the ping button and wait for its answer: the kernel handled every message sent before."""
    page.locator(".twibox-test-ping").click()
    expect(page.locator(".twibox-test-ping")).to_have_text(f"ping {times}")


@pytest.mark.browser
@pytest.mark.parametrize("front_end", FRONT_ENDS, indirect=True)
def test_a_double_click_during_the_first_preview_lands_on_step_5_and_a_pill_goes_back(front_end, page, shots):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nbformat.write(nb, front_end.root / "ui" / "builder_busy.ipynb")
    expect.set_options(timeout=90_000)
    page.set_viewport_size({"width": 1280, "height": 1400})
    front_end.open(page, "ui/builder_busy.ipynb")
    front_end.open_sidebar(page)
    name = f"busy-{front_end.name}"
    builder = page.locator(".twibox-builder").first
    expect(current_step(page)).to_have_text("4 Select date")
    builder.scroll_into_view_if_needed()
    builder.screenshot(path=str(shots / f"{name}-0-step4.png"))

    page.locator(".twibox-builder-continue").dblclick()  # two clicks at once: the second waits in the queue
    busy = page.locator(".twibox-builder-progress")
    expect(busy).to_contain_text("Fetching the pages…")
    # One look at the page: while the words show, everything that would act again is disabled.
    seen = page.evaluate(_BUSY_SNAPSHOT)
    assert "Fetching the pages…" in seen["words"], seen
    assert len(seen["controls"]) >= 10 and all(disabled for _, disabled in seen["controls"]), seen
    assert seen["pills"] and max(seen["pills"]) <= 0.6, seen  # greyed: a click is not expected to act
    expect(current_step(page)).to_have_text("5 Preview & customize")  # moved at once, busy there
    expect(page.locator(".twibox-builder-continue")).to_be_disabled()
    expect(page.locator(".twibox-builder-preview-run")).to_be_disabled()
    builder.screenshot(path=str(shots / f"{name}-1-fetching.png"))

    expect(page.locator(".twibox-builder-preview-total")).to_be_visible()
    expect(busy).to_be_hidden()
    kernel_caught_up(page, 1)  # the queued second click has been handled (and ignored)
    expect(current_step(page)).to_have_text("5 Preview & customize")
    expect(page.locator(".twibox-builder-continue")).to_be_enabled()
    builder.screenshot(path=str(shots / f"{name}-2-step5.png"))

    current_step(page).locator("xpath=..").locator("button", has_text="1 Prepare API request").click()
    expect(current_step(page)).to_have_text("1 Prepare API request")
    expect(page.locator(".twibox-builder-endpoint").first).to_be_visible()
    builder.screenshot(path=str(shots / f"{name}-3-back-to-step1.png"))
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0 and page.locator(".twibox-error:visible").count() == 0
