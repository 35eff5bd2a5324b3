"""What a cycle costs in Service Layer requests: the item master in a few batched reads, never one
request per line; the orders to post read again in chunks (one GET each) right before their POSTs."""

from __future__ import annotations

import math

import pytest

from connector.poll import FIRST_READ_PAGE, ITEMS_PER_REQUEST


def requests_of(sl, method: str, entity_set: str, since: int = 0) -> list:
    return [r for r in sl.requests[since:] if r.method == method and r.path.split("(")[0] == entity_set]


def test_one_cycle_reads_items_in_batches_and_each_receipt_costs_one_post_and_a_share_of_a_chunk_read(
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
    worker = worker_factory(page_size=100)
    report = worker.run_cycle()
    posted = len(report.posted)
    assert posted == 7

    item_reads = requests_of(mock_sl, "GET", "Items")
    # The products with the page, the components with the chunk of orders to post.
    assert len(item_reads) <= math.ceil(len(codes) / ITEMS_PER_REQUEST) + 1
    assert len(requests_of(mock_sl, "POST", "InventoryGenEntries")) == posted
    poll, *rereads = requests_of(mock_sl, "GET", "ProductionOrders")
    # One page of headers (19 orders < 100), then the orders with something to receive read again
    # with their lines; a worker's first read does not know how many lines orders have yet, so it
    # reads a small page first, then the rest of the chunk at once (the demo's orders have few lines).
    assert "ProductionOrderLines" not in poll.query["$select"]
    assert all("ProductionOrderLines" in r.query["$select"] for r in rereads)
    asked = [r.query["$filter"].count("AbsoluteEntry eq") for r in rereads]
    assert asked[0] == FIRST_READ_PAGE and len(asked) == 2 and sum(asked) > FIRST_READ_PAGE

    before = len(mock_sl.requests)
    worker.run_cycle()
    # Nothing to post: the page, the company facts (one page of warehouses, one of the receipt UDFs),
    # one read of the held orders (they still have something to receive, so their lines are checked
    # again: a few lines each, one page) and the batched item reads (besides the login).
    again = [r for r in mock_sl.requests[before:] if r.path not in ("Login", "Logout")]
    assert [r.path for r in again[2:4]] == ["Warehouses", "UserFieldsMD"]  # after the page and products
    assert len(requests_of(mock_sl, "GET", "ProductionOrders", since=before)) == 2
    assert len(again) == 2 + 2 + len(requests_of(mock_sl, "GET", "Items", since=before))
    assert (
        len(requests_of(mock_sl, "GET", "Items", since=before))
        <= math.ceil(len(codes) / ITEMS_PER_REQUEST) + 1
    )


def test_a_cycle_with_nothing_to_receive_costs_its_pages_and_one_item_read(mock_sl, worker_factory):
    # Everything received already: no order is read again, the company facts (warehouses, UDF sizes)
    # are not needed, so the idle poll is the pages of headers and the products' item master.
    with mock_sl.store.lock:
        for order in mock_sl.store.rows("ProductionOrders"):
            live = mock_sl.store.live("ProductionOrders", order["AbsoluteEntry"])
            live["U_ConfirmedQty"] = live["CompletedQuantity"]
            live["U_RejectedQty"] = live["RejectedQuantity"]
    worker = worker_factory(page_size=5)
    before = len(mock_sl.requests)
    report = worker.run_cycle()
    assert report.summary()["posted"] == 0 and report.orders_seen > 0
    idle = [r for r in mock_sl.requests[before:] if r.path not in ("Login", "Logout")]
    pages = requests_of(mock_sl, "GET", "ProductionOrders", since=before)
    assert len(pages) == math.ceil(report.orders_seen / 5)
    assert len(idle) == len(pages) + len(requests_of(mock_sl, "GET", "Items", since=before))
    assert len(requests_of(mock_sl, "GET", "Items", since=before)) <= len(pages)


def test_orders_with_many_lines_are_read_in_smaller_pages(mock_sl, worker_factory):
    # Every order gets 600 component lines: once the connector has seen that, a read right before
    # posting holds about LINES_PER_READ lines per page, so memory stays bounded whatever orders hold.
    from connector.poll import LINES_PER_READ, read_page_size

    with mock_sl.store.lock:
        for order in mock_sl.store.rows("ProductionOrders"):
            order = mock_sl.store.live("ProductionOrders", order["AbsoluteEntry"])
            if order["ProductionOrderLines"]:
                line = order["ProductionOrderLines"][0]
                order["ProductionOrderLines"] = [
                    {**line, "LineNumber": n, "VisualOrder": n} for n in range(600)
                ]
    assert read_page_size(50, 1500.0) == 1 and read_page_size(50, 2.5) == 50
    assert read_page_size(50, None) == FIRST_READ_PAGE
    worker = worker_factory(page_size=100)
    worker.run_cycle()
    assert worker._lines_per_order is not None and worker._lines_per_order > 50
    before = len(mock_sl.requests)
    worker.run_cycle()
    rereads = requests_of(mock_sl, "GET", "ProductionOrders", since=before)[1:]
    due = rereads[0].query["$filter"].count("AbsoluteEntry eq")
    expected_page = read_page_size(due, worker._lines_per_order)
    assert expected_page * worker._lines_per_order <= LINES_PER_READ
    assert len(rereads) == math.ceil(due / expected_page) > 1


def test_a_batch_of_items_that_all_exist_is_one_request(mock_sl, worker_factory):
    # A full page carries a next link even when it is the last (docs/service-layer.md §3.2); asking for one
    # row more than can come back keeps a complete batch to one request.
    from connector.poll import fetch_items

    worker = worker_factory()
    before = len(mock_sl.requests)
    cache: dict = {}
    fetch_items(worker.client, ["WOOD-LEG", "SCREW-M4", "FG-CHAIR"], cache)
    assert set(cache) == {"WOOD-LEG", "SCREW-M4", "FG-CHAIR"}
    assert len(requests_of(mock_sl, "GET", "Items", since=before)) == 1


@pytest.mark.parametrize("page_size", [1, 5, 19, 100])
def test_the_poll_costs_one_request_per_page_even_when_the_last_page_is_full(
    mock_sl, worker_factory, page_size
):
    # The poll asks for one row more than a page: a full last page is known to be the last without
    # an extra, empty request (19 released candidate orders in the demo).
    from connector.poll import iter_order_pages

    worker = worker_factory(page_size=page_size)
    before = len(mock_sl.requests)
    pages = list(iter_order_pages(worker.client, worker.mapping, page_size=page_size))
    entries = [row["AbsoluteEntry"] for page in pages for row in page]
    assert len(entries) == len(set(entries)) == 19
    assert all(len(page) <= page_size for page in pages)
    assert len(requests_of(mock_sl, "GET", "ProductionOrders", since=before)) == math.ceil(19 / page_size)
