"""The sandbox as an httpx transport: Twilio's read API in-process, no sockets.

>>> import httpx
>>> from twibox_nb.sandbox import Sandbox
>>> sandbox = Sandbox(seed=7)
>>> c = sandbox.credentials
>>> with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as client:
...     r = client.get(f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Balance.json")
>>> r.status_code, r.json()["currency"]
(200, 'USD')
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from .app import Reply, SandboxApp
from .faults import Decision, FaultInjector

_CUT = "peer closed connection without sending complete message body (sandbox fault: truncated)"


class _TruncatedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields the first part of a body, then fails the way a dropped connection does."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.RemoteProtocolError(_CUT)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data
        raise httpx.RemoteProtocolError(_CUT)


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers httpx requests from a :class:`SandboxApp`, with latency and faults injected.

    Works for both ``httpx.Client`` and ``httpx.AsyncClient``. Requests to any host are
    answered: Twilio host names pick the product, as on the real API.
    """

    def __init__(self, app: SandboxApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    def _answer(self, request: httpx.Request, decision: Decision) -> httpx.Response:
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"

        def answer() -> Reply:
            return self.app.handle(
                request.method,
                origin,
                url.path,
                url.query.decode("ascii"),
                request.headers.get("authorization"),
            )

        reply, cut_at = self.injector.reply(decision, answer)
        headers = {**reply.headers, "Content-Length": str(len(reply.body))}
        if cut_at is not None:
            return httpx.Response(
                reply.status, headers=headers, stream=_TruncatedStream(reply.body[:cut_at]), request=request
            )
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        decision = self.injector.admit()
        try:
            if decision.delay:
                time.sleep(decision.delay)
            return self._answer(request, decision)
        finally:
            self.injector.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        decision = self.injector.admit()
        try:
            if decision.delay:
                await asyncio.sleep(decision.delay)
            return self._answer(request, decision)
        finally:
            self.injector.release()
