"""``POST InventoryGenEntries(k)/Cancel``: what a person does in SAP to a receipt posted twice, so a dry
run on the mock can follow the connector's advice (cancel the extra receipt) end to end.

SAP lists the bound action (§5.1) but documents no effects; the mock's choices are ASSUMPTIONS written
in ``sap_rules.cancel_receipt``: the receipt is cancelled (csYes), a cancellation document
(csCancellation) copying it takes its quantities back, the backflushed components stay issued.
"""

from __future__ import annotations

from tests.support.raw_client import Client, assert_refused, receipt, stock


def _post_receipt(client: Client, entry: int, quantity: float, **header) -> dict:
    response = client.post("InventoryGenEntries", {**receipt(entry, quantity), **header})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_cancelled_receipt_gives_its_quantities_back_through_a_cancellation_document(
    client: Client,
) -> None:
    sl = client.sl
    fg_before, order_before = stock(sl, "FG-CHAIR", "01"), sl.store.get("ProductionOrders", 101)
    posted = _post_receipt(client, 101, 3, U_B1BF_Key="SBODEMOUS/101/C3/R0")
    assert (posted["Cancelled"], posted["CancelStatus"]) == ("tNO", "csNo")  # a live receipt, as SAP says
    components_after_receipt = stock(sl, "WOOD-LEG", "01")

    response = client.post(f"InventoryGenEntries({posted['DocEntry']})/Cancel")
    assert response.status_code == 204 and not response.content

    original = client.get(f"InventoryGenEntries({posted['DocEntry']})").json()
    assert (original["Cancelled"], original["CancelStatus"]) == ("tYES", "csYes")
    [cancellation] = [
        d for d in sl.store.rows("InventoryGenEntries") if d["CancelStatus"] == "csCancellation"
    ]
    assert cancellation["DocEntry"] > posted["DocEntry"] and cancellation["DocNum"] > posted["DocNum"]
    assert cancellation["U_B1BF_Key"] == posted["U_B1BF_Key"]  # the header is copied, UDFs included
    assert [ln["Quantity"] for ln in cancellation["DocumentLines"]] == [3.0]
    order = sl.store.get("ProductionOrders", 101)
    assert order["CompletedQuantity"] == order_before["CompletedQuantity"]  # type: ignore[index]
    assert stock(sl, "FG-CHAIR", "01") == fg_before
    assert stock(sl, "WOOD-LEG", "01") == components_after_receipt  # the backflush stays issued
    # What the connector reads: the receipt is among the cancelled ones, the cancellation is not live.
    cancelled = client.get(
        "InventoryGenEntries", params={"$filter": "Cancelled eq 'tYES'", "$select": "DocEntry,CancelStatus"}
    ).json()["value"]
    assert cancelled == [{"DocEntry": posted["DocEntry"], "CancelStatus": "csYes"}]


def test_a_receipt_is_cancelled_once_and_a_cancellation_never(client: Client) -> None:
    posted = _post_receipt(client, 101, 1)
    assert client.post(f"InventoryGenEntries({posted['DocEntry']})/Cancel").status_code == 204
    before = client.sl.store.rows("InventoryGenEntries")
    again = client.post(f"InventoryGenEntries({posted['DocEntry']})/Cancel")
    message = "Document is already cancelled or is a cancellation  [OIGN.CANCELED]"
    assert_refused(client, again, -5002, message)
    cancellation = max(d["DocEntry"] for d in before)
    assert_refused(client, client.post(f"InventoryGenEntries({cancellation})/Cancel"), -5002, message)
    assert client.sl.store.rows("InventoryGenEntries") == before


def test_cancelling_is_refused_when_the_finished_good_has_left_the_warehouse(client: Client) -> None:
    sl = client.sl
    posted = _post_receipt(client, 101, 2)
    item = sl.store.get("Items", "FG-CHAIR")
    rows = [
        {**w, "InStock": 1.0} if w["WarehouseCode"] == "01" else w
        for w in item["ItemWarehouseInfoCollection"]
    ]
    sl.store.patch("Items", "FG-CHAIR", {"ItemWarehouseInfoCollection": rows})  # one of the two was sold
    response = client.post(f"InventoryGenEntries({posted['DocEntry']})/Cancel")
    assert_refused(client, response, -10, "Quantity falls into negative inventory [IGN1.ItemCode][line: 1]")
    assert client.get(f"InventoryGenEntries({posted['DocEntry']})").json()["Cancelled"] == "tNO"
    assert stock(sl, "FG-CHAIR", "01") == 1.0


def test_cancelling_a_receipt_of_a_closed_order_is_refused(client: Client) -> None:
    posted = _post_receipt(client, 101, 1)
    assert client.patch("ProductionOrders(101)", {"ProductionOrderStatus": "boposClosed"}).status_code == 204
    response = client.post(f"InventoryGenEntries({posted['DocEntry']})/Cancel")
    assert_refused(
        client,
        response,
        -5002,
        "Cannot cancel: production order 2026230101 is closed or cancelled  [IGN1.BaseEntry][line: 1]",
    )


def test_cancel_honours_if_match_and_a_missing_receipt_is_not_found(client: Client) -> None:
    posted = _post_receipt(client, 101, 1)
    path = f"InventoryGenEntries({posted['DocEntry']})"
    stale = client.get(path).headers["ETag"]
    client.sl.store.touch("InventoryGenEntries", posted["DocEntry"])  # someone changed it meanwhile
    assert client.post(f"{path}/Cancel", headers={"If-Match": stale}).status_code == 412
    fresh = client.get(path).headers["ETag"]
    assert client.post(f"{path}/Cancel", headers={"If-Match": fresh}).status_code == 204
    assert client.post("InventoryGenEntries(999999)/Cancel").status_code == 404
