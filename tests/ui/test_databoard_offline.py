"""A saved databoard opens in a browser with no network and draws every chart."""

from __future__ import annotations

from playwright.sync_api import expect

from twibox_nb.fetch.connection import connect
from twibox_nb.present.databoard import Databoard

from ..conftest import NOW


def test_saved_databoard_renders_every_chart_offline(sandbox, page, tmp_path):
    board = Databoard(
        ["Messages by status", "Delivery rate", "SMS spend"], connect(sandbox=sandbox), "last_7_days", now=NOW
    )
    path = board.save(tmp_path / "board.html")
    page.goto(path.as_uri())
    expect.set_options(timeout=60_000)
    for i in range(3):
        expect(page.locator(f"#twibox-chart-{i} svg").first).to_be_visible()
    assert page.locator(".twibox-chart svg .mark-rect, .twibox-chart svg .mark-line").count() >= 3
    assert page.blocked == []  # nothing was even attempted off the machine
