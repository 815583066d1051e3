"""twibox_nb: Twilio metrics for notebooks.

Turn any read-only Twilio REST endpoint into a metric (a tidy pandas DataFrame and an Altair
chart). Everything runs offline against the embedded sandbox, a seeded stand-in for Twilio's read
API:

>>> import twibox_nb
>>> sandbox = twibox_nb.Sandbox(seed=7)
>>> sandbox.credentials.account_sid.startswith("AC")
True
"""

from importlib.metadata import PackageNotFoundError, version

from .sandbox import DEMO_CREDENTIALS, Faults, Sandbox

try:
    __version__ = version("twibox-nb")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["DEMO_CREDENTIALS", "Faults", "Sandbox", "__version__"]
