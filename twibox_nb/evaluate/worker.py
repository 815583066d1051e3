"""The child process that evaluates user-written JSONata for ``twibox_nb.evaluate.guard``.

Run as a script by the guard (the parent imports it only for :func:`describe`). It imports only
the standard library and the JSONata engines: jsonata-python (always) and jlens, the fast engine
(when installed), so it starts in about 0.1 s.

Protocol, framed so that page bodies travel as the JSON text they already are: the worker first
says ``{"ready": true, "fast": bool, "memory": bool}`` (``memory``: whether it can limit its own
memory) (or ``{"error": description}`` and exits when jsonata-python
cannot be imported). Then the parent writes a header line ``{"expr": text, "engine": "fast" |
"python", "limits": {…}, "memory": bytes | null, "check": bool, "size": n}`` followed by ``n``
bytes, the input's JSON text (UTF-8), and
reads back either a header line ``{"size": n}`` followed by ``n`` bytes, the result's JSON text
(``null`` for an undefined result), or one line ``{"error": description}``. The parent kills the
process when an answer is late; a fresh one starts for the next request. ``check`` asks only to
compile the expression (its syntax check, under the same deadline: jsonata-python's parser can take
seconds); the result is then ``true``.

``memory`` bounds the request: the worker lowers its address-space limit (``RLIMIT_AS``) to its
size now plus that many bytes while it compiles and evaluates, and lifts it again before it
answers. Past it, jsonata-python raises ``MemoryError`` (answered as usual; the parent then
replaces the worker) and jlens aborts the process (the parent sees ``SIGABRT``).

The fast engine never turns the input into Python objects: jlens parses the text itself,
skipping the fields the expression does not read, and writes the result as JSON text.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

try:
    import resource
except ImportError:  # Windows: no address-space limit, only the parent's deadline
    resource = None  # type: ignore[assignment]

# Compiled expressions by (engine, text): a metric evaluates the same expression on every page.
_CACHE_SIZE = 32


def describe(exc: BaseException) -> dict[str, Any]:
    """What the parent needs to know about an engine exception, as plain JSON.

    jsonata-python raises ``JException`` (``.error`` is the code, ``.location`` the offset, -1
    when unknown) for most errors and bare Python exceptions for about one in five; jlens raises
    ``JlensError`` (``.code``, ``.position``) for every JSONata error. All are described here and
    turned into ``ExpressionError`` by ``twibox_nb.evaluate.custom`` alone.
    """
    kind = type(exc).__name__
    if kind == "JlensError":
        code, location = getattr(exc, "code", None), getattr(exc, "position", None)
    else:
        code, location = getattr(exc, "error", None), getattr(exc, "location", None)
    return {
        "type": kind,
        "code": code if isinstance(code, str) else None,
        "position": location if isinstance(location, int) and location >= 0 else None,
        "message": str(exc),
    }


class _NotJSON(TypeError):
    """A result holds something JSON cannot (a function, a regex)."""


class _BadInput(ValueError):
    """The input text is not JSON (told apart from the engines' own ValueErrors)."""


def _refuse(value: Any) -> Any:
    raise _NotJSON(f"the expression returned a {type(value).__name__}, which is not JSON data")


def _compiled(cache: dict[tuple[str, str], Any], engine: str, text: str) -> Any:
    key = (engine, text)
    expression = cache.get(key)
    if expression is None:
        if engine == "fast":
            import jlens

            expression = jlens.Expression(text)
        else:
            import jsonata

            expression = jsonata.Jsonata(text)
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = expression
    return expression


def _evaluate_fast(cache: dict[tuple[str, str], Any], text: str, payload: bytes, limits: dict[str, Any]) -> bytes:
    try:
        document = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadInput(f"the input is not UTF-8 text: {exc}") from None
    try:
        out = _compiled(cache, "fast", text).evaluate_json(document, **limits)
    except ValueError as exc:  # jlens's own errors are JlensError; a ValueError is the input's JSON
        if type(exc).__name__ == "JlensError":
            raise
        raise _BadInput(str(exc)) from None
    if out is None:
        # Undefined. jlens also writes a function (or a regex) as undefined, where jsonata-python's
        # result cannot be written as JSON at all: ask for the type to tell the two apart.
        try:
            kind = _compiled(cache, "fast", f"$type(({text}\n))").evaluate_json(document, **limits)
        except Exception:  # any doubt: the result stays undefined
            kind = None
        if kind == '"function"':
            raise _NotJSON("the expression returned a function, which is not JSON data")
        return b"null"
    return out.encode("utf-8")


def _evaluate_python(cache: dict[tuple[str, str], Any], text: str, payload: bytes) -> bytes:
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise _BadInput(f"the input is not JSON: {exc}") from None
    result = _compiled(cache, "python", text).evaluate(body)
    return json.dumps(result, allow_nan=False, default=_refuse, ensure_ascii=False).encode("utf-8")


def _size_now() -> int | None:
    """The process's virtual size in bytes (what ``RLIMIT_AS`` counts), or None where it cannot be seen."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class _MemoryLimit:
    """Lowers the address-space limit for one request and lifts it again (never above the hard limit)."""

    def __init__(self, reserved: int = 0) -> None:
        # jlens maps 1 GiB for its allocator when imported and allocates from it first, without
        # growing the process: its requests get that much less new room (at least 64 MiB).
        self.reserved = reserved if reserved > 256 << 20 else 0
        self.hard = None
        if resource is not None and _size_now() is not None:
            try:
                # An engine that aborts when an allocation fails must not first write a core
                # file of its whole heap (seconds, and disk).
                resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
                self.hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            except (OSError, ValueError):
                self.hard = None

    @property
    def available(self) -> bool:
        return self.hard is not None

    def set(self, allowance: Any, engine: str) -> None:
        if self.hard is None or not isinstance(allowance, int) or allowance <= 0:
            return
        size = _size_now()
        if size is None:
            return
        soft = size + (max(allowance - self.reserved, 64 << 20) if engine == "fast" else allowance)
        if self.hard != resource.RLIM_INFINITY:
            soft = min(soft, self.hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, self.hard))

    def lift(self) -> None:
        if self.hard is not None:
            resource.setrlimit(resource.RLIMIT_AS, (self.hard, self.hard))


def _read_request(stream: Any) -> tuple[dict[str, Any], bytes] | None:
    header = stream.readline()
    if not header:
        return None
    request = json.loads(header)
    payload = stream.read(request["size"])
    if len(payload) != request["size"]:
        return None
    return request, payload


def main() -> None:
    channel = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the protocol channel
    try:
        import jsonata  # noqa: F401  (imported before "ready" so the parent's deadlines time evaluation only)
    except BaseException as exc:
        channel.write(json.dumps({"error": describe(exc)}).encode("utf-8") + b"\n")
        channel.flush()
        return
    before = _size_now() or 0
    try:
        import jlens  # noqa: F401
    except BaseException:  # not installed, or broken: the parent falls back to jsonata-python
        fast = False
    else:
        fast = True
    limit = _MemoryLimit(reserved=(_size_now() or 0) - before if fast else 0)
    channel.write(json.dumps({"ready": True, "fast": fast, "memory": limit.available}).encode("utf-8") + b"\n")
    channel.flush()
    cache: dict[tuple[str, str], Any] = {}
    stdin = sys.stdin.buffer
    while True:
        try:
            request = _read_request(stdin)
        except ValueError:  # a broken header: the parent and the worker no longer agree
            return
        if request is None:
            return
        header, payload = request
        engine = "fast" if header.get("engine") == "fast" else "python"
        try:
            limit.set(header.get("memory"), engine)
            try:
                if header.get("check"):
                    _compiled(cache, engine, header["expr"])
                    result = b"true"
                elif engine == "fast":
                    result = _evaluate_fast(cache, header["expr"], payload, header.get("limits") or {})
                else:
                    result = _evaluate_python(cache, header["expr"], payload)
            finally:
                limit.lift()
            answer = json.dumps({"size": len(result)}).encode("utf-8") + b"\n" + result
        except BaseException as exc:  # RecursionError, MemoryError and Rust panics included: report, keep serving
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            exc.__traceback__ = None  # frames holding what ran out of memory go now, not with the next error
            answer = json.dumps({"error": describe(exc)}).encode("utf-8") + b"\n"
        channel.write(answer)
        channel.flush()


if __name__ == "__main__":
    main()
