"""Bounds for the hostile suite: every case fails fast instead of hanging CI or eating the machine.

Each test in ``tests/hostile`` runs under a **time bound** (pytest-timeout, 30 s unless the test
says ``@pytest.mark.bounds(seconds=...)``) and a **memory bound**: a watchdog thread samples the
process's resident memory every few milliseconds, and once it has grown by more than the bound
(300 MB unless ``@pytest.mark.bounds(megabytes=...)``) it raises :class:`MemoryBoundExceeded` in
the test's thread. Should the growth go on past twice the bound (a C call that never returns to
Python), the watchdog ends the whole run with exit code 70 rather than let the machine swap.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

DEFAULT_SECONDS = 30
DEFAULT_MEGABYTES = 300
_PAGE = os.sysconf("SC_PAGE_SIZE")


class MemoryBoundExceeded(Exception):
    """The test grew the process past its memory bound: a limit that should hold did not."""


def rss_bytes() -> int:
    """The process's resident memory now, in bytes (Linux: /proc/self/statm)."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def _bounds(item: pytest.Item) -> tuple[float, float]:
    marker = item.get_closest_marker("bounds")
    seconds = marker.kwargs.get("seconds", DEFAULT_SECONDS) if marker else DEFAULT_SECONDS
    megabytes = marker.kwargs.get("megabytes", DEFAULT_MEGABYTES) if marker else DEFAULT_MEGABYTES
    return seconds, megabytes


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bounds(seconds=30, megabytes=300): a hostile case's time and memory bound")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(_bounds(item)[0]))


@pytest.fixture(autouse=True)
def memory_bound(request: pytest.FixtureRequest):
    """Raise MemoryBoundExceeded in the test once the process has grown by more than its bound."""
    limit = _bounds(request.node)[1] * 1024 * 1024
    base = rss_bytes()
    peak = [base]
    done = threading.Event()
    tripped = threading.Event()
    main = threading.main_thread()
    if threading.current_thread() is not main:  # signals reach the main thread only
        yield peak
        return

    def on_signal(signum, frame):
        raise MemoryBoundExceeded(
            f"the process grew by {(peak[0] - base) / 2**20:.0f} MB, past this case's bound of "
            f"{limit / 2**20:.0f} MB"
        )

    previous = signal.signal(signal.SIGUSR1, on_signal)

    def watch() -> None:
        while not done.wait(0.005):
            now = rss_bytes()
            peak[0] = max(peak[0], now)
            if now - base > limit and not tripped.is_set():
                tripped.set()
                os.kill(os.getpid(), signal.SIGUSR1)
            if now - base > 2 * limit:
                sys.stderr.write(f"\nhostile case {request.node.nodeid}: memory past twice its bound; ending the run\n")
                sys.stderr.flush()
                os._exit(70)

    watcher = threading.Thread(target=watch, name="memory-bound", daemon=True)
    watcher.start()
    try:
        yield peak
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)
