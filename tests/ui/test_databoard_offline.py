"""A saved databoard opens in a browser with no network, draws every chart, and its scorecard reads well.

The scorecard's picture (values in their units, changes in % or points, the goal column, sparklines)
goes to the shots folder; with ``TWIBOX_README_IMAGES`` set it also replaces
``notebooks/images/scorecard.png``, the README's picture of it.
"""

from __future__ import annotations

import os
import re
import shutil

from playwright.sync_api import expect

from twibox_nb.fetch.connection import connect
from twibox_nb.present.databoard import Databoard
from twibox_nb.present.goals import Goal

from ..conftest import NOW, REPO

GOALS = {"Delivery rate": Goal("stay_above", 85, "month"), "SMS spend": Goal("stay_below", 2, "month")}


def test_saved_databoard_renders_every_chart_offline(sandbox, page, tmp_path, shots):
    board = Databoard(["Messages by status", "Delivery rate", "SMS spend"], connect(sandbox=sandbox), "last_7_days",
                      goals=GOALS, now=NOW)  # fmt: skip
    path = board.save(tmp_path / "board.html")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(path.as_uri())
    expect.set_options(timeout=60_000)
    for i in range(3):
        expect(page.locator(f"#twibox-chart-{i} svg").first).to_be_visible()
    assert page.locator(".twibox-chart svg .mark-rect, .twibox-chart svg .mark-line").count() >= 3
    assert page.blocked == []  # nothing was even attempted off the machine

    table = page.locator("table").first
    text = table.inner_text()
    assert re.search(r"\d+\.\d\d%", text) and re.search(r"\$\d+\.\d\d", text)  # units: a rate and a spend
    assert re.search(r"[+−]\d+\.\d pt", text)  # a rate changes in percentage points
    assert "goal" in text and re.search(r"[✓✗] ≥ 85\.00% per day: \d+ of 7 days kept", text)
    body = page.locator("body").bounding_box()
    box = table.bounding_box()
    assert box is not None and body is not None and box["width"] >= 0.9 * body["width"]  # full width
    picture = shots / "scorecard.png"
    page.locator("body > div").first.screenshot(path=str(picture))
    if os.environ.get("TWIBOX_README_IMAGES"):
        shutil.copyfile(picture, REPO / "notebooks" / "images" / "scorecard.png")
