"""The quick-start notebook, run in a real JupyterLab offline: every cell runs, the chart renders."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from .conftest import run_all_cells


def test_quickstart_runs_in_jupyterlab_and_its_chart_renders_offline(lab, page, tmp_path):
    url, _ = lab
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/lab/tree/notebooks/01-quickstart.ipynb?reset")  # a fresh workspace: this notebook only
    run_all_cells(page)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    chart = page.locator(".vega-embed").first
    chart.scroll_into_view_if_needed()
    expect(chart.locator("svg, canvas").first).to_be_visible()
    assert "Error loading script" not in page.content()
    # TWIBOX_SCREENSHOTS keeps the picture somewhere a person can look at it.
    page.screenshot(path=str(Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path) / "quickstart.png"))
    assert not [u for u in page.blocked if "cdn" in u or "jsdelivr" in u], page.blocked
