"""The hostile suite's own bounds hold: a case that eats memory fails fast instead of taking the machine."""

from __future__ import annotations

import pytest

from .conftest import MemoryBoundExceeded


@pytest.mark.bounds(megabytes=50)
def test_a_case_that_grows_past_its_memory_bound_fails_fast():
    hoard = []
    with pytest.raises(MemoryBoundExceeded, match="past this case's bound of 50 MB"):
        for _ in range(400):  # 400 MB, were nothing to stop it
            hoard.append(bytearray(1024 * 1024))
            sum(len(b) for b in hoard[-1:])  # give the signal a bytecode boundary
    assert 50 <= len(hoard) < 150  # it stopped soon after the bound


def test_a_case_within_its_bound_runs_untouched(memory_bound):
    data = [bytearray(1024 * 1024) for _ in range(20)]
    assert len(data) == 20
    assert memory_bound[0] > 0  # the watchdog sampled the process
