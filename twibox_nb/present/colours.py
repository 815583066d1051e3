"""Colours that mean the same thing everywhere: a dimension value keeps its colour across ranges and charts.

Twilio's own values carry meaning, so they have fixed colours: a delivered message or a completed
call is green, a failed one red, an undelivered one orange, one still on its way blue or grey, and
so on (:data:`KNOWN`). Any other value (an error code, a category, a phone number) takes a colour
from its name: a stable hash (CRC-32, the same in every process) picks its place in :data:`PALETTE`.
Two values of one chart that land on the same colour are told apart by moving the one whose name
sorts later to the next free colour, so a value keeps its colour whatever range is shown unless
such a clash moves it. A :class:`ColourBook` shared by the charts of one board (``Databoard`` makes
one) gives a value the same colour in every chart of the board, clashes included.

>>> book = ColourBook()
>>> book.colours(["failed", "delivered", "undelivered"])
['#d62728', '#2ca02c', '#ff7f0e']
>>> first = book.colours(["30008", "30003"]); book.colours(["30003", "30008"]) == first[::-1]
True
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["KNOWN", "OTHER_COLOUR", "PALETTE", "ColourBook", "colour_of"]

GREEN, RED, ORANGE, BLUE, GREY = "#2ca02c", "#d62728", "#ff7f0e", "#1f77b4", "#9e9e9e"
AMBER, PURPLE, TEAL, BROWN, PINK = "#e3b505", "#9467bd", "#17becf", "#8c564b", "#e377c2"
#: Fixed colours of Twilio's own values: message and call statuses, directions, alert log levels.
KNOWN: dict[str, str] = {
    # done well
    "delivered": GREEN, "completed": GREEN, "read": "#1b7a2e", "received": "#52b95d",
    # failed, or not done
    "failed": RED, "undelivered": ORANGE, "busy": AMBER, "no-answer": "#bcbd22", "canceled": BROWN,
    # on the way
    "sent": BLUE, "sending": "#6baed6", "queued": "#aec7e8", "accepted": "#9ecae1", "scheduled": "#c6dbef",
    "initiated": "#aec7e8", "ringing": "#6baed6", "in-progress": BLUE, "receiving": "#9ecae1",
    "partially_delivered": "#98df8a",
    # directions
    "inbound": PURPLE, "outbound-api": TEAL, "outbound-call": "#0e8a98", "outbound-reply": "#7fd8e3",
    "outbound-dial": "#5bb8c4", "trunking-originating": PINK, "trunking-terminating": "#f7b6d2",
    # alert log levels
    "error": RED, "warning": ORANGE, "notice": BLUE, "debug": GREY,
}  # fmt: skip
#: Colours for every other value: Tableau's 20, without the greys (kept for "other" and missing).
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6",
)  # fmt: skip
OTHER_COLOUR = "#bab0ac"


def colour_of(value: str) -> str:
    """The colour ``value`` prefers: its fixed one, else one picked by a stable hash of its name.

    >>> colour_of("delivered"), colour_of("Failed") == colour_of("failed")
    ('#2ca02c', True)
    """
    known = KNOWN.get(value.strip().lower())
    return known if known is not None else PALETTE[zlib.crc32(value.encode("utf-8")) % len(PALETTE)]


class ColourBook:
    """Remembers the colour each value was given, so later charts give it the same one."""

    def __init__(self) -> None:
        self._given: dict[str, str] = {}

    def colours(self, labels: Iterable[str]) -> list[str]:
        """The colours of ``labels``, in their order: remembered ones first, then preferred ones,
        clashes within these labels settled in the order of their names."""
        labels = list(labels)
        chosen = {label: self._given[label] for label in labels if label in self._given}
        for label in sorted(label for label in labels if label not in chosen):
            colour = colour_of(label)
            if colour in chosen.values() and label.strip().lower() not in KNOWN:
                start = PALETTE.index(colour)
                free = [PALETTE[(start + i) % len(PALETTE)] for i in range(1, len(PALETTE))]
                colour = next((c for c in free if c not in chosen.values()), colour)
            chosen[label] = colour
        self._given.update(chosen)
        return [chosen[label] for label in labels]
