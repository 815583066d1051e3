"""Databoards: one self-contained HTML file with the Vega libraries once, a scorecard and the charts."""

from __future__ import annotations

import re

import pytest

from twibox_nb.fetch.connection import connect
from twibox_nb.present.databoard import Databoard, vega_bundle
from twibox_nb.present.goals import Goal

from ..conftest import NOW

METRICS = ["Messages by status", "Delivery rate", "Total spend", "Calls by direction"]


@pytest.fixture(scope="module")
def board(sandbox):
    goals = {"Delivery rate": Goal("stay_above", 85, "last_7_days")}
    return Databoard(METRICS, connect(sandbox=sandbox), "last_7_days", goals=goals, title="Weekly", now=NOW)


def test_one_chart_per_metric_and_a_scorecard(board):
    assert [r.spec.name for r in board.results] == METRICS
    assert len(board.charts) == 4 and [row.name for row in board.scorecard.rows] == METRICS
    goal_rules = [layer for layer in board.charts[1].to_dict().get("layer", []) if "85" in str(layer)]
    assert goal_rules, "the stay-above goal is drawn on the delivery-rate chart"


def test_html_carries_the_libraries_once_and_loads_nothing(board, tmp_path):
    page = board.save(tmp_path / "board.html").read_text()
    bundle = vega_bundle()
    assert page.count(bundle) == 1 and len(page) < len(bundle) + 400_000
    assert page.count("twibox-chart-") >= 4 and "Weekly" in page and "SANDBOX" in page
    loads = re.findall(r'(?:src|href)\s*=\s*["\']?(https?:)?//', page)
    assert not [x for x in loads if x], loads


def test_widget_shows_scorecard_and_svg_charts(board):
    widget = board.widget()
    assert widget.scorecard.value == board.scorecard.to_html()
    assert len(widget.charts) == 4 and all(view.value.lstrip().startswith("<svg") for view in widget.charts)


def test_metric_names_cannot_break_out_of_the_page(sandbox):
    from twibox_nb import library

    hostile = library.get("Total spend").replace(name="Spend</script><script>alert(1)</script>")
    page = Databoard([hostile], connect(sandbox=sandbox), "last_7_days", now=NOW).to_html()
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 2  # the bundle's and the embedding script's, nothing else
