"""Loaded first by every Python process of CI's faked-date run (.ci/run puts this folder on PYTHONPATH).

Debian's libfaketime 0.9.10 with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` breaks ``time.sleep`` on
Python 3.11+: Python sleeps with ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``, and the library
shifts that real monotonic deadline by the faked wall-clock offset, so the kernel gets a negative
time and ``time.sleep`` raises ``OSError: [Errno 22]`` (libfaketime issue 426, unfixed in 0.9.10).
Timed waits on locks, events, queues, conditions, select and sockets are not affected, so ``sleep``
waits on an event that is never set: the same real duration, on the real monotonic clock.
"""

import threading
import time

_real_sleep = time.sleep


def _sleep(seconds: float) -> None:
    try:
        _real_sleep(seconds)
    except OSError:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative") from None
        threading.Event().wait(seconds)


time.sleep = _sleep
