"""The exactly-once check every reliability test ends with: SAP holds one receipt per posting key and
the ledger agrees with SAP."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from connector.ledger import Ledger

#: The receipt's user field that carries the posting key (docs/contracts.md).
KEY_FIELD = "U_B1BF_Key"


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


def receipts_with_key(sl, key: str) -> list[dict]:
    """The receipts SAP holds (mock store) whose posting-key field is ``key``."""
    return [r for r in sl.store.rows("InventoryGenEntries") if r.get(KEY_FIELD) == key]


def order_entry_of(key: str) -> int:
    """The production order's AbsoluteEntry in a posting key ``company/entry/C<good>/R<rejected>``."""
    return int(key.split("/")[1])


def skip_quiet_periods(worker) -> None:
    """The worker's settling no longer waits out a quiet period in real time: its wall clock jumps
    ahead by each wait instead. For tests where nothing lands in SAP meanwhile (a lost answer SAP never
    committed), so the second look-up sees what it would have seen after the wait."""
    ahead = [0.0]

    def wall() -> float:
        return time.time() + ahead[0]

    def pause(seconds: float) -> None:
        ahead[0] += seconds

    worker.poster.clock = replace(worker.poster.clock, wall=wall, pause=pause)
