"""Copy as code in JupyterLab, Notebook 7 and Voila, offline: the lines reach the browser's clipboard (issue 15).

tests/ui/notebooks/copy_code.ipynb displays step 6 ("Describe metric") of the MetricBuilder for the
library's "Messages by status". The kernel cannot reach the user's clipboard, so the copy button
(an anywidget whose JavaScript ships in the package) writes the lines with the browser's
Clipboard API and says "Copied", which the kernel hears back and shows too. The page granted
clipboard access reads the clipboard to check it holds exactly the lines shown; a page that is
refused says why instead of pretending. A builder reopened from the same metric does the same with
its own "Copy as code" toggle (the lines shown under the navigation, and its "Copy to clipboard").
"""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

from twibox_nb import library
from twibox_nb.builder.state import BuilderState
from twibox_nb.fetch.connection import connect

from .conftest import FRONT_ENDS

NOTEBOOK = "ui/copy_code.ipynb"
BUILDER = "ui/copy_from_builder.ipynb"
BUILDER_CELL = """\
from datetime import datetime, timezone
import twibox_nb as tb

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
conn = tb.connect(sandbox=tb.Sandbox(seed=7, now=NOW))
builder = tb.MetricBuilder.from_spec(tb.library.get("Messages by status"), conn, now=NOW)
builder
"""


def expected_lines() -> str:
    return BuilderState.from_spec(library.get("Messages by status"), connect(sandbox=True)).copy_as_code()


def open_notebook(page, front_end, path: str = NOTEBOOK) -> None:
    expect.set_options(timeout=120_000)
    front_end.open(page, path)
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
    expected = expected_lines()
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


@pytest.mark.browser
@pytest.mark.parametrize("front_end", FRONT_ENDS, indirect=True)
def test_the_builders_copy_as_code_puts_its_lines_on_the_clipboard(front_end, page, shots):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BUILDER_CELL)]), front_end.root / BUILDER)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=front_end.url)
    open_notebook(page, front_end, BUILDER)
    builder = page.locator(".twibox-builder").first
    builder.locator(".twibox-builder-code-toggle").click()
    shown = builder.locator(".twibox-builder-code pre")
    expect(shown).to_be_visible()
    assert shown.inner_text().strip() == expected_lines().strip()
    # Shown as code in every front end: the code font, lines not spaced apart (Voila's page once had both wrong).
    font, line, size = shown.evaluate(
        "p => [getComputedStyle(p).fontFamily, getComputedStyle(p).lineHeight,"
        " parseFloat(getComputedStyle(p).fontSize)]"
    )
    assert "mono" in font.lower() and float(line.removesuffix("px")) <= 1.6 * size, (font, line, size)
    button = builder.locator(".twibox-copy button", has_text="Copy to clipboard")
    button.click()
    expect(builder.locator(".twibox-copy .twibox-copy-status")).to_have_text("Copied")
    builder.screenshot(path=str(shots / f"copy-{front_end.name}-builder.png"))
    assert page.evaluate("navigator.clipboard.readText()") == expected_lines()
    assert not front_end.blocked(page), page.blocked
