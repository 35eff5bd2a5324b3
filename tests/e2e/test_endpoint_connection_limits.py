"""The status endpoint cannot be exhausted: idle connections hold at most ``max_connections`` threads,
more are refused at once with 503, idle ones are closed after the connection timeout, and a normal
request is refused fast while full and served once the idle ones are gone (issue 8 item 6)."""

from __future__ import annotations

import socket
import threading
import time

from tests.support.raw_http import get, read_until_closed

MAX_CONNECTIONS = 8
TIMEOUT_S = 1.5
IDLE_CLIENTS = 100  # below the listen backlog: no SYN retry slows the test down


def test_idle_connections_are_capped_refused_and_timed_out(endpoint):
    threads_before = threading.active_count()
    stop = endpoint.serve("127.0.0.1", 0, max_connections=MAX_CONNECTIONS, connection_timeout_s=TIMEOUT_S)
    assert endpoint.address is not None
    address = endpoint.address
    idle: list[socket.socket] = []
    try:
        peak = 0
        for _ in range(IDLE_CLIENTS):  # connect and send nothing, like a half-open client
            idle.append(socket.create_connection(address, timeout=5))
            peak = max(peak, threading.active_count() - threads_before)

        # While the slots are held, a normal request is refused at once, not queued behind them.
        started = time.monotonic()
        try:
            answer = get(address, "/metrics")
            assert answer.startswith(b"HTTP/1.0 503 Service Unavailable"), answer[:80]
        except ConnectionResetError:
            pass  # refused before its request arrived: just as fast, and as clear to a monitor
        assert time.monotonic() - started < 1.0

        answers = [read_until_closed(s, TIMEOUT_S + 5) for s in idle]
        peak = max(peak, threading.active_count() - threads_before)
        held = [a for a in answers if a == b""]  # the slot holders: closed after the timeout, no answer
        refused = [a for a in answers if a.startswith(b"HTTP/1.0 503 Service Unavailable")]
        # At least one full set of slots was held; on a slow machine a client queued past the first
        # timeout takes a freed slot, which is still never more than MAX_CONNECTIONS at once (peak).
        assert len(held) >= MAX_CONNECTIONS and len(held) + len(refused) == IDLE_CLIENTS
        assert b"Retry-After: 1" in refused[0] and refused[0].endswith(b"try again in a moment\n")
        # the serving thread, the watchdog and at most one handler thread per slot, whatever the clients
        assert peak <= 2 + MAX_CONNECTIONS, peak

        deadline = time.monotonic() + 2
        while threading.active_count() - threads_before > 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() - threads_before == 2  # every handler thread has ended

        answer = get(address, "/metrics")  # the idle ones are gone: served normally again
        assert answer.startswith(b"HTTP/1.0 200 OK") and b"b1bf_" in answer
    finally:
        for s in idle:
            s.close()
        stop()
