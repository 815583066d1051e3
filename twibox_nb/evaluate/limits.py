"""The limits every custom expression runs under: the size of its text and the memory of its evaluation.

Both come from the environment, read at each use, so a notebook can change them at any time:

* ``TWIBOX_EXPRESSION_MAX_CHARS`` (default 20,000): a longer expression is refused at once, before
  any engine sees it. jsonata-python's parser takes time that grows faster than the text (a
  10,000-character path took 1.7 s to parse, a 1 MB literal 20 s and more); the metric
  expressions twibox_nb generates are about 100 characters, those of the library under 200.
* ``TWIBOX_EXPRESSION_MEMORY_MB`` (default 1024, or ``off``): how much memory one evaluation
  (or parse) may take in the worker process, above what the worker holds when it starts it, plus
  :data:`INPUT_FACTOR` times the input's JSON size (jsonata-python turns 1 MB of JSON into about
  8 MB of Python objects). It is the worker's address-space limit (``RLIMIT_AS``), so it holds on
  Linux, where the worker can see its own size; elsewhere only the time limit holds. jlens maps
  1 GiB for its allocator when it is imported and uses it first: on the fast engine the limit is
  never below about 1 GiB (+64 MiB), whatever is asked.

>>> check_size("$count(messages)")
>>> memory_allowance(0) == DEFAULT_MEMORY_MB << 20
True
"""

from __future__ import annotations

import os

from .._exceptions import ExpressionError

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MEMORY_MB",
    "INPUT_FACTOR",
    "MAX_CHARS_ENV",
    "MEMORY_ENV",
    "check_size",
    "max_chars",
    "memory_allowance",
    "memory_error",
    "memory_mb",
]

MAX_CHARS_ENV = "TWIBOX_EXPRESSION_MAX_CHARS"
MEMORY_ENV = "TWIBOX_EXPRESSION_MEMORY_MB"
DEFAULT_MAX_CHARS = 20_000
DEFAULT_MEMORY_MB = 1024
#: Bytes of memory allowed per byte of input JSON, on top of the allowance.
INPUT_FACTOR = 16


def _positive_int(name: str, default: int) -> int | None:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text == "off":
        return None
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ExpressionError(f"{name} must be a whole number above 0 (or off), not {text!r}", code="engine")
    return value


def max_chars() -> int | None:
    """The longest expression text accepted (``None``: no limit, ``TWIBOX_EXPRESSION_MAX_CHARS=off``)."""
    return _positive_int(MAX_CHARS_ENV, DEFAULT_MAX_CHARS)


def memory_mb() -> int | None:
    """The memory, in MB, one evaluation may take beyond its input's share (``None``: no limit)."""
    return _positive_int(MEMORY_ENV, DEFAULT_MEMORY_MB)


def check_size(text: str) -> None:
    """Refuse, at once, an expression longer than :func:`max_chars`, saying by how much and how to change it."""
    limit = max_chars()
    if limit is not None and len(text) > limit:
        raise ExpressionError(
            f"the expression is {len(text):,} characters long, over the limit of {limit:,}: parsing "
            "one that long could stall the notebook. Shorten it (a long literal belongs in the data, "
            f"not the expression), or raise the limit: os.environ[{MAX_CHARS_ENV!r}] = "
            f"'{max(2 * limit, len(text) + 1)}' (or 'off').",
            code="size",
        )


def memory_allowance(input_bytes: int) -> int | None:
    """Bytes one evaluation on ``input_bytes`` of JSON may take (``None``: no limit)."""
    megabytes = memory_mb()
    if megabytes is None:
        return None
    return (megabytes << 20) + INPUT_FACTOR * input_bytes


def memory_error(how: str = "") -> ExpressionError:
    """The error for an evaluation that ran out of its memory (``how``: what the worker saw)."""
    megabytes = memory_mb() or DEFAULT_MEMORY_MB
    detail = f" ({how})" if how else ""
    return ExpressionError(
        f"the expression ran out of memory: it needed more than its limit of {megabytes:,} MB (plus "
        f"{INPUT_FACTOR} times the size of its input){detail} and was stopped. A huge range such as "
        "[1..10000000], a padded or repeated text, a product of lists? To allow more: "
        f"os.environ[{MEMORY_ENV!r}] = '{2 * megabytes}' (or 'off').",
        code="memory",
    )
