"""A worker SIGKILLed between ledger write and POST, or between POST and ledger update, then restarted:
SAP ends with exactly one receipt per confirmation, and the ledger agrees with SAP."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from connector.ledger import Ledger

SCRIPT = Path(__file__).with_name("crash_worker.py")
KEY_FIELD = "U_B1BF_Key"


def _run_worker(sl, protocol: str, ledger: Path, crash_at: str) -> subprocess.CompletedProcess[str]:
    user, password = next(iter(sl.users.items()))
    return subprocess.run(
        [sys.executable, str(SCRIPT), sl.root(protocol), sl.company_db, user, password, str(ledger), crash_at],
        capture_output=True, text=True, timeout=120, check=False,
    )


def assert_exactly_once_and_ledger_agrees(sl, ledger_path: Path) -> None:
    """One document per key in SAP, every posted ledger row points at it, nothing left in flight."""
    receipts = sl.store.rows("InventoryGenEntries")
    per_key = Counter(r.get(KEY_FIELD) for r in receipts)
    assert all(count == 1 for count in per_key.values()), per_key
    assert None not in per_key, "a receipt without a posting key"
    ledger = Ledger(ledger_path)
    try:
        assert ledger.in_flight() == []
        posted = {row.key: row for row in ledger.recent(1000, state="posted")}
        assert set(posted) == set(per_key)
        by_key = {r[KEY_FIELD]: r for r in receipts}
        for key, row in posted.items():
            assert row.receipt_entry == by_key[key]["DocEntry"]
    finally:
        ledger.close()
    # Drained: each order received what SAP-side confirmations say, no more (per receipt key targets).
    for receipt in receipts:
        _company, entry, completed, rejected = receipt[KEY_FIELD].split("/")
        order = sl.store.get("ProductionOrders", int(entry))
        assert order["CompletedQuantity"] >= float(completed[1:]) - 1e-9
        assert order["RejectedQuantity"] >= float(rejected[1:]) - 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["after_intent", "after_post"])
def test_crash_point_kill_then_restart_posts_exactly_once(mock_sl, protocol, tmp_path, crash_at):
    ledger = tmp_path / "ledger.sqlite3"
    killed = _run_worker(mock_sl, protocol, ledger, crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    receipts_after_kill = len(mock_sl.store.rows("InventoryGenEntries"))
    assert receipts_after_kill == (1 if crash_at == "after_post" else 0)

    restarted = _run_worker(mock_sl, protocol, ledger, "none")
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert "settled=1" in restarted.stdout
    assert_exactly_once_and_ledger_agrees(mock_sl, ledger)
    posted_total = len(mock_sl.store.rows("InventoryGenEntries"))
    assert posted_total > 1

    again = _run_worker(mock_sl, protocol, ledger, "none")
    assert again.returncode == 0 and "posted=0" in again.stdout
    assert len(mock_sl.store.rows("InventoryGenEntries")) == posted_total
