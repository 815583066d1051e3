"""Metric charts and databoards render offline in JupyterLab, Notebook 7 and Voila.

tests/ui/notebooks/charts.ipynb shows two metric charts (the default offline renderer: a chart
widget whose kernel sends the Vega libraries once per page) and a databoard widget. A notebook
saved with its widget state and reopened where no kernel knows its charts shows their pictures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import isolated_env, run_all_cells, serve, stop


def assert_charts_rendered(page, shots: Path, name: str) -> None:
    for n in (0, 1):  # two charts in one page: the second must not lose to the first's libraries
        chart = page.locator(".vega-embed").nth(n)
        chart.scroll_into_view_if_needed()
        expect(chart.locator("svg, canvas").first).to_be_visible()
    # The kernel sent the Vega libraries to the page once, for both charts, and the live charts
    # replaced the pictures shown while they came.
    assert len(page.bundles) == 1, page.bundles
    expect(page.locator(".twibox-vega-picture")).to_have_count(0)
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


def test_a_saved_notebook_reopened_without_its_kernel_shows_the_pictures(lab, page, shots):
    """Run headless with nbclient (which saves the widget state), then opened in JupyterLab, not run.

    Untrusted (someone else's notebook), JupyterLab renders no widget and no SVG: it shows each
    output's PNG. Trusted, it restores the chart widgets from the saved state; no kernel knows
    them, so none can send Vega, and they show their own pictures.
    """
    import nbformat
    from nbclient import NotebookClient

    url, root = lab
    notebook = nbformat.read(root / "ui" / "charts.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(root / "ui")}}
    ).execute()
    assert "widgets" in notebook.metadata  # the state the page restores the charts from
    expect.set_options(timeout=120_000)
    titles = ("Messages by status", "Total spend")

    nbformat.write(notebook, root / "ui" / "charts-saved.ipynb")
    page.goto(f"{url}/lab/tree/ui/charts-saved.ipynb?reset")
    pngs = page.locator(".jp-RenderedImage img")
    expect(pngs).to_have_count(2)
    for index in range(2):
        pngs.nth(index).scroll_into_view_if_needed()
        expect(pngs.nth(index)).to_be_visible()
        assert pngs.nth(index).evaluate("img => img.complete && img.naturalWidth > 300")
    page.screenshot(path=str(shots / "charts-saved-untrusted.png"))

    # trusted by the person who ran it (a signature is of the content: any copy is trusted too)
    nbformat.write(notebook, root / "ui" / "charts-trusted.ipynb")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "trust", str(root / "ui" / "charts-trusted.ipynb")],
        env=isolated_env(root), check=True, timeout=60,
    )  # fmt: skip
    page.goto(f"{url}/lab/tree/ui/charts-trusted.ipynb?reset")
    pictures = page.locator(".twibox-vega-chart img")
    expect(pictures).to_have_count(2)
    for index, title in enumerate(titles):
        picture = pictures.nth(index)
        picture.scroll_into_view_if_needed()
        expect(picture).to_be_visible()
        expect(picture).to_have_attribute("alt", re.compile(rf"^Bar chart: {title} \(last 7 days"))
        assert picture.evaluate("img => img.complete && img.naturalWidth > 300")  # the SVG decoded and drew
    assert page.locator(".vega-embed").count() == 0  # no kernel knows these charts: nothing draws them live
    assert page.bundles == [] and page.blocked == []
    page.screenshot(path=str(shots / "charts-saved-trusted.png"))
