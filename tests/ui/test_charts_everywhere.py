"""Metric charts and databoards render offline in JupyterLab, Notebook 7 and Voila.

tests/ui/notebooks/charts.ipynb shows two metric charts (offline renderer) and a databoard widget.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import run_all_cells, serve, stop


def assert_charts_rendered(page, shots: Path, name: str) -> None:
    for n in (0, 1):  # two charts in one page: the second must not lose to the first's libraries
        chart = page.locator(".vega-embed").nth(n)
        chart.scroll_into_view_if_needed()
        expect(chart.locator("svg, canvas").first).to_be_visible()
    board = page.locator(".twibox-databoard").first
    board.scroll_into_view_if_needed()
    expect(board.locator(".twibox-chart svg").nth(1)).to_be_visible()
    assert "Error loading script" not in page.content()
    # Voila's own page template asks a CDN for Font Awesome icons (blocked here: the page only
    # loses icons); nothing else may be fetched from outside.
    outside = [u for u in page.blocked if "fontawesome" not in u]
    assert not outside, outside
    page.screenshot(path=str(shots / f"charts-{name}.png"))


@pytest.fixture
def shots(tmp_path) -> Path:
    return Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path)


def test_in_jupyterlab(lab, page, shots):
    url, _ = lab
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/lab/tree/ui/charts.ipynb?reset")  # a fresh workspace: this notebook only
    run_all_cells(page)
    assert_charts_rendered(page, shots, "jupyterlab")


def test_in_notebook_7(notebook7, page, shots):
    url, _ = notebook7
    expect.set_options(timeout=120_000)
    page.goto(f"{url}/notebooks/ui/charts.ipynb")
    run_all_cells(page)
    assert_charts_rendered(page, shots, "notebook7")


def test_in_voila(ui_root, page, shots):
    # Ready when a static file answers: asking for "/" would run the notebook in a kernel.
    url, proc, log = serve(
        ["voila", "ui/charts.ipynb", "--no-browser", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"],
        ui_root, "/voila/static/favicon.ico", "voila",
    )  # fmt: skip
    try:
        expect.set_options(timeout=180_000)
        page.goto(url)
        assert_charts_rendered(page, shots, "voila")
    finally:
        stop(proc, log)
