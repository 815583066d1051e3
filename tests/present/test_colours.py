"""Stable, meaningful colours (issue 16): a status keeps its colour, any value keeps its colour across ranges
and across the charts of one board."""

from __future__ import annotations

import zlib

import pytest

import twibox_nb as tb
from twibox_nb import library
from twibox_nb.present.colours import KNOWN, OTHER_COLOUR, PALETTE, ColourBook, colour_of

from ..conftest import NOW


def colours_in(chart) -> dict[str, str]:
    """The dimension → colour mapping of a chart's colour scale."""
    spec = chart.to_dict()
    for layer in spec.get("layer", [spec]):
        colour = layer.get("encoding", {}).get("color")
        if colour and "scale" in colour:
            return dict(zip(colour["scale"]["domain"], colour["scale"]["range"], strict=True))
    raise AssertionError("no colour scale")


@pytest.fixture(scope="module")
def by_status(conn):
    spec = library.get("Messages by status")
    return {r: colours_in(tb.fetch_metric(spec, conn, r, now=NOW).chart()) for r in ("last_7_days", "last_30_days")}


def test_statuses_keep_one_meaningful_colour_across_ranges(by_status):
    week, month = by_status["last_7_days"], by_status["last_30_days"]
    assert {"delivered", "failed", "undelivered"} <= set(week) & set(month)
    for status in set(week) & set(month):
        assert week[status] == month[status], status
    assert month["delivered"] == KNOWN["delivered"] == KNOWN["completed"]  # green
    assert month["failed"] == KNOWN["failed"] == "#d62728"  # red
    assert month["undelivered"] == KNOWN["undelivered"] == "#ff7f0e"  # orange
    assert len(set(month.values())) == len(month)  # no two statuses alike in one chart


def test_any_value_keeps_its_colour_across_ranges(conn):
    spec = library.get("Alerts by error code")
    week = colours_in(tb.fetch_metric(spec, conn, "last_7_days", now=NOW).chart(top=20))
    month = colours_in(tb.fetch_metric(spec, conn, "last_30_days", now=NOW).chart(top=20))
    shared = (set(week) & set(month)) - {"other"}
    assert len(shared) >= 2
    assert {code: week[code] for code in shared} == {code: month[code] for code in shared}
    assert all(colour in PALETTE for code, colour in month.items() if code != "other")


def test_the_other_series_is_grey_and_no_value_takes_its_colour(conn):
    chart = tb.fetch_metric(library.get("Alerts by error code"), conn, "last_30_days", now=NOW).chart(top=2)
    mapping = colours_in(chart)
    assert mapping.pop("other") == OTHER_COLOUR and OTHER_COLOUR not in mapping.values()


def clashing_pair() -> tuple[str, str]:
    """Two names whose hashes pick the same palette colour."""
    seen: dict[int, str] = {}
    for n in range(1000):
        name = f"code-{n}"
        slot = zlib.crc32(name.encode()) % len(PALETTE)
        if slot in seen:
            return seen[slot], name
        seen[slot] = name
    raise AssertionError("unreachable: 1,000 names in 18 colours")


def test_values_that_clash_are_told_apart_the_same_way_every_time():
    first, second = clashing_pair()
    assert colour_of(first) == colour_of(second)
    one, two = ColourBook().colours([second, first])
    assert one != two and two == colour_of(first)  # the name sorting first keeps its colour
    assert ColourBook().colours([first, second]) == [two, one]  # whatever the order they come in
    assert ColourBook().colours([first]) == [colour_of(first)]


def test_a_board_gives_a_value_one_colour_in_every_chart():
    first, second = clashing_pair()
    book = ColourBook()
    chart_one = dict(zip([second, "delivered"], book.colours([second, "delivered"]), strict=True))
    chart_two = dict(zip([first, second], book.colours([first, second]), strict=True))
    assert chart_one[second] == chart_two[second]  # remembered: the board's first chart decided
    assert chart_two[first] != chart_two[second]


def test_a_databoard_shares_its_colours(conn):
    board = tb.Databoard(["Messages by status", "Calls by status"], conn, "last_7_days", now=NOW)
    messages, calls = (colours_in(chart) for chart in board.charts)
    for status in set(messages) & set(calls):
        assert messages[status] == calls[status], status
    assert calls["completed"] == messages["delivered"] == KNOWN["completed"]
    assert messages["failed"] == calls.get("failed", messages["failed"]) == KNOWN["failed"]
