"""Latency and fault injection, shared by the in-process transport and the loopback server.

Faults are drawn from a seeded RNG, so a single-threaded run sees the same sequence every time.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from .app import JSON_TYPE, Reply, error_reply

Outcome = Literal["ok", "rate_limited", "server_error", "malformed", "truncated", "over_concurrency"]


@dataclass(frozen=True)
class Faults:
    """What can go wrong, and how slow the network is.

    ``latency_ms`` (± ``latency_jitter_ms``) is added to every request. Each request then may be
    answered with a 429 (``rate_limited``, code 20429, with ``Retry-After`` on a share of them),
    start a burst of ``burst_length`` 500/503 answers (``server_errors``), get a body that is not
    JSON (``malformed``) or have its body cut off mid-transfer (``truncated``). More than
    ``concurrency_limit`` requests in flight at once are answered 429, as Twilio does.

    >>> Faults.from_rate(0.2).rate_limited
    0.05
    """

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_limited: float = 0.0
    retry_after_share: float = 0.5
    retry_after_seconds: int = 1
    server_errors: float = 0.0
    burst_length: int = 3
    malformed: float = 0.0
    truncated: float = 0.0
    concurrency_limit: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_limited", "retry_after_share", "server_errors", "malformed", "truncated"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} is a share between 0 and 1, got {value!r}")
        if self.rate_limited + self.server_errors + self.malformed + self.truncated > 1.0:
            raise ValueError("the fault shares add up to more than 1")
        if self.latency_ms < 0 or self.latency_jitter_ms < 0:
            raise ValueError("latency cannot be negative")
        if self.concurrency_limit is not None and self.concurrency_limit < 1:
            raise ValueError("concurrency_limit must be at least 1 (or None for no limit)")

    @classmethod
    def from_rate(cls, rate: float, **options) -> Faults:
        """Spread one overall fault rate evenly over 429s, 5xx bursts, malformed and truncated."""
        share = rate / 4
        return cls(rate_limited=share, server_errors=share, malformed=share, truncated=share, **options)


@dataclass
class Decision:
    outcome: Outcome
    delay: float


@dataclass
class FaultInjector:
    """Stateful side of :class:`Faults`: in-flight count, bursts, RNG and statistics."""

    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._burst_left = 0
        self.stats: dict[str, int] = {}
        self.busy_seconds = 0.0  # time spent building answers, latency excluded

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def admit(self) -> Decision:
        """Count a request in and decide its fate; always pair with :meth:`release`."""
        f = self.faults
        with self._lock:
            self._in_flight += 1
            delay = max(0.0, f.latency_ms + self._rng.uniform(-1, 1) * f.latency_jitter_ms) / 1000
            if f.concurrency_limit is not None and self._in_flight > f.concurrency_limit:
                outcome: Outcome = "over_concurrency"
            elif self._burst_left > 0:
                self._burst_left -= 1
                outcome = "server_error"
            else:
                draw = self._rng.random()
                outcome = "ok"
                for name in ("rate_limited", "server_errors", "malformed", "truncated"):
                    share = getattr(f, name)
                    if draw < share:
                        outcome = "server_error" if name == "server_errors" else name  # type: ignore[assignment]
                        break
                    draw -= share
                if outcome == "server_error":
                    self._burst_left = max(0, f.burst_length - 1)
            self.stats[outcome] = self.stats.get(outcome, 0) + 1
            return Decision(outcome, delay)

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def reply(self, decision: Decision, answer) -> tuple[Reply, int | None]:
        """The reply for a decision; ``answer()`` builds the real one. Also returns the byte
        count after which the body must be cut off (truncated bodies), or None."""
        concurrent = {"Twilio-Concurrent-Requests": str(self._in_flight)}
        if decision.outcome in ("rate_limited", "over_concurrency"):
            headers = dict(concurrent)
            if decision.outcome == "rate_limited" and self._rng.random() < self.faults.retry_after_share:
                headers["Retry-After"] = str(self.faults.retry_after_seconds)
            return error_reply(429, 20429, "Too Many Requests", headers), None
        if decision.outcome == "server_error":
            if self._rng.random() < 0.5:
                return error_reply(500, 20500, "Internal Server Error", concurrent), None
            return error_reply(503, 20503, "Service Unavailable", concurrent), None
        started = time.perf_counter()
        reply = answer()
        with self._lock:
            self.busy_seconds += time.perf_counter() - started
        reply.headers.update(concurrent)
        if reply.status != 200:
            return reply, None
        if decision.outcome == "malformed":
            # A complete HTTP answer whose body is not JSON: half a document.
            body = reply.body[: max(1, len(reply.body) // 2)]
            return Reply(200, body, {"Content-Type": JSON_TYPE, **concurrent}), None
        if decision.outcome == "truncated":
            return reply, max(1, len(reply.body) // 2)
        return reply, None


def describe(faults: Faults) -> str:
    """One line for the server banner."""
    return json.dumps({k: v for k, v in faults.__dict__.items() if v not in (0, 0.0, None)})
