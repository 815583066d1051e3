"""The quick-start notebook, run in a real JupyterLab offline: every cell runs, the chart renders."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect


def test_quickstart_runs_in_jupyterlab_and_its_chart_renders_offline(lab, page, tmp_path):
    url, _ = lab
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/lab/tree/notebooks/01-quickstart.ipynb")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget")
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; })()"
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when the last cell has an execution count and the kernel is idle again.
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget; const cells = w.content.widgets;"
        " const last = cells[cells.length - 1];"
        " return last.model.executionCount !== null && w.sessionContext.session.kernel.status === 'idle'; })()",
        timeout=180_000,
    )
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    chart = page.locator(".vega-embed").first
    chart.scroll_into_view_if_needed()
    expect(chart.locator("svg, canvas").first).to_be_visible()
    assert "Error loading script" not in page.content()
    # TWIBOX_SCREENSHOTS keeps the picture somewhere a person can look at it.
    page.screenshot(path=str(Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path) / "quickstart.png"))
    assert not [u for u in page.blocked if "cdn" in u or "jsdelivr" in u], page.blocked
