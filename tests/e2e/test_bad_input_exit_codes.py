"""Bad input through the real command line: exit 2 and one line naming the thing and the fix, never a
traceback, nothing posted (issue 8 item 5)."""

from __future__ import annotations

from pathlib import Path

from connector import cli as cli_module
from tests.support.demo import receipt_posts
from tests.support.hostile_yaml import billion_laughs


def message_lines(err: str) -> list[str]:
    """stderr without the log lines (logfmt ``ts=...``)."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("ts=")]


def test_a_session_margin_not_shorter_than_sap_session_timeout_stops_at_login(cli, mock_sl, monkeypatch):
    monkeypatch.setenv("B1_SESSION_MARGIN_S", "1800")  # the mock reports SessionTimeout 30 (minutes)

    result = cli("once", "--json")

    assert result.code == cli_module.EXIT_CONFIG == 2
    assert message_lines(result.err) == [
        "configuration error: B1_SESSION_MARGIN_S (1800 s) is not shorter than the session timeout this "
        "Service Layer reports at Login (30 min = 1800 s): set B1_SESSION_MARGIN_S below 1800, e.g. 60"
    ]
    assert "Traceback" not in result.err
    assert [r.path for r in mock_sl.requests] == ["Login", "Logout"]  # the session is not left behind
    assert receipt_posts(mock_sl) == []


def test_the_service_refuses_the_same_session_margin_at_start_with_exit_2(cli, mock_sl, monkeypatch):
    monkeypatch.setenv("B1_SESSION_MARGIN_S", "3600")

    result = cli("run")  # returns at once: nothing is scheduled

    assert result.code == 2
    [line] = message_lines(result.err)
    assert line.startswith("configuration error: B1_SESSION_MARGIN_S (3600 s) is not shorter than")
    assert [r.path for r in mock_sl.requests] == ["Login", "Logout"]


def test_an_infinite_timeout_stops_at_start_naming_the_variable(cli, mock_sl, monkeypatch):
    monkeypatch.setenv("B1_READ_TIMEOUT_S", "inf")

    result = cli("once")

    assert result.code == 2
    [line] = message_lines(result.err)
    assert line.startswith(
        "configuration error: B1_READ_TIMEOUT_S is invalid (Input should be a finite number)"
    )
    assert mock_sl.requests == []


def test_a_billion_laughs_mapping_stops_at_start_with_file_and_line(cli, mock_sl, monkeypatch, tmp_path):
    mapping = tmp_path / "laughs.yaml"
    mapping.write_text(billion_laughs(9), encoding="utf-8")
    monkeypatch.setenv("B1_MAPPING", str(mapping))

    result = cli("once")

    assert result.code == 2
    assert message_lines(result.err) == [
        f"configuration error: mapping file {mapping} is invalid (1 problem):",
        f"{mapping}:2: YAML anchors (&name) and aliases (*name) are not allowed, found '&l0' — write the "
        "value out in full wherever it is used (remove every '&name' and '*name')",
    ]
    assert mock_sl.requests == []


def test_a_page_whose_rows_are_not_objects_is_one_line_exit_3_and_a_failed_cycle(
    cli, cli_env, mock_sl, monkeypatch
):
    from connector.ledger import Ledger
    from connector.mock_sl.routes import Response

    real_handle = mock_sl.router.handle

    def broken_orders_page(request):
        if request.method == "GET" and request.path == "ProductionOrders":
            return Response(200, b'{"value": [1, "x"]}', {"Content-Type": "application/json"})
        return real_handle(request)

    monkeypatch.setattr(mock_sl.router, "handle", broken_orders_page)

    result = cli("once", "--json")

    assert result.code == cli_module.EXIT_SL == 3
    [line] = message_lines(result.err)
    assert line.startswith("Service Layer error: GET /b1s/") and "/ProductionOrders?" in line
    assert "Traceback" not in result.err
    assert ": row 1 of the page is a number 1, not an entity object; the Service Layer or a proxy" in line
    assert receipt_posts(mock_sl) == []
    ledger = Ledger(Path(cli_env["B1_LEDGER_PATH"]))
    try:
        [cycle] = ledger.last_cycles(1)
    finally:
        ledger.close()
    assert cycle["status"] == "failed"


def test_https_to_the_plain_http_mock_is_one_line_naming_the_port_exit_3(cli, mock_sl, monkeypatch, protocol):
    https_root = mock_sl.root(protocol).replace("http://", "https://")
    monkeypatch.setenv("B1_SL_URL", https_root)

    result = cli("once")

    assert result.code == cli_module.EXIT_SL == 3
    [line] = message_lines(result.err)
    port = https_root.split(":")[2].split("/")[0]
    assert line.startswith(
        f"Service Layer error: POST /b1s/{protocol}/Login: TLS: 127.0.0.1:{port} does not answer in TLS"
    )
    assert "B1_SL_URL says https:// but that port serves plain HTTP" in line
    assert "Traceback" not in result.err
