"""Which JSONata engine runs a user's custom expression, and running it under the guard.

Two engines, one protocol (``twibox_nb.evaluate.guard``: a worker process killed when late):

* **fast**: jlens, a JSONata engine written in Rust (``pip install 'twibox-nb[fast]'``), about
  40x faster than jsonata-python on a page of Twilio records and faster still on the raw JSON
  text of a page, which it parses itself, skipping the fields the expression does not read. Its
  own limits (a deadline, sizes of strings, arrays and results) end runaways with a clean error;
  the worker's watchdog remains for the built-ins that never look at the deadline (``$distinct``,
  ``$keys`` and ``$zip`` on large arrays run for minutes). So an expression runs on it in this
  process only when it defines no function and calls only built-ins known to respect the deadline
  (:data:`IN_PROCESS_FUNCTIONS`: ``$number``, ``$sum``, ``$substring`` …, the usual metric
  projections); any other runs in the worker.
* **python**: jsonata-python, a dependency, always there.

The fast engine is used when it is installed. A JSONata error from it (a T-code, a syntax error,
a limit) is the answer: it never falls back. Only an internal failure (a Rust panic, an exception
that is not a ``JlensError``, a worker that could not import it or died) falls back to
jsonata-python, with a logged warning, for that expression from then on.

``TWIBOX_JSONATA_ENGINE=python`` or ``=fast`` forces an engine (tests, debugging); ``auto`` or
unset chooses. Without the fast engine, the first evaluation in a process warns once
(:class:`SlowEngineWarning`) why it is slow and what to install, and a long evaluation shows its
elapsed time (see :func:`evaluate`).

>>> selected_engine() in ("fast", "python")
True
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .._exceptions import TwiboxWarning

__all__ = [
    "ENGINE_ENV",
    "FAST",
    "FAST_LIMITS",
    "IN_PROCESS_FUNCTIONS",
    "IN_PROCESS_BUDGET",
    "PAGE_BYTES",
    "PYTHON",
    "SLOW_MESSAGE",
    "SlowEngineWarning",
    "check_syntax",
    "evaluate",
    "fast_engine_available",
    "runs_in_process",
    "selected_engine",
]

log = logging.getLogger(__name__)

FAST = "fast"
PYTHON = "python"
#: The environment variable that forces an engine: ``fast``, ``python`` or ``auto`` (the default).
ENGINE_ENV = "TWIBOX_JSONATA_ENGINE"

SLOW_MESSAGE = (
    "custom JSONata expression evaluated with jsonata-python (~80 ms per 1000 records); "
    "pip install 'twibox-nb[fast]' for ~20× faster"
)

#: The size of input one ``timeout`` covers: about one page of 1000 Twilio messages. A larger
#: body (a whole 100,000-record body evaluated at once) gets proportionally more time, so that the
#: deadline stops runaways rather than big inputs.
PAGE_BYTES = 1 << 20

#: The fast engine's own limits, besides its deadline (``timeout``, set per evaluation). Beyond
#: them jlens stops with a ``U1001`` error (ExpressionError code ``"limit"``) long before memory
#: runs out: 64 MiB strings, arrays of 16.7 million items (a JSONata range holds at most 10
#: million), 64 MiB of result JSON (100,000 rows take about 9 MB).
FAST_LIMITS: dict[str, int] = {
    "max_string_length": 1 << 26,
    "max_array_length": 1 << 24,
    "max_result_size": 1 << 26,
}

#: Built-ins whose work is bounded by their input and the limits above, which stop at the fast
#: engine's deadline (checked here against runaways: see tests/evaluate/test_engines.py) and whose
#: result is never larger than their arguments (or a number, or a short text). Left out on
#: purpose: $distinct, $keys, $zip, $sort, $reverse, $shuffle, $spread, $each, $sift, $map,
#: $filter, $reduce, $single (slow on large arrays, or calling functions), $pad, $join, $append,
#: $split (results larger than their arguments: $pad("x", 1e7) on each record of a page is 10 GB)
#: and everything else not listed.
IN_PROCESS_FUNCTIONS = frozenset(
    """number string substring substringBefore substringAfter uppercase lowercase trim length
    contains round floor ceil abs sqrt sum count max min average exists boolean not type toMillis
    fromMillis now millis formatNumber lookup""".split()
)
#: In this process, an expression's length times its input's size (bytes of JSON; a parsed body
#: counts 1 KB a record) stays below this: each character can make at most about one copy of the
#: input (a field read twice is converted twice, a $substring copies), so that is the most memory
#: an in-process evaluation can take. A 100-character projection of a page of 1000 records (1 MB)
#: is 100 M; the same over a whole 100,000-record body goes to the worker.
IN_PROCESS_BUDGET = 1 << 28
_DOLLAR_NAME = re.compile(r"\$(\w*)")
# Anywhere in the text, string literals included (the check errs towards the worker): a function
# definition (recursion), an assignment (a variable can double a text each time it is used), a
# range (10 million items from 12 characters), the parent (%), and text concatenation (&).
_NOT_IN_PROCESS = re.compile(r"\bfunction\b|λ|:=|\.\.|%|&")


def runs_in_process(text: str) -> bool:
    """Whether the fast engine may evaluate ``text`` in this process (no worker round trip).

    Only where time and memory are bounded by construction, since nothing here can stop an
    allocation: the deadline stops long work, and each character of the expression can take at
    most about one copy of the input (:data:`IN_PROCESS_BUDGET` bounds the product). That holds
    for an expression that only walks down its input (no ``$``, ``$$`` or ``%`` to reach back to
    the whole input from each record, which squares it), builds no text (``&``), no range
    (``..``), no variable (``:=``, whose value can be used twice) and no function, and calls
    only :data:`IN_PROCESS_FUNCTIONS`. Anything else runs in the worker, under its memory limit.

    >>> runs_in_process('messages.{"value": price ? $number(price) : null, "dimension": status}')
    True
    >>> runs_in_process("$distinct(messages.status)"), runs_in_process("($f := function(){$f()}; $f())")
    (False, False)
    >>> runs_in_process("$count([1..6].[[1..10000000]])"), runs_in_process('$pad("x", 1000000000)')
    (False, False)
    """
    if _NOT_IN_PROCESS.search(text):
        return False
    return all(name in IN_PROCESS_FUNCTIONS for name in _DOLLAR_NAME.findall(text))


def _items(body: Any) -> int:
    """About how many records a parsed body holds (its longest list), for the size-scaled deadline."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        return max((len(v) for v in body.values() if isinstance(v, list)), default=0)
    return 0


def _evaluate_here(text: str, body: Any, raw: str | bytes | None, deadline: float) -> dict[str, Any]:
    """The fast engine in this process: ``{"result": …}`` or ``{"error": description}``.

    jlens reads a Python body lazily (only what the expression reaches), so nothing is copied; raw
    JSON text it parses itself, skipping the fields the expression does not read.
    """
    import jlens

    def run(expression: Any) -> Any:
        if raw is None:
            return expression.evaluate(body, **FAST_LIMITS, timeout=deadline)
        out = expression.evaluate_json(document, **FAST_LIMITS, timeout=deadline)
        return None if out is None else json.loads(out)

    try:
        document = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        return {"error": {"type": "input", "code": None, "position": None, "message": f"not UTF-8 text: {exc}"}}
    try:
        out = run(_compiled_here(text))
        # Undefined, or a function (jlens writes one as undefined, where jsonata-python's result
        # is not JSON data): ask for the type to tell the two apart, as the worker does.
        if out is None and run(_compiled_here(f"$type(({text}\n))")) == "function":
            return {"error": {"type": "_NotJSON", "code": None, "position": None,
                              "message": "the expression returned a function, which is not JSON data"}}  # fmt: skip
        return {"result": out}
    except jlens.JlensError as exc:
        if getattr(exc, "code", None) == "U1004":  # a field it read is not JSON data (an object, a set …)
            return {"error": {"type": "input", "code": None, "position": None, "message": str(exc)}}
        return {"error": _describe(exc)}
    except ValueError as exc:  # raw text that is not JSON (jlens's own errors are JlensError, above)
        return {"error": {"type": "input", "code": None, "position": None, "message": str(exc)}}
    except BaseException as exc:  # not a JSONata error (a Rust panic is a BaseException): the caller falls back
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return {"error": _describe(exc)}


@lru_cache(maxsize=64)
def _compiled_here(text: str) -> Any:
    """``text`` compiled by the fast engine, once per expression (a metric evaluates it on every page)."""
    import jlens

    return jlens.Expression(text)


# The watchdog kills the worker a little after the fast engine's own deadline, so that a runaway
# it can stop ends with its clean D1012 error and the worker lives on.
_GRACE = 0.5

# After this long, an evaluation shows its elapsed time (see evaluate's ``progress``).
_PROGRESS_AFTER = 2.0


class SlowEngineWarning(TwiboxWarning):
    """Custom expressions run on jsonata-python because the fast engine is not installed (or is forced off)."""


_told = threading.Event()  # set once the slow-engine warning was given in this process
_told_lock = threading.Lock()
_fast_failed: set[str] = set()  # expressions the fast engine failed on internally: jsonata-python runs them


def fast_engine_available() -> bool:
    """True when the fast engine (jlens) can be imported in this Python."""
    try:
        import jlens  # noqa: F401
    except Exception:  # not installed, or a broken build: either way, not available
        return False
    return True


def selected_engine() -> str:
    """``"fast"`` or ``"python"``: the fast engine when installed, unless ``TWIBOX_JSONATA_ENGINE`` says.

    ``TWIBOX_JSONATA_ENGINE=fast`` without the fast engine installed raises ``ExpressionError``
    (code ``"engine"``), as does a value other than ``fast``, ``python`` or ``auto``.
    """
    from .._exceptions import ExpressionError

    forced = os.environ.get(ENGINE_ENV, "").strip().lower()
    if forced in ("", "auto"):
        return FAST if fast_engine_available() else PYTHON
    if forced == PYTHON:
        return PYTHON
    if forced == FAST:
        if not fast_engine_available():
            raise ExpressionError(
                f"{ENGINE_ENV}=fast, but the fast engine (jlens) is not installed: pip install 'twibox-nb[fast]'",
                code="engine",
            )
        return FAST
    raise ExpressionError(f"{ENGINE_ENV} must be fast, python or auto, not {forced!r}", code="engine")


def _tell_once() -> None:
    with _told_lock:
        if _told.is_set():
            return
        _told.set()
    warnings.warn(SLOW_MESSAGE, SlowEngineWarning, stacklevel=4)


def _describe(exc: BaseException) -> dict[str, Any]:
    from .worker import describe

    return describe(exc)


def _internal(description: dict[str, Any]) -> bool:
    """Whether a fast-engine failure is the engine's own fault (fall back), not the expression's."""
    kind = description.get("type")
    if kind in ("timeout", "memory", "input", "_NotJSON", "_BadInput"):
        return False
    return not (kind == "JlensError" and description.get("code"))


def check_syntax(text: str, engine: str, timeout: float) -> tuple[str, dict[str, Any] | None]:
    """Compile ``text`` on ``engine``: ``(engine, None)``, or ``(engine, error description)``.

    jlens compiles in this process: its parser is linear and refuses expressions nested over 1000
    levels (a 1 MB literal in 10-75 ms; ``twibox_nb.evaluate.limits`` caps the text far below).
    jsonata-python's parser is not (a 10,000-character path took 1.7 s, a 1 MB literal over 20 s),
    so it compiles in the worker, under ``timeout`` and the memory limit; the worker keeps the
    compiled expression for the evaluations that follow. An internal failure of the fast engine
    moves the expression to jsonata-python: the engine returned is the one that will run it.
    """
    if engine == FAST:
        try:
            import jlens

            jlens.Expression(text)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            description = _describe(exc)
            if not _internal(description):
                return FAST, description
            _fall_back(text, description)
        else:
            return FAST, None
    from .guard import evaluate_guarded
    from .limits import memory_allowance

    answer = evaluate_guarded(text, b"", timeout, engine=PYTHON, memory=memory_allowance(0), check=True)
    if "error" in answer:
        return PYTHON, {**answer["error"], "stage": "parse"}
    return PYTHON, None


def _fall_back(text: str, description: dict[str, Any]) -> None:
    if text not in _fast_failed:
        _fast_failed.add(text)
        log.warning(
            "the fast JSONata engine failed internally (%s: %s); evaluating this expression with "
            "jsonata-python instead: %s",
            description.get("type"),
            (description.get("message") or "")[:200],
            text[:200],
        )


@lru_cache(maxsize=64)
def _read_of(text: str) -> Any:
    """What ``text`` reads of its input (jlens's analysis): ``True`` (all), a dict of fields, or None (nothing)."""
    return _compiled_here(text).reads().get("input")


def _prune(value: Any, read: Any) -> Any:
    """``value`` cut down to what ``read`` lists (jlens's ``Read``: an input cut down so gives the same result)."""
    if read is True:
        return value
    if type(value) is dict:
        return {
            key: value[key] if sub is True else _prune(value[key], sub) for key, sub in read.items() if key in value
        }
    if type(value) is list:
        if read and all(sub is True for sub in read.values()):  # records cut to a few fields: the usual page
            keys = tuple(read)
            return [
                {key: item[key] for key in keys if key in item} if type(item) is dict else _prune(item, read)
                for item in value
            ]
        return [_prune(item, read) for item in value]
    return value


def _payload(text: str, engine: str, body: Any, raw: str | bytes | None) -> bytes:
    """The input as JSON text for the worker (``TypeError``/``ValueError`` when ``body`` is not JSON data)."""
    if raw is not None:
        return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if engine == FAST:
        try:
            read = _read_of(text)
        except Exception:  # the analysis failed (it never should): send the whole body
            read = True
        # An expression that reads nothing still has its body checked as JSON data, as on jsonata-python.
        if read is not None and read is not True:
            body = _prune(body, read)
    return json.dumps(body, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _show_progress(engine: str, size: int) -> Callable[[float], None]:
    """The default progress display: a tqdm line with the elapsed time, drawn at the first tick."""
    bar: Any = None
    what = f"custom expression on {size / 1e6:.1f} MB of JSON with "
    if engine == PYTHON:
        seconds = size / PAGE_BYTES * 0.08
        what += f"jsonata-python (about {seconds:.0f} s; pip install 'twibox-nb[fast]' for ~20× faster)"
    else:
        what += "jlens"

    def show(elapsed: float) -> None:
        nonlocal bar
        if elapsed < 0:  # the evaluation ended
            if bar is not None:
                bar.close()
            return
        if bar is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=None, bar_format="{desc}", leave=False)
        bar.set_description_str(f"{what}: {elapsed:.0f} s elapsed")

    return show


def _run(
    text: str, payload: bytes, engine: str, deadline: float, progress: Callable[[float], None] | None
) -> dict[str, Any]:
    from .guard import evaluate_guarded
    from .limits import memory_allowance

    limits = {**FAST_LIMITS, "timeout": deadline} if engine == FAST else None
    watchdog = deadline + _GRACE if engine == FAST else deadline
    memory = memory_allowance(len(payload))
    if progress is None:
        return evaluate_guarded(text, payload, watchdog, engine=engine, limits=limits, memory=memory)
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        wait = _PROGRESS_AFTER
        while not done.wait(wait):
            progress(time.monotonic() - started)
            wait = 0.5

    ticker = threading.Thread(target=tick, name="twibox-expression-progress", daemon=True)
    ticker.start()
    try:
        return evaluate_guarded(text, payload, watchdog, engine=engine, limits=limits, memory=memory)
    finally:
        done.set()
        ticker.join()


def evaluate(
    text: str,
    body: Any = None,
    *,
    raw: str | bytes | None = None,
    timeout: float,
    engine: str | None = None,
    progress: bool | Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``text`` on a body: ``{"result": value}`` or ``{"error": description}``.

    The body is ``body`` (parsed JSON data) or ``raw``, its JSON text as it arrived (``str`` or
    UTF-8 ``bytes``), which is faster on every engine: nothing is serialised, and the fast engine
    parses only the fields the expression reads. With ``raw``, ``body`` is not looked at.

    ``timeout`` is the seconds allowed per :data:`PAGE_BYTES` of input (at least ``timeout``).
    ``engine`` defaults to :func:`selected_engine`. ``progress``: ``None`` shows a line with the
    elapsed time when an evaluation takes over 2 s on jsonata-python (a large body; one
    evaluation cannot report how far it is); ``False`` never; ``True`` on any engine; a callable
    is called with the elapsed seconds every half second after the first 2 s.

    Descriptions are those of ``twibox_nb.evaluate.worker.describe`` plus the guard's
    ``timeout``, ``crash`` and ``input``; ``twibox_nb.evaluate.custom.engine_error`` turns them into
    ``ExpressionError``.
    """
    engine = engine or selected_engine()
    if text in _fast_failed:  # the fast engine failed on it internally (logged then): not the user's choice
        engine = PYTHON
    elif engine == PYTHON:
        _tell_once()
    pages = len(raw) / PAGE_BYTES if raw is not None else _items(body) / 1000  # about 1 KB a record
    if engine == FAST and len(text) * pages * PAGE_BYTES <= IN_PROCESS_BUDGET and runs_in_process(text):
        answer = _evaluate_here(text, body, raw, timeout * max(1.0, pages))
        if "error" not in answer or not _internal(answer["error"]):
            return answer
        _fall_back(text, answer["error"])
        engine = PYTHON
    try:
        payload = _payload(text, engine, body, raw)
    except (TypeError, ValueError, RecursionError) as exc:  # the body itself is not JSON data
        return {"error": {"type": "input", "code": None, "position": None, "message": str(exc)}}
    deadline = timeout * max(1.0, len(payload) / PAGE_BYTES)
    display = None
    if callable(progress):
        display = progress
    elif progress or (progress is None and engine == PYTHON):
        display = _show_progress(engine, len(payload))  # drawn only once an evaluation has taken 2 s
    try:
        answer = _run(text, payload, engine, deadline, display)
        if engine == FAST and "error" in answer and _internal(answer["error"]):
            _fall_back(text, answer["error"])
            if raw is None:
                payload = _payload(text, PYTHON, body, None)  # the whole body, not the fast engine's cut
            answer = _run(text, payload, PYTHON, timeout * max(1.0, len(payload) / PAGE_BYTES), display)
    finally:
        if display is not None and not callable(progress):
            display(-1.0)
    return answer
