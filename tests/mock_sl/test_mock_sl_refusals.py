"""What the mock refuses as SAP does (issue 10): warehouses, text lengths, numbering series.

Each refusal is pinned on v1 and v2 (the ``protocol`` fixture): HTTP status, the code and its JSON
type per version, and the exact message. A refused document leaves no trace (stock, order, numbers).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests

from tests.support.raw_client import Client, assert_refused, receipt, stock


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


def test_a_batch_number_longer_than_36_characters_is_refused(client: Client) -> None:
    # OBTN.DistNumber is nvarchar(36); the property is BatchNumber in v1, BatchNumberProperty in v2.
    name = "BatchNumber" if client.version == "v1" else "BatchNumberProperty"

    def with_batch(number: str) -> dict[str, Any]:
        body = receipt(108, 1)  # 108 receives FG-BATCHED, a batch-managed product
        body["DocumentLines"][0]["BatchNumbers"] = [{name: number, "Quantity": 1}]
        return body

    assert client.post("InventoryGenEntries", with_batch("B" * 36)).status_code == 201
    response = client.post("InventoryGenEntries", with_batch("B" * 37))
    assert_refused(client, response, -1000, too_long(name, "BatchNumber"))


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


# -- 5. queries, $metadata, based lines ---------------------------------------------------------------
STATUS_NAMES = (
    "Invalid item name 'boposFoo' in Enum 'BoProductionOrderStatusEnum'. The valid names are: "
    "'boposPlanned'-'P', 'boposReleased'-'R', 'boposClosed'-'L', 'boposCancelled'-'C'"
)


@pytest.mark.parametrize("path", ["ProductionOrders", "ProductionOrders/$count"])
def test_unknown_enum_value_in_filter_is_refused_not_an_empty_list(client: Client, path: str) -> None:
    response = client.get(path, params={"$filter": "ProductionOrderStatus eq 'boposFoo'"})
    assert_refused(client, response, 201, STATUS_NAMES)
    flipped = client.get(
        path, params={"$filter": "AbsoluteEntry gt 0 and 'boposFoo' eq ProductionOrderStatus"}
    )
    assert_refused(client, flipped, 201, STATUS_NAMES)


def test_known_enum_names_and_db_codes_still_filter(client: Client) -> None:
    by_name = client.get(
        "ProductionOrders/$count", params={"$filter": "ProductionOrderStatus eq 'boposReleased'"}
    )
    by_code = client.get("ProductionOrders/$count", params={"$filter": "ProductionOrderStatus eq 'R'"})
    assert by_name.text == by_code.text == "19"
    yes_no = client.get("Warehouses", params={"$filter": "Inactive eq 'tYES'", "$select": "WarehouseCode"})
    assert yes_no.json()["value"] == [{"WarehouseCode": "OLD"}]


def test_select_answers_in_metadata_order(client: Client) -> None:
    body = client.get(
        "ProductionOrders(101)", params={"$select": "U_ConfirmedQty,ItemNo,DocumentNumber,AbsoluteEntry"}
    ).json()
    names = [name for name in body if not name.startswith(("odata.", "@odata."))]
    assert names == ["AbsoluteEntry", "DocumentNumber", "ItemNo", "U_ConfirmedQty"]
    rows = client.get("Warehouses", params={"$select": "Inactive,WarehouseName,WarehouseCode"}).json()[
        "value"
    ]
    assert list(rows[0]) == ["WarehouseCode", "WarehouseName", "Inactive"]


def _metadata(client: Client) -> tuple[requests.Response, ET.Element]:
    response = client.get("$metadata")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    return response, ET.fromstring(response.content)


def test_metadata_is_edmx_of_the_served_sets(client: Client) -> None:
    response, root = _metadata(client)
    v2 = client.version == "v2"
    edmx_ns = (
        "http://docs.oasis-open.org/odata/ns/edmx" if v2 else "http://schemas.microsoft.com/ado/2007/06/edmx"
    )
    edm = "http://docs.oasis-open.org/odata/ns/edm" if v2 else "http://schemas.microsoft.com/ado/2009/11/edm"
    assert root.tag == f"{{{edmx_ns}}}Edmx" and root.get("Version") == ("4.0" if v2 else "1.0")
    assert (response.headers.get("OData-Version") == "4.0") is v2
    schema_el = root.find(f"{{{edmx_ns}}}DataServices/{{{edm}}}Schema")
    assert schema_el is not None and schema_el.get("Namespace") == "SAPB1"
    sets = {s.get("Name"): s.get("EntityType") for s in schema_el.iter(f"{{{edm}}}EntitySet")}
    assert sets == {
        "Warehouses": "SAPB1.Warehouse",
        "Items": "SAPB1.Item",
        "ProductionOrders": "SAPB1.ProductionOrder",
        "UserFieldsMD": "SAPB1.UserFieldMD",
        "InventoryGenEntries": "SAPB1.Document",
        "InventoryGenExits": "SAPB1.Document",
        "BatchNumberDetails": "SAPB1.BatchNumberDetail",
        "SerialNumberDetails": "SAPB1.SerialNumberDetail",
    }
    types = {t.get("Name"): t for t in schema_el.iter(f"{{{edm}}}EntityType")}
    document = types["Document"]
    assert [r.get("Name") for r in document.iter(f"{{{edm}}}PropertyRef")] == ["DocEntry"]
    props = {p.get("Name"): p.get("Type") for p in document.findall(f"{{{edm}}}Property")}
    assert props["DocDate"] == ("Edm.DateTimeOffset" if v2 else "Edm.DateTime")
    assert props["DocumentLines"] == "Collection(SAPB1.DocumentLine)"
    assert props["U_B1BF_Key"] == "Edm.String"  # the company's UDFs are part of $metadata (§7)
    lines = next(c for c in schema_el.iter(f"{{{edm}}}ComplexType") if c.get("Name") == "BatchNumber")
    assert ("BatchNumberProperty" if v2 else "BatchNumber") in {p.get("Name") for p in lines}
    status = next(
        e for e in schema_el.iter(f"{{{edm}}}EnumType") if e.get("Name") == "BoProductionOrderStatusEnum"
    )
    members = [(m.get("Name"), m.get("Value")) for m in status]
    values = ["0", "1", "2", "3"] if v2 else [None] * 4
    assert members == list(
        zip(["boposPlanned", "boposReleased", "boposClosed", "boposCancelled"], values, strict=True)
    )


def test_metadata_property_order_is_what_a_full_get_answers(client: Client) -> None:
    _response, root = _metadata(client)
    edm = root[0][0].tag.split("}")[0] + "}"
    order_type = next(t for t in root.iter(f"{edm}EntityType") if t.get("Name") == "ProductionOrder")
    declared = [p.get("Name") for p in order_type.findall(f"{edm}Property")]
    body = client.get("ProductionOrders(101)").json()
    assert [n for n in body if not n.startswith(("odata.", "@odata."))] == declared


def test_metadata_needs_a_session(client: Client) -> None:
    client.cookies = {}
    assert client.get("$metadata").status_code == 401


def test_item_code_on_a_based_issue_line_is_refused(client: Client) -> None:
    body = {
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": 104, "BaseLine": 0, "Quantity": 1, "ItemCode": "PAINT-WHITE"}
        ]
    }
    response = client.post("InventoryGenExits", body)
    message = (
        "Item No. field should be empty if the document is referenced to a production order"
        "  [IGE1.ItemCode][line: 1]"
    )
    assert_refused(client, response, -5002, message)
    assert client.sl.store.rows("InventoryGenExits") == []


def test_base_line_on_a_receipt_returns_the_component(client: Client) -> None:
    # Order 103 line 0: PAINT-WHITE (manual) issued 10 of 10. Returning 4 puts it back in stock.
    sl = client.sl
    before = stock(sl, "PAINT-WHITE", "02")
    body = {
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": 103, "BaseLine": 0, "Quantity": 4, "WarehouseCode": "02"}
        ]
    }
    response = client.post("InventoryGenEntries", body)
    assert response.status_code == 201, response.text
    line = response.json()["DocumentLines"][0]
    assert (line["ItemCode"], line["BaseLine"], line["Quantity"]) == ("PAINT-WHITE", 0, 4.0)
    order = sl.store.get("ProductionOrders", 103)
    assert order["ProductionOrderLines"][0]["IssuedQuantity"] == 6.0  # type: ignore[index]
    assert order["CompletedQuantity"] == 0.0  # type: ignore[index]  # no finished good was received
    assert stock(sl, "PAINT-WHITE", "02") == before + 4
    beyond = client.post(
        "InventoryGenEntries", {"DocumentLines": [{**body["DocumentLines"][0], "Quantity": 7}]}
    )
    assert_refused(
        client, beyond, -5002, "Returned quantity exceeds the issued quantity  [IGN1.Quantity][line: 1]"
    )


def test_base_line_on_a_receipt_refused_with_the_switch(make_client) -> None:
    client = make_client(switches={"receipt_base_line": "refuse"})
    response = client.post("InventoryGenEntries", receipt(103, 1, BaseLine=0))
    message = (
        "BaseLine is not allowed on a receipt line: the finished good is received without BaseLine; "
        "by-products and component returns are refused by this mock  [IGN1.BaseLine][line: 1]"
    )
    assert_refused(client, response, -5002, message)


# -- 6. the duplicate guard in SBO_SP_TransactionNotification -----------------------------------------
def test_with_the_duplicate_guard_a_second_receipt_with_a_key_is_refused_and_leaves_no_trace(
    make_client,
) -> None:
    client = make_client(switches={"duplicate_key_guard": "U_B1BF_Key", "over_receipt": "allow"})
    first = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "SBODEMOUS/101/C4/R0"})
    assert first.status_code == 201, first.text
    before = untouched(client)
    second = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "SBODEMOUS/101/C4/R0"})
    assert_refused(client, second, 59059, "B1BF-DUPLICATE-KEY SBODEMOUS/101/C4/R0")
    assert untouched(client) == before
    # Another key, no key, or an empty one: the guard has nothing to compare.
    for header in ({"U_B1BF_Key": "SBODEMOUS/101/C5/R0"}, {}, {"U_B1BF_Key": ""}):
        assert client.post("InventoryGenEntries", {**receipt(101, 1), **header}).status_code == 201


def test_the_duplicate_guard_counts_a_cancelled_receipt_but_not_a_cancellation(make_client) -> None:
    client = make_client(switches={"duplicate_key_guard": "U_B1BF_Key", "over_receipt": "allow"})
    sl = client.sl
    created = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "K-cancelled"}).json()
    sl.store.patch("InventoryGenEntries", created["DocEntry"], {"Cancelled": "tYES", "CancelStatus": "csYes"})
    again = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "K-cancelled"})
    assert_refused(client, again, 59059, "B1BF-DUPLICATE-KEY K-cancelled")
    # SAP's cancellation document may copy the key (❓): it is not a receipt of that key.
    sl.store.insert(
        "InventoryGenEntries",
        {
            **created,
            "DocEntry": 900,
            "DocNum": 900,
            "U_B1BF_Key": "K-copied",
            "CancelStatus": "csCancellation",
        },
    )
    assert (
        client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "K-copied"}).status_code == 201
    )


def test_without_the_duplicate_guard_sap_takes_a_second_receipt_with_a_key(make_client) -> None:
    client = make_client(switches={"over_receipt": "allow"})
    for _ in range(2):
        response = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "K"})
        assert response.status_code == 201, response.text
