"""Copy as code in JupyterLab, Notebook 7 and Voila, offline: the lines reach the browser's clipboard (issue 15).

tests/ui/notebooks/copy_code.ipynb displays step 6 ("Describe metric") of the MetricBuilder for the
library's "Messages by status". The kernel cannot reach the user's clipboard, so the copy button
(an anywidget whose JavaScript ships in the package) writes the lines with the browser's
Clipboard API and says "Copied", which the kernel hears back and shows too. The page granted
clipboard access reads the clipboard to check it holds exactly the lines shown; a page that is
refused says why instead of pretending.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from twibox_nb import library
from twibox_nb.builder.state import BuilderState
from twibox_nb.fetch.connection import connect

from .conftest import FRONT_ENDS

NOTEBOOK = "ui/copy_code.ipynb"


def open_notebook(page, front_end) -> None:
    expect.set_options(timeout=120_000)
    front_end.open(page, NOTEBOOK)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("front_end", FRONT_ENDS, indirect=True)
def test_copy_as_code_puts_the_lines_on_the_clipboard(front_end, page, shots):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=front_end.url)
    open_notebook(page, front_end)
    button = page.locator(".twibox-builder-copy-code button")
    expect(button).to_have_text("Copy as code")
    shown = page.locator(".twibox-builder-describe-code-text").inner_text()
    expected = BuilderState.from_spec(library.get("Messages by status"), connect(sandbox=True)).copy_as_code()
    assert shown.strip() == expected.strip() and "tb.fetch_metric(spec, conn" in shown
    button.click()
    expect(page.locator(".twibox-builder-copy-code .twibox-copy-status")).to_have_text("Copied")
    expect(page.locator(".twibox-builder-copy-note")).to_contain_text("Copied")  # the kernel heard it
    page.locator(".twibox-builder-copy-code").screenshot(path=str(shots / f"copy-{front_end.name}-copied.png"))
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == expected
    assert not front_end.blocked(page), page.blocked


@pytest.mark.browser
@pytest.mark.parametrize("front_end", FRONT_ENDS, indirect=True)
def test_a_refused_copy_says_why(front_end, page, shots):
    open_notebook(page, front_end)
    # The browser refuses (as a page without clipboard permission or focus may): the button says so.
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new DOMException('Write permission denied.',"
        " 'NotAllowedError')); }"
    )
    page.locator(".twibox-builder-copy-code button").click()
    status = page.locator(".twibox-builder-copy-code .twibox-copy-status")
    expect(status).to_contain_text("Not copied: the browser refused (NotAllowedError)")
    expect(page.locator(".twibox-builder-copy-note")).to_contain_text("Select the lines and press Ctrl+C")
    # The long status sits beside the button without squeezing its label onto two lines.
    lines = page.locator(".twibox-builder-copy-code button").evaluate(
        "b => { const r = document.createRange(); r.selectNodeContents(b);"
        " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"
    )
    assert lines == 1, f"the button's label takes {lines} lines"
    page.locator(".twibox-builder-copy-code").screenshot(path=str(shots / f"copy-{front_end.name}-refused.png"))
