"""What the mock refuses as SAP does (issue 10): warehouses, text lengths, numbering series.

Each refusal is pinned on v1 and v2 (the ``protocol`` fixture): HTTP status, the code and its JSON
type per version, and the exact message. A refused document leaves no trace (stock, order, numbers).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.mock_sl.conftest import Client, receipt, stock


def assert_refused(client: Client, response: requests.Response, code: int, message: str) -> None:
    """400, ``code`` as a number (v1) or a string (v2), ``message`` verbatim."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    if client.version == "v1":
        assert type(error["code"]) is int and error["code"] == code
        assert error["message"] == {"lang": "en-us", "value": message}
    else:
        assert error["code"] == str(code)
        assert error["message"] == message


def untouched(client: Client) -> dict[str, Any]:
    """What a refused receipt must not change."""
    sl = client.sl
    return {
        "receipts": len(sl.store.rows("InventoryGenEntries")),
        "issues": len(sl.store.rows("InventoryGenExits")),
        "completed": sl.store.get("ProductionOrders", 101)["CompletedQuantity"],  # type: ignore[index]
        "fg": stock(sl, "FG-CHAIR", "01"),
    }


# -- 1. warehouses ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("warehouse", "message"),
    [
        ("ZZ", "Warehouse code 'ZZ' is not defined  [IGN1.WhsCode][line: 1]"),
        ("OLD", "Warehouse 'OLD' is inactive  [IGN1.WhsCode][line: 1]"),
    ],
)
def test_receipt_into_missing_or_inactive_warehouse_is_refused(
    client: Client, warehouse: str, message: str
) -> None:
    before = untouched(client)
    response = client.post("InventoryGenEntries", receipt(101, 4, WarehouseCode=warehouse))
    assert_refused(client, response, -5002, message)
    assert untouched(client) == before
    item = client.sl.store.get("Items", "FG-CHAIR")
    assert warehouse not in {row["WarehouseCode"] for row in item["ItemWarehouseInfoCollection"]}  # type: ignore[index]


def test_second_line_in_missing_warehouse_names_its_line(client: Client) -> None:
    body = receipt(102, 8)
    body["DocumentLines"].append(
        {"BaseType": 202, "BaseEntry": 102, "Quantity": 2, "WarehouseCode": "NOPE", "TransactionType": "R"}
    )
    response = client.post("InventoryGenEntries", body)
    assert_refused(client, response, -5002, "Warehouse code 'NOPE' is not defined  [IGN1.WhsCode][line: 2]")


@pytest.mark.parametrize(
    ("warehouse", "message"),
    [
        ("ZZ", "Warehouse code 'ZZ' is not defined  [IGE1.WhsCode][line: 1]"),
        ("OLD", "Warehouse 'OLD' is inactive  [IGE1.WhsCode][line: 1]"),
    ],
)
def test_issue_from_missing_or_inactive_warehouse_is_refused(
    client: Client, warehouse: str, message: str
) -> None:
    body = {"DocumentLines": [{"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 1}]}
    body["DocumentLines"][0]["WarehouseCode"] = warehouse
    response = client.post("InventoryGenExits", body)
    assert_refused(client, response, -5002, message)
    assert client.sl.store.get("ProductionOrders", 104)["ProductionOrderLines"][0]["IssuedQuantity"] == 0.0  # type: ignore[index]


def test_plain_goods_receipt_into_inactive_warehouse_is_refused(client: Client) -> None:
    body = {"DocumentLines": [{"ItemCode": "WOOD-LEG", "Quantity": 1, "WarehouseCode": "OLD"}]}
    response = client.post("InventoryGenEntries", body)
    assert_refused(client, response, -5002, "Warehouse 'OLD' is inactive  [IGN1.WhsCode][line: 1]")


def test_backflush_component_in_inactive_warehouse_refuses_the_receipt(client: Client) -> None:
    order = client.sl.store.live("ProductionOrders", 101)
    order["ProductionOrderLines"][1]["Warehouse"] = "OLD"  # type: ignore[index]
    response = client.post("InventoryGenEntries", receipt(101, 1))
    assert_refused(client, response, -5002, "Warehouse 'OLD' is inactive  [IGE1.WhsCode][line: 2]")
    assert client.sl.store.rows("InventoryGenExits") == []


# -- 4. over-receipt ----------------------------------------------------------------------------------
def test_over_receipt_is_refused_by_default_across_documents(client: Client) -> None:
    # Order 101: planned 10. 6 then 4 fill it; one more is beyond planned, whichever document brings it.
    assert client.post("InventoryGenEntries", receipt(101, 6)).status_code == 201
    before = untouched(client)
    response = client.post("InventoryGenEntries", receipt(101, 5))
    assert_refused(client, response, -5002, "Quantity exceeds planned quantity  [IGN1.Quantity][line: 1]")
    assert untouched(client) == before
    assert client.post("InventoryGenEntries", receipt(101, 4)).status_code == 201
    assert client.sl.store.get("ProductionOrders", 101)["CompletedQuantity"] == 10.0  # type: ignore[index]


def test_over_receipt_switch_allows_it(make_client) -> None:
    client = make_client(switches={"over_receipt": "allow"})
    assert client.post("InventoryGenEntries", receipt(101, 11)).status_code == 201


# -- 2. text lengths --------------------------------------------------------------------------------
def too_long(name: str, type_name: str) -> str:
    return (
        f"CServiceData::SetPropertyValueString failed; Value too long in property '{name}' of '{type_name}'"
    )


@pytest.mark.parametrize(("field", "limit"), [("Comments", 254), ("JournalMemo", 50), ("Reference2", 11)])
def test_document_text_longer_than_its_field_is_refused(client: Client, field: str, limit: int) -> None:
    before = untouched(client)
    fits = client.post("InventoryGenEntries", {**receipt(101, 1), field: "x" * limit})
    assert fits.status_code == 201 and fits.json()[field] == "x" * limit
    before = untouched(client)
    response = client.post("InventoryGenEntries", {**receipt(101, 1), field: "x" * (limit + 1)})
    assert_refused(client, response, -1000, too_long(field, "Document"))
    assert untouched(client) == before


@pytest.mark.parametrize(
    ("udf", "size"), [("U_B1BF_Key", 100), ("U_B1BF_Source", 30), ("U_B1BF_OrderRef", 50)]
)
def test_udf_longer_than_its_size_is_refused(client: Client, udf: str, size: int) -> None:
    assert client.post("InventoryGenEntries", {**receipt(101, 1), udf: "k" * size}).status_code == 201
    response = client.post("InventoryGenEntries", {**receipt(101, 1), udf: "k" * (size + 1)})
    assert_refused(client, response, -1000, too_long(udf, "Document"))
    # OIGN's UDFs exist on OIGE with the same size (§7 propagation).
    issue = {"DocumentLines": [{"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 1}]}
    refused = client.post("InventoryGenExits", {**issue, udf: "k" * (size + 1)})
    assert_refused(client, refused, -1000, too_long(udf, "Document"))


def test_patch_udf_longer_than_its_size_is_refused(client: Client) -> None:
    assert client.patch("ProductionOrders(101)", {"U_Line": "L" * 10}).status_code == 204
    response = client.patch("ProductionOrders(101)", {"U_Line": "L" * 11})
    assert_refused(client, response, -1000, too_long("U_Line", "ProductionOrder"))
    assert client.sl.store.get("ProductionOrders", 101)["U_Line"] == "L" * 10  # type: ignore[index]


def test_length_counts_characters_not_bytes(client: Client) -> None:
    assert client.post("InventoryGenEntries", {**receipt(101, 1), "Reference2": "Ü" * 11}).status_code == 201


# -- 3. numbering series ----------------------------------------------------------------------------
def test_docnum_comes_from_the_default_series_not_docentry(client: Client) -> None:
    first = client.post("InventoryGenEntries", receipt(101, 1)).json()
    second = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert (first["DocEntry"], first["DocNum"], first["Series"]) == (1, 202680360, 122)
    assert (second["DocEntry"], second["DocNum"], second["Series"]) == (2, 202680361, 122)
    # The backflush issue numbers from the issue series.
    issue = client.sl.store.rows("InventoryGenExits")[0]
    assert (issue["DocEntry"], issue["DocNum"], issue["Series"]) == (1, 202780412, 124)


def test_series_in_the_body_picks_the_series(client: Client) -> None:
    doc = client.post("InventoryGenEntries", {**receipt(101, 1), "Series": 123}).json()
    assert (doc["DocNum"], doc["Series"]) == (202690001, 123)
    again = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert (again["DocNum"], again["Series"]) == (202680360, 122)


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (999, "Series 999 is not defined for this document type  [OIGN.Series]"),
        (124, "Series 124 is not defined for this document type  [OIGN.Series]"),  # the issue series
        (121, "Series 121 is locked  [OIGN.Series]"),
    ],
)
def test_unknown_or_locked_series_is_refused(client: Client, series: int, message: str) -> None:
    before = untouched(client)
    response = client.post("InventoryGenEntries", {**receipt(101, 1), "Series": series})
    assert_refused(client, response, -5002, message)
    assert untouched(client) == before
    assert client.post("InventoryGenEntries", receipt(101, 1)).json()["DocNum"] == 202680360  # none consumed


def test_issue_series_refused_on_issue_documents(client: Client) -> None:
    body = {
        "Series": 122,
        "DocumentLines": [{"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 1}],
    }
    response = client.post("InventoryGenExits", body)
    assert_refused(client, response, -5002, "Series 122 is not defined for this document type  [OIGE.Series]")


def test_new_production_order_numbers_from_its_series(client: Client) -> None:
    created = client.post(
        "ProductionOrders", {"ItemNo": "FG-CHAIR", "DueDate": "2026-07-01", "PlannedQuantity": 2}
    )
    body = created.json()
    assert created.status_code == 201
    assert (body["AbsoluteEntry"], body["DocumentNumber"], body["Series"]) == (123, 2026230123, 138)
    refused = client.post(
        "ProductionOrders",
        {"ItemNo": "FG-CHAIR", "DueDate": "2026-07-01", "PlannedQuantity": 2, "Series": 122},
    )
    assert_refused(client, refused, -5002, "Series 122 is not defined for this document type  [OWOR.Series]")


def test_docnum_filter_finds_the_receipt_docentry_does_not(client: Client) -> None:
    doc = client.post("InventoryGenEntries", receipt(101, 1)).json()
    by_num = client.get("InventoryGenEntries", params={"$filter": f"DocNum eq {doc['DocNum']}"}).json()[
        "value"
    ]
    assert [row["DocEntry"] for row in by_num] == [doc["DocEntry"]]
    assert (
        client.get("InventoryGenEntries", params={"$filter": f"DocNum eq {doc['DocEntry']}"}).json()["value"]
        == []
    )
