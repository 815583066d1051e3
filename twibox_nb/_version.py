"""The installed package's version, read once (rank 0: imports nothing of twibox_nb)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twibox-nb")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
