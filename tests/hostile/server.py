"""A hostile loopback HTTP/1.1 server: each test writes the raw bytes of every answer itself.

Usage::

    from twibox_nb.fetch.connection import LoopbackTransport, connect
    from .server import Exchange, serve

    def endless(ex: Exchange) -> None:
        ex.head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        while ex.alive():
            ex.chunk(b"x" * 65536)

    with serve(endless) as server:
        conn = connect(ACCOUNT, auth_token=TOKEN, transport=LoopbackTransport(server.url), env={})
        ...  # fetch https://api.twilio.com/... through conn: it lands here

``serve(handler)`` listens on ``127.0.0.1`` (a free port), answers each connection in its own
thread, and calls ``handler(exchange)`` once per request read from it. The handler writes what it
likes through the :class:`Exchange`: a status line and headers (:meth:`Exchange.head`), raw bytes
(:meth:`Exchange.send`), chunks (:meth:`Exchange.chunk`, :meth:`Exchange.end`), a slow drip
(:meth:`Exchange.drip`), or a connection reset (:meth:`Exchange.reset`). Nothing is added: no
``Content-Length``, no ``Date``, nothing the handler did not write. A handler that returns leaves
the connection open for the next request (keep-alive) unless it closed or reset it.

Endless handlers loop on :meth:`Exchange.alive`, which turns False once the server is shutting
down or the client has gone; a write to a client that walked away raises ``OSError``, which ends
that connection's thread quietly. Leaving the ``with`` block shuts every connection down and joins
every thread (a handler that ignores both signals is reported as a failure, not left behind).
``server.requests`` lists every request received, in order (method, target, headers with lower-case
names), so a test can check what was sent, and ``server.errors`` what a handler raised besides a
client going away.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_MAX_HEAD = 64 * 1024


@dataclass
class Request:
    """One request as the server read it (the body of a GET is empty, and is not read)."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)


class Exchange:
    """One request and the socket its answer goes to."""

    def __init__(self, sock: socket.socket, request: Request, stopping: threading.Event) -> None:
        self.sock = sock
        self.request = request
        self._stopping = stopping
        self.closed = False

    def alive(self) -> bool:
        """False once the server shuts down or the client has closed its side."""
        if self._stopping.is_set() or self.closed:
            return False
        try:
            self.sock.setblocking(False)
            try:
                peeked = self.sock.recv(1, socket.MSG_PEEK)
            finally:
                self.sock.setblocking(True)
        except (BlockingIOError, InterruptedError):
            return True  # nothing to read: the client is still waiting
        except OSError:
            return False
        return peeked != b""  # b"": the client closed its side

    def send(self, data: bytes) -> None:
        """Write raw bytes (raises OSError once the client is gone)."""
        self.sock.sendall(data)

    def head(self, status: int, headers: dict[str, str] | None = None, reason: str = "Whatever") -> None:
        """The status line and headers, exactly as given."""
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunk(self, data: bytes) -> None:
        """One chunk of a ``Transfer-Encoding: chunked`` body (empty data is skipped: it would end it)."""
        if data:
            self.send(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        """The last chunk of a chunked body."""
        self.send(b"0\r\n\r\n")

    def drip(self, data: bytes, interval: float, chunked: bool = False) -> None:
        """Write ``data`` one byte at a time, ``interval`` seconds apart, while the client listens."""
        for i in range(len(data)):
            if not self.alive():
                return
            self.chunk(data[i : i + 1]) if chunked else self.send(data[i : i + 1])
            time.sleep(interval)

    def reset(self) -> None:
        """Drop the connection with a TCP reset (RST), the way a crashed proxy does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.closed = True

    def close(self) -> None:
        """Close the connection cleanly (FIN)."""
        self.sock.close()
        self.closed = True


class HostileServer:
    """The running server: ``url`` to connect to, ``requests`` received, ``errors`` raised by handlers."""

    def __init__(self, handler: Callable[[Exchange], None]) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)

    def start(self) -> HostileServer:
        self._acceptor.start()
        return self

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            thread = threading.Thread(target=self._serve, args=(sock,), name="hostile-conn", daemon=True)
            with self._lock:
                self._sockets.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data or len(buffer) > _MAX_HEAD:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                request = _parse(head)
                with self._lock:
                    self.requests.append(request)
                exchange = Exchange(sock, request, self._stopping)
                self.handler(exchange)
                if exchange.closed:
                    return
        except OSError:
            pass  # the client walked away (or the server is shutting down): nothing to answer
        except BaseException as exc:  # a handler's own bug: kept for the test to see
            self.errors.append(exc)
        finally:
            sock.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Shut every connection down and join every thread."""
        self._stopping.set()
        self._listener.close()
        self._acceptor.join(timeout)
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t for t in threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"hostile server: {len(stuck)} handler thread(s) did not stop within {timeout} s")


def _parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, *_ = [*lines[0].split(" ", 2), "", ""]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, target, headers)


@contextmanager
def serve(handler: Callable[[Exchange], None]) -> Iterator[HostileServer]:
    """Run a :class:`HostileServer` answering with ``handler`` for the ``with`` block."""
    server = HostileServer(handler).start()
    try:
        yield server
    finally:
        server.stop()
