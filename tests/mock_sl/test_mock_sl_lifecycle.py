"""Starting and stopping the mock: stop() ends the serving thread at once and releases the port, also with
a keep-alive connection still open, and the mock can start again on the same port. A long-running
command-line mock keeps a bounded number of request records."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from connector.mock_sl import cli, server
from connector.mock_sl.server import MockServiceLayer
from tests.support.mock import DEMO


def test_stop_ends_the_serving_thread_and_releases_the_port_with_a_connection_still_open():
    sl = MockServiceLayer(DEMO, port=0).start()
    port, thread = sl.port, sl._thread
    assert thread is not None and thread.is_alive()
    with requests.Session() as kept_alive:  # a client that keeps its connection open
        assert kept_alive.get(f"{sl.root('v2')}/Items", timeout=5).status_code == 401
        sl.stop()
        # The loop is woken, not polled: the thread has ended when stop() returns.
        assert not thread.is_alive()
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass

    again = MockServiceLayer(DEMO, port=port).start()  # the port is free for the next start
    try:
        assert requests.get(f"{again.root('v2')}/Items", timeout=5).status_code == 401
    finally:
        again.stop()


def test_stop_twice_and_stop_before_start_do_nothing():
    sl = MockServiceLayer(DEMO, port=0)
    sl.stop()
    sl.start()
    sl.stop()
    sl.stop()
    assert sl._server is None and sl._thread is None


def test_bounded_request_records_keep_the_latest_in_order():
    with MockServiceLayer(DEMO, port=0, max_records=3) as sl:
        for path in ("Warehouses", "Items", "UserFieldsMD", "ProductionOrders"):
            requests.get(f"{sl.root('v2')}/{path}", timeout=5)
        assert [record.path for record in sl.requests] == ["Items", "UserFieldsMD", "ProductionOrders"]
    with MockServiceLayer(DEMO, port=0) as unbounded:  # tests read every request
        for _ in range(5):
            requests.get(f"{unbounded.root('v2')}/Warehouses", timeout=5)
        assert len(unbounded.requests) == 5


def test_the_command_line_mock_bounds_its_request_records(monkeypatch):
    made: list[MockServiceLayer] = []

    class Recorded(MockServiceLayer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(server, "MockServiceLayer", Recorded)
    stop = threading.Event()
    stop.set()  # serve, then stop at once
    assert cli.main(["--port", "0", "--data", str(DEMO)], stop=stop) == 0
    assert [mock.max_records for mock in made] == [cli.RECORDED_REQUESTS]
    assert cli.RECORDED_REQUESTS >= 1000
