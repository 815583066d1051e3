"""Custom expressions: JSONata a user wrote, checked, run under the guard, its errors with code and position.

An expression runs on the fast engine (jlens, ``pip install 'twibox-nb[fast]'``) or on
jsonata-python, in a worker process that is killed when an evaluation runs past its timeout (see
``twibox_nb.evaluate.engines`` and ``twibox_nb.evaluate.guard``); :func:`engine_error` is the one
place where either engine's failures become ``ExpressionError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._exceptions import ExpressionError
from .limits import check_size, memory_error
from .rows import _SHAPE_HELP, Row, rows_from_result

__all__ = [
    "DEFAULT_TIMEOUT",
    "CustomExpression",
    "custom_expression",
    "engine_error",
]

#: Seconds one evaluation of a page (up to 1 MiB of JSON, about 1000 Twilio records; a larger
#: body gets proportionally more) may take before it is stopped.
DEFAULT_TIMEOUT = 5.0

_CODE = re.compile(r"[A-Z][0-9]{4}")

# jsonata-python raises some errors as bare Python exceptions: (type, message fragment, JSONata's
# code and words for the same error).
_BARE_ERRORS: tuple[tuple[str, str, str, str], ...] = (
    ("ValueError", "could not convert string to float", "D3030", "Unable to cast value to a number"),
    ("ValueError", "Invalid isoformat string", "D3110", "$toMillis needs an ISO 8601 timestamp"),
    ("ZeroDivisionError", "", "D1001", "Number out of range (a division by zero)"),
    ("OverflowError", "", "D1001", "Number out of range"),
    ("TypeError", "not supported between instances", "D3070", "$sort needs all strings or all numbers"),
)

_HINTS = {
    "T0410": " Twilio sends null for values it does not know yet (a price): $number(null) fails, so "
    "guard it, e.g. ($type(price) = 'string' ? $number(price) : null).",
    "D3030": " $number() accepts only numeric text: test the text first, e.g. "
    "$contains(x, /^-?[0-9]+(\\.[0-9]+)?$/) ? $number(x) : null.",
}


def _with_hint(message: str, code: str) -> str:
    hint = _HINTS.get(code)
    return f"{message.rstrip('.')}.{hint}" if hint else message


def _code_of_message(message: str) -> str | None:
    """jsonata-python sometimes puts the message where the code belongs: find the code by text."""
    try:
        from jsonata.jexception import JException
    except ImportError:  # pragma: no cover - jsonata-python is a dependency
        return None
    for code, template in JException.error_codes.items():
        if "{" not in template and template.replace("Object", "function") == message:
            return code
    return None


# jlens quotes the tokens of its syntax errors (Expected "}", got "c") and writes numbers as floats
# (got 1.0), where jsonata-python, and the messages users have seen so far, do not.
_JLENS_QUOTED = re.compile(r'(Expected |got |The symbol )"((?:[^"\\]|\\.)*)"')
_JLENS_WHOLE = re.compile(r"(got |Syntax error: )(-?[0-9]+)\.0\b")


def engine_error(description: dict[str, Any]) -> ExpressionError:
    """The one place where engine failures become ``ExpressionError(message, code, position)``.

    ``description`` comes from ``twibox_nb.evaluate.worker.describe`` (an exception raised by
    jsonata-python or jlens, in the worker or while compiling here) or from the guard
    (``timeout``, ``crash``) or ``twibox_nb.evaluate.engines`` (``input``: the body is not JSON data).
    The fast engine's own deadline (D1012) is a ``timeout`` too, its stack limit the same D1011
    as jsonata-python's, and its size limits (U1001, U1006) are code ``"limit"``.
    """
    kind, code, position = description.get("type"), description.get("code"), description.get("position")
    # jsonata-python's messages come from a Java port that wrote "Object" where JSONata says "function".
    message = re.sub(r"\bObject\b", "function", description.get("message") or "")
    message = message.replace("Argument None of function None", "An argument of a function")
    if kind == "timeout" and description.get("stage") == "parse":
        return ExpressionError(
            "the expression took too long to parse and was stopped: shorten it (a long literal "
            "belongs in the data), or give it more time with the metric's expression timeout",
            code="timeout",
        )
    if kind == "timeout" or (kind == "JlensError" and code == "D1012"):
        return ExpressionError(
            "the expression ran too long and was stopped (an endless loop or recursion?)", code="timeout"
        )
    if kind in {"memory", "MemoryError"}:
        return memory_error(description.get("message") or "")
    if kind == "crash":
        return ExpressionError(message, code="crash")
    if kind in {"input", "_BadInput"}:
        return ExpressionError(f"the page body is not JSON data: {message}", code="input")
    if kind == "JlensError" and code is not None and code.startswith("U"):
        return ExpressionError(
            f"{message}: the expression was stopped by a safety limit of the JSONata engine "
            "(an endless loop, or a result far larger than a metric needs?)",
            code="limit",
            position=position,
        )
    if kind == "RecursionError" or (kind == "JlensError" and code == "D1011"):
        return ExpressionError(
            "Stack overflow: the expression recursed too deeply. Check for a recursive function that "
            "never ends, or rewrite it as tail-recursive.",
            code="D1011",
            position=position,
        )
    if kind == "_NotJSON" or (kind == "ValueError" and "JSON compliant" in message):
        return ExpressionError(f"{message}. {_SHAPE_HELP}", code="shape")
    if kind == "JlensError" and code is not None and _CODE.fullmatch(code):
        if code.startswith("S0"):  # syntax errors in the same words on both engines: Expected } before …
            message = _JLENS_QUOTED.sub(r"\1\2", message)
            message = _JLENS_WHOLE.sub(r"\1\2", message)
        return ExpressionError(_with_hint(message, code), code=code, position=position)
    if kind == "JException":
        if code is None or not _CODE.fullmatch(code):
            # Some errors carry their message where the code belongs (and a meaningless location).
            message = re.sub(r"\bObject\b", "function", code or message)
            code, position = _code_of_message(message) or "engine", None
        return ExpressionError(_with_hint(message, code), code=code, position=position)
    for bare_kind, fragment, bare_code, words in _BARE_ERRORS:
        if kind == bare_kind and fragment in message:
            text = _with_hint(f"{words} ({kind}: {message})", bare_code)
            return ExpressionError(text, code=bare_code, position=position)
    # Anything else is a failure jsonata-python did not name: say so, with Python's own words.
    return ExpressionError(f"the JSONata engine failed without an error code: {kind}: {message}", code="engine")


@dataclass(frozen=True)
class CustomExpression:
    """A user-written JSONata expression, compiled (its syntax checked) and run under a guard.

    ``engine`` is ``"fast"`` (jlens) or ``"python"`` (jsonata-python): see ``twibox_nb.evaluate.engines``.
    ``dated``: the metric's date is a record field, so every row needs one (a single number,
    which has no date, is refused instead of silently dropped).
    """

    text: str
    timeout: float = DEFAULT_TIMEOUT
    engine: str | None = None
    dated: bool = False

    def evaluate(
        self,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        progress: bool | Callable[[float], None] | None = None,
    ) -> list[Row]:
        """The rows of one page body; ``ExpressionError`` on any failure, timeouts included.

        Pass the body parsed (``body``) or as the JSON text it arrived as (``raw``, ``str`` or
        UTF-8 ``bytes``: faster, nothing is serialised and the fast engine parses only the fields
        the expression reads). The evaluation runs in a worker process that is killed after
        ``timeout`` seconds per MiB of input (about a page of 1000 Twilio records); the next
        evaluation starts a fresh one (~0.1 s). ``progress``: see ``twibox_nb.evaluate.engines.evaluate``.
        """
        from .engines import evaluate

        answer = evaluate(self.text, body, raw=raw, timeout=self.timeout, engine=self.engine, progress=progress)
        if "error" in answer:
            raise engine_error(answer["error"])
        return rows_from_result(answer["result"], dated=self.dated)


def custom_expression(text: str, *, timeout: float = DEFAULT_TIMEOUT, dated: bool = False) -> CustomExpression:
    """Check a user's JSONata and return it ready to evaluate page by page.

    Syntax errors raise ``ExpressionError`` at once, with JSONata's code and position; so does an
    expression longer than ``TWIBOX_EXPRESSION_MAX_CHARS`` (code ``"size"``; see
    ``twibox_nb.evaluate.limits``). jsonata-python parses it in the guarded worker, under
    ``timeout``. The engine is the fast one when installed (``TWIBOX_JSONATA_ENGINE`` forces one;
    see ``twibox_nb.evaluate.engines``). ``dated``: see :class:`CustomExpression`.

    >>> custom_expression('$sum(price) +')
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.ExpressionError: S0207: Unexpected end of expression at position 13
    """
    from .engines import check_syntax, selected_engine

    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", code="S0207")
    if not timeout > 0:
        raise ExpressionError(f"timeout must be a positive number of seconds, got {timeout!r}", code="timeout")
    check_size(text)  # before any parser sees it
    engine, error = check_syntax(text, selected_engine(), float(timeout))
    if error is not None:
        raise engine_error(error)
    return CustomExpression(text=text, timeout=float(timeout), engine=engine, dated=dated)
