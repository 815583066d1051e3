"""Re-running the builder's cell closes the previous builder's widgets (issue 15), in Notebook 7 and JupyterLab.

Both front ends send the cell's id with each run, which ``_lifetime.track`` relies on. A one-cell
notebook makes a builder; after each of three runs (in the same live kernel) the test picks the
Messages endpoint and clicks Continue (so the builder also makes its step 2 panel and response
tree), then counts the widgets the kernel holds (ipywidgets' instances, asked as a silent request,
as tests/ui/test_heap.py does) and the page's widget manager holds. Voila runs a notebook once, on
load, so it has nothing to re-run.

What must hold: one MetricBuilder in the kernel and one in the page after every run, and the same
number of widget models after the third run as after the second (the first loads the code).
"""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

from .conftest import FRONT_ENDS
from .test_builder_six_steps import pick
from .test_heap import _COUNT_PAGE, WIDGET_SLACK, kernel_widgets, run_all

NOTEBOOK = "ui/builder_rerun.ipynb"  # its own: no other test's kernel session is reused
CELL = """\
from datetime import datetime, timezone
import twibox_nb as tb
from twibox_nb.widgets.builder import MetricBuilder

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
builder = MetricBuilder(tb.connect(sandbox=tb.Sandbox(seed=7, now=NOW)), now=NOW, preview_range="last_7_days")
builder
"""
RERUNS = [name for name in FRONT_ENDS if name != "voila"]


@pytest.mark.browser
@pytest.mark.parametrize("front_end", RERUNS, indirect=True)
def test_rerunning_the_builder_cell_closes_the_previous_builder(front_end, page, shots):
    assert front_end.reruns
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nbformat.write(nb, front_end.root / NOTEBOOK)
    expect.set_options(timeout=120_000)
    page.set_viewport_size({"width": 1280, "height": 1400})
    front_end.open(page, NOTEBOOK)  # the first run
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    rows = []
    for round_ in (1, 2, 3):
        if round_ > 1:
            run_all(page, round_)  # the same cell again, in the same kernel
        assert tracebacks.count() == 0, tracebacks.first.inner_text()
        builder = page.locator(".twibox-builder")
        expect(builder).to_have_count(1)
        pick(page, "builder-endpoint", "Messages (api)")
        builder.locator(".twibox-builder-continue").click()
        expect(builder.locator(".twibox-builder-response-tree details").first).to_be_attached()
        builder.screenshot(path=str(shots / f"rerun-{front_end.name}-{round_}.png"))
        kernel = kernel_widgets(page)
        rows.append((round_, kernel.get("MetricBuilder", 0), sum(kernel.values()), page.evaluate(_COUNT_PAGE)))
    figures = "\n".join(
        ["run  kernel builders  kernel widgets  page models"]
        + [f"{r:3}  {b:15}  {w:14}  {m:11}" for r, b, w, m in rows]
    )
    print(f"\n{front_end.name}:\n{figures}")
    assert all(b == 1 for _, b, _, _ in rows), f"earlier builders are still open in the kernel:\n{figures}"
    (_, _, second_kernel, second_page), (_, _, third_kernel, third_page) = rows[1], rows[2]
    assert abs(third_kernel - second_kernel) <= WIDGET_SLACK, f"the kernel keeps earlier widgets:\n{figures}"
    assert third_page >= 0, f"the page's widget manager was not found:\n{figures}"
    assert abs(third_page - second_page) <= WIDGET_SLACK, f"the page keeps earlier widgets:\n{figures}"
    assert not front_end.blocked(page), page.blocked
