"""``b1-backflush status`` reads the ledger alone: no SAP settings needed, and never a new ledger."""

from __future__ import annotations

from tests.support.demo import DEMO_HOLDS, DEMO_POSTS, ledger_path


def test_status_needs_only_the_ledger_path(cli, cli_env, monkeypatch):
    assert cli("once").code == 0
    for name in ("B1_SL_URL", "B1_USERNAME", "B1_PASSWORD", "B1_COMPANY_DB"):
        monkeypatch.delenv(name)
    result = cli("status", "--json")
    assert result.code == 0, result.err
    status = result.json
    assert status["company"] is None  # B1_COMPANY_DB unset: every company the ledger holds
    assert {h["order_entry"] for h in status["held"]} == set(DEMO_HOLDS)
    assert status["counts"] == {"posted": len(DEMO_POSTS)}
    text = cli("status")
    assert text.code == 0 and text.out.startswith("Company (all in the ledger). Postings by state: posted 7")


def test_status_refuses_a_ledger_that_does_not_exist_and_creates_nothing(cli, cli_env, tmp_path, monkeypatch):
    missing = tmp_path / "typo" / "ledger.sqlite3"
    monkeypatch.setenv("B1_LEDGER_PATH", str(missing))
    result = cli("status")
    assert result.code == 6
    assert result.err.strip() == (
        f"ledger error: no ledger at {missing}: nothing has run on it yet. Check B1_LEDGER_PATH "
        "(the same as the service's), or run `b1-backflush once` first"
    )
    assert result.out == ""
    assert not missing.parent.exists()


def test_status_shows_what_the_services_reconciliation_found(cli, cli_env):
    from connector.ledger import Ledger

    assert cli("once").code == 0
    ledger = Ledger(ledger_path(cli_env))
    ledger.record_reconciliation(
        {"clean": False, "duplicates": [{"key": "k"}], "orphans": [], "missing": [], "since": "2026-01-01"}
    )
    ledger.close()
    assert cli("status", "--json").json["last_reconciliation"]["duplicates"] == [{"key": "k"}]
    assert "found SAP and the ledger disagreeing: 1 duplicate key(s)" in cli("status").out
