"""The MetricBuilder's first steps in a real JupyterLab, offline: controls render, Continue fetches.

tests/ui/notebooks/builder.ipynb displays ``MetricBuilder(connect(sandbox=...))``. The whole
six-step browser test comes with the later steps; this one checks that step 1's controls are
there (found by their stable CSS classes) and that choosing an endpoint and clicking Continue
reaches step 2 with the response tree, where clicking a field picks it (or explains why not).
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from .conftest import run_all_cells

STEP_1 = (
    "builder-steps", "builder-source", "builder-method", "builder-method-post", "builder-endpoint",
    "builder-base-url", "builder-path", "builder-param-add", "builder-header-add", "builder-pagination",
    "builder-max-pages", "builder-preview-range", "builder-continue", "builder-back",
)  # fmt: skip


def test_builder_steps_one_and_two_in_jupyterlab(lab, page, tmp_path):
    url, _ = lab
    shots = Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path)
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/lab/tree/ui/builder.ipynb?reset")
    run_all_cells(page)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    for css in STEP_1:
        expect(page.locator(f".twibox-{css}").first).to_be_visible()
    expect(page.locator(".twibox-builder-method-post")).to_be_disabled()
    expect(page.locator(".twibox-builder-source")).to_contain_text("SANDBOX")

    page.locator(".twibox-builder-endpoint select").select_option(label="Messages (api)")
    expect(page.locator(".twibox-builder-param-row")).to_have_count(3)
    expect(page.locator(".twibox-builder-param-resolved").nth(1)).to_contain_text("2026-10-28")
    page.locator(".twibox-builder-param-date").nth(2).click()  # the calendar menu of DateSent<
    expect(page.locator(".twibox-builder-token-end-date")).to_contain_text("2026-11-26")
    page.screenshot(path=str(shots / "builder-step-1.png"))
    page.locator(".twibox-builder-continue").click()
    expect(page.locator(".twibox-builder-step-value")).to_be_visible()
    expect(page.locator(".twibox-builder-response-status")).to_contain_text("HTTP 200")
    expect(page.locator(".twibox-builder-response-tree details").first).to_be_visible()
    expect(page.locator(".twibox-builder-value select")).to_contain_text("count of records")
    expect(page.locator(".twibox-builder-value select")).to_contain_text("price")
    page.screenshot(path=str(shots / "builder-step-2.png"))

    # The response tree is clickable (an anywidget): a click on a field picks it; the kernel decides.
    tree = page.locator(".twibox-builder-response-tree")
    expect(page.locator(".twibox-builder-response-status")).to_contain_text("click a field in the tree")
    tree.locator(".twibox-json-leaf[data-field='price']").first.click()
    note = page.locator(".twibox-builder-value-note")
    expect(note).to_contain_text("Value: price")
    selected = page.locator(".twibox-builder-value select")
    assert "price" in selected.evaluate("s => s.options[s.selectedIndex].textContent")
    tree.locator(".twibox-json-leaf[data-field='status']").first.click()  # text: explained, not taken
    expect(note).to_contain_text("✗")
    expect(note).to_contain_text("status")
    expect(note).to_contain_text("Continue stays off")  # no value until a usable one is picked (issue 15)
    expect(page.locator(".twibox-builder-continue")).to_be_disabled()
    page.screenshot(path=str(shots / "builder-tree-pick.png"))
    assert not page.blocked, page.blocked
