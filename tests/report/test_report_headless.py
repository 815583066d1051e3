"""The report notebook, run headless as the README says: papermill with parameters, then nbconvert to HTML.

The run uses non-default parameters (two library metrics and a metric file, last_7_days, weekly
comparison, a metric store in a temporary folder, a title and an offline HTML board) and checks
that each one took effect in the HTML; the page is opened in Debian's Chromium with the network
blocked to see the charts. A wrong parameter stops the run with a message that names it, not a deep traceback.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import twibox_nb as tb
from twibox_nb.sandbox import DEMO_CREDENTIALS

from ..conftest import REPO
from ..unit.test_notebook_hygiene import PATTERNS

REPORT = REPO / "notebooks" / "03-report.ipynb"
CHROMIUM = "/usr/bin/chromium"


def papermill(output: Path, *parameters: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(REPORT), str(output), "--no-progress-bar", *parameters],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the report once with non-default parameters; yield what a reader of it needs."""
    folder = tmp_path_factory.mktemp("report")
    inbound = tb.library.get("Messages received").replace(name="Inbound messages")
    inbound.save(folder / "inbound.json")
    before = datetime.now(timezone.utc)
    run = papermill(
        folder / "report.ipynb",
        "-y", f"metrics: [Messages sent, Calls by status, {folder / 'inbound.json'}]",
        "-p", "date_range", "last_7_days",
        "-p", "interval", "day",
        "-p", "compare", "previous_period",
        "-p", "store", str(folder / "history.sqlite3"),
        "-p", "sandbox_seed", "7",
        "-p", "output_html", str(folder / "board.html"),
        "-p", "title", "Weekly messaging check",
    )  # fmt: skip
    after = datetime.now(timezone.utc)
    assert run.returncode == 0, run.stderr[-4000:]
    html = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--no-input", str(folder / "report.ipynb")],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert html.returncode == 0, html.stderr[-3000:]
    page = folder / "report.html"
    assert page.is_file()
    weeks = {tb.resolve_range("last_7_days", moment) for moment in (before, after)}  # a run across midnight
    return {"folder": folder, "html": page.read_text(encoding="utf-8"), "page": page, "weeks": weeks}


def test_the_html_report_shows_the_scorecard_metrics_and_charts(report):
    html = report["html"]
    assert "Weekly messaging check" in html and "SANDBOX (demo data, not a real Twilio account)" in html
    assert "compared with previous period" in html  # the scorecard's own line
    assert "sparkline" in html or "<polyline" in html  # the scorecard's SVG trends
    for name in ("Messages sent", "Calls by status", "Inbound messages"):
        assert html.count(name) >= 3, name  # scorecard, table, chart title
    # The charts, drawn in the kernel as SVG: one per metric, its title and its marks (the data) in it.
    images = re.findall(
        r'<div class="jp-RenderedSVG[^>]*>\s*<img [^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html
    )
    charts = [base64.b64decode(image).decode("utf-8") for image in images]
    assert len(charts) == 3, len(charts)
    for chart, name in zip(charts, ("Messages sent", "Calls by status", "Inbound messages"), strict=True):
        assert name in chart and "sandbox" in chart.lower()
        assert re.search(r'class="[^"]*mark-(line|rect|symbol)', chart) and chart.count("<path") > 5
    assert "equal to the sandbox's ground truth: Messages sent, Calls by status" in html
    # The parameters cell is input, hidden by --no-input; nothing echoes the paths given.
    assert str(report["folder"]) not in html and "inbound.json" not in html


def test_the_parameters_took_effect(report):
    html = report["html"]
    shown = [week for week in report["weeks"] if str(week) in html]
    assert shown, f"none of {[str(w) for w in report['weeks']]} in the report"
    week = shown[0]
    previous = tb.comparison_range(week, "previous_period")
    assert str(previous) in html and "<strong>interval:</strong> day" in html
    assert f"{week.start:%Y-%m-%d %H:%M}" in html and "last_30_days" not in html  # not the default range
    assert "from the metric store&#x27;s history (store history.sqlite3)" in html or (
        "from the metric store's history (store history.sqlite3)" in html
    )
    with tb.Store(report["folder"] / "history.sqlite3") as store:
        stored = store.metrics()
        assert {"Messages sent", "Calls by status", "Inbound messages"} <= set(stored["name"])
        # The store holds both weeks: the report's and the one it is compared with.
        sent = store.history("Messages sent", week, "day", "previous_period", now=week.end)
        assert sent.summary.previous is not None and not sent.warnings
    board = (report["folder"] / "board.html").read_text(encoding="utf-8")
    assert "Weekly messaging check" in board and "Inbound messages" in board


def test_the_report_holds_no_credentials(report):
    texts = {
        "html": report["html"],
        "notebook": (report["folder"] / "report.ipynb").read_text(encoding="utf-8"),
        "board": (report["folder"] / "board.html").read_text(encoding="utf-8"),
    }
    for where, raw in texts.items():
        text = re.sub(r"(altair-viz|data)-[0-9a-f]{32}", r"\1-ID", raw)  # chart ids and Altair's dataset hashes
        assert DEMO_CREDENTIALS.api_secret not in text and DEMO_CREDENTIALS.auth_token not in text, where
        for kind, pattern in PATTERNS.items():
            if kind != "absolute path" or where != "notebook":  # the notebook holds the injected paths
                match = pattern.search(text)
                assert match is None, f"{where}: {kind}: {match.group(0)[:60]!r}"


def test_the_charts_draw_offline_in_a_browser(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        try:
            page = browser.new_page()
            offline = lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()  # noqa: E731
            page.route("**/*", offline)
            page.goto(report["page"].as_uri())
            charts = page.locator(".jp-RenderedSVG img")
            assert charts.count() == 3
            for index in range(3):
                chart = charts.nth(index)
                chart.scroll_into_view_if_needed()
                assert chart.is_visible() and chart.evaluate("img => img.complete && img.naturalWidth > 300")
        finally:
            browser.close()


def test_an_unknown_metric_fails_with_a_clear_message(tmp_path):
    wrong = ("-y", "metrics: [Messages sent, Mesages recieved]", "-p", "interval", "fortnight")
    run = papermill(tmp_path / "bad.ipynb", *wrong)
    assert run.returncode != 0
    cell = run.stderr.split("Exception encountered at", 1)[1]
    assert "ReportParameterError: this report's parameters are wrong:" in cell
    assert "metrics: 'Mesages recieved' is neither a library metric nor a metric file" in cell
    assert "did you mean 'Messages received'" in cell
    assert "interval: 'fortnight'; use hour, day, week, month, quarter or year" in cell
    # One frame, the report's own cell: no trip through twibox_nb's internals.
    assert "twibox_nb/" not in cell and "site-packages" not in cell and cell.count("Cell In[") == 1
