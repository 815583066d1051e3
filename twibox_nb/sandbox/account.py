"""The sandbox account: its credentials, clock and fixed resources (numbers, services).

The demo credentials are constants: they are published (printed by the server, importable from
Python) and open nothing but this sandbox. Their repr still masks the secrets, so that they never
end up in a notebook's output by accident. Besides the Account SID + auth token and a Main API key,
the sandbox knows a Standard and a Restricted API key, so that clients meet Twilio's key types.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from .generator import Generator, day_start, every_day

API_VERSION = "2010-04-01"


def _hex(name: str) -> str:
    return hashlib.blake2b(f"twibox-sandbox-{name}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class DemoKey:
    """A demo API key that is not a Main key: ``kind`` "standard" (everything but the Accounts and
    Keys resources, as Twilio's Standard keys) or "restricted" (only the permissions in ``allow``).

    >>> STANDARD_KEY.kind, STANDARD_KEY.sid.startswith("SK"), "secret='***'" in repr(STANDARD_KEY)
    ('standard', True, True)
    >>> sorted(RESTRICTED_KEY.allow)[0]
    '/twilio/billing/usage/read'
    """

    kind: str
    sid: str
    secret: str = field(repr=False)
    allow: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        allow = f", allow={sorted(self.allow)!r}" if self.kind == "restricted" else ""
        return f"DemoKey(kind={self.kind!r}, sid={self.sid!r}, secret='***'{allow})"


STANDARD_KEY = DemoKey("standard", "SK" + _hex("standard-key"), "twiboxSandboxStandard" + _hex("standard-secret")[:11])
# A Restricted key for messaging metrics: messages and usage records, not calls nor anything else.
# Twilio's permission names (a "list" permission for a collection, "read" for one record).
RESTRICTED_KEY = DemoKey(
    "restricted",
    "SK" + _hex("restricted-key"),
    "twiboxSandboxRestrict" + _hex("restricted-secret")[:11],
    frozenset({"/twilio/messaging/messages/list", "/twilio/messaging/messages/read", "/twilio/billing/usage/read"}),
)


@dataclass(frozen=True)
class DemoCredentials:
    """The sandbox's published credentials. Secrets are masked in the repr.

    ``api_key`` is a Main key (it reads everything, the account resource included, like the auth
    token); ``standard`` and ``restricted`` are the other key types Twilio has (see :class:`DemoKey`).

    >>> DEMO_CREDENTIALS.account_sid.startswith("AC")
    True
    >>> "api_secret='***'" in repr(DEMO_CREDENTIALS)
    True
    >>> DEMO_CREDENTIALS.standard.kind, DEMO_CREDENTIALS.restricted.kind
    ('standard', 'restricted')
    """

    account_sid: str
    api_key: str
    api_secret: str = field(repr=False)
    auth_token: str = field(repr=False)
    standard: DemoKey = field(default=STANDARD_KEY, repr=False)
    restricted: DemoKey = field(default=RESTRICTED_KEY, repr=False)

    def key(self, sid: str) -> DemoKey | None:
        """The Standard or Restricted demo key with this SID, if it is one."""
        return next((k for k in (self.standard, self.restricted) if k.sid == sid), None)

    def __repr__(self) -> str:
        return (
            f"DemoCredentials(account_sid={self.account_sid!r}, api_key={self.api_key!r}, "
            "api_secret='***', auth_token='***')"
        )


DEMO_CREDENTIALS = DemoCredentials(
    account_sid="AC" + _hex("account"),
    api_key="SK" + _hex("api-key"),
    api_secret="twiboxSandboxDemoSecret" + _hex("secret")[:9],
    auth_token=_hex("auth-token"),
)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def as_clock(now: datetime | Clock | None) -> Clock:
    """Accept a fixed datetime, a callable or None (the system clock); always return a callable."""
    if now is None:
        return system_clock
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("the sandbox clock must be timezone-aware (UTC), got a naive datetime")
        fixed = now.astimezone(timezone.utc)
        return lambda: fixed
    if callable(now):
        return now
    raise TypeError(f"now must be a datetime, a callable returning one, or None; got {now!r}")


@dataclass(frozen=True)
class PhoneNumber:
    sid: str
    phone_number: str
    friendly_name: str
    created: datetime
    sms: bool
    voice: bool


@dataclass(frozen=True)
class MessagingService:
    sid: str
    friendly_name: str
    usecase: str
    created: datetime


CUSTOMER_AREAS = (201, 305, 312, 415, 512, 617, 702, 718, 805, 917)
SERVICE_NAMES = (("Notifications", "notifications"), ("Marketing", "marketing"), ("Support", "mixed"))


class Account:
    """The one synthetic account the sandbox serves.

    ``history_days`` days of data exist, ending today (by the clock); the account was created on
    the first of them.
    """

    def __init__(
        self,
        seed: int = 7,
        scale: float = 1.0,
        now: datetime | Clock | None = None,
        history_days: int = 400,
        credentials: DemoCredentials = DEMO_CREDENTIALS,
    ) -> None:
        self.gen = Generator(seed=seed, scale=scale)
        self.clock = as_clock(now)
        self.history_days = int(history_days)
        self.credentials = credentials
        self.sid = credentials.account_sid
        self.numbers = self._make_numbers()
        self.services = self._make_services()

    # --- time -------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc)

    def now_ts(self) -> int:
        return int(self.now().timestamp())

    def today(self) -> date:
        return self.now().date()

    def first_day(self) -> date:
        return self.today() - timedelta(days=self.history_days - 1)

    def created(self) -> datetime:
        return datetime.combine(self.first_day(), datetime.min.time(), timezone.utc) + timedelta(
            hours=9, minutes=12, seconds=31
        )

    def days(self, first: date, last: date):
        """Days with data between ``first`` and ``last`` (inclusive), newest first."""
        yield from every_day(max(first, self.first_day()), min(last, self.today()))

    # --- fixed resources ----------------------------------------------------------------------
    def _make_numbers(self) -> list[PhoneNumber]:
        numbers = []
        for i in range(self.gen.n_numbers):
            area = (415, 628, 212, 646, 312, 737, 206, 305)[i]
            digits = f"555{100 + i:04d}"
            numbers.append(
                PhoneNumber(
                    sid=self.gen.fixed_sid("PN", f"number-{i}"),
                    phone_number=f"+1{area}{digits}",
                    friendly_name=f"({area}) {digits[:3]}-{digits[3:]}",
                    created=datetime(2025, 1, 6, 15, 4, 5, tzinfo=timezone.utc)
                    + timedelta(days=37 * i, minutes=13 * i),
                    sms=True,
                    voice=i != 7,
                )
            )
        return numbers

    def _make_services(self) -> list[MessagingService]:
        return [
            MessagingService(
                sid=self.gen.fixed_sid("MG", name),
                friendly_name=name,
                usecase=usecase,
                created=datetime(2025, 1, 6, 15, 30, tzinfo=timezone.utc) + timedelta(days=90 * i),
            )
            for i, (name, usecase) in enumerate(SERVICE_NAMES)
        ]

    def customer_number(self, index: int) -> str:
        """A fictional customer number: US 555-01xx style, or a UK drama number (07700 900xxx)."""
        if index < 0:
            return f"+447700900{(-index - 1) % 1000:03d}"
        area = CUSTOMER_AREAS[index % 10]
        return f"+1{area}555{index % 10_000:04d}"

    def visible_until(self, day: date) -> int:
        """Epoch second up to which ``day``'s records exist (the whole day, or up to now)."""
        return min(day_start(day) + 86_399, self.now_ts())

    def number_mask(self, ours: np.ndarray, customer: np.ndarray, number: str) -> tuple[np.ndarray, np.ndarray]:
        """Masks of rows whose own number, and whose customer number, equal ``number``."""
        own = next((i for i, n in enumerate(self.numbers) if n.phone_number == number), None)
        own_mask = ours == own if own is not None else np.zeros(len(ours), dtype=bool)
        us = re.fullmatch(r"\+1(\d{3})555(\d{4})", number)
        uk = re.fullmatch(r"\+447700900(\d{3})", number)
        if us and int(us.group(1)) in CUSTOMER_AREAS:
            k, area = int(us.group(2)), CUSTOMER_AREAS.index(int(us.group(1)))
            customer_mask = (customer >= 0) & (customer % 10_000 == k) & (customer % 10 == area)
        elif uk:
            customer_mask = customer == -1 - int(uk.group(1))
        else:
            customer_mask = np.zeros(len(customer), dtype=bool)
        return own_mask, customer_mask
