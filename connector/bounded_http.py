"""An HTTP server that idle or stalled clients cannot exhaust: a cap on connections, a timeout on each.

The standard ``ThreadingHTTPServer`` starts one thread per accepted connection and lets it wait for
the request forever: 1000 idle (half-open) connections to the status endpoint made 1004 threads.
Here every connection holds one of ``max_connections`` slots; when all are taken, a new connection is
answered ``503`` by the accepting thread at once and closed (no thread is started), and every read
from a client gives up after ``timeout_s``, so an idle or stalled client frees its slot.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_BUSY_BODY = b"busy: too many open connections to this endpoint; try again in a moment\n"
#: Sent by the accepting thread as it is: a complete answer that needs no handler thread.
BUSY_RESPONSE = (
    b"HTTP/1.0 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


class BoundedThreadingHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with at most ``max_connections`` handler threads and a per-read timeout."""

    daemon_threads = True
    #: Connections the kernel queues while the accepting thread works (socketserver's default is 5,
    #: which makes a burst of clients wait for SYN retries instead of being answered or refused).
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int,
        timeout_s: float,
    ) -> None:
        if max_connections < 1 or not timeout_s > 0:
            raise ValueError("max_connections must be >= 1 and timeout_s > 0")
        self.max_connections = max_connections
        self.connection_timeout_s = timeout_s  # not ``timeout``: BaseServer uses that for handle_request()
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0  # connections answered 503 because every slot was taken
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self._refuse(request)
            return
        # Every recv/send of the handler gives up after the timeout (BaseHTTPRequestHandler then closes).
        request.settimeout(self.connection_timeout_s)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # the thread never started
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        # Non-blocking throughout: the accepting thread must never wait on a client that does not read.
        try:
            request.setblocking(False)
            with contextlib.suppress(OSError):  # nothing sent yet: fine
                request.recv(65536)  # what the client already sent; unread data would turn close into RST
            with contextlib.suppress(OSError):  # the client is gone or does not read: it is closed anyway
                request.send(BUSY_RESPONSE)
        finally:
            self.shutdown_request(request)
