"""The generator: deterministic, realistic, and consistent with the clock."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from twibox_nb.sandbox import Sandbox
from twibox_nb.sandbox.generator import MESSAGE_STATUSES, SECONDS_PER_DAY, Generator, day_start, decode_sid

from ..conftest import NOW

DAY = date(2026, 3, 4)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = Generator(seed=7), Generator(seed=7), Generator(seed=8)
    assert a.messages(DAY).sid == b.messages(DAY).sid
    assert np.array_equal(a.messages(DAY).ts, b.messages(DAY).ts)
    assert np.array_equal(a.calls(DAY).end, b.calls(DAY).end)
    assert not set(a.messages(DAY).sid) & set(c.messages(DAY).sid)


def test_a_past_day_does_not_depend_on_the_clock():
    early = Sandbox(seed=7, now=datetime(2026, 4, 1, tzinfo=timezone.utc))
    late = Sandbox(seed=7, now=NOW)
    assert early.truth.sids("messages", DAY, DAY + timedelta(days=1)) == late.truth.sids(
        "messages", DAY, DAY + timedelta(days=1)
    )


def test_today_holds_only_what_happened_before_now(sandbox):
    today = NOW.date()
    sent = sandbox.truth.records("messages", today, today + timedelta(days=1))
    assert sent, "today should already have messages by 15:30"
    latest = max(datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z") for m in sent)
    assert latest <= NOW
    assert sandbox.truth.sids("messages", NOW, NOW + timedelta(days=2)) == []


def test_history_is_400_days(sandbox):
    first = NOW.date() - timedelta(days=399)
    assert sandbox.truth.sids("messages", first, first + timedelta(days=1))
    assert sandbox.truth.sids("messages", first - timedelta(days=5), first) == []


@pytest.mark.parametrize(("scale", "low", "high"), [(1, 2_800, 4_200), (30, 85_000, 125_000)])
def test_scale_sets_the_volume(scale, low, high):
    gen = Generator(seed=7, scale=scale)
    total = sum(gen.message_count(NOW.date() - timedelta(days=d)) for d in range(1, 31))
    assert low <= total <= high


def test_weekends_are_quieter_and_the_business_grows():
    gen = Generator(seed=7, scale=5)
    days = [date(2026, 1, 1) + timedelta(days=d) for d in range(330)]
    weekday = np.mean([gen.message_count(d) for d in days if d.weekday() < 5])
    weekend = np.mean([gen.message_count(d) for d in days if d.weekday() >= 5])
    assert weekend < 0.7 * weekday
    january = sum(gen.message_count(d) for d in days if d.month == 1)
    october = sum(gen.message_count(d) for d in days if d.month == 10)
    assert october > 1.1 * january


def test_every_day_has_records_at_both_ends():
    gen = Generator(seed=7)
    for offset in range(10):
        day = DAY + timedelta(days=offset)
        for table in (gen.messages(day), gen.calls(day)):
            seconds = set((table.ts - day_start(day)).tolist())
            assert {0, SECONDS_PER_DAY - 1} <= seconds
            assert table.ts.min() >= day_start(day) and table.ts.max() < day_start(day) + SECONDS_PER_DAY


def test_rows_are_newest_first_and_sids_decode_to_their_position():
    gen = Generator(seed=7)
    table = gen.messages(DAY)
    assert np.all(np.diff(table.ts) <= 0)
    assert all(re.fullmatch(r"SM[0-9a-f]{32}", s) for s in table.sid)
    assert len(set(table.sid)) == len(table)
    assert [decode_sid(s, gen.mask) for s in table.sid[:50]] == [(DAY, i) for i in range(50)]


def test_message_mix_is_realistic(sandbox):
    records = sandbox.truth.records("messages", date(2026, 10, 1), date(2026, 11, 1))
    statuses = {m["status"] for m in records}
    assert {"delivered", "sent", "undelivered", "failed", "received"} == statuses == set(MESSAGE_STATUSES)
    for m in records:
        assert isinstance(m["num_segments"], str) and m["num_segments"].isdigit()
        if m["status"] == "failed":
            assert m["price"] is None and isinstance(m["error_code"], int)
        elif m["status"] == "undelivered":
            assert isinstance(m["error_code"], int)
        else:
            assert m["error_code"] is None
            assert re.fullmatch(r"-\d+\.\d{5}", m["price"]), m["price"]
        if m["direction"] == "inbound":
            assert m["status"] == "received"
    undelivered_prices = {m["price"] is None for m in records if m["status"] == "undelivered"}
    assert undelivered_prices == {True, False}, "some undelivered messages are billed, some are not"
    share_failed = sum(m["status"] in ("failed", "undelivered") for m in records) / len(records)
    assert 0.03 < share_failed < 0.15


def test_scale_must_be_positive():
    with pytest.raises(ValueError, match="scale must be a positive number"):
        Generator(scale=0)


def test_clock_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        Sandbox(now=datetime(2026, 1, 1))
