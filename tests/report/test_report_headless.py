"""The report notebook, run headless as the README says: papermill with parameters, then nbconvert to HTML.

The run uses non-default parameters (two library metrics and a metric file, last_7_days, weekly
comparison, a metric store in a temporary folder, a title and an offline HTML board) and checks
that each one took effect in the HTML; the page is opened in Debian's Chromium with the network
blocked to see the charts. A wrong parameter stops the run with a message that names it, not a deep traceback.

The page is converted with the README's own nbconvert command (``--to twibox_html``, the package's
exporter) and parsed: it must load nothing from outside the file (no script, style sheet, font,
image or frame from a URL or a neighbouring file, no CSS ``@import`` or ``url()`` of one) and every
image must say what it shows in its alt text. The same checks run on a small notebook that has
everything nbconvert's lab template fetches from a CDN (math, a mermaid diagram, widget state), and
are shown to catch what plain ``--to html`` loads.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

import twibox_nb as tb
from twibox_nb.sandbox import DEMO_CREDENTIALS

from ..conftest import REPO
from ..project.test_notebook_hygiene import PATTERNS

REPORT = REPO / "notebooks" / "03-report.ipynb"
CHROMIUM = "/usr/bin/chromium"
# The README's command, word for word (run with this Python: `python -m jupyter` is `jupyter`).
NBCONVERT = ("jupyter", "nbconvert", "--to", "twibox_html", "--no-input")
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"


def papermill(output: Path, *parameters: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(REPORT), str(output), "--no-progress-bar", *parameters],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


# What each element fetches (an <a href> is a link to follow, not something the page loads).
LOADERS = {
    "script": ("src",), "link": ("href", "imagesrcset"), "base": ("href",), "img": ("src", "srcset"),
    "iframe": ("src",), "frame": ("src",), "source": ("src", "srcset"), "video": ("src", "poster"),
    "audio": ("src",), "track": ("src",), "object": ("data",), "embed": ("src",), "input": ("src",),
    "image": ("href", "xlink:href"), "use": ("href", "xlink:href"), "feimage": ("href", "xlink:href"),
}  # fmt: skip
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]*)""", re.I)
SCRIPT_URL = re.compile(r"""https?://[^\s'"`)]{1,100}""")


def in_the_file(url: str) -> bool:
    """A data: URI or a fragment of the page itself; anything else (https:, //host, a file beside it) is fetched."""
    url = url.strip()
    return not url or url.startswith(("data:", "#"))


def loaded_from_outside(html: str) -> list[str]:
    """Everything the page would fetch from outside itself, as readable lines (none for an offline page)."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for tag, attributes in LOADERS.items():
        for element in soup.find_all(tag):
            urls = [(a, element[a]) for a in attributes if a in element.attrs]
            found += [f"<{tag} {a}={url[:100]!r}>" for a, url in urls if not in_the_file(url)]
    css = [style.get_text() for style in soup.find_all("style")] + [e["style"] for e in soup.find_all(style=True)]
    for text in css:
        found += [f"CSS @import: {text[m.start() : m.start() + 100]!r}" for m in re.finditer(r"@import\b", text)]
        found += [f"CSS url({m.group(1)[:100]!r})" for m in CSS_URL.finditer(text) if not in_the_file(m.group(1))]
    for script in soup.find_all("script"):  # a loader that builds its src or import() from a URL at run time
        found += [f"URL in a script: {m.group(0)!r}" for m in SCRIPT_URL.finditer(script.get_text())]
    return found


def images_without_alt(html: str) -> list[str]:
    """Images a screen reader cannot describe: no alt, an empty one or nbconvert's stand-in; role=img unlabelled."""
    soup = BeautifulSoup(html, "html.parser")
    found = [f"<img> alt={img.get('alt')!r}: {str(img)[:100]}" for img in soup.find_all("img")
             if not (img.get("alt") or "").strip() or img["alt"].strip() == NBCONVERT_DEFAULT_ALT]  # fmt: skip
    for element in soup.find_all(attrs={"role": "img"}):
        if not (element.get("aria-label") or "").strip() and not element.find("title"):
            found.append(f"<{element.name} role=img> without aria-label or <title>: {str(element)[:100]}")
    return found


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
        [sys.executable, "-m", *NBCONVERT, "report.ipynb"],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert html.returncode == 0, html.stderr[-3000:]
    assert "Alternative text is missing" not in html.stderr  # nbconvert's warning for an <img> without alt
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


def test_the_readme_converts_the_report_with_this_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = " ".join(NBCONVERT) + " report.ipynb"
    # The one-minute tour and the Notebooks section; both first run papermill into report.ipynb.
    assert readme.count(f"&& {command}") == 2, command
    assert readme.count("papermill notebooks/03-report.ipynb report.ipynb ") == 2
    assert "nbconvert --to html" not in readme  # nbconvert's own HTML loads require.js and MathJax from a CDN
    intro = "".join(nbformat.read(REPORT, as_version=4).cells[0].source)
    assert "nbconvert --to twibox_html --no-input report.ipynb" in intro and "--to html" not in intro


def test_the_html_report_loads_nothing_from_outside_the_file(report):
    assert loaded_from_outside(report["html"]) == []
    assert "<script" not in report["html"]  # nothing to run, either: the charts are SVG images


def test_every_image_in_the_report_says_what_it_shows(report):
    assert images_without_alt(report["html"]) == []
    soup = BeautifulSoup(report["html"], "html.parser")
    alts = [img["alt"] for img in soup.select(".jp-RenderedSVG img")]
    assert len(alts) == 3, alts
    days = [f"{week.start:%Y-%m-%d}" for week in report["weeks"]]
    for alt, name in zip(alts, ("Messages sent", "Calls by status", "Inbound messages"), strict=True):
        # The chart's title, range and source, how it is drawn, and the total against the previous week.
        assert alt.startswith(f"Chart: {name} (last 7 days: "), alt
        assert any(day in alt for day in days) and "by day" in alt and "SANDBOX demo data" in alt, alt
        assert "per day" in alt and "Over the range: " in alt and "compared with" in alt, alt
    assert "one colour each for " in alts[1] and "completed" in alts[1]  # Calls by status: a colour per status
    # The scorecard's sparklines are inline SVG (role=img), labelled.
    assert len(soup.select('svg[role="img"][aria-label]')) == 3


def offline_sampler() -> nbformat.NotebookNode:
    """A notebook with everything nbconvert's lab template loads from a CDN: math, mermaid, widget state."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=="
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {}}
    }
    output = nbformat.v4.new_output
    nb.cells = [
        nbformat.v4.new_markdown_cell("Math $e^{i\\pi} + 1 = 0$, a diagram:\n\n```mermaid\ngraph LR\n  A --> B\n```"),
        nbformat.v4.new_code_cell("", outputs=[
            output("display_data", data={"image/png": png, "text/plain": "dot"},
                   metadata={"image/png": {"alt": "A black dot"}}),  # as IPython writes it
            output("display_data", data={"image/svg+xml": svg, "text/plain": "square"},
                   metadata={"alt": "A black square"}),  # or at the top level
        ]),
    ]  # fmt: skip
    return nb


def test_the_exporter_loads_nothing_that_the_lab_template_fetches():
    from nbconvert.exporters import HTMLExporter, get_exporter

    nb = offline_sampler()
    html, resources = get_exporter("twibox_html")().from_notebook_node(nb)  # the entry point the package registers
    assert resources["output_extension"] == ".html"
    assert loaded_from_outside(html) == [] and "<script src" not in html
    assert images_without_alt(html) == []
    soup = BeautifulSoup(html, "html.parser")
    assert [img["alt"] for img in soup.find_all("img")] == ["A black dot", "A black square"]
    assert "graph LR" in soup.get_text() and "e^{i\\pi}" in soup.get_text()  # shown as typed, not fetched renderers
    # The checks see what plain --to html loads (so an empty list above means something).
    plain, _ = HTMLExporter().from_notebook_node(nb)
    fetched = " ".join(loaded_from_outside(plain))
    for what in ("require.min.js", "mathjax", "mermaid", "unpkg.com"):
        assert what in fetched.lower(), what
    assert len(images_without_alt(plain)) == 2  # nbconvert's stand-in alt


@pytest.mark.browser
def test_the_charts_draw_offline_in_a_browser(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        try:
            page = browser.new_page()
            offline = lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()  # noqa: E731
            page.route("**/*", offline)
            asked = []
            page.on("request", lambda request: asked.append(request.url))
            page.goto(report["page"].as_uri())
            page.wait_for_load_state("networkidle")
            charts = page.locator(".jp-RenderedSVG img")
            assert charts.count() == 3
            for index in range(3):
                chart = charts.nth(index)
                chart.scroll_into_view_if_needed()
                assert chart.is_visible() and chart.evaluate("img => img.complete && img.naturalWidth > 300")
            # The page asked for itself and its own data: URIs, nothing else (not even a file beside it).
            assert [url for url in asked if not url.startswith("data:")] == [report["page"].as_uri()], asked
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
