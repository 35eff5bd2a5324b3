"""What a cycle costs in Service Layer requests: the item master in a few batched reads, never one
request per line; per receipt one fresh read of the order and one POST."""

from __future__ import annotations

import math

from connector.poll import ITEMS_PER_REQUEST


def requests_of(sl, method: str, entity_set: str, since: int = 0) -> list:
    return [r for r in sl.requests[since:] if r.method == method and r.path.split("(")[0] == entity_set]


def test_one_cycle_reads_items_in_batches_and_each_receipt_costs_one_read_and_one_post(
    mock_sl, worker_factory
):
    released = [
        o for o in mock_sl.store.rows("ProductionOrders") if o["ProductionOrderStatus"] == "boposReleased"
    ]
    codes = {o["ItemNo"] for o in released} | {
        ln["ItemNo"]
        for o in released
        for ln in o["ProductionOrderLines"]
        if ln.get("ItemType") != "pit_Text" and ln.get("ItemNo")
    }
    report = worker_factory(page_size=100).run_cycle()
    posted = len(report.posted)
    assert posted == 7

    item_reads = requests_of(mock_sl, "GET", "Items")
    assert len(item_reads) <= math.ceil(len(codes) / ITEMS_PER_REQUEST)
    assert len(requests_of(mock_sl, "POST", "InventoryGenEntries")) == posted
    order_reads = requests_of(mock_sl, "GET", "ProductionOrders")
    assert len(order_reads) == 1 + posted  # one page (19 orders < 100) + one fresh read per receipt

    before = len(mock_sl.requests)
    worker_factory(page_size=100).run_cycle()
    # Nothing to post: one page of orders and the batched item read, nothing else (besides the login).
    again = [r for r in mock_sl.requests[before:] if r.path not in ("Login", "Logout")]
    assert len(again) == 1 + len(item_reads)


def test_a_batch_of_items_that_all_exist_is_one_request(mock_sl, worker_factory):
    # A full page carries a next link even when it is the last (service-layer.md §3.2); asking for one
    # row more than can come back keeps a complete batch to one request.
    from connector.poll import fetch_items

    worker = worker_factory()
    before = len(mock_sl.requests)
    cache: dict = {}
    fetch_items(worker.client, ["WOOD-LEG", "SCREW-M4", "FG-CHAIR"], cache)
    assert set(cache) == {"WOOD-LEG", "SCREW-M4", "FG-CHAIR"}
    assert len(requests_of(mock_sl, "GET", "Items", since=before)) == 1
