"""Deterministic synthetic Twilio account, generated one UTC day at a time.

Every day's records are a pure function of ``(seed, kind, day, scale)``: any window is cheap to
build and identical on every run, whatever the clock says. The clock only decides which of a
day's records already exist (those at or before "now").

Randomness comes only from NumPy's PCG64 ``random()`` and ``integers()`` streams, whose output is
stable across NumPy versions; every other distribution is derived from those uniforms here, so
the data cannot drift when NumPy changes a sampling algorithm.

Volumes (see the README's "What the sandbox holds"):

* messages: ``scale × 105`` on an average weekday of January 2026, weekends at 55 %, growing
  25 % a year, ±10 % day-to-day noise (about 3,300 messages in 30 days at scale 1 late in 2026);
* calls: about 30 % of the message volume; Monitor alerts: about 4 % of it.

Every day holds a message and a call at exactly 00:00:00 and at 23:59:59 UTC, so that date
filters' boundary rules are always exercised.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import TypeVar

import numpy as np

SECONDS_PER_DAY = 86_400
UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
GROWTH_REFERENCE = date(2026, 1, 1)

T = TypeVar("T")  # the day type a generator builds

# Prices are kept as integers in units of 0.00001 USD (Twilio's five decimals), so that the
# usage records' sums are exact.
PRICE_SCALE = 100_000

MESSAGE_DIRECTIONS = ("outbound-api", "inbound", "outbound-reply")
MESSAGE_DIRECTION_WEIGHTS = (0.70, 0.20, 0.10)
OUTBOUND_STATUSES = ("delivered", "sent", "undelivered", "failed")
OUTBOUND_STATUS_WEIGHTS = (0.885, 0.035, 0.045, 0.035)
MESSAGE_ERRORS = {
    # error_code: (error_message, weight among failed/undelivered messages)
    30003: ("Unreachable destination handset", 0.30),
    30005: ("Unknown destination handset", 0.20),
    30006: ("Landline or unreachable carrier", 0.20),
    30007: ("Message filtered", 0.15),
    30008: ("Unknown error", 0.10),
    21610: ("Attempt to send to unsubscribed recipient", 0.05),
}
SMS_RATE_US = 790  # 0.00790 USD per segment
SMS_RATE_INTERNATIONAL = 4_000  # 0.04000 USD per segment

CALL_DIRECTIONS = ("inbound", "outbound-api", "outbound-dial")
CALL_DIRECTION_WEIGHTS = (0.45, 0.40, 0.15)
CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
CALL_STATUS_WEIGHTS = (0.74, 0.07, 0.12, 0.04, 0.03)
CALL_RATE_INBOUND = 850  # 0.00850 USD per started minute
CALL_RATE_OUTBOUND = 1_400  # 0.01400 USD per started minute

ALERT_KINDS = (
    # error_code, log_level, alert_text, request_method, weight
    ("11200", "error", "HTTP retrieval failure", "POST", 0.30),
    ("30003", "warning", "Unreachable destination handset", "POST", 0.20),
    ("30007", "warning", "Message filtered", "POST", 0.12),
    ("11750", "error", "TwiML response body too large", "POST", 0.08),
    ("12300", "error", "Invalid Content-Type", "GET", 0.10),
    ("13227", "warning", "Dial: Invalid country code", "POST", 0.10),
    ("82002", "error", "Error on Twilio Function response", "GET", 0.10),
)

# Hour-of-day weights in UTC: a US business whose customers write during their day.
HOUR_WEIGHTS = np.array(
    [4, 3, 2, 1.5, 1, 1, 1, 1.5, 2, 3, 4, 5, 7, 9, 10, 10, 10, 9.5, 9, 8.5, 8, 7, 6, 5], dtype=float
)

OUTBOUND_BODIES = (
    "Your verification code is {code}.",
    "Your order #{code} has shipped. Track it at https://example.com/t/{code}",
    "Reminder: your appointment is tomorrow at 10:00. Reply C to confirm.",
    "Thanks for your purchase! Your receipt number is {code}.",
    "Flash sale: 20% off everything this weekend only. Reply STOP to opt out.",
    "Your table is ready. Please come to the front desk.",
    "Hi! Your package {code} will arrive today between 2pm and 6pm. We will text you when the "
    "driver is nearby. Reply HELP for help or STOP to stop receiving delivery notifications "
    "from us. Have a great day and thank you for shopping with us!",
)
INBOUND_BODIES = ("YES", "C", "STOP", "Thanks!", "Can I change my appointment?", "HELP", "Ok")


def weighted_choice(u: np.ndarray, weights: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Map uniforms in [0, 1) to indices drawn with the given weights (inverse transform)."""
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cumulative / cumulative[-1], u, side="right").astype(np.int16)


def day_start(day: date) -> int:
    """Epoch seconds of 00:00:00 UTC on ``day``."""
    return (day.toordinal() - UNIX_EPOCH_ORDINAL) * SECONDS_PER_DAY


def day_of(ts: int) -> date:
    """The UTC day that contains epoch second ``ts``."""
    return date.fromordinal(int(ts) // SECONDS_PER_DAY + UNIX_EPOCH_ORDINAL)


def to_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


def sid_mask(seed: int) -> int:
    """A 48-bit mask that hides the (day, index) a SID's last 12 hex digits encode."""
    return int.from_bytes(hashlib.blake2b(f"twibox-sid-{seed}".encode(), digest_size=6).digest())


_MOD48 = 1 << 48
_MIX = 0x9E3779B97F4B  # odd, so multiplying by it is a bijection modulo 2**48
_UNMIX = pow(_MIX, -1, _MOD48)


def make_sids(prefix: str, rng: np.random.Generator, day: date, order: np.ndarray, mask: int) -> list[str]:
    """SIDs that look random but encode (day, index), so instance look-ups need no index.

    ``order`` is the newest-first permutation of the day's rows; record ``i`` in that order gets
    a SID whose last 12 hex digits are ``((day << 24 | i) ^ mask) * _MIX mod 2**48``: reversible,
    and neighbouring records do not get look-alike SIDs.
    """
    count = len(order)
    head = rng.bytes(10 * count).hex()
    packed = (np.uint64(day.toordinal() << 24) | np.arange(count, dtype=np.uint64)) ^ np.uint64(mask)
    tail = ((packed * np.uint64(_MIX)) & np.uint64(_MOD48 - 1)).tolist()
    # Random heads follow generation order, so a record keeps its SID whatever the sort.
    heads = [head[20 * j : 20 * j + 20] for j in order.tolist()]
    return [f"{prefix}{h}{t:012x}" for h, t in zip(heads, tail, strict=True)]


def decode_sid(sid: str, mask: int) -> tuple[date, int] | None:
    """Inverse of :func:`make_sids`: the day and index a SID was generated for, if plausible."""
    try:
        packed = (int(sid[-12:], 16) * _UNMIX % _MOD48) ^ mask
        return date.fromordinal(packed >> 24), packed & 0xFFFFFF
    except ValueError:
        return None


@dataclass(frozen=True)
class Volume:
    """Expected daily volumes; ``scale`` multiplies all of them."""

    messages: float = 105.0
    calls_share: float = 0.30
    alerts_share: float = 0.04

    def daily_messages(self, day: date, scale: float, noise: float) -> int:
        years = (day - GROWTH_REFERENCE).days / 365.25
        weekday = 0.55 if day.weekday() >= 5 else 1.0
        season = 1.0 + 0.06 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 80) / 365.25)
        mean = self.messages * scale * (1.25**years) * weekday * season
        return max(2, round(mean * (0.9 + 0.2 * noise)))


VOLUME = Volume()


@dataclass(frozen=True, eq=False)
class MessageDay:
    """All messages of one UTC day, newest first (index 0 is the latest)."""

    day: date
    ts: np.ndarray  # int64 epoch seconds of date_sent, descending
    sid_factory: Callable[[], list[str]]
    direction: np.ndarray  # index into MESSAGE_DIRECTIONS
    status: np.ndarray  # index into MESSAGE_STATUSES
    error_code: np.ndarray  # 0 when none
    segments: np.ndarray
    price: np.ndarray  # int64 in PRICE_SCALE units, negative (a charge)
    priced: np.ndarray  # bool: False means Twilio sends "price": null
    ours: np.ndarray  # index into the account's phone numbers
    customer: np.ndarray  # index into the customer number pool
    service: np.ndarray  # index into the messaging services, -1 for none
    body: np.ndarray  # index into OUTBOUND_BODIES or INBOUND_BODIES
    code: np.ndarray  # number used in templated bodies

    def __len__(self) -> int:
        return len(self.ts)

    @cached_property
    def sid(self) -> list[str]:
        """SIDs, built on first use: usage totals and counts never need them."""
        return self.sid_factory()


MESSAGE_STATUSES = ("delivered", "sent", "undelivered", "failed", "received")


@dataclass(frozen=True, eq=False)
class CallDay:
    """All calls that start on one UTC day, newest first."""

    day: date
    ts: np.ndarray  # start_time, descending
    end: np.ndarray  # end_time (start + ring + talk)
    sid_factory: Callable[[], list[str]]
    direction: np.ndarray
    status: np.ndarray
    duration: np.ndarray  # talk seconds, 0 unless completed
    price: np.ndarray
    priced: np.ndarray
    ours: np.ndarray
    customer: np.ndarray
    answered_by: np.ndarray  # -1 none, 0 human, 1 machine_start

    def __len__(self) -> int:
        return len(self.ts)

    @cached_property
    def sid(self) -> list[str]:
        """SIDs, built on first use: usage totals and counts never need them."""
        return self.sid_factory()


@dataclass(frozen=True, eq=False)
class AlertDay:
    """All Monitor alerts generated on one UTC day, newest first."""

    day: date
    ts: np.ndarray
    sid_factory: Callable[[], list[str]]
    kind: np.ndarray  # index into ALERT_KINDS
    resource: np.ndarray  # index into the account's phone numbers (the resource that failed)

    def __len__(self) -> int:
        return len(self.ts)

    @cached_property
    def sid(self) -> list[str]:
        """SIDs, built on first use: usage totals and counts never need them."""
        return self.sid_factory()


def _time_of_day(rng: np.random.Generator, count: int) -> np.ndarray:
    hours = weighted_choice(rng.random(count), HOUR_WEIGHTS).astype(np.int64)
    seconds = hours * 3600 + rng.integers(0, 3600, size=count)
    if count >= 2:
        seconds[0] = 0  # a record exactly at 00:00:00 ...
        seconds[1] = SECONDS_PER_DAY - 1  # ... and one at 23:59:59, every day
    return seconds


def _newest_first(ts: np.ndarray) -> np.ndarray:
    # Stable order: newest first, ties kept in generation order, so positions never change.
    return np.argsort(-ts, kind="stable")


class Generator:
    """Builds and caches the day tables of one synthetic account.

    >>> g = Generator(seed=7, scale=1.0)
    >>> day = g.messages(date(2026, 3, 2))
    >>> len(day) > 0 and bool(day.ts[0] >= day.ts[-1])
    True
    """

    def __init__(self, seed: int = 7, scale: float = 1.0, volume: Volume = VOLUME) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.seed = int(seed)
        self.scale = float(scale)
        self.volume = volume
        self.mask = sid_mask(self.seed)
        self.n_numbers = 8  # the account's own phone numbers
        self.n_customers = 5_000 + int(2_000 * self.scale)
        # Per-instance caches (lru_cache on methods would keep instances alive).
        self.messages = lru_cache(maxsize=256)(self._messages)
        self.calls = lru_cache(maxsize=256)(self._calls)
        self.alerts = lru_cache(maxsize=256)(self._alerts)

    def rng(self, kind: int, day: date) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64([self.seed, kind, day.toordinal()]))

    def message_count(self, day: date) -> int:
        noise = self.rng(0, day).random()
        return self.volume.daily_messages(day, self.scale, noise)

    def _messages(self, day: date) -> MessageDay:
        n = self.message_count(day)
        rng = self.rng(1, day)
        seconds = _time_of_day(rng, n)
        direction = weighted_choice(rng.random(n), MESSAGE_DIRECTION_WEIGHTS)
        inbound = direction == 1
        outbound_status = weighted_choice(rng.random(n), OUTBOUND_STATUS_WEIGHTS)
        status = np.where(inbound, 4, outbound_status).astype(np.int16)
        error_codes = np.array(list(MESSAGE_ERRORS), dtype=np.int32)
        error_pick = weighted_choice(rng.random(n), [w for _, w in MESSAGE_ERRORS.values()])
        has_error = (status == 2) | (status == 3)
        error_code = np.where(has_error, error_codes[error_pick], 0).astype(np.int32)
        body = np.where(
            inbound,
            rng.integers(0, len(INBOUND_BODIES), size=n),
            weighted_choice(rng.random(n), (30, 20, 15, 12, 10, 6, 7)),
        ).astype(np.int16)
        # The long template (index 6) needs three segments; a few others two.
        segments = np.where(~inbound & (body == 6), 3, np.where(~inbound & (body == 1), 2, 1))
        international = rng.random(n) < 0.06
        rate = np.where(international & ~inbound, SMS_RATE_INTERNATIONAL, SMS_RATE_US)
        price = -(segments * rate).astype(np.int64)
        # Failed messages are never charged (null price); carriers bill half the undelivered ones.
        priced = ~((status == 3) | ((status == 2) & (rng.random(n) < 0.5)))
        customer = rng.integers(0, self.n_customers, size=n)
        customer = np.where(international, -1 - customer % 900, customer)
        service = np.where(rng.random(n) < 0.8, rng.integers(0, 3, size=n), -1)
        ours = rng.integers(0, self.n_numbers, size=n)
        code = rng.integers(100_000, 1_000_000, size=n)
        return self._day(
            MessageDay, day, ("SM", 11), ts=day_start(day) + seconds,
            direction=direction, status=status, error_code=error_code, segments=segments.astype(np.int16),
            price=price, priced=priced, ours=ours, customer=customer, service=service, body=body, code=code,
        )  # fmt: skip

    def _calls(self, day: date) -> CallDay:
        n = max(2, round(self.message_count(day) * self.volume.calls_share))
        rng = self.rng(2, day)
        seconds = _time_of_day(rng, n)
        direction = weighted_choice(rng.random(n), CALL_DIRECTION_WEIGHTS)
        status = weighted_choice(rng.random(n), CALL_STATUS_WEIGHTS)
        completed = status == 0
        # Talk time: mostly short calls, a long tail (exponential from a uniform, capped at 2 h).
        talk = np.minimum(7200, np.ceil(-180.0 * np.log1p(-rng.random(n)))).astype(np.int64)
        duration = np.where(completed, np.maximum(talk, 1), 0)
        ring = rng.integers(3, 30, size=n)
        minutes = np.ceil(duration / 60).astype(np.int64)
        rate = np.where(direction == 0, CALL_RATE_INBOUND, CALL_RATE_OUTBOUND)
        price = -(minutes * rate)
        priced = completed.copy()
        answered_by = np.where(completed & (direction == 1), (rng.random(n) < 0.25).astype(np.int64), -1)
        ours = rng.integers(0, self.n_numbers, size=n)
        customer = rng.integers(0, self.n_customers, size=n)
        ts = day_start(day) + seconds
        return self._day(
            CallDay, day, ("CA", 12), ts=ts,
            end=ts + ring + duration, direction=direction, status=status, duration=duration, price=price,
            priced=priced, ours=ours, customer=customer, answered_by=answered_by,
        )  # fmt: skip

    def _alerts(self, day: date) -> AlertDay:
        n = max(1, round(self.message_count(day) * self.volume.alerts_share))
        rng = self.rng(3, day)
        seconds = rng.integers(0, SECONDS_PER_DAY, size=n)
        kind = weighted_choice(rng.random(n), [k[-1] for k in ALERT_KINDS])
        resource = rng.integers(0, self.n_numbers, size=n)
        return self._day(AlertDay, day, ("NO", 13), ts=day_start(day) + seconds, kind=kind, resource=resource)

    def _day(self, day_type: type[T], day: date, sids: tuple[str, int], *, ts: np.ndarray, **columns: np.ndarray) -> T:
        """One day of ``day_type``, every column sorted newest first, with SIDs made lazily.

        ``sids`` is the SID prefix and the random stream it is drawn from.
        """
        order = _newest_first(ts)
        prefix, stream = sids
        sid_factory = lambda: make_sids(prefix, self.rng(stream, day), day, order, self.mask)  # noqa: E731
        ordered = {name: values[order] for name, values in columns.items()}
        return day_type(day=day, ts=ts[order], sid_factory=sid_factory, **ordered)

    # Stable identifiers of the account's fixed resources.
    def fixed_sid(self, prefix: str, name: str) -> str:
        digest = hashlib.blake2b(f"{self.seed}-{prefix}-{name}".encode(), digest_size=16)
        return prefix + digest.hexdigest()


def every_day(first: date, last: date):
    """Each day from ``first`` to ``last`` inclusive, newest first."""
    day = last
    while day >= first:
        yield day
        day -= timedelta(days=1)
