"""A client that dribbles its request cannot hold a slot of the status endpoint: every connection is
shut down once its deadline has passed, however often the client sends a byte, and its slot then
serves the next client; so is a client that does not read the answer. A normal request is
unaffected, and closing the server ends the one watchdog thread and the open connections, so no
thread is left behind."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from connector.bounded_http import BoundedThreadingHTTPServer
from connector.endpoint import ServiceEndpoint
from tests.support.raw_http import get, read_until_closed

#: Far above the dribble interval: the per-read timeout never fires for the dribbling client.
TIMEOUT_S = 2.0
DEADLINE_S = 0.5  # short, yet long enough for the accepting thread to refuse a second client first
DRIBBLE_EVERY_S = 0.05
#: How long the test dribbles before it gives up: without a deadline the client is never cut.
DRIBBLE_AT_MOST_S = 10 * DEADLINE_S
WATCHDOG = "b1bf-endpoint-watchdog"


@pytest.fixture
def threads_before() -> Iterator[int]:
    yield threading.active_count()


def serve(endpoint: ServiceEndpoint, **limits: float) -> tuple[tuple[str, int], Callable[[], None]]:
    stop = endpoint.serve("127.0.0.1", 0, **limits)  # type: ignore[arg-type]
    assert endpoint.address is not None
    return endpoint.address, stop


def wait_for_threads(count: int) -> int:
    """The number of live threads once it is down to ``count`` (or after 5 s, whatever it is then)."""
    give_up = time.monotonic() + 5
    while threading.active_count() > count and time.monotonic() < give_up:
        time.sleep(0.01)
    return threading.active_count()


def dribble_until_cut(s: socket.socket) -> bytes | None:
    """One byte every ``DRIBBLE_EVERY_S``; what the server sent once it closed, None if it never did."""
    give_up = time.monotonic() + DRIBBLE_AT_MOST_S
    while time.monotonic() < give_up:
        try:
            s.send(b"a")
        except (BrokenPipeError, ConnectionResetError):
            return b""
        readable, _, _ = select.select([s], [], [], DRIBBLE_EVERY_S)  # sleeps unless the server closed
        if readable:
            return read_until_closed(s)
    return None


def test_a_dribbling_client_is_cut_at_the_deadline_and_its_slot_serves_the_next(
    endpoint, threads_before, capfd, caplog
):
    caplog.set_level(logging.INFO)
    address, stop = serve(
        endpoint, max_connections=1, connection_timeout_s=TIMEOUT_S, connection_deadline_s=DEADLINE_S
    )
    try:
        dribbler = socket.create_connection(address, timeout=5)  # accepted first: it takes the only slot
        dribbler.sendall(b"GET /healthz HTTP/1.0\r\nX-Slow: ")  # a header that never ends

        # While it holds the slot, a monitor is refused (it connects and reads: nothing of its own
        # is left unread, so the refusal is a clean 503, not a reset).
        with socket.create_connection(address, timeout=5) as monitor:
            assert read_until_closed(monitor).startswith(b"HTTP/1.0 503 Service Unavailable")

        # The dribbler is never silent for a read timeout, yet it is cut: without an answer.
        assert dribble_until_cut(dribbler) == b""
        dribbler.close()

        # Its handler thread has ended (serving thread and watchdog remain), so its slot is free.
        assert wait_for_threads(threads_before + 2) == threads_before + 2
        answer = get(address, "/healthz")
        assert answer.startswith(b"HTTP/1.0 200 OK"), answer[:80]
    finally:
        stop()
    # A cut is expected, not an error: no traceback in the service's output, no error in its log.
    assert "Traceback" not in capfd.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "endpoint_connection_cut" in caplog.messages


def test_a_normal_request_within_the_deadline_is_served(endpoint, threads_before):
    address, stop = serve(
        endpoint, max_connections=2, connection_timeout_s=TIMEOUT_S, connection_deadline_s=1.0
    )
    try:
        assert get(address, "/healthz").startswith(b"HTTP/1.0 200 OK")
        metrics = get(address, "/metrics")
        assert metrics.startswith(b"HTTP/1.0 200 OK") and b"b1bf_" in metrics
        # A slow client that finishes well within the deadline (a pause of a third of it) is served.
        with socket.create_connection(address, timeout=5) as slow:
            slow.sendall(b"GET /healthz HTTP/1.0\r\n")
            time.sleep(1.0 / 3)
            slow.sendall(b"Host: x\r\n\r\n")
            assert read_until_closed(slow).startswith(b"HTTP/1.0 200 OK")
        # Many connections in a row, each ended by its handler before its deadline: the slots are
        # released once each (never cut, never over-released), so both still serve afterwards. A slot
        # is free once its thread has ended, a moment after the client saw the answer: that moment
        # is waited for (on a busy machine it is long enough for two more connections to arrive).
        for _ in range(20):
            assert get(address, "/healthz").startswith(b"HTTP/1.0 200 OK")
            assert wait_for_threads(threads_before + 2) == threads_before + 2  # serving + watchdog
    finally:
        stop()


def test_closing_the_server_stops_the_watchdog_and_ends_open_connections(endpoint, threads_before):
    # Long timeout and deadline: only closing the server can end the idle client's connection here.
    address, stop = serve(endpoint, max_connections=4, connection_timeout_s=30.0, connection_deadline_s=30.0)
    stopped = False
    idle = socket.create_connection(address, timeout=5)
    try:
        assert get(address, "/healthz").startswith(b"HTTP/1.0 200 OK")  # idle was accepted before it
        assert [t.name for t in threading.enumerate()].count(
            WATCHDOG
        ) == 1  # one per server, not per connection
        stop()
        stopped = True
        assert read_until_closed(idle) == b""  # closed by the server at once, not after 30 s
        assert wait_for_threads(threads_before) == threads_before
        assert WATCHDOG not in [t.name for t in threading.enumerate()]
    finally:
        idle.close()
        if not stopped:
            stop()


def test_a_client_that_does_not_read_the_answer_is_cut_at_the_deadline_too():
    # The other half of slowloris: the request arrives, the answer is never read, so the handler's
    # write blocks (each send waits up to the timeout for the client to take a little). The status
    # page of a large backlog can be big; a large answer stands in for it here.
    finished = threading.Event()
    failures: list[BaseException] = []

    class LargeAnswer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x" * 50_000_000)
            except ConnectionError as exc:
                failures.append(exc)
            finally:
                finished.set()

    server = BoundedThreadingHTTPServer(
        ("127.0.0.1", 0), LargeAnswer, max_connections=1, timeout_s=30.0, deadline_s=DEADLINE_S
    )
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    try:
        with socket.create_connection(server.server_address[:2], timeout=5) as reader:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.sendall(b"GET / HTTP/1.0\r\n\r\n")  # and never reads
            assert finished.wait(10 * DEADLINE_S)  # not after 30 s: the write was cut
        assert server.cut == 1 and len(failures) == 1
    finally:
        server.shutdown()
        server.server_close()
        serving.join()
