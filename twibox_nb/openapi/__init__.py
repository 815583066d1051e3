"""Twilio's own OpenAPI specs, vendored in the package so that nothing outside it is ever read.

The 55 files of `twilio/twilio-oai <https://github.com/twilio/twilio-oai>`_'s ``spec/json`` folder
sit xz-compressed in ``twilio-oai/`` beside this module (about 0.5 MB for 11 MB of JSON), with
upstream's MIT licence and ``SOURCE.md``, which names the commit they come from. ``python -m
twibox_nb.openapi.refresh PATH`` replaces them from a twilio-oai checkout.

``$TWIBOX_TWILIO_OAI``, when set, points at such a checkout (the folder that holds ``spec/json/``)
and is read instead, for trying a newer upstream without refreshing the vendored copy.

>>> from twibox_nb import openapi
>>> "twilio_api_v2010.json" in openapi.names()
True
>>> doc = openapi.load("twilio_api_v2010.json")
>>> "/2010-04-01/Accounts/{AccountSid}/Messages.json" in doc["paths"]
True
>>> openapi.commit()[:7]
'd50069b'
"""

from __future__ import annotations

import json
import lzma
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from .._exceptions import TwiboxError

__all__ = ["OVERRIDE_ENV", "VENDORED", "commit", "load", "names"]

VENDORED = Path(__file__).with_name("twilio-oai")
OVERRIDE_ENV = "TWIBOX_TWILIO_OAI"
_SUFFIX = ".xz"


def _override() -> Path | None:
    root = os.environ.get(OVERRIDE_ENV)
    if not root:
        return None
    folder = Path(root) / "spec" / "json"
    if not folder.is_dir():
        raise TwiboxError(
            f"{OVERRIDE_ENV}={root!r} does not hold spec/json/: point it at a checkout of twilio/twilio-oai, "
            f"or unset it to use the specs vendored in twibox_nb."
        )
    return folder


def names() -> list[str]:
    """The spec files there are, such as ``"twilio_api_v2010.json"``, sorted."""
    folder = _override()
    if folder is not None:
        return sorted(p.name for p in folder.glob("*.json"))
    return sorted(p.name.removesuffix(_SUFFIX) for p in VENDORED.glob(f"*.json{_SUFFIX}"))


def load(name: str) -> dict[str, Any]:
    """One spec file, parsed (cached: never mutate what it returns).

    ``name`` is a file name from :func:`names`; an unknown one raises :class:`TwiboxError`.
    """
    return _load(name, os.environ.get(OVERRIDE_ENV) or "")


@cache
def _load(name: str, override: str) -> dict[str, Any]:
    # `override` is part of the cache key only, so that setting the variable is seen at once.
    if "/" in name or "\\" in name or name not in names():
        known = names()
        raise TwiboxError(f"No Twilio OpenAPI spec named {name!r}; there are {len(known)}, such as {known[0]}.")
    folder = _override()
    if folder is not None:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    with lzma.open(VENDORED / f"{name}{_SUFFIX}", "rt", encoding="utf-8") as handle:
        return json.load(handle)


def commit() -> str:
    """The twilio-oai commit the vendored specs come from, as ``SOURCE.md`` records it."""
    text = (VENDORED / "SOURCE.md").read_text(encoding="utf-8")
    match = re.search(r"\b([0-9a-f]{40})\b", text)
    if match is None:
        raise TwiboxError(f"{VENDORED / 'SOURCE.md'} names no commit.")
    return match.group(1)
