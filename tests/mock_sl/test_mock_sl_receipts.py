"""SAP's behaviour on receipts and issues for production, and the switches (docs/service-layer.md §5)."""

from __future__ import annotations

import pytest

from tests.support.raw_client import Client, receipt, stock


def order(client: Client, entry: int) -> dict:
    row = client.sl.store.get("ProductionOrders", entry)
    assert row is not None
    return row


def test_receipt_effects_stock_issued_and_auto_issue(client: Client) -> None:
    sl = client.sl
    before_fg, before_leg = stock(sl, "FG-CHAIR", "01"), stock(sl, "WOOD-LEG", "02")
    body = receipt(101, 4)
    body["DocumentLines"][0].update(BaseType="202", BaseEntry="101")  # strings accepted (SAP-APIREF, §5.3)
    body["U_B1BF_Key"] = "SBODEMOUS:101:C:4"
    response = client.post("InventoryGenEntries", body)
    assert response.status_code == 201
    doc = response.json()
    assert response.headers["Location"] == f"{sl.root(client.version)}/InventoryGenEntries({doc['DocEntry']})"
    assert response.headers["ETag"].startswith('W/"')
    line = doc["DocumentLines"][0]
    assert (line["ItemCode"], line["BaseType"], line["BaseEntry"], line["Quantity"]) == (
        "FG-CHAIR",
        202,
        101,
        4.0,
    )
    assert doc["DocObjectCode"] == "oInventoryGenEntry" and doc["Cancelled"] == "tNO"
    assert order(client, 101)["CompletedQuantity"] == 4.0
    assert [ln["IssuedQuantity"] for ln in order(client, 101)["ProductionOrderLines"]] == [16.0, 32.0]
    assert stock(sl, "FG-CHAIR", "01") == before_fg + 4 and stock(sl, "WOOD-LEG", "02") == before_leg - 16
    exits = sl.store.rows("InventoryGenExits")
    assert len(exits) == 1
    assert [
        (ln["ItemCode"], ln["Quantity"], ln["BaseType"], ln["BaseEntry"], ln["BaseLine"])
        for ln in exits[0]["DocumentLines"]
    ] == [("WOOD-LEG", 16.0, 202, 101, 0), ("SCREW-M4", 32.0, 202, 101, 1)]
    found = client.get(
        "InventoryGenEntries",
        params={"$filter": "U_B1BF_Key eq 'SBODEMOUS:101:C:4'", "$select": "DocEntry,DocNum,U_B1BF_Key"},
    ).json()["value"]
    assert found == [
        {"DocEntry": doc["DocEntry"], "DocNum": doc["DocNum"], "U_B1BF_Key": "SBODEMOUS:101:C:4"}
    ]


def test_receipt_reject_resource_and_text_lines(client: Client) -> None:
    body = {
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": 102, "Quantity": 8, "WarehouseCode": "01"},
            {
                "BaseType": 202,
                "BaseEntry": 102,
                "Quantity": 2,
                "WarehouseCode": "REJ",
                "TransactionType": "R",
            },
        ]
    }
    assert client.post("InventoryGenEntries", body).status_code == 201
    row = order(client, 102)
    assert (row["CompletedQuantity"], row["RejectedQuantity"]) == (8.0, 2.0)
    issued = [ln["IssuedQuantity"] for ln in row["ProductionOrderLines"]]
    assert issued == [10.0, 5.0, 0.0]  # item, resource (no stock), text untouched
    exit_lines = client.sl.store.rows("InventoryGenExits")[0]["DocumentLines"]
    assert [(ln["ItemCode"], ln["Quantity"]) for ln in exit_lines] == [("WOOD-TOP", 8.0), ("WOOD-TOP", 2.0)]
    assert (stock(client.sl, "FG-TABLE", "01"), stock(client.sl, "FG-TABLE", "REJ")) == (13.0, 2.0)


def test_receipt_manual_lines_untouched(client: Client) -> None:
    assert client.post("InventoryGenEntries", receipt(103, 5)).status_code == 201
    assert [ln["IssuedQuantity"] for ln in order(client, 103)["ProductionOrderLines"]] == [10.0, 20.0]


def test_receipt_atomic_failure_changes_nothing(client: Client) -> None:
    sl = client.sl
    body = {"DocumentLines": [receipt(101, 4)["DocumentLines"][0], receipt(107, 5)["DocumentLines"][0]]}
    before = (sl.store.get("ProductionOrders", 101), stock(sl, "WOOD-LEG", "02"), stock(sl, "FG-CHAIR", "01"))
    response = client.post("InventoryGenEntries", body)
    assert response.status_code == 400
    # line 3 of the auto issue (two WOOD-LEG/SCREW lines of order 101 come first)
    assert "[IGE1.WhsCode][line: 3] , 'Production Order no: 2026230107 Line: 1'" in client.error(response)[1]
    after = (sl.store.get("ProductionOrders", 101), stock(sl, "WOOD-LEG", "02"), stock(sl, "FG-CHAIR", "01"))
    assert after == before
    assert sl.store.rows("InventoryGenEntries") == [] and sl.store.rows("InventoryGenExits") == []


@pytest.mark.parametrize(
    ("entry", "line", "code", "message"),
    [
        (
            105,
            {},
            "-5002",
            "Issue type cannot be backflush for serial or batch number items  , "
            "'Production Order no: 2026230105 Line: 2'",
        ),
        (
            106,
            {},
            "-5002",
            "Issue type cannot be backflush for serial or batch number items  , "
            "'Production Order no: 2026230106 Line: 2'",
        ),
        (109, {}, "-4014", "Cannot add row without complete selection of batch/serial numbers"),
        (
            109,
            {"SerialNumbers": [{"InternalSerialNumber": "SN1", "Quantity": 1}]},
            "-4014",
            "Cannot add row without complete selection of batch/serial numbers",
        ),
        (120, {}, "-5002", "Production order is not released"),
        (999, {}, "-2028", "No matching records found (ODBC -2028)"),
        (
            101,
            {"ItemCode": "FG-CHAIR"},
            "-5002",
            "Item No. field should be empty if the document is referenced to a production order"
            "  [IGN1.ItemCode][line: 1]",
        ),
    ],
)
def test_receipt_refusals(client: Client, entry: int, line: dict, code: str, message: str) -> None:
    response = client.post("InventoryGenEntries", receipt(entry, 2, **line))
    assert response.status_code == 400
    assert client.error(response) == (code, message)
    assert client.sl.store.rows("InventoryGenEntries") == []


def test_receipt_serial_finished_good_with_one_serial_per_unit(client: Client) -> None:
    serials = [{"InternalSerialNumber": f"SN{i}", "Quantity": 1} for i in range(2)]
    assert client.post("InventoryGenEntries", receipt(109, 2, SerialNumbers=serials)).status_code == 201


def test_receipt_batch_key_names_per_version(client: Client) -> None:
    own, other = (
        ("BatchNumber", "BatchNumberProperty")
        if client.version == "v1"
        else ("BatchNumberProperty", "BatchNumber")
    )
    wrong = client.post("InventoryGenEntries", receipt(119, 5, BatchNumbers=[{other: "B1", "Quantity": 5}]))
    assert client.error(wrong) == ("-1000", f"Property '{other}' of 'BatchNumber' is invalid")
    short = client.post("InventoryGenEntries", receipt(119, 5, BatchNumbers=[{own: "B1", "Quantity": 4}]))
    assert client.error(short)[0] == "-4014"
    ok = client.post(
        "InventoryGenEntries",
        receipt(119, 5, BatchNumbers=[{own: "B1", "Quantity": 2}, {own: "B2", "Quantity": 3}]),
    )
    assert ok.status_code == 201
    assert ok.json()["DocumentLines"][0]["BatchNumbers"][1][own] == "B2"


def test_receipt_unknown_header_udf_is_1000(client: Client) -> None:
    response = client.post("InventoryGenEntries", {**receipt(101, 1), "U_X": "1"})
    assert client.error(response) == ("-1000", "Property 'U_X' of 'Document' is invalid")


def test_issue_manual_line_and_negative_inventory(client: Client) -> None:
    sl = client.sl
    body = {
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 10, "WarehouseCode": "02"}
        ]
    }
    response = client.post("InventoryGenExits", body)
    assert response.status_code == 201 and response.json()["DocumentLines"][0]["ItemCode"] == "PAINT-WHITE"
    assert order(client, 104)["ProductionOrderLines"][0]["IssuedQuantity"] == 10.0
    assert stock(sl, "PAINT-WHITE", "02") == 190.0
    body["DocumentLines"][0]["Quantity"] = 1000
    refused = client.post("InventoryGenExits", body)
    assert client.error(refused) == ("-10", "Quantity falls into negative inventory [IGE1.ItemCode][line: 1]")


@pytest.mark.parametrize(
    ("switches", "entry", "quantity", "status"),
    [
        ({}, 101, 4, 201),
        ({"receipt_requires_issue": True}, 101, 4, 400),
        ({"receipt_requires_issue": True}, 103, 5, 201),  # manual line already issued
        ({}, 110, 12, 400),  # over-receipt refused by default (strict)
        ({"over_receipt": "reject"}, 110, 12, 400),
        ({"over_receipt": "allow"}, 110, 12, 201),
        ({"allow_negative_stock": True}, 107, 5, 201),
    ],
)
def test_switches_change_receipt_outcome(
    make_client, switches: dict, entry: int, quantity: float, status: int
) -> None:
    client = make_client(switches=switches)
    assert client.post("InventoryGenEntries", receipt(entry, quantity)).status_code == status


@pytest.mark.parametrize(("backflush_on_reject", "issued"), [(True, 10.0), (False, 0.0)])
def test_switch_backflush_on_reject(make_client, backflush_on_reject: bool, issued: float) -> None:
    client = make_client(switches={"backflush_on_reject": backflush_on_reject})
    posted = client.post("InventoryGenEntries", receipt(102, 10, TransactionType="botrntReject"))
    assert posted.status_code == 201
    assert order(client, 102)["ProductionOrderLines"][0]["IssuedQuantity"] == issued


def test_switch_receipt_requires_issue_message(make_client) -> None:
    client = make_client(switches={"receipt_requires_issue": True})
    refused = client.post("InventoryGenEntries", receipt(101, 1))
    assert client.error(refused)[1] == "Item Issued Qty in work order should be larger than zero"


def test_patch_production_order_status_codes_udfs_and_errors(client: Client) -> None:
    released = client.patch("ProductionOrders(120)", {"ProductionOrderStatus": "R", "Remarks": "go"})
    assert released.status_code == 204
    assert order(client, 120)["ProductionOrderStatus"] == "boposReleased"
    assert client.patch("ProductionOrders(120)", {"U_ConfirmedQty": 7}).status_code == 204
    assert order(client, 120)["U_ConfirmedQty"] == 7.0
    assert client.patch("ProductionOrders(120)", {"ProductionOrderStatus": "boposClosed"}).status_code == 204
    back = client.patch("ProductionOrders(120)", {"ProductionOrderStatus": "boposReleased"})
    assert back.status_code == 400
    missing = client.patch("ProductionOrders(999)", {"Remarks": "x"})
    assert missing.status_code == 404
    assert client.error(missing) == ("-2028", "Entity with value('999') does not exist")
    unknown = client.patch("ProductionOrders(101)", {"Nope": 1})
    assert client.error(unknown) == ("-1000", "Property 'Nope' of 'ProductionOrder' is invalid")


def test_patch_if_match_stale_etag_is_412(client: Client) -> None:
    etag = client.get("ProductionOrders(101)").headers["ETag"]
    fresh = client.patch("ProductionOrders(101)", {"Remarks": "a"}, headers={"If-Match": etag})
    assert fresh.status_code == 204
    stale = client.patch("ProductionOrders(101)", {"Remarks": "b"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and client.error(stale)[0] == "-2039"


def test_store_patch_simulates_shop_floor(client: Client) -> None:
    client.sl.store.patch("ProductionOrders", 101, {"U_ConfirmedQty": 9})
    body = client.get("ProductionOrders(101)", params={"$select": "U_ConfirmedQty"}).json()
    assert body["U_ConfirmedQty"] == 9.0
    with pytest.raises(KeyError):
        client.sl.store.patch("ProductionOrders", 999, {"U_ConfirmedQty": 1})
