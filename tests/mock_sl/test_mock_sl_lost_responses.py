"""Lost-response modes at the HTTP level: the receipt is carried out, and the client gets no answer or a
broken one (reset, hang past the read timeout, truncated body, slow commit after the client gave up)."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from connector.mock_sl.cli import build_parser
from connector.mock_sl.faults import CLI_MODES, parse_fault_spec
from connector.mock_sl.server import MockServiceLayer
from tests.support.raw_client import Client, receipt

KEY = "U_B1BF_Key"


def _keyed_receipt(key: str) -> dict:
    return {**receipt(101, 1), KEY: key}


def _documents(sl: MockServiceLayer, key: str) -> list[dict]:
    return [row for row in sl.store.rows("InventoryGenEntries") if row[KEY] == key]


def _receipt_posts(sl: MockServiceLayer) -> list:
    return [r for r in sl.requests if r.method == "POST" and r.path == "InventoryGenEntries"]


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: list[BaseException | None] = [exc]
    while seen:
        current = seen.pop()
        if current is None:
            continue
        if isinstance(current, kind):
            return True
        seen.extend(
            [
                current.__cause__,
                current.__context__,
                *(a for a in current.args if isinstance(a, BaseException)),
            ]
        )
    return False


def test_commit_then_reset_creates_the_document_and_resets_the_connection(client: Client) -> None:
    sl = client.sl
    sl.faults.commit_then_reset("InventoryGenEntries")
    with pytest.raises(requests.ConnectionError) as raised:
        client.post("InventoryGenEntries", _keyed_receipt("K-reset"))
    assert _caused_by(raised.value, ConnectionResetError), repr(raised.value)  # an RST, not a clean close
    assert len(_documents(sl, "K-reset")) == 1
    assert [(r.status, r.faults) for r in _receipt_posts(sl)] == [(None, ("commit_then_reset",))]
    assert client.get("InventoryGenEntries").status_code == 200  # the next connection works


def test_commit_then_hang_creates_the_document_then_holds_the_answer_past_the_read_timeout(
    client: Client,
) -> None:
    sl = client.sl
    sl.faults.commit_then_hang("InventoryGenEntries", seconds=0.4)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        client.post("InventoryGenEntries", _keyed_receipt("K-hang"), timeout=(2, 0.1))
    assert time.monotonic() - started < 0.35  # the client gave up, the answer was still held
    assert len(_documents(sl, "K-hang")) == 1  # committed before the answer was held
    assert [(r.status, r.faults) for r in _receipt_posts(sl)] == [(201, ("commit_then_hang",))]
    # GETs are not held (the commit-then modes apply to writes unless a method is given).
    assert client.get("InventoryGenEntries", timeout=(2, 0.1)).status_code == 200


def test_commit_then_truncate_creates_the_document_and_sends_half_the_announced_body(client: Client) -> None:
    sl = client.sl
    sl.faults.commit_then_truncate("InventoryGenEntries")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        client.post("InventoryGenEntries", _keyed_receipt("K-cut-1"))
    assert len(_documents(sl, "K-cut-1")) == 1

    # On the wire: a 201 status line, a Content-Length larger than what follows, then the close.
    sl.faults.commit_then_truncate("InventoryGenEntries")
    body = requests.models.complexjson.dumps(_keyed_receipt("K-cut-2")).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (
        f"POST /b1s/{client.version}/InventoryGenEntries HTTP/1.1\r\nHost: {sl.host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nCookie: {cookie}\r\n\r\n"
    )
    with socket.create_connection((sl.host, sl.port), timeout=2) as raw:
        raw.sendall(head.encode() + body)
        received = b""
        while chunk := raw.recv(65536):  # returns b"" once the server closed the connection
            received += chunk
    headers, _, sent_body = received.partition(b"\r\n\r\n")
    assert headers.startswith(b"HTTP/1.1 201 ")
    announced = int(
        next(
            line.split(b":")[1]
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    assert 0 < len(sent_body) < announced
    assert len(_documents(sl, "K-cut-2")) == 1
    assert [(r.status, r.faults) for r in _receipt_posts(sl)] == [(201, ("commit_then_truncate",))] * 2


def test_slow_commit_times_the_client_out_and_commits_afterwards(client: Client) -> None:
    sl = client.sl
    sl.faults.slow_commit("InventoryGenEntries", seconds=0.3)
    assert client.get("InventoryGenEntries", timeout=(2, 0.1)).status_code == 200  # GETs are not held
    with pytest.raises(requests.ReadTimeout):
        client.post("InventoryGenEntries", _keyed_receipt("K-slow"), timeout=(2, 0.1))
    assert _documents(sl, "K-slow") == []  # the client gave up before the server committed...
    assert not sl.wait_idle(0.01)  # (the request is still being handled)
    assert sl.wait_idle(2)
    assert len(_documents(sl, "K-slow")) == 1  # ...which it does a moment later
    assert [(r.status, r.faults) for r in _receipt_posts(sl)] == [(201, ("slow_commit",))]
    assert sl.faults.pending() == []


@pytest.mark.parametrize(
    ("spec", "name", "kwargs"),
    [
        (
            "POST:InventoryGenEntries:commit_then_reset",
            "commit_then_reset",
            {"path": "InventoryGenEntries", "count": 1, "method": "POST"},
        ),
        (
            "*:InventoryGenEntries:commit_then_truncate:2",
            "commit_then_truncate",
            {"path": "InventoryGenEntries", "count": 2, "method": None},
        ),
        (
            "POST:InventoryGenEntries:commit_then_hang:1:0.5",
            "commit_then_hang",
            {"path": "InventoryGenEntries", "count": 1, "method": "POST", "seconds": 0.5},
        ),
        (
            "POST:InventoryGenEntries:commit_then_hang",
            "commit_then_hang",
            {"path": "InventoryGenEntries", "count": 1, "method": "POST", "seconds": 120.0},
        ),
        (
            "*:InventoryGenEntries:slow_commit:1:3",
            "slow_commit",
            {"path": "InventoryGenEntries", "count": 1, "method": None, "seconds": 3.0},
        ),
    ],
)
def test_cli_spec_arms_the_lost_response_modes(spec: str, name: str, kwargs: dict) -> None:
    assert parse_fault_spec(spec) == (name, kwargs)
    sl = MockServiceLayer()  # not started: arming needs no server
    getattr(sl.faults, name)(**kwargs)
    assert [(f.mode, f.count) for f in sl.faults.pending()] == [(name, kwargs["count"])]


def test_cli_help_names_every_mode() -> None:
    help_text = " ".join(build_parser().format_help().split())
    for mode in CLI_MODES:
        assert mode in help_text
