"""The child process that evaluates user-written JSONata for ``twibox_nb.evaluate.guard``.

Run as a script by the guard (the parent imports it only for :func:`describe`). It imports only
the standard library and the JSONata engines: jsonata-python (always) and jlens, the fast engine
(when installed), so it starts in about 0.1 s.

Protocol, framed so that page bodies travel as the JSON text they already are: the worker first
says ``{"ready": true, "fast": bool}`` (or ``{"error": description}`` and exits when jsonata-python
cannot be imported). Then the parent writes a header line ``{"expr": text, "engine": "fast" |
"python", "limits": {…}, "size": n}`` followed by ``n`` bytes, the input's JSON text (UTF-8), and
reads back either a header line ``{"size": n}`` followed by ``n`` bytes, the result's JSON text
(``null`` for an undefined result), or one line ``{"error": description}``. The parent kills the
process when an answer is late; a fresh one starts for the next request.

The fast engine never turns the input into Python objects: jlens parses the text itself,
skipping the fields the expression does not read, and writes the result as JSON text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

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
    try:
        import jlens  # noqa: F401
    except BaseException:  # not installed, or broken: the parent falls back to jsonata-python
        fast = False
    else:
        fast = True
    channel.write(json.dumps({"ready": True, "fast": fast}).encode("utf-8") + b"\n")
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
        try:
            if header.get("engine") == "fast":
                result = _evaluate_fast(cache, header["expr"], payload, header.get("limits") or {})
            else:
                result = _evaluate_python(cache, header["expr"], payload)
            answer = json.dumps({"size": len(result)}).encode("utf-8") + b"\n" + result
        except BaseException as exc:  # RecursionError, MemoryError and Rust panics included: report, keep serving
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            answer = json.dumps({"error": describe(exc)}).encode("utf-8") + b"\n"
        channel.write(answer)
        channel.flush()


if __name__ == "__main__":
    main()
