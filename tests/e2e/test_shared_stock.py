"""Two orders of one cycle share a scarce backflushed component: the stock check counts what the first
receipt consumed, so the second is held INSUFFICIENT_STOCK instead of SAP refusing it (-5002)."""

from __future__ import annotations

import pytest

from connector.mock_sl.stock import StockLedger


def set_stock(sl, item: str, warehouse: str, quantity: float) -> None:
    with sl.store.lock:
        ledger = StockLedger(sl.store)
        ledger.move(item, warehouse, quantity - ledger.on_hand(item, warehouse))
        ledger.apply()


@pytest.mark.parametrize("post_sessions", [1, 4])
def test_second_order_sees_the_stock_the_first_receipt_consumed(mock_sl, worker_factory, post_sessions):
    # Orders 101 (4 of 10, WOOD-LEG 40 planned → 16), 116 (5 of 20, 80 planned → 20) and
    # 118 (10 of 10, 40 planned → 40) all backflush WOOD-LEG from warehouse 02; 30 are left.
    # With 4 posting sessions the stock is reserved before a receipt is handed to a session, so the
    # later orders are held even while 101's POST is still on its way.
    set_stock(mock_sl, "WOOD-LEG", "02", 30)
    report = worker_factory(post_sessions=post_sessions).run_cycle()

    posted = {p.order_entry for p in report.posted}
    held = {h.order_entry: [r["code"] for r in h.reasons] for h in report.held}
    assert 101 in posted
    assert held[116] == ["INSUFFICIENT_STOCK"] and held[118] == ["INSUFFICIENT_STOCK"]
    message = next(h for h in report.held if h.order_entry == 116).reasons[0]["message"]
    assert "only 14 are in stock" in message
    refused = [
        r
        for r in mock_sl.requests
        if r.method == "POST" and r.path.startswith("InventoryGenEntries") and r.status != 204
    ]
    assert refused == [], "SAP refused a receipt the stock check should have held"
    assert not any(r["code"] == "SL_REJECTED" for h in report.held for r in h.reasons)


def test_stock_taken_is_per_cycle_and_the_next_cycle_reads_sap_again(mock_sl, worker_factory):
    set_stock(mock_sl, "WOOD-LEG", "02", 30)
    worker = worker_factory()
    worker.run_cycle()
    set_stock(mock_sl, "WOOD-LEG", "02", 1000)  # a goods receipt arrived
    second = worker.run_cycle()
    assert {p.order_entry for p in second.posted} == {116, 118}


def test_a_dry_run_holds_for_stock_what_the_cycle_would_hold(mock_sl, worker_factory):
    # A dry run counts what the receipts it would post consume, as the cycle does: 116 and 118 are
    # held for stock in the dry run too, not listed as receipts the real cycle would then refuse.
    set_stock(mock_sl, "WOOD-LEG", "02", 30)
    worker = worker_factory()
    dry = worker.run_cycle(dry_run=True)
    held = {h.order_entry: [r["code"] for r in h.reasons] for h in dry.held}
    assert 101 in {w["order_entry"] for w in dry.would_post}
    assert held[116] == ["INSUFFICIENT_STOCK"] and held[118] == ["INSUFFICIENT_STOCK"]
    assert not any(r.method == "POST" and r.path.startswith("InventoryGenEntries") for r in mock_sl.requests)

    real = worker.run_cycle()  # the stock a dry run took was its own cycle's only
    assert {w["order_entry"] for w in dry.would_post} == {p.order_entry for p in real.posted}
    assert {h.order_entry: [r["code"] for r in h.reasons] for h in real.held} == held
