"""What people do in SAP after the connector posted: cancel a receipt, clean up a duplicate.

A receipt cancelled in SAP leaves its confirmation received: the connector holds the order
ALREADY_POSTED rather than post the same confirmation twice. Two receipts with one key hold the
order DUPLICATE_IN_SAP until a person cancels the extra one; then the connector resumes by itself.
"""

from __future__ import annotations

from tests.support.demo import receipts_for
from tests.support.exactly_once import KEY_FIELD
from tests.support.raw_client import Client


def cancel_in_sap(sl, receipt: dict) -> dict:
    """A person cancels ``receipt`` in SAP (``POST InventoryGenEntries(k)/Cancel`` on the mock): it is
    Cancelled, and SAP's cancellation document takes its quantities back. Returns the cancellation."""
    client = Client(sl, "v2")
    assert client.login().status_code == 200
    response = client.post(f"InventoryGenEntries({receipt['DocEntry']})/Cancel")
    assert response.status_code == 204, response.text
    return max(sl.store.rows("InventoryGenEntries"), key=lambda d: d["DocEntry"])


def held_codes(report) -> dict[int, list[str]]:
    return {h.order_entry: [r["code"] for r in h.reasons] for h in report.held}


def test_a_cancelled_receipt_is_never_posted_again(mock_sl, worker_factory):
    worker = worker_factory()
    first = worker.run_cycle()
    assert 101 in {p.order_entry for p in first.posted}
    [receipt] = receipts_for(mock_sl, 101)
    cancel_in_sap(mock_sl, receipt)

    second = worker.run_cycle()
    assert held_codes(second)[101] == ["ALREADY_POSTED"]
    message = next(h for h in second.held if h.order_entry == 101).reasons[0]["message"]
    assert f"DocNum {receipt['DocNum']}" in message and "Order 2026230101" in message
    assert len(receipts_for(mock_sl, 101)) == 2  # the receipt and SAP's cancellation: none posted again


def test_a_duplicate_in_sap_holds_the_order_until_a_person_cancels_the_extra_receipt(mock_sl, worker_factory):
    worker = worker_factory()
    # The answer to order 101's receipt is lost ...
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
    first = worker.run_cycle()
    assert 101 not in {p.order_entry for p in first.posted}
    [original] = receipts_for(mock_sl, 101)
    # ... and before the connector settles it, someone posts the same payload again (a copied
    # script, a second instance on another ledger): SAP now has two receipts with one key.
    worker.client.post(
        "InventoryGenEntries",
        {k: v for k, v in original.items() if k in ("DocDate", "Comments", KEY_FIELD, "JournalMemo")}
        | {"DocumentLines": [{"BaseType": 202, "BaseEntry": 101, "Quantity": 4}]},
    )
    assert len(receipts_for(mock_sl, 101)) == 2

    second = worker.run_cycle()
    assert held_codes(second)[101] == ["DUPLICATE_IN_SAP"]
    message = next(h for h in second.held if h.order_entry == 101).reasons[0]["message"]
    assert "2 receipts carry key" in message and "Cancel the extra receipt" in message
    assert worker.ledger.get(original[KEY_FIELD]).state == "duplicate"
    third = worker.run_cycle()
    assert held_codes(third)[101] == ["DUPLICATE_IN_SAP"]
    assert len(receipts_for(mock_sl, 101)) == 2

    extra = max(receipts_for(mock_sl, 101), key=lambda d: d["DocEntry"])
    cancel_in_sap(mock_sl, extra)
    fourth = worker.run_cycle()
    assert 101 not in held_codes(fourth)
    assert 101 not in {p.order_entry for p in fourth.posted}
    row = worker.ledger.get(original[KEY_FIELD])
    assert (row.state, row.receipt_entry) == ("posted", original["DocEntry"])
    assert len(receipts_for(mock_sl, 101)) == 3  # and the cancellation: nothing new was posted


def test_the_cancellation_document_carrying_the_key_is_not_a_second_receipt(mock_sl, worker_factory):
    # ❓ If SAP's cancellation document copies the key UDF, a look-up finds two documents for one key:
    # the cancelled original (CancelStatus csYes) and the cancellation (csCancellation). Neither is live.
    worker = worker_factory()
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
    worker.run_cycle()
    [original] = receipts_for(mock_sl, 101)
    mock_sl.store.patch(
        "InventoryGenEntries", original["DocEntry"], {"Cancelled": "tYES", "CancelStatus": "csYes"}
    )
    mock_sl.store.insert(
        "InventoryGenEntries",
        {
            **original,
            "DocEntry": 900,
            "DocNum": 202680900,
            "CancelStatus": "csCancellation",
            "Cancelled": "tNO",
        },
    )
    order = mock_sl.store.get("ProductionOrders", 101)
    mock_sl.store.patch("ProductionOrders", 101, {"CompletedQuantity": order["CompletedQuantity"] - 4})

    second = worker.run_cycle()
    row = worker.ledger.get(original[KEY_FIELD])
    assert (row.state, row.receipt_entry) == ("posted", original["DocEntry"])  # not "duplicate"
    assert held_codes(second)[101] == ["ALREADY_POSTED"]  # and never posted again
    assert len(receipts_for(mock_sl, 101)) == 2


def test_a_connector_that_lost_its_ledger_does_not_post_a_cancelled_receipt_again(
    mock_sl, worker_factory, tmp_path
):
    # Rule 6: safety does not depend on the local disk. The ledger is what remembers that a key was
    # posted; once it is lost (or restored from an older backup), SAP's cancelled receipt must.
    worker_factory().run_cycle()
    [receipt] = receipts_for(mock_sl, 101)
    cancellation = cancel_in_sap(mock_sl, receipt)
    # SAP's cancellation document copies the key UDF (as the mock's does), and ❓ may show as Cancelled
    # too (B1 stores 'C'): the stricter case. It is not the receipt the key was sent with.
    assert cancellation[KEY_FIELD] == receipt[KEY_FIELD]
    mock_sl.store.patch("InventoryGenEntries", cancellation["DocEntry"], {"Cancelled": "tYES"})

    fresh = worker_factory(ledger_path=tmp_path / "new-ledger.sqlite3").run_cycle()

    assert held_codes(fresh)[101] == ["ALREADY_POSTED"]
    message = next(h for h in fresh.held if h.order_entry == 101).reasons[0]["message"]
    assert f"DocNum {receipt['DocNum']} (DocEntry {receipt['DocEntry']})" in message
    assert [r["DocEntry"] for r in receipts_for(mock_sl, 101)] == [
        receipt["DocEntry"],
        cancellation["DocEntry"],
    ]  # none posted again


def test_when_sap_will_not_list_cancelled_receipts_the_cycle_warns_once_and_still_posts(
    mock_sl, worker_factory
):
    def cancelled_reads() -> int:
        return sum("Cancelled eq" in r.query.get("$filter", "") for r in mock_sl.requests)

    refusal = {"status": 403, "code": -1, "message": "No permission", "method": "GET"}
    mock_sl.faults.fail_next("InventoryGenEntries", count=1000, **refusal)
    worker = worker_factory(fresh_read_chunk=2)  # several chunks, each could ask again
    first = worker.run_cycle()
    [warning] = [w for w in first.warnings if w.code == "CANCELLED_RECEIPTS_UNREAD"]
    assert "No permission" in warning.message and "read again next cycle" in warning.message
    assert cancelled_reads() == 1  # not asked again in the cycle
    assert 101 in {p.order_entry for p in first.posted}

    mock_sl.faults.clear()
    mock_sl.store.patch("ProductionOrders", 116, {"U_ConfirmedQty": 8})  # something new to receive
    second = worker.run_cycle()
    assert "CANCELLED_RECEIPTS_UNREAD" not in {w.code for w in second.warnings}
    assert cancelled_reads() == 2 and 116 in {p.order_entry for p in second.posted}
    worker.run_cycle()
    assert cancelled_reads() == 2  # read once it succeeded, for the life of the worker


def test_explain_gives_the_verdict_the_cycle_gives_for_what_the_ledger_and_sap_remember(
    mock_sl, worker_factory, tmp_path
):
    # A consultant asks why an order is not posted: explain must not answer POST where the cycle holds.
    worker = worker_factory()
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
    worker.run_cycle()  # order 101's answer lost
    uncertain = worker.explain(absolute_entry=101)
    assert (uncertain.action, [r.code for r in uncertain.verdict.blocking]) == ("hold", ["POSTING_UNCERTAIN"])

    worker.run_cycle()  # settled: posted
    [receipt] = receipts_for(mock_sl, 101)
    cancel_in_sap(mock_sl, receipt)
    cycle = worker.run_cycle()
    assert held_codes(cycle)[101] == ["ALREADY_POSTED"]
    explained = worker.explain(absolute_entry=101)
    assert (explained.action, [r.code for r in explained.verdict.blocking]) == ("hold", ["ALREADY_POSTED"])
    # The same with the ledger lost: SAP's cancelled receipt is what remembers it.
    forgetful = worker_factory(ledger_path=tmp_path / "new-ledger.sqlite3").explain(absolute_entry=101)
    assert [r.code for r in forgetful.verdict.blocking] == ["ALREADY_POSTED"]


def test_a_dry_run_holds_a_cancelled_confirmation_as_the_cycle_does(mock_sl, worker_factory, tmp_path):
    # A consultant's dry run predicts the real cycle: it must not list as "would post" a confirmation
    # the ledger, or SAP's cancelled receipt, says was received before.
    worker_factory().run_cycle()
    [receipt] = receipts_for(mock_sl, 101)
    cancel_in_sap(mock_sl, receipt)
    for ledger in ("ledger.sqlite3", "new-ledger.sqlite3"):  # the ledger remembers; then SAP does
        dry = worker_factory(ledger_path=tmp_path / ledger).run_cycle(dry_run=True)
        assert held_codes(dry)[101] == ["ALREADY_POSTED"]
        assert 101 not in {w["order_entry"] for w in dry.would_post}
    assert len(receipts_for(mock_sl, 101)) == 2  # the receipt and SAP's cancellation: nothing posted
