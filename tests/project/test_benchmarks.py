"""The benchmark command runs end to end and prints every figure next to its target.

A small run (scale 1, three days): the figures themselves are not judged here (timing
assertions do not belong in a test suite), only that each one is measured, printed with its
target, and that the correctness checks the benchmark makes on the way hold.
"""

from __future__ import annotations

import subprocess
import sys

from ..conftest import REPO


def test_the_benchmark_command_prints_every_figure_with_its_target():
    run = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--scale", "1", "--days", "3", "--latency-ms", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    summary = out[out.index("\nSummary") :]
    for figure in (
        "speed-up vs official twilio",
        "concurrency used",
        "sandbox serving time",
        "peak traced / raw JSON",
        "generated expression: value + dimension + date",
        "custom expression: jlens",
        "requests on re-running a closed range",
        "an open range is fetched again",
        "builder re-preview after a new expression",
    ):
        line = next((line for line in summary.splitlines() if figure in line), None)
        assert line is not None and "target" in line, figure
    assert "results agree: True" in out  # twibox_nb and the official library count the same messages
    assert out.count("same data: True") == 2  # cached and fetched results are identical
    assert "second run   0 requests" in out
    assert "targets met" in summary
