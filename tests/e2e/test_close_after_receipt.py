"""``after_full_receipt: close_order``: the report says which orders were closed; a failed close is a
warning (the receipt stands), never a reason to post again."""

from __future__ import annotations

from tests.support.mock import ROOT

READY_FLAG = ROOT / "mappings" / "examples" / "ready-flag-batch-close.yaml"


def test_a_fully_received_order_is_closed_and_the_report_says_so(mock_sl, worker_factory):
    report = worker_factory(mapping=READY_FLAG).run_cycle()
    closed = [p for p in report.posted if p.order_closed]
    assert [p.order_entry for p in closed] == [118]
    assert mock_sl.store.get("ProductionOrders", 118)["ProductionOrderStatus"] == "boposClosed"
    assert "; order closed" in report.render_text()
    assert report.to_dict()["posted"][0]["order_closed"] is True


def test_a_failed_close_is_a_warning_the_receipt_stands_and_the_next_cycle_closes(mock_sl, worker_factory):
    mock_sl.faults.fail_next(
        "ProductionOrders(118)", status=400, code=-5002, message="Simulated refusal", method="PATCH"
    )
    worker = worker_factory(mapping=READY_FLAG)
    report = worker.run_cycle()
    [posted] = report.posted
    assert posted.order_entry == 118 and not posted.order_closed
    [warning] = report.warnings
    assert warning.code == "CLOSE_FAILED" and "tried again next cycle" in warning.message
    assert mock_sl.store.get("ProductionOrders", 118)["ProductionOrderStatus"] == "boposReleased"
    again = worker.run_cycle()
    assert again.posted == [] and again.warnings == []
    assert mock_sl.store.get("ProductionOrders", 118)["ProductionOrderStatus"] == "boposClosed"


def test_a_fully_received_order_the_connector_never_posted_is_not_closed(mock_sl, worker_factory):
    # Received in full by hand in SAP: closing it is the planner's call, not the connector's.
    mock_sl.store.patch("ProductionOrders", 118, {"CompletedQuantity": 10})
    report = worker_factory(mapping=READY_FLAG).run_cycle()
    assert report.posted == []
    assert mock_sl.store.get("ProductionOrders", 118)["ProductionOrderStatus"] == "boposReleased"
    assert not [r for r in mock_sl.requests if r.method == "PATCH"]
