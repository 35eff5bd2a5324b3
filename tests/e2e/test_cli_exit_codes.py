"""Exit codes of ``b1-backflush once``: 2 bad configuration (naming the variable), 3 the Service Layer
cannot be reached or refuses the login — one line each, never a traceback, never the password."""

from __future__ import annotations

import socket

from connector import cli as cli_module
from tests.support.demo import receipt_posts


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message_lines(err: str) -> list[str]:
    """stderr without the log lines (logfmt ``ts=...``)."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("ts=")]


def test_wrong_password_exits_3_with_one_line_and_never_shows_the_password(cli, mock_sl, monkeypatch):
    secret = "Wr0ng-Passw0rd-q7"
    monkeypatch.setenv("B1_PASSWORD", secret)

    result = cli("once", "--json")

    assert result.code == cli_module.EXIT_SL == 3
    [line] = message_lines(result.err)
    assert line.startswith("login to the Service Layer failed")
    assert "B1_PASSWORD" in line
    assert secret not in result.out + result.err
    assert "Traceback" not in result.err
    assert receipt_posts(mock_sl) == []


def test_unreachable_service_layer_exits_3(cli, monkeypatch):
    monkeypatch.setenv("B1_SL_URL", f"http://127.0.0.1:{closed_port()}/b1s/v2")

    result = cli("once", "--json")

    assert result.code == 3
    [line] = message_lines(result.err)
    assert line.startswith("the Service Layer cannot be reached") and "B1_SL_URL" in line
    assert "Traceback" not in result.err


def test_missing_sl_url_exits_2_naming_the_variable(cli, mock_sl, monkeypatch):
    monkeypatch.delenv("B1_SL_URL")

    result = cli("once", "--json")

    assert result.code == 2
    [line] = message_lines(result.err)
    assert "B1_SL_URL is missing" in line
    assert result.json == {  # --json: a script still gets one document, the error
        "schema": "b1-backflush.error/1",
        "exit_code": 2,
        "message": f"configuration error: {line.removeprefix('configuration error: ')}",
    }
    assert mock_sl.requests == []  # stopped before talking to SAP


def test_malformed_sl_url_exits_2_naming_the_variable_and_the_fix(cli, mock_sl, monkeypatch):
    monkeypatch.setenv("B1_SL_URL", mock_sl.base_url)  # the /b1s/v2 part forgotten

    result = cli("once")

    assert result.code == 2
    [line] = message_lines(result.err)
    assert "B1_SL_URL is invalid" in line and "/b1s/v" in line
    assert mock_sl.requests == []


def test_a_mapping_naming_a_missing_udf_exits_2_and_points_at_the_online_check(
    cli, mock_sl, monkeypatch, tmp_path
):
    mapping = tmp_path / "acme.yaml"
    mapping.write_text("version: 1\ncandidates:\n  extra_filter: \"U_NoSuchUdf eq 'A'\"\n", encoding="utf-8")
    monkeypatch.setenv("B1_MAPPING", str(mapping))

    result = cli("once", "--json")

    assert result.code == cli_module.EXIT_CONFIG == 2
    [line] = message_lines(result.err)
    assert line.startswith("the Service Layer refused a query")
    assert "b1-backflush mappings check --online" in line
    assert receipt_posts(mock_sl) == []
