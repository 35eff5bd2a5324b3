"""`b1-backflush run` under systemd's `Type=notify` + `WatchdogSec=`: READY=1 once it runs its schedule,
WATCHDOG=1 every half interval, STOPPING=1 on SIGTERM — over a real NOTIFY_SOCKET datagram socket, as
systemd hands it to the service (a path, or `@name` in the abstract namespace)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from connector import sd_notify
from tests.support.mock import process_env


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request, tmp_path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        address = str(tmp_path / "notify.sock")
        sock.bind(address)
    else:
        address = f"@b1-backflush-test-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind("\0" + address[1:])
    sock.settimeout(20)
    with sock:
        yield sock, address


def receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode("utf-8").splitlines()


def test_run_tells_systemd_it_is_ready_alive_and_stopping(notify_socket, mock_sl, tmp_path) -> None:
    sock, address = notify_socket
    env = process_env(
        mock_sl,
        tmp_path,
        NOTIFY_SOCKET=address,
        WATCHDOG_USEC="200000",  # WatchdogSec=0.2: a ping every 0.1 s
        B1_POLL_INTERVAL_S="3600",
    )
    service = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = receive(sock)
        assert first == ["READY=1", "STATUS=a cycle every 3600 s"]
        assert receive(sock) == ["WATCHDOG=1"] and receive(sock) == ["WATCHDOG=1"]
        service.send_signal(signal.SIGTERM)
        while (message := receive(sock)) == ["WATCHDOG=1"]:
            pass
        assert message == ["STOPPING=1"]
        _out, err = service.communicate(timeout=30)
        assert service.returncode == 0, err
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()


def test_a_bad_configuration_exits_2_without_ever_saying_ready(notify_socket, tmp_path) -> None:
    sock, address = notify_socket
    env = {k: v for k, v in os.environ.items() if not k.startswith("B1_")}
    env.update(NOTIFY_SOCKET=address, B1_SL_URL="not a url")
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "run"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 2  # RestartPreventExitStatus: systemd does not restart it
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_without_systemd_nothing_is_sent_and_nothing_fails(tmp_path) -> None:
    assert sd_notify.notify("READY=1", environ={}) is False
    assert sd_notify.watchdog_interval_s({}) is None
    gone = str(tmp_path / "gone.sock")  # systemd went away: logged, never raised
    assert sd_notify.notify("READY=1", environ={"NOTIFY_SOCKET": gone}) is False


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval_follows_watchdog_usec_and_pid(environ, expected) -> None:
    assert sd_notify.watchdog_interval_s(environ) == expected


def test_keep_alive_pings_only_while_the_service_loop_is_alive(notify_socket) -> None:
    sock, address = notify_socket
    environ = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "40000"}
    stop, alive = threading.Event(), threading.Event()
    alive.set()
    loop = threading.Thread(target=sd_notify.keep_alive_until, args=(stop, alive.is_set, environ))
    loop.start()
    try:
        assert receive(sock) == ["WATCHDOG=1"]
        alive.clear()  # a dead scheduler: no more pings, so systemd restarts the service
        sock.settimeout(0.1)
        while True:  # drain a ping sent before the change
            try:
                sock.recv(4096)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            sock.recv(4096)
    finally:
        stop.set()
        loop.join(5)
    assert not loop.is_alive()
