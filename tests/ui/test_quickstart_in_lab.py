"""The quick-start notebook, run in a real JupyterLab offline: every cell runs, every chart renders."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from .conftest import run_all_cells


def test_quickstart_runs_in_jupyterlab_and_its_charts_render_offline(lab, page, tmp_path):
    url, _ = lab
    expect.set_options(timeout=120_000)
    page.set_viewport_size({"width": 1280, "height": 2400})  # a laptop's width
    page.goto(f"{url}/lab/tree/notebooks/01-quickstart.ipynb?reset")  # a fresh workspace: this notebook only
    run_all_cells(page)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    charts = page.locator(".vega-embed")
    expect(charts).to_have_count(2)  # every chart draws, not only the first one on the page
    for index in range(2):
        charts.nth(index).scroll_into_view_if_needed()
        expect(charts.nth(index).locator("svg, canvas").first).to_be_visible()
    expect(page.locator(".twibox-vega-picture")).to_have_count(0)  # live charts replaced their pictures
    assert len(page.bundles) == 1, page.bundles  # the kernel sent Vega once, for both charts
    expect(page.locator(".twibox-builder").first).to_be_visible()  # the MetricBuilder, shown for people
    assert "Error loading script" not in page.content()
    # TWIBOX_SCREENSHOTS keeps the picture somewhere a person can look at it.
    shots = Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path)
    charts.first.evaluate("chart => chart.scrollIntoView({block: 'center'})")
    box = charts.first.bounding_box()  # the first chart and what is around it, as a person sees it
    top = max(0, box["y"] - 200)
    page.screenshot(
        path=str(shots / "quickstart-chart-1280.png"), clip={"x": 0, "y": top, "width": 1280, "height": 800}
    )
    page.screenshot(path=str(shots / "quickstart.png"))
    assert not [u for u in page.blocked if "cdn" in u or "jsdelivr" in u], page.blocked
