"""``Sandbox``: one synthetic Twilio account, reachable in-process or on loopback."""

from __future__ import annotations

from datetime import datetime

from .account import Account, Clock, DemoCredentials
from .app import SandboxApp
from .faults import FaultInjector, Faults
from .server import LoopbackServer
from .transport import SandboxTransport
from .truth import GroundTruth


class Sandbox:
    """A deterministic, seeded stand-in for Twilio's read API.

    ``seed`` picks the data, ``scale`` multiplies every volume (scale 1 is about 3,300 messages
    in 30 days; scale 30 about 100,000), ``now`` freezes or replaces the clock (default: the
    system's, in UTC) and ``faults`` injects latency and errors.

    >>> sandbox = Sandbox(seed=7, scale=1)
    >>> sandbox.credentials.account_sid.startswith("AC")
    True
    >>> transport = sandbox.transport()          # for httpx.Client(transport=...)
    >>> with sandbox.serve(port=0) as server:    # a real server on 127.0.0.1
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        seed: int = 7,
        scale: float = 1.0,
        now: datetime | Clock | None = None,
        faults: Faults | None = None,
        history_days: int = 400,
    ) -> None:
        self.account = Account(seed=seed, scale=scale, now=now, history_days=history_days)
        self.app = SandboxApp(self.account)
        self.faults = faults or Faults()
        self.injector = FaultInjector(self.faults)
        self.truth = GroundTruth(self.account)

    @property
    def credentials(self) -> DemoCredentials:
        """The demo credentials this sandbox accepts (the same for every sandbox)."""
        return self.account.credentials

    @property
    def seed(self) -> int:
        return self.account.gen.seed

    @property
    def scale(self) -> float:
        return self.account.gen.scale

    def transport(self) -> SandboxTransport:
        """An httpx transport (sync and async) answering from this sandbox in-process."""
        return SandboxTransport(self.app, self.injector)

    def serve(self, host: str = "127.0.0.1", port: int = 8765, verbose: bool = False) -> LoopbackServer:
        """A loopback HTTP server for this sandbox; ``with sandbox.serve(port=0) as s: s.url``."""
        return LoopbackServer(self.app, self.injector, host=host, port=port, verbose=verbose)

    def __repr__(self) -> str:
        return f"Sandbox(seed={self.seed}, scale={self.scale:g}, now={self.account.now():%Y-%m-%dT%H:%M:%SZ})"
