"""The builder's calendar menu: which date token a parameter wants, and what each one sends.

Pure functions of a catalogue endpoint (its filters' kinds and boundary rules), a parameter name
and a date range; the values come from :func:`twibox_nb.model.dates.token_value`, so the menu shows
exactly what a fetch will send.

>>> from datetime import datetime, timezone
>>> from twibox_nb.model.catalog import find_endpoint
>>> from twibox_nb.model.dates import resolve_range
>>> messages = find_endpoint("https://api.twilio.com", "/2010-04-01/Accounts/{AccountSid}/Messages.json")
>>> week = resolve_range("last_7_days", datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc))
>>> [(c.text, c.value, c.suggested) for c in token_choices(messages, "DateSent<", week)][:2]
[('{{start_date}}', '2026-11-20', False), ('{{end_date}}', '2026-11-26', True)]
>>> row_preview(messages, "DateSent<", "{{end_date}}", week).text
'2026-11-26'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .._exceptions import DateRangeError
from ..model.catalog import Endpoint
from ..model.dates import (  # range_text: how every step shows a range
    TOKENS,
    DateRange,
    FilterRule,
    range_text,
    render_tokens,
    resolve_range,
    token_value,
    tokens_in,
)  # fmt: skip

__all__ = [
    "PREVIEW_RANGES",
    "RULE_WORDS",
    "TOKEN_LABELS",
    "RowPreview",
    "TokenChoice",
    "range_options",
    "range_text",
    "row_preview",
    "suggested_token",
    "takes_date",
    "token_choices",
]

# Parameter names that take a date (Twilio's filters: DateSent<, StartTime>, EndDate, DateCreatedAfter …).
_DATE_PARAM = re.compile(r"date|time|before|after|^start|^end|since|until|period", re.IGNORECASE)

#: Date ranges offered for previewing the date tokens (any range name of :mod:`twibox_nb.model.dates` works).
PREVIEW_RANGES: tuple[str, ...] = (
    "today", "yesterday", "last_7_days", "last_30_days", "this_week", "last_week", "this_month",
    "last_month", "month_to_date", "last_3_months",
)  # fmt: skip

TOKEN_LABELS = {
    "start_date": "range start (date)",
    "end_date": "range end (date)",
    "start_datetime": "range start (date and time)",
    "end_datetime": "range end (date and time)",
}
RULE_WORDS: dict[FilterRule | None, str] = {  # each filter's boundary rule, as Twilio's spec texts state it
    "on": "matches that day",
    "on_or_before": "includes this value (on or before)",
    "before": "excludes this value (before)",
    "on_or_after": "includes this value (on or after)",
    None: "boundary not documented: rendered wide, records are clipped to the range afterwards",
}


@dataclass(frozen=True)
class TokenChoice:
    """A date token the calendar menu offers for one parameter, with its concrete value."""

    token: str
    label: str
    value: str
    suggested: bool = False

    @property
    def text(self) -> str:
        return "{{" + self.token + "}}"


@dataclass(frozen=True)
class RowPreview:
    """What a parameter sends for the preview range: ``text`` (empty without tokens), ``detail``
    (the filter's boundary rule), ``error`` (an unknown token)."""

    text: str = ""
    detail: str = ""
    error: str = ""


def _rule(endpoint: Endpoint | None, key: str) -> FilterRule | None:
    return endpoint.rule(key) if endpoint else None


def suggested_token(endpoint: Endpoint | None, key: str) -> str:
    """The token a date parameter most likely wants: from its filter's rule and kind, else its name.

    >>> suggested_token(None, "EndTime<"), suggested_token(None, "StartDate")
    ('end_date', 'start_date')
    """
    key = key.strip()
    found = next((f for f in endpoint.filters if f.param == key), None) if endpoint else None
    bare = key.lower()
    end = (
        (found is not None and found.rule in ("on_or_before", "before")) or bare.endswith("<") or bare.startswith("end")
    )
    kind = "datetime" if found is not None and found.kind == "datetime" else "date"
    return f"{'end' if end else 'start'}_{kind}"


def takes_date(endpoint: Endpoint | None, key: str, value: str = "") -> bool:
    """True when parameter ``key`` takes a date, so the calendar menu belongs on its row: a date
    filter of the endpoint, a value holding a date token already, or a name that says date or time.

    >>> takes_date(None, "StartTime<"), takes_date(None, "PageSize"), takes_date(None, ""), takes_date(None, "To")
    (True, False, False, False)
    """
    key = key.strip()
    if tokens_in(value):
        return True
    if not key:
        return False
    if endpoint is not None and any(f.param == key for f in endpoint.filters):
        return True
    return bool(_DATE_PARAM.search(key.rstrip("<>=")))


def token_choices(endpoint: Endpoint | None, key: str, date_range: DateRange) -> list[TokenChoice]:
    """Every token with the value it sends in parameter ``key`` over ``date_range``; one is suggested."""
    rule = _rule(endpoint, key.strip())
    suggested = suggested_token(endpoint, key)
    return [
        TokenChoice(token, TOKEN_LABELS[token], token_value(token, date_range, rule), token == suggested)
        for token in TOKENS
    ]


def row_preview(endpoint: Endpoint | None, key: str, value: str, date_range: DateRange) -> RowPreview:
    """What ``key=value`` sends over ``date_range`` (nothing to show when the value has no token)."""
    if not tokens_in(value):
        return RowPreview()
    rule = _rule(endpoint, key.strip())
    try:
        text = render_tokens(value, date_range, rule)
    except DateRangeError as exc:
        return RowPreview(error=str(exc))
    where = f"for the preview range {range_text(date_range)}"
    return RowPreview(text, f"{key.strip() or 'this filter'} {RULE_WORDS[rule]}, {where}")


def range_options(now: datetime, current: str | None = None) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for a range menu, each label with its concrete days (``current`` kept in).

    >>> from datetime import timezone
    >>> range_options(datetime(2026, 11, 27, tzinfo=timezone.utc))[2]
    ('last 7 days (2026-11-20 → 2026-11-27, end excluded)', 'last_7_days')
    """
    names = list(PREVIEW_RANGES)
    if current is not None and current not in names:
        names.append(current)
    out = []
    for name in names:
        span = range_text(resolve_range(name, now)).replace(" (end excluded)", ", end excluded")
        out.append((f"{name.replace('_', ' ')} ({span})", name))
    return out
