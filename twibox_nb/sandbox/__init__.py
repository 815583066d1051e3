"""An embedded, deterministic stand-in for Twilio's read API (sandbox data, never real).

>>> from twibox_nb.sandbox import Sandbox
>>> sandbox = Sandbox(seed=7, scale=1)
>>> sandbox.credentials.api_key.startswith("SK")
True
"""

from .account import DEMO_CREDENTIALS, DemoCredentials, DemoKey
from .app import Reply, SandboxApp
from .core import Sandbox
from .faults import Faults
from .server import LoopbackServer
from .transport import SandboxTransport
from .truth import GroundTruth

__all__ = [
    "DEMO_CREDENTIALS",
    "DemoCredentials",
    "DemoKey",
    "Faults",
    "GroundTruth",
    "LoopbackServer",
    "Reply",
    "Sandbox",
    "SandboxApp",
    "SandboxTransport",
]
