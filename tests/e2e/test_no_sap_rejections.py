"""SAP never refuses a receipt in the demo for a reason a rule exists for: the whole demo (v1 and v2), then a
planner doing what the held messages say, and the mock creates every receipt the connector posts."""

from __future__ import annotations

from connector.production import reasons as rc
from tests.support.demo import (
    DEMO_HOLDS,
    DEMO_POSTS,
    codes_by_entry,
    posted_by_entry,
    receipt_posts,
    refusals,
)


def sl_rejected(report: dict) -> list[int]:
    return [entry for entry, codes in codes_by_entry(report).items() if rc.SL_REJECTED in codes]


def test_the_demo_and_the_fixes_the_messages_ask_for_are_never_refused_by_sap(cli, mock_sl, sl_client):
    first = cli("once", "--json").json
    assert set(posted_by_entry(first)) == set(DEMO_POSTS)
    assert codes_by_entry(first) == {entry: [code] for entry, code in DEMO_HOLDS.items()}

    # The planner follows the messages: issue the missing paint for 104, bring the missing foam into
    # warehouse 02 for 107, correct the confirmations of 110 (12 of 10) and 111 (3 after 5 received).
    sl_client.post(
        "InventoryGenExits",
        {"DocumentLines": [{"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 4}]},
    )
    sl_client.post(
        "InventoryGenEntries",
        {"DocumentLines": [{"ItemCode": "FOAM-LOW", "Quantity": 9, "WarehouseCode": "02"}]},
    )
    sl_client.patch("ProductionOrders", 110, {"U_ConfirmedQty": 10})
    sl_client.patch("ProductionOrders", 111, {"U_ConfirmedQty": 7})

    second = cli("once", "--json").json
    assert {entry: p["quantity"] for entry, p in posted_by_entry(second).items()} == {
        104: 2,
        107: 5,
        110: 10,
        111: 2,
    }
    assert set(codes_by_entry(second)) == set(DEMO_HOLDS) - {104, 107, 110, 111}
    third = cli("once", "--json").json
    assert third["posted"] == []

    assert refusals(mock_sl) == []
    assert len(receipt_posts(mock_sl)) == len(DEMO_POSTS) + 4 + 1  # + the planner's goods receipt
    for report in (first, second, third):
        assert sl_rejected(report) == [] and report["errors"] == []
    status = cli("status", "--json").json
    assert status["rejected"] == [] and status["counts"] == {"posted": len(DEMO_POSTS) + 4}
