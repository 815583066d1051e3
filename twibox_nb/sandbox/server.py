"""The sandbox as a real HTTP server on loopback, one port for every Twilio host.

Clients either send their requests to ``http://127.0.0.1:PORT`` with the Twilio host name in the
``Host`` header (absolute links then point at ``https://<that host>``, as on Twilio), or plainly
(links then point back at the sandbox). The paths the sandbox serves do not collide across
products, so a bare request is routed by its path.

Every response names the sandbox that gave it in an ``X-Twibox-Sandbox`` header (``seed=7,
scale=1``): a client caching closed windows asks it, so that another sandbox started later on the
same port is never served the first one's data.
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .app import SandboxApp
from .faults import FaultInjector

IDENTITY_HEADER = "X-Twibox-Sandbox"  # read by twibox_nb.fetch.connection (SANDBOX_IDENTITY_HEADER)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    server: LoopbackServer

    def _serve(self) -> None:
        injector = self.server.injector
        decision = injector.admit()
        try:
            if decision.delay:
                time.sleep(decision.delay)
            target = urlsplit(self.path)
            host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # drain a body we will not use, to keep the connection sane

            def answer():
                return self.server.app.handle(
                    self.command,
                    f"http://{host}",
                    target.path,
                    target.query,
                    self.headers.get("Authorization"),
                )

            reply, cut_at = injector.reply(decision, answer)
        finally:
            injector.release()
        self.send_response(reply.status)
        self.send_header(IDENTITY_HEADER, self.server.identity)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if cut_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut_at is not None:
            self.wfile.write(reply.body[:cut_at])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (the stdlib's name)
        if self.server.verbose:
            super().log_message(format, *args)


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server for the sandbox. Use as a context manager, or ``start``/``stop``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, app: SandboxApp, injector: FaultInjector, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        self.app = app
        self.injector = injector
        self.verbose = verbose
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def identity(self) -> str:
        """Which data this server answers with: ``"seed=7, scale=1"`` (the clock aside: it only
        decides which of today's records exist, and open windows are never cached)."""
        gen = self.app.account.gen
        return f"seed={gen.seed}, scale={gen.scale:g}"

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up (or a truncated-body fault) is not a server error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def start(self) -> LoopbackServer:
        """Serve in a background thread and return at once."""
        self._thread = threading.Thread(target=self.serve_forever, name="twibox-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
