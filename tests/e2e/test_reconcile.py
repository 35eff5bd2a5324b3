"""``b1-backflush reconcile``: the ledger read back against SAP's receipts (exactly-once rule 9)."""

from __future__ import annotations

import json

import pytest

from connector import cli
from tests.support.mock import make_settings
from tests.support.raw_client import Client

KEY_FIELD = "U_B1BF_Key"
CLEAN_DEMO_ORDERS = 7


@pytest.fixture
def run_cli(mock_sl, protocol, tmp_path, monkeypatch, capsys):
    settings = make_settings(mock_sl, protocol, tmp_path)
    env = {
        "B1_SL_URL": settings.sl_url,
        "B1_COMPANY_DB": settings.company_db,
        "B1_USERNAME": settings.username,
        "B1_PASSWORD": settings.password.get_secret_value(),
        "B1_LEDGER_PATH": str(settings.ledger_path),
        "B1_UNKNOWN_QUIET_PERIOD_S": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, dict, str]:
        """The --json document, then (reconcile only reads) the text of the same command without it."""
        capsys.readouterr()
        code = cli.main(list(argv))
        document = json.loads(capsys.readouterr().out)
        assert document["schema"] == f"b1-backflush.{argv[0]}/1"
        if argv[0] != "reconcile":
            return code, document, ""
        assert cli.main([a for a in argv if a != "--json"]) == code
        return code, document, capsys.readouterr().out

    run.settings = settings  # type: ignore[attr-defined]
    return run


def receipt_of(sl, order_entry: int) -> dict:
    [receipt] = [
        d
        for d in sl.store.rows("InventoryGenEntries")
        if any(ln.get("BaseEntry") == order_entry for ln in d.get("DocumentLines") or [])
    ]
    return receipt


def test_after_a_cycle_ledger_and_sap_agree(run_cli, mock_sl):
    run_cli("once", "--json")
    before = len(mock_sl.requests)
    code, result, text = run_cli("reconcile", "--json")
    assert code == cli.EXIT_OK
    assert result["clean"] is True
    assert (result["receipts_in_sap"], result["postings_in_ledger"]) == (CLEAN_DEMO_ORDERS, CLEAN_DEMO_ORDERS)
    assert "Ledger and SAP agree" in text
    # one query per reconcile run (the --json one and the text one), each narrowed in SAP, not here
    queries = [
        r.query for r in mock_sl.requests[before:] if r.method == "GET" and r.path == "InventoryGenEntries"
    ]
    assert len(queries) == 2
    assert all("startswith(U_B1BF_Key,'SBODEMOUS/')" in query["$filter"] for query in queries)


def test_receipts_without_our_key_or_with_another_companys_key_are_not_ours(run_cli, mock_sl):
    run_cli("once", "--json")
    other = receipt_of(mock_sl, 101)
    mock_sl.store.patch("InventoryGenEntries", other["DocEntry"], {KEY_FIELD: "OTHERCO/101/C4/R0"})
    code, result, _ = run_cli("reconcile", "--json")
    # The ledger's posting for 101 now has no receipt with its key in SAP: that is reported, the
    # other company's receipt is not.
    assert code == cli.EXIT_DIFFERENCES
    assert result["orphans"] == [] and result["duplicates"] == []
    assert [m["order_number"] for m in result["missing"]] == [2026230101]
    assert result["missing"][0]["problem"] == "no receipt with this key in SAP"


def test_a_lost_ledger_shows_every_receipt_as_an_orphan(run_cli, mock_sl, tmp_path, monkeypatch):
    run_cli("once", "--json")
    monkeypatch.setenv("B1_LEDGER_PATH", str(tmp_path / "restored-from-an-old-backup.sqlite3"))
    code, result, text = run_cli("reconcile", "--json")
    assert code == cli.EXIT_DIFFERENCES
    assert len(result["orphans"]) == CLEAN_DEMO_ORDERS
    assert all(o["ledger_state"] is None for o in result["orphans"])
    assert "ledger lost or restored" in text


def test_a_duplicate_and_a_cancelled_receipt_are_reported(run_cli, mock_sl):
    run_cli("once", "--json")
    original = receipt_of(mock_sl, 101)
    # Someone posts order 101's receipt a second time with the same key, and cancels order 102's.
    # Numbers as SAP gives them: DocNum from the receipt series, never equal to DocEntry.
    mock_sl.store.insert("InventoryGenEntries", {**original, "DocEntry": 900, "DocNum": 202680900})
    mock_sl.store.patch("InventoryGenEntries", receipt_of(mock_sl, 102)["DocEntry"], {"Cancelled": "tYES"})
    code, result, text = run_cli("reconcile", "--json")
    assert code == cli.EXIT_DIFFERENCES
    [duplicate] = result["duplicates"]
    assert duplicate["key"] == original[KEY_FIELD]
    assert sorted((r["DocEntry"], r["DocNum"]) for r in duplicate["receipts"]) == sorted(
        [(original["DocEntry"], original["DocNum"]), (900, 202680900)]
    )
    [missing] = result["missing"]
    assert (missing["order_number"], missing["problem"]) == (2026230102, "the receipt was cancelled in SAP")
    assert "DUPLICATES" in text


def test_days_must_be_a_positive_number(run_cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reconcile", "--days", "0"])
    assert exit_info.value.code == 2
    assert "whole number of days" in capsys.readouterr().err


def test_a_receipt_posted_by_hand_is_reported_as_over_received(run_cli, mock_sl, protocol):
    # The window the chunked re-read leaves: a user receives order 101 by hand after the connector read
    # it and before (or after) its own receipt went out. SAP then shows more received than the
    # connector's last receipt for 101 brought it to; reconcile names the order.
    run_cli("once", "--json")
    code, result, _ = run_cli("reconcile", "--json")
    assert code == cli.EXIT_OK and result["over_received"] == []
    user = Client(mock_sl, protocol)
    assert user.login().status_code == 200
    by_hand = user.post(
        "InventoryGenEntries", {"DocumentLines": [{"BaseType": 202, "BaseEntry": 101, "Quantity": 1}]}
    )
    assert by_hand.status_code == 201, by_hand.text
    code, result, text = run_cli("reconcile", "--json")
    assert code == cli.EXIT_DIFFERENCES and result["clean"] is False
    [over] = result["over_received"]
    assert (over["order_entry"], over["key"]) == (101, "SBODEMOUS/101/C4/R0")
    assert (over["completed_in_sap"], over["completed_target"]) == (5.0, 4.0)
    assert result["duplicates"] == result["orphans"] == result["missing"] == []
    assert "order 2026230101: SAP shows 5 good and 0 rejected received" in text
