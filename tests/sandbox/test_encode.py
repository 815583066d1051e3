"""The list pages' JSON text, written directly, is byte for byte what json.dumps makes of render.py's dicts."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from twibox_nb.sandbox import render
from twibox_nb.sandbox.account import Account
from twibox_nb.sandbox.encode import ListEncoder, _message_dates, dumps, list_body

from ..conftest import NOW


def reference_rfc2822(ts: int) -> str:
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    return d.strftime("%a, %d %b %Y %H:%M:%S +0000")  # the C locale's names are Twilio's


def test_rfc2822_matches_datetime_formatting():
    rng = random.Random(7)
    moments = [rng.randint(-(10**9), 4 * 10**9) for _ in range(20_000)]
    moments += [day * 86_400 + offset for day in (-1, 0, 1, 20_000) for offset in (-2, -1, 0, 1, 2, 86_399)]
    assert [render.rfc2822(ts) for ts in moments] == [reference_rfc2822(ts) for ts in moments]
    # a message's created, sent and updated stamps, across minute and day boundaries too
    moments += list(range(86_400 - 130, 86_400 + 130))
    expected = [(reference_rfc2822(ts - 1), reference_rfc2822(ts), reference_rfc2822(ts + 2)) for ts in moments]
    assert [_message_dates(ts) for ts in moments] == expected


@pytest.fixture(scope="module")
def account() -> Account:
    return Account(seed=11, scale=3, now=NOW)


def test_every_message_of_several_days_is_written_as_json_dumps_would(account):
    encoder = ListEncoder(account)
    for back in (0, 1, 40, 300):
        table = account.gen.messages(NOW.date() - timedelta(days=back))
        items = [(table, i) for i in range(len(table))]
        expected = [dumps(render.message(account, table, i)) for table, i in items]
        assert encoder.messages(items) == expected


def test_every_call_of_several_days_is_written_as_json_dumps_would(account):
    encoder = ListEncoder(account)
    for back in (0, 1, 40):
        table = account.gen.calls(NOW.date() - timedelta(days=back))
        # "now" falls inside the day's longest call, so that calls still in progress (no end,
        # duration or price yet) are written too.
        longest = max(range(len(table)), key=lambda i: int(table.end[i] - table.ts[i]))
        now = int(table.ts[longest]) + 5
        items = [(table, i) for i in range(len(table)) if table.ts[i] <= now]
        assert any(int(table.end[i]) > now for _, i in items)
        expected = [dumps(render.call(account, table, i, now)) for table, i in items]
        assert encoder.calls(items, now) == expected


def test_pages_mixing_days_and_the_envelope(account):
    encoder = ListEncoder(account)
    days = [account.gen.messages(NOW.date() - timedelta(days=back)) for back in (2, 3)]
    items = [(days[0], i) for i in range(len(days[0]) - 3, len(days[0]))] + [(days[1], i) for i in range(4)]
    records = encoder.messages(items)
    body = {"end": 6, "next_page_uri": "/x?a=%C3%A9&b=1", "messages": records, "uri": "/ünï", "page": 0}
    dicts = {**body, "messages": [render.message(account, t, i) for t, i in items]}
    assert list_body(body, "messages", records) == dumps(dicts).encode()
    assert list_body({"messages": [], "start": 0}, "messages", []) == b'{"messages": [], "start": 0}'
    assert json.loads(list_body(body, "messages", records))["messages"][0]["sid"] == days[0].sid[-3]


def test_message_texts_are_written_once_then_reused_and_the_cache_stays_bounded(account, monkeypatch):
    from twibox_nb.sandbox import encode

    encoder = ListEncoder(account)
    written: list[int] = []
    original = encoder._encode_messages
    monkeypatch.setattr(
        encoder, "_encode_messages", lambda table, index: written.append(len(index)) or original(table, index)
    )
    day, other = (account.gen.messages(NOW.date() - timedelta(days=back)) for back in (3, 4))
    expected = [dumps(render.message(account, day, i)) for i in range(len(day))]
    halves = [(day, i) for i in range(0, len(day), 2)]
    assert encoder.messages(halves) == expected[::2]
    assert encoder.messages([(day, i) for i in range(len(day))]) == expected
    assert written == [len(halves), len(day) - len(halves)]  # only the missing half was written
    assert encoder.messages([(day, i) for i in range(len(day))]) == expected and len(written) == 2

    monkeypatch.setattr(encode, "_MESSAGE_TEXT_CACHE_RECORDS", len(day))  # room for one day only
    encoder.messages([(other, 0)])  # a second day pushes the first out
    encoder.messages([(day, 0)])
    assert written[-1] == 1 and len(encoder._texts) == 1
