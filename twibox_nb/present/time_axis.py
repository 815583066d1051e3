"""The time axis of a metric chart: one tick per interval (or every k-th), in one format per interval.

Vega's own ticks follow the scale, not the metric: a weekly chart got daily ticks, and formats
changed along one axis ("Tue 03", "Nov 15", "December"). Here the ticks are the intervals'
middles (a bar's centre, where a line puts its point), and each reads as its interval does:

    hour      Nov 27 15:00        week      Nov 23 (the Monday it starts; the title says so)
    day       Nov 27              month     Nov 2026
    quarter   Q4 2026             year      2026

When there are more intervals than fit the width, every k-th is labelled, counted from the first.
In another locale (:func:`twibox_nb.set_locale`) the formats follow its own order from Babel's
patterns: ``28. Okt.`` in German, ``28 oct.`` in French.

>>> import pandas as pd
>>> starts = pd.date_range("2026-11-02", periods=4, freq="7D", tz="UTC")
>>> weeks = pd.DataFrame({"start": starts, "end": starts + pd.Timedelta(days=7)})
>>> axis = time_axis(weeks, "week", 640, (starts[0], starts[-1] + pd.Timedelta(days=7)))
>>> axis.title, len(axis.ticks), pd.Timestamp(axis.ticks[0], unit="ms", tz="UTC")  # the middle of the first week
('week starting Monday (UTC)', 4, Timestamp('2026-11-05 12:00:00+0000', tz='UTC'))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import altair as alt
import pandas as pd

__all__ = ["FORMATS", "TimeAxis", "time_axis"]

#: How a tick of each interval reads (d3 time format, in UTC).
FORMATS = {"hour": "%b %d %H:00", "day": "%b %d", "week": "%b %d", "month": "%b %Y", "quarter": "Q%q %Y", "year": "%Y"}
_TITLES = {"week": "week starting Monday"}
# CLDR skeletons of each interval's label, for other locales; and CLDR pattern letters in d3's words
_SKELETONS = {"day": "MMMd", "week": "MMMd", "month": "yMMM", "quarter": "yQQQ", "year": "y"}
_D3 = {"d": "%-d", "dd": "%d", "M": "%-m", "MM": "%m", "MMM": "%b", "MMMM": "%B", "L": "%-m", "LL": "%m",
       "LLL": "%b", "LLLL": "%B", "y": "%Y", "yyyy": "%Y", "yy": "%y", "Q": "%q", "QQQ": "Q%q", "H": "%-H",
       "HH": "%H", "mm": "%M"}  # fmt: skip
_TOKEN = re.compile(r"'([^']*)'|(([A-Za-z])\3*)|([^A-Za-z']+)")  # a quoted literal, a letter run, other text
_LABEL_PX = {"hour": 86, "day": 52, "week": 52, "month": 64, "quarter": 60, "year": 44}  # a label and a gap
_HALF_WEEK_MS = 3.5 * 86_400_000


@dataclass(frozen=True)
class TimeAxis:
    """The x scale and axis of one chart; :meth:`x` is the encoding every layer shares."""

    scale: alt.Scale
    title: str
    ticks: tuple[int, ...] = ()  # epoch milliseconds, UTC; empty: Vega's own (a snapshot's fetch times)
    label: str | None = None  # a Vega expression for the tick's text

    def x(self, field: str) -> alt.X:
        if not self.ticks:
            return alt.X(f"{field}:T", scale=self.scale, title=self.title)
        axis = alt.Axis(values=list(self.ticks), labelExpr=self.label, labelAngle=0, labelOverlap=False, grid=False)
        return alt.X(f"{field}:T", scale=self.scale, title=self.title, axis=axis)


def time_axis(intervals: pd.DataFrame, interval: str, width: int, domain: tuple | None = None) -> TimeAxis:
    """The axis of a chart whose intervals are ``intervals`` (``start``, ``end``) ``width`` pixels wide."""
    scale = alt.Scale(type="utc") if domain is None else alt.Scale(type="utc", domain=[_datetime(m) for m in domain])
    if domain is None or intervals.empty:
        return TimeAxis(scale, "fetched at (UTC)")
    mids = intervals["start"] + (intervals["end"] - intervals["start"]) / 2
    fit = max(1, width // _LABEL_PX[interval])
    step = max(1, math.ceil(len(mids) / fit))
    ticks = tuple(int(m.value // 1_000_000) for m in mids.iloc[::step])
    moment = f"datum.value - {_HALF_WEEK_MS:.0f}" if interval == "week" else "datum.value"  # a week reads by its Monday
    label = f"utcFormat({moment}, '{formats()[interval]}')"
    return TimeAxis(scale, f"{_TITLES.get(interval, interval)} (UTC)", ticks, label)


def formats(locale: str | None = None) -> dict[str, str]:
    """Each interval's tick format in ``locale`` (default: the one numbers are formatted in).

    >>> formats("de_DE")["day"], formats("fr")["month"], formats("en")["day"]
    ('%-d. %b', '%b %Y', '%b %d')
    """
    from babel import Locale

    from ..model.units import get_locale

    locale = locale or get_locale()
    if locale in ("en", "en_US"):
        return FORMATS
    patterns = Locale.parse(locale).datetime_skeletons
    out = dict(FORMATS)
    for interval, skeleton in _SKELETONS.items():
        converted = _d3(patterns[skeleton].pattern) if skeleton in patterns else None
        if converted is not None:
            out[interval] = converted
    out["hour"] = out["day"] + " %H:00"
    return out


def _d3(pattern: str) -> str | None:
    """A CLDR date pattern in d3's time format (None when it holds a letter d3 has no word for)."""
    out = []
    for match in _TOKEN.finditer(pattern):
        quoted, letters, _, other = match.groups()
        if letters:
            if letters not in _D3:
                return None
            out.append(_D3[letters])
        else:  # literal text: % is d3's escape, and ' would end the Vega string the format sits in
            out.append((quoted if quoted is not None else other).replace("%", "%%").replace("'", "\\'"))
    return "".join(out)


def _datetime(moment: pd.Timestamp) -> alt.DateTime:
    return alt.DateTime(
        year=moment.year, month=moment.month, date=moment.day, hours=moment.hour, minutes=moment.minute, utc=True
    )
