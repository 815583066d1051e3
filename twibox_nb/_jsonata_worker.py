"""The child process that evaluates user-written JSONata for ``twibox_nb._guard``.

Run as a script by the guard (the parent imports it only for :func:`describe`). It imports only
the standard library and jsonata-python, so it starts in about 0.1 s.

Protocol, one JSON document per line: the worker first says ``{"ready": true}`` (or
``{"error": description}`` and exits when jsonata-python cannot be imported); then the parent
writes ``{"expr": text, "body": page}`` on stdin and reads back ``{"result": value}`` or
``{"error": description}`` on stdout. The parent kills the process when an answer is late; a
fresh one starts for the next request.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# Compiled expressions by text: a metric evaluates the same expression on every page.
_CACHE_SIZE = 32


def describe(exc: BaseException) -> dict[str, Any]:
    """What the parent needs to know about an engine exception, as plain JSON.

    jsonata-python raises ``JException`` (``.error`` is the code, ``.location`` the offset, -1
    when unknown) for most errors and bare Python exceptions for about one in five; both are
    described here and turned into ``ExpressionError`` by ``twibox_nb.expression`` alone.
    """
    code = getattr(exc, "error", None)
    location = getattr(exc, "location", None)
    return {
        "type": type(exc).__name__,
        "code": code if isinstance(code, str) else None,
        "position": location if isinstance(location, int) and location >= 0 else None,
        "message": str(exc),
    }


class _NotJSON(TypeError):
    """A result holds something JSON cannot (a function, a regex)."""


def _refuse(value: Any) -> Any:
    raise _NotJSON(f"the expression returned a {type(value).__name__}, which is not JSON data")


def _answer(compiled: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    import jsonata

    text = request["expr"]
    expression = compiled.get(text)
    if expression is None:
        expression = jsonata.Jsonata(text)
        if len(compiled) >= _CACHE_SIZE:
            compiled.pop(next(iter(compiled)))
        compiled[text] = expression
    return {"result": expression.evaluate(request["body"])}


def main() -> None:
    channel = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the protocol channel
    try:
        import jsonata  # noqa: F401  (imported before "ready" so the parent's deadlines time evaluation only)
    except BaseException as exc:
        channel.write(json.dumps({"error": describe(exc)}).encode("utf-8") + b"\n")
        channel.flush()
        return
    channel.write(b'{"ready": true}\n')
    channel.flush()
    compiled: dict[str, Any] = {}
    for line in sys.stdin.buffer:
        try:
            answer = json.dumps(_answer(compiled, json.loads(line)), allow_nan=False, default=_refuse)
        except BaseException as exc:  # RecursionError and MemoryError included: report, keep serving
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            answer = json.dumps({"error": describe(exc)})
        channel.write(answer.encode("utf-8") + b"\n")
        channel.flush()


if __name__ == "__main__":
    main()
