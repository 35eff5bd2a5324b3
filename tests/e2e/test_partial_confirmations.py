"""Cumulative shop-floor confirmations over several cycles: each cycle receives only what is new, SAP's
totals add up, and every receipt carries its own key (``once --json`` against the mock, v1 and v2)."""

from __future__ import annotations

from tests.support.demo import documents_for, key_of, number, posted_by_entry, receipt_posts

ENTRY = 116  # clean demo order: FG-CHAIR, planned 20, nothing received, plenty of component stock

#: (U_ConfirmedQty, U_RejectedQty) the shop floor writes → (good, rejected) the cycle must receive.
STEPS = [
    ((3, None), (3, 0)),
    ((7, None), (4, 0)),
    ((7, None), None),  # unchanged: nothing new to receive
    ((7, 2), (0, 2)),  # only rejects were reported
    ((12, 3), (5, 1)),
    ((12, 3), None),
    ((17, 3), (5, 0)),  # 17 good + 3 rejected = the planned 20
]


def test_partial_confirmations_are_received_step_by_step_with_distinct_keys(cli, mock_sl):
    keys: list[str] = []
    completed = rejected = 0.0
    for (confirmed, rejects), expected in STEPS:
        confirmation = {"U_ConfirmedQty": confirmed, "U_RejectedQty": rejects}
        mock_sl.store.patch("ProductionOrders", ENTRY, confirmation)  # what the shop floor writes
        posts_before = len(receipt_posts(mock_sl, ENTRY))

        result = cli("once", "--json")

        assert result.code == 0, result.err
        report = result.json
        assert report["errors"] == []
        posted = posted_by_entry(report)
        order = mock_sl.store.get("ProductionOrders", ENTRY)
        if expected is None:
            assert ENTRY not in posted
            assert len(receipt_posts(mock_sl, ENTRY)) == posts_before
        else:
            good, rejects_now = expected
            p = posted[ENTRY]
            assert (p["quantity"], p["rejected_quantity"]) == (good, rejects_now)
            completed, rejected = completed + good, rejected + rejects_now
            assert p["key"] == key_of(ENTRY, completed, rejected)
            keys.append(p["key"])
            [sent] = receipt_posts(mock_sl, ENTRY)[posts_before:]
            assert sent.status == 204  # created (Prefer: return-no-content)
            lines = {ln["TransactionType"]: ln["Quantity"] for ln in sent.body["DocumentLines"]}
            wanted = (("botrntComplete", good), ("botrntReject", rejects_now))
            assert lines == {kind: qty for kind, qty in wanted if qty}
        assert (order["CompletedQuantity"], order["RejectedQuantity"]) == (completed, rejected)
        assert ENTRY not in {h["order_entry"] for h in report["held"]}

    assert (completed + rejected) == order["PlannedQuantity"]
    assert len(set(keys)) == len(keys) == sum(1 for _, expected in STEPS if expected)
    receipts = documents_for(mock_sl, "InventoryGenEntries", ENTRY)
    assert sorted(r["U_B1BF_Key"] for r in receipts) == sorted(keys)
    # Fully received: raising the confirmation any further is refused before SAP sees it.
    mock_sl.store.patch("ProductionOrders", ENTRY, {"U_ConfirmedQty": 18})
    held = {h["order_entry"]: h for h in cli("once", "--json").json["held"]}
    assert [r["code"] for r in held[ENTRY]["reasons"]] == ["OVER_RECEIPT"]
    assert str(number(ENTRY)) in held[ENTRY]["reasons"][0]["message"]
    assert len(receipt_posts(mock_sl, ENTRY)) == len(keys)
