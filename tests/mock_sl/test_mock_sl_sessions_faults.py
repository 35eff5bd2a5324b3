"""Sessions (§1) and fault injection (lost responses, Apache 502, delays), plus the CLI."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from connector.mock_sl.cli import main as cli_main
from connector.mock_sl.faults import parse_fault_spec
from connector.mock_sl.server import MockServiceLayer
from tests.support.mock import DEMO
from tests.support.raw_client import Client, receipt


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("overrides", "code"),
    [({"Password": "wrong"}, "-304"), ({"UserName": "nobody"}, "-304"), ({"CompanyDB": "NOPE"}, "-306")],
)
def test_session_login_failures(sl: MockServiceLayer, protocol: str, overrides: dict, code: str) -> None:
    client = Client(sl, protocol)
    response = client.login(**overrides)
    assert response.status_code == 401
    assert client.error(response) == (code, "Fail to NONE-SSO login from SLD.")
    assert "1234" not in repr(sl.requests) and "wrong" not in repr(sl.requests)


def test_session_sliding_timeout_with_injected_clock(protocol: str) -> None:
    clock = FakeClock()
    with MockServiceLayer(DEMO, port=0, session_timeout_s=60, clock=clock) as sl:
        client = Client(sl, protocol)
        assert client.login().json()["SessionTimeout"] == 1
        for _ in range(3):  # used every 50 s: still valid after 150 s (sliding, §1.4)
            clock.now += 50
            assert client.get("Warehouses").status_code == 200
        clock.now += 61
        expired = client.get("Warehouses")
        assert expired.status_code == 401
        assert client.error(expired) == ("301", "Invalid session or session already timeout.")


def test_session_works_on_both_roots_and_logout(client: Client) -> None:
    other = Client(client.sl, "v2" if client.version == "v1" else "v1")
    other.cookies = client.cookies
    assert other.get("Warehouses").status_code == 200
    logout = client.post("Logout")
    assert logout.status_code == 204 and logout.content == b""
    assert client.get("Warehouses").status_code == 401


@pytest.mark.parametrize("cookies", [{}, {"B1SESSION": "garbage"}])
def test_session_missing_or_garbage_cookie(client: Client, cookies: dict) -> None:
    client.cookies = cookies
    assert client.get("Items").status_code == 401


def test_faults_expire_all_sessions(client: Client) -> None:
    client.sl.faults.expire_all_sessions()
    assert client.get("Items").status_code == 401
    assert client.login().status_code == 200 and client.get("Warehouses").status_code == 200


def test_faults_fail_next_json_and_html(client: Client) -> None:
    sl = client.sl
    sl.faults.fail_next(
        "ProductionOrders", status=500, code=407, message="Table definition not found for '@ZZVF_T'."
    )
    failed = client.get("ProductionOrders(101)")
    assert failed.status_code == 500
    assert client.error(failed) == ("407", "Table definition not found for '@ZZVF_T'.")
    assert client.get("ProductionOrders(101)").status_code == 200  # count=1 used up
    sl.faults.fail_next("InventoryGenEntries", status=502, html=True, method="POST")
    assert client.get("InventoryGenEntries").status_code == 200  # method did not match
    page = client.post("InventoryGenEntries", receipt(101, 1))
    assert page.status_code == 502 and page.headers["Content-Type"].startswith("text/html")
    assert sl.store.rows("InventoryGenEntries") == []  # a plain failure is not carried out


def test_faults_commit_then_drop_closes_without_response(client: Client) -> None:
    sl = client.sl
    sl.faults.commit_then_drop("InventoryGenEntries")
    with pytest.raises(requests.ConnectionError):
        client.post("InventoryGenEntries", receipt(101, 1))
    assert len(sl.store.rows("InventoryGenEntries")) == 1  # committed
    posts = [r for r in sl.requests if r.method == "POST" and r.path == "InventoryGenEntries"]
    assert [r.status for r in posts] == [None]
    assert client.get("InventoryGenEntries").status_code == 200  # GETs are not affected


def test_faults_commit_then_502_apache_page(client: Client) -> None:
    sl = client.sl
    sl.faults.commit_then_502("InventoryGenEntries", count=2)
    response = client.post("InventoryGenEntries", receipt(101, 1))
    assert response.status_code == 502 and "<title>502 Proxy Error</title>" in response.text
    assert "The proxy server received an invalid" in response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert len(sl.store.rows("InventoryGenEntries")) == 1
    assert sl.requests[-1].status == 502 and sl.requests[-1].body["DocumentLines"][0]["BaseEntry"] == 101


def test_faults_delay_and_clear(client: Client) -> None:
    sl = client.sl
    sl.faults.delay("Warehouses", seconds=0.3)
    with pytest.raises(requests.Timeout):
        client.get("Warehouses", timeout=0.1)
    sl.faults.delay("InventoryGenEntries", seconds=5)
    sl.faults.clear()
    started = time.monotonic()
    assert client.post("InventoryGenEntries", receipt(101, 1)).status_code == 201
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("spec", "name", "kwargs"),
    [
        (
            "POST:InventoryGenEntries:commit_then_drop:1",
            "commit_then_drop",
            {"path": "InventoryGenEntries", "count": 1, "method": "POST"},
        ),
        (
            "*:ProductionOrders:delay:2:0.5",
            "delay",
            {"path": "ProductionOrders", "count": 2, "method": None, "seconds": 0.5},
        ),
        (
            "POST:InventoryGenEntries:fail:1:502",
            "fail_next",
            {"path": "InventoryGenEntries", "count": 1, "method": "POST", "status": 502, "html": True},
        ),
    ],
)
def test_faults_cli_spec(spec: str, name: str, kwargs: dict) -> None:
    assert parse_fault_spec(spec) == (name, kwargs)


def test_faults_cli_spec_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        parse_fault_spec("POST:X:explode")


def test_cli_serves_prints_roots_and_applies_faults(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            cli_main(
                [
                    "--port",
                    "0",
                    "--data",
                    str(DEMO),
                    "--fault",
                    "GET:Warehouses:fail:1:503",
                    "--over-receipt",
                    "reject",
                    "--no-v2-error-details",
                ],
                stop=stop,
            )
        )
    )
    thread.start()
    out = ""
    deadline = time.monotonic() + 5
    while "login:" not in out and time.monotonic() < deadline:
        out += capsys.readouterr().out
        time.sleep(0.02)
    try:
        root = next(line.split("v2: ")[1] for line in out.splitlines() if "v2: " in line)
        http = requests.Session()
        login = http.post(
            f"{root}/Login",
            json={"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": "1234"},
            timeout=5,
        )
        assert login.status_code == 200
        assert http.get(f"{root}/Warehouses", timeout=5).status_code == 503  # --fault applied
        missing = http.get(f"{root}/ProductionOrders(999999)", timeout=5)
        assert missing.status_code == 404
        assert set(missing.json()["error"]) == {"code", "message"}  # --no-v2-error-details applied
        assert http.get(f"{root}/Warehouses", timeout=5).status_code == 200
    finally:
        stop.set()
        thread.join(5)
    assert result == [0]
    assert "/b1s/v1" in out and "UserName=manager Password=1234" in out


def test_latency_delays_every_request_and_parallel_requests_wait_together(protocol: str) -> None:
    # --latency-ms stands for the network and SAP's own time: each request waits, but in its own
    # handler thread, so N sessions in parallel take about one latency, not N (what the benchmark needs).
    latency = 0.4
    with MockServiceLayer(DEMO, port=0, latency_s=latency) as sl:
        clients = [Client(sl, protocol) for _ in range(4)]
        for client in clients:
            assert client.login().status_code == 200
        answers: list[int] = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=lambda c=c: answers.append(c.get("Items('FG-CHAIR')").status_code))
            for c in clients
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert answers == [200] * 4
    assert latency <= elapsed < 3 * latency  # one after the other would take 4 × latency
