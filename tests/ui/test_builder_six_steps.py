"""The whole MetricBuilder in a real browser, offline: Connect, the six steps, preview, save.

tests/ui/notebooks/builder_six_steps.ipynb displays ``MetricBuilder(sandbox=Sandbox(seed=7, now=NOW))``
at the Connect form with the sandbox switch off. The JupyterLab test clicks the switch and
Activate, then builds "messages per day by status" by clicking and typing: Messages, the last 7
days, count of records, dimension ``status``, date ``date_sent``, Preview data, a name, Save.
Every number it checks (the preview table's rows, the total, the chart's bars) is computed here
from the sandbox's ground truth (no HTTP, no client code), and every widget value is read
through the DOM by the builder's ``twibox-…`` CSS classes. Each step is kept as a screenshot
(in the ``shots`` folder). The Notebook 7 and Voila test checks that the same builder renders
there: its Connect form leads to step 1, Continue shows the response tree, and
clicking a field in the tree picks it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from twibox_nb.library import load_metric
from twibox_nb.model.spec import Count, Field
from twibox_nb.sandbox import Sandbox

from .conftest import run_all_cells

NOTEBOOK = "ui/builder_six_steps.ipynb"
NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
START, END = date(2026, 11, 20), date(2026, 11, 27)  # last_7_days at NOW: [START, END)
SAVE_TO = "metrics/messages_by_status.json"
STEP_1 = ("builder-source", "builder-method", "builder-endpoint", "builder-path", "builder-preview-range")


def expected_counts() -> dict[tuple[str, str], int]:
    """Messages per (day of ``date_sent``, status) in the range, straight from the generator."""
    truth = Sandbox(seed=7, now=NOW).truth
    counts: Counter = Counter()
    # A day either side: a message's date_sent may fall on another day than its creation.
    for record in truth.records("messages", date(2026, 11, 19), date(2026, 11, 28)):
        if not record.get("date_sent"):
            continue
        sent = parsedate_to_datetime(record["date_sent"]).astimezone(timezone.utc)
        if START <= sent.date() < END:
            counts[(sent.date().isoformat(), record["status"])] += 1
    return dict(counts)


def pick(page, css: str, starts_with: str) -> str:
    """Choose the option of the ``<select>`` under ``.twibox-<css>`` whose label starts with ``starts_with``."""
    select = page.locator(f".twibox-{css} select")
    # ipywidgets shows spaces as no-break spaces: compare with plain ones, choose by position.
    labels = [label.replace("\xa0", " ").strip() for label in select.locator("option").all_inner_texts()]
    index = next((i for i, x in enumerate(labels) if x.startswith(starts_with)), None)
    assert index is not None, f"no option of {css} starts with {starts_with!r}: {labels}"
    select.select_option(index=index)
    label = labels[index]
    return label


def type_in(page, css: str, text: str) -> None:
    field = page.locator(f".twibox-{css} input, .twibox-{css} textarea").first
    field.fill(text)
    field.press("Enter")  # these fields sync on change (continuous_update=False)


def current_step(page):
    return page.locator(".twibox-builder-steps button.mod-active")


def no_tracebacks(page) -> None:
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    errors = page.locator(".twibox-error:visible")
    assert errors.count() == 0, errors.first.inner_text()


def connect_through_the_form(page, shots: Path, name: str) -> None:
    """Click the sandbox switch, then Activate: the builder moves on to step 1."""
    builder = page.locator(".twibox-builder").first
    expect(current_step(page)).to_have_text("Connect")
    expect(page.locator(".twibox-connect-account-sid input")).to_be_visible()
    expect(page.locator(".twibox-builder-continue")).to_be_disabled()
    builder.screenshot(path=str(shots / f"{name}-0-connect.png"))
    switch = page.locator(".twibox-connect-sandbox input[type=checkbox]")
    expect(switch).not_to_be_checked()
    switch.click()
    expect(page.locator(".twibox-connect-account-sid input")).to_be_hidden()
    page.locator(".twibox-connect-activate").click()
    expect(page.locator(".twibox-connect")).to_be_hidden()
    expect(current_step(page)).to_have_text("1 Prepare API request")
    for css in STEP_1:
        expect(page.locator(f".twibox-{css}").first).to_be_visible()
    expect(page.locator(".twibox-builder-source")).to_contain_text("SANDBOX")


def first_page_and_its_tree(page, shots: Path, name: str) -> None:
    """Step 1 → Continue: the first page's response tree (an anywidget) renders, and a click picks a field."""
    pick(page, "builder-endpoint", "Messages (api)")
    page.locator(".twibox-builder").first.screenshot(path=str(shots / f"{name}-1-request.png"))
    page.locator(".twibox-builder-continue").click()
    expect(current_step(page)).to_have_text("2 Select value")
    tree = page.locator(".twibox-builder-response-tree")
    expect(tree.locator("details").first).to_be_visible()
    tree.locator(".twibox-json-leaf[data-field='price']").first.click()
    expect(page.locator(".twibox-builder-value-note")).to_contain_text("Value: price")
    page.locator(".twibox-builder").first.screenshot(path=str(shots / f"{name}-2-value.png"))


def test_builder_six_steps_in_jupyterlab(lab, page, shots):
    url, root = lab
    expected = expected_counts()
    days = sorted({day for day, _ in expected})
    statuses = sorted({status for _, status in expected})
    assert len(days) == 7 and len(statuses) >= 3  # the sandbox data the checks below rely on

    expect.set_options(timeout=120_000)
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?reset")
    run_all_cells(page)
    no_tracebacks(page)
    builder = page.locator(".twibox-builder").first

    connect_through_the_form(page, shots, "builder")

    # 1 Prepare API request: Messages, previewed over the last 7 days.
    pick(page, "builder-endpoint", "Messages (api)")
    expect(page.locator(".twibox-builder-path input")).to_have_value("/2010-04-01/Accounts/{AccountSid}/Messages.json")
    pick(page, "builder-preview-range", "last 7 days")
    expect(page.locator(".twibox-builder-param-resolved").nth(1)).to_contain_text("2026-11-20")
    builder.screenshot(path=str(shots / "builder-1-request.png"))
    page.locator(".twibox-builder-continue").click()

    # 2 Select value: count of records.
    expect(current_step(page)).to_have_text("2 Select value")
    expect(page.locator(".twibox-builder-response-status")).to_contain_text("HTTP 200")
    pick(page, "builder-value", "count of records")
    expect(page.locator(".twibox-builder-value-note")).to_contain_text("Each record counts 1")
    builder.screenshot(path=str(shots / "builder-2-value.png"))
    page.locator(".twibox-builder-continue").click()

    # 3 Segment by dimension: status, with its distinct values.
    expect(current_step(page)).to_have_text("3 Segment by dimension")
    pick(page, "builder-dimension", "status ·")
    shown = page.locator(".twibox-builder-dimension-values")
    for status in statuses:
        expect(shown).to_contain_text(status)
    builder.screenshot(path=str(shots / "builder-3-dimension.png"))
    page.locator(".twibox-builder-continue").click()

    # 4 Select date: date_sent, shown parsed.
    expect(current_step(page)).to_have_text("4 Select date")
    pick(page, "builder-date", "date_sent ·")
    expect(page.locator(".twibox-builder-date-parsed")).to_contain_text("UTC")
    builder.screenshot(path=str(shots / "builder-4-date.png"))
    page.locator(".twibox-builder-continue").click()

    # 5 Preview & customize: the generated expression, then Preview data (no new requests).
    expect(current_step(page)).to_have_text("5 Preview & customize")
    expect(page.locator(".twibox-builder-expression textarea")).to_have_value(
        re.compile(r"[\s\S]*date_sent[\s\S]*")
    )  # generated from the choices
    page.locator(".twibox-builder-preview-run").click()
    total = page.locator(".twibox-builder-preview-total")
    expect(total).to_have_text(f"{sum(expected.values()):,}")
    rows = page.locator(".twibox-builder-preview-rows tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 5
    for cells in rows.evaluate_all("trs => trs.map(tr => [...tr.cells].map(td => td.textContent.trim()))"):
        day, status, value = cells[0][:10], cells[1], float(cells[2].replace(",", ""))
        assert value == expected.get((day, status), 0), (day, status, value)
    bars = page.locator(".twibox-builder-chart-svg svg [aria-roledescription='bar']")
    expect(bars).to_have_count(len(days) * len(statuses))  # one bar per day and status (zeros too)
    paging = page.locator(".twibox-builder-paging")
    expect(paging).to_contain_text(f"{sum(expected.values()):,}")
    builder.screenshot(path=str(shots / "builder-5-preview.png"))
    page.locator(".twibox-builder-continue").click()

    # 6 Describe metric: a name, a path, Save.
    expect(current_step(page)).to_have_text("6 Describe metric")
    type_in(page, "builder-name", "Messages by status")
    expect(page.locator(".twibox-builder-describe-total")).to_have_text(f"{sum(expected.values()):,}")
    type_in(page, "builder-save-path", SAVE_TO)
    page.locator(".twibox-builder-save").click()
    expect(page.locator(".twibox-builder-saved-path")).to_contain_text(SAVE_TO)
    builder.screenshot(path=str(shots / "builder-6-saved.png"))
    no_tracebacks(page)

    spec = load_metric(root / "ui" / SAVE_TO)
    assert (spec.name, spec.value, spec.dimension, spec.date) == (
        "Messages by status",
        Count(),
        Field("status"),
        Field("date_sent"),
    )
    assert spec.request.path == "/2010-04-01/Accounts/{AccountSid}/Messages.json"
    assert not page.blocked, page.blocked


@pytest.mark.parametrize("front_end", ["notebook7", "voila"], indirect=True)
def test_builder_in_notebook7_and_voila(front_end, page, shots):
    expect.set_options(timeout=180_000)
    front_end.open(page, NOTEBOOK)
    no_tracebacks(page)
    connect_through_the_form(page, shots, f"builder-{front_end.name}")
    first_page_and_its_tree(page, shots, f"builder-{front_end.name}")
    assert not front_end.blocked(page), page.blocked
