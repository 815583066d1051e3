"""Refresh the vendored Twilio OpenAPI specs from a twilio-oai checkout.

Usage::

    git clone https://github.com/twilio/twilio-oai /tmp/twilio-oai
    python -m twibox_nb.openapi.refresh /tmp/twilio-oai

It compresses every ``spec/json/*.json`` of the checkout with xz into ``twibox_nb/openapi/twilio-oai/``,
removes vendored files upstream no longer has, copies upstream's ``LICENSE`` and records the
checkout's commit in ``SOURCE.md``. Each file is written atomically; re-run the test suite after.
"""

from __future__ import annotations

import argparse
import json
import lzma
import subprocess
import sys
from pathlib import Path

from .._files import atomic_write_bytes, atomic_write_text
from . import VENDORED

_SOURCE = """\
# Twilio's OpenAPI specs, vendored

These are the files of `spec/json/` in [twilio/twilio-oai](https://github.com/twilio/twilio-oai),
each compressed with xz, at commit {commit}.
They are Twilio's work under the MIT licence in `LICENSE` beside this file.

twibox_nb reads them through `twibox_nb.openapi.load(name)`: the sandbox's fidelity tests validate
every response against them. Refresh them from a checkout with
`python -m twibox_nb.openapi.refresh PATH/TO/twilio-oai`.
"""


def _commit(checkout: Path) -> str:
    """The checkout's commit: ``git rev-parse HEAD``, or a ``COMMIT`` file for an exported tree."""
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        marker = checkout / "COMMIT"
        if marker.is_file():
            return marker.read_text().strip()
        raise SystemExit(f"{checkout} is not a git checkout and has no COMMIT file: which commit is it?") from None


def refresh(checkout: Path, target: Path = VENDORED) -> list[str]:
    """Vendor ``checkout``'s specs into ``target``; returns the file names written."""
    source = checkout / "spec" / "json"
    files = sorted(source.glob("*.json"))
    if not files:
        raise SystemExit(f"{source} holds no *.json: give the folder of a twilio-oai checkout.")
    commit = _commit(checkout)
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        data = path.read_bytes()
        json.loads(data)  # refuse to vendor a broken file
        atomic_write_bytes(target / f"{path.name}.xz", lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    kept = {f"{p.name}.xz" for p in files}
    for stale in target.glob("*.json.xz"):
        if stale.name not in kept:
            stale.unlink()
    atomic_write_bytes(target / "LICENSE", (checkout / "LICENSE").read_bytes())
    atomic_write_text(target / "SOURCE.md", _SOURCE.format(commit=commit))
    return [p.name for p in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twibox_nb.openapi.refresh", description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a twilio-oai checkout (the folder that holds spec/json/)")
    args = parser.parse_args(argv)
    written = refresh(args.checkout)
    print(f"vendored {len(written)} spec files from {args.checkout} into {VENDORED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
