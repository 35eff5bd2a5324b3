"""An HTTP server that idle, stalled or dribbling clients cannot exhaust: a cap on connections, a
timeout on each read and a deadline on each connection.

The standard ``ThreadingHTTPServer`` starts one thread per accepted connection and lets it wait for
the request forever: 1000 idle (half-open) connections to the status endpoint made 1004 threads.
Here every connection holds one of ``max_connections`` slots; when all are taken, a new connection is
answered ``503`` by the accepting thread at once and closed (no thread is started), and every read
from a client gives up after ``timeout_s``, so an idle or stalled client frees its slot.

A read timeout alone does not stop a client that sends one byte just before each timeout
(slowloris): it would keep its slot for as long as it likes, and ``max_connections`` of them would
make ``/healthz`` answer 503. So every connection also has a deadline, ``deadline_s`` after it was
accepted, to receive the request and write the answer. When it passes, one watchdog thread per
server shuts the socket down, so the handler thread's blocked read or write returns at once, the
thread ends and its slot is free (a handler busy in its own code, say reading the ledger, keeps the
slot until that returns: the slot bounds threads; its write then fails at once). The handler answers
one request per connection (HTTP/1.0, the default of ``BaseHTTPRequestHandler``); were it switched
to keep-alive, the deadline would still cover the whole connection, which a scraper or browser
simply reopens. The deadline bounds how long one connection holds a slot, not how many connections a
client keeps opening: that one still competes for the slots with everyone else.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

#: The default connection deadline, in read timeouts. A client that is merely slow may spend up to
#: one timeout silent while sending its request and one while taking the answer; the third leaves
#: room for the answer to be made (a status page reads the ledger). Whoever needs longer than
#: that is dribbling, not slow: with the endpoint's 10 s timeout a connection lives at most 30 s,
#: which is still well above what a browser, a scraper or a health check ever needs.
DEADLINE_TIMEOUTS = 3

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
    """``ThreadingHTTPServer`` with at most ``max_connections`` handler threads, a per-read timeout and
    a per-connection deadline (``deadline_s``, default ``DEADLINE_TIMEOUTS`` × ``timeout_s``).

    Call ``server_close()`` when done: it stops the watchdog thread and ends the open connections.
    """

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
        deadline_s: float | None = None,
    ) -> None:
        if deadline_s is None:
            deadline_s = DEADLINE_TIMEOUTS * timeout_s
        if max_connections < 1 or not timeout_s > 0 or not deadline_s > 0:
            raise ValueError("max_connections must be >= 1, timeout_s and deadline_s > 0")
        self.max_connections = max_connections
        self.connection_timeout_s = timeout_s  # not ``timeout``: BaseServer uses that for handle_request()
        self.connection_deadline_s = deadline_s
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0  # connections answered 503 because every slot was taken
        self.cut = 0  # connections shut down because their deadline passed
        # The watchdog's state, all guarded by ``_watch``: the open connections and their deadlines
        # (at most ``max_connections``, so a scan is cheap and no heap of stale entries grows), and the
        # ones it shut down whose handler has not yet closed them.
        self._watch = threading.Condition()
        self._deadlines: dict[socket.socket, tuple[float, Any]] = {}  # → (deadline, client address)
        self._cut_open: set[socket.socket] = set()
        self._watch_stopped = False
        self._watchdog: threading.Thread | None = None
        super().__init__(address, handler)  # binds; on failure it calls server_close() and raises
        # One thread for all connections, not a timer each: the thread count stays bounded.
        self._watchdog = threading.Thread(
            target=self._watch_deadlines, name="b1bf-endpoint-watchdog", daemon=True
        )
        self._watchdog.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self._refuse(request)
            return
        # Every recv/send of the handler gives up after the timeout (BaseHTTPRequestHandler then closes).
        request.settimeout(self.connection_timeout_s)
        with self._watch:
            self._deadlines[request] = (time.monotonic() + self.connection_deadline_s, client_address)
            self._watch.notify()  # the watchdog may be waiting with no deadline at all
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # the thread never started; the caller calls shutdown_request()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's: handle, then shutdown_request() (which forgets the deadline) in a finally.
        # The slot is released here and only here, once per started thread, whether or not the
        # watchdog cut the connection: it bounds threads, so it is free when this thread ends.
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown_request(self, request: Any) -> None:
        # Forget the deadline *before* the socket is closed, under the watchdog's lock: the watchdog only
        # shuts down sockets still in ``_deadlines``, so never one already closed, whose descriptor the
        # kernel may have handed to the next connection by then.
        with self._watch:
            self._deadlines.pop(request, None)
            self._cut_open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        with self._watch:
            cut = request in self._cut_open
        if cut:  # the handler's read or write failed because the watchdog shut the socket: expected
            log.debug("endpoint_connection_cut_in_handler", extra={"client": str(client_address)})
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        # Here and not in shutdown(): that only stops serve_forever(), which may be called again, and
        # the open connections still need their deadline; server_close() ends the server.
        super().server_close()
        with self._watch:
            self._watch_stopped = True
            # Closing the server ends its open connections too, so no handler thread outlives it.
            for request in self._deadlines:
                self._cut_open.add(request)
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)
            self._deadlines.clear()
            self._watch.notify()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join()

    def _watch_deadlines(self) -> None:
        while True:
            cut: list[Any] = []
            with self._watch:
                if self._watch_stopped:
                    return
                now = time.monotonic()
                for request, (deadline, client) in list(self._deadlines.items()):
                    if deadline > now:
                        continue
                    # Under the lock, so the handler cannot close this socket meanwhile (see
                    # shutdown_request). shutdown() does not block and wakes the handler thread's
                    # recv/send at once; the handler closes the socket and releases the slot itself.
                    del self._deadlines[request]
                    self._cut_open.add(request)
                    self.cut += 1
                    cut.append(client)
                    with contextlib.suppress(OSError):  # the client is already gone
                        request.shutdown(socket.SHUT_RDWR)
                if not cut:
                    # Sleep until the next deadline. A new connection wakes the wait (its deadline is
                    # the latest, but with none open the wait has no end), and so does server_close().
                    next_deadline = min((deadline for deadline, _ in self._deadlines.values()), default=None)
                    self._watch.wait(None if next_deadline is None else next_deadline - now)
            for client in cut:  # logged outside the lock: a slow log must not hold up connections
                log.info(
                    "endpoint_connection_cut",
                    extra={"client": str(client), "deadline_s": self.connection_deadline_s},
                )

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
