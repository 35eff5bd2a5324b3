"""`b1-backflush mock-sl --port N`, exactly as the README and the issue write it: the demo company by default,
from any working folder."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import requests

from tests.support.mock import DEMO, ROOT, free_port


def test_the_mock_command_serves_the_demo_company_until_interrupted(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector.cli",
            "mock-sl",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                login = requests.post(
                    f"http://127.0.0.1:{port}/b1s/v2/Login",
                    timeout=2,
                    json={"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": "1234"},
                )
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the mock did not start listening"
                time.sleep(0.05)
        assert login.status_code == 200 and "SessionId" in login.json()
        orders = requests.get(
            f"http://127.0.0.1:{port}/b1s/v2/ProductionOrders/$count", cookies=login.cookies, timeout=2
        )
        assert orders.status_code == 200 and int(orders.text) == 22
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "Ctrl+C is a normal way to stop the mock"


def test_the_mock_command_explains_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "mock-sl", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "--port" in result.stdout and "--fault" in result.stdout


def test_a_missing_data_folder_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "no-such-company"
    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "mock-sl", "--port", "0", "--data", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"mock-sl: --data {missing} does not exist: pass a fixture folder holding company.json, "
        "or leave --data out for the demo company"
    ]


def test_a_data_folder_without_company_or_with_broken_json_is_one_line_and_exit_2(tmp_path, capsys):
    from connector.mock_sl.cli import main

    assert main(["--port", "0", "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"mock-sl: --data {tmp_path} has no company.json (CompanyDB, users): pass a fixture folder "
        "holding company.json, or leave --data out for the demo company"
    ]
    (tmp_path / "company.json").write_text('{"CompanyDB": "X"}', encoding="utf-8")
    (tmp_path / "Items.json").write_text("[{", encoding="utf-8")
    assert main(["--port", "0", "--data", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mock-sl: --data {tmp_path}: Items.json cannot be read as JSON (")
    assert line.endswith("): fix or remove that file")


def test_a_port_in_use_or_a_bad_fault_is_one_line_and_exit_2(capsys):
    from connector.mock_sl.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port), "--data", str(DEMO)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mock-sl: cannot listen on 127.0.0.1:{port} (")
    assert line.endswith("): choose another --port or stop what uses it")

    assert main(["--port", "0", "--data", str(DEMO), "--fault", "POST:InventoryGenEntries:explode"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("mock-sl: bad --fault 'POST:InventoryGenEntries:explode' (")
