"""The mock refuses what SAP refuses and answers as SAP answers: the gaps an audit against the reference
found (keys and fields SAP maintains, ETags on actions, UDF values), each pinned on v1 and v2."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from connector.mock_sl import routes as routes_module
from connector.mock_sl.cli import build_parser
from connector.mock_sl.store import load_data
from tests.support.mock import DEMO
from tests.support.payloads import payload
from tests.support.raw_client import Client, receipt

FIELD_NOT_UPDATABLE = "Field cannot be updated (ODBC -1029)"


def assert_error(client: Client, response: requests.Response, status: int, code: int, message: str) -> None:
    """``status``, ``code`` as a number (v1) or a string (v2), ``message`` verbatim."""
    assert response.status_code == status, response.text
    assert client.error(response) == (str(code), message)
    assert type(response.json()["error"]["code"]) is (int if client.version == "v1" else str)


# -- keys and the fields SAP maintains -------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("Items('FG-SHELF')", {"ItemCode": "FG-SHELF2"}),
        ("Warehouses('QC')", {"WarehouseCode": "QC2", "WarehouseName": "Quality"}),
        ("ProductionOrders(104)", {"AbsoluteEntry": 5, "Remarks": "x"}),
        ("UserFieldsMD(TableName='OWOR',FieldID=3)", {"FieldID": 9}),
    ],
)
def test_a_patch_never_changes_a_key(client: Client, path: str, body: dict) -> None:
    before = client.get(path).json()
    refused = client.patch(path, body)
    assert_error(client, refused, 400, -1029, FIELD_NOT_UPDATABLE)
    after = client.get(path).json()
    assert after == before  # nothing of the body was applied, the ETag did not move


def test_a_patch_echoing_the_key_unchanged_is_accepted(client: Client) -> None:
    # A client that read the entity and sends it back names the key with its own value.
    assert client.patch("ProductionOrders(104)", {"AbsoluteEntry": 104, "Remarks": "x"}).status_code == 204
    assert client.patch("Items('FG-SHELF')", {"ItemCode": "FG-SHELF", "ItemName": "Shelf"}).status_code == 204
    assert client.get("ProductionOrders(104)").json()["Remarks"] == "x"
    assert client.get("Items('FG-SHELF')").json()["ItemName"] == "Shelf"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"DocumentNumber": 5}, FIELD_NOT_UPDATABLE),
        ({"CompletedQuantity": 3}, FIELD_NOT_UPDATABLE),
    ],
)
def test_a_patch_of_an_order_field_sap_maintains_is_refused(client: Client, body: dict, message: str) -> None:
    refused = client.patch("ProductionOrders(104)", body)
    assert_error(client, refused, 400, -1029, message)
    assert client.sl.store.get("ProductionOrders", 104)["CompletedQuantity"] == 0.0  # type: ignore[index]


def test_a_patch_echoing_an_order_field_sap_maintains_unchanged_is_accepted(client: Client) -> None:
    order = client.get("ProductionOrders(104)").json()
    echoed = {"DocumentNumber": order["DocumentNumber"], "CompletedQuantity": 0, "Remarks": "y"}
    assert client.patch("ProductionOrders(104)", echoed).status_code == 204


def test_a_posted_receipts_date_cannot_be_changed(client: Client) -> None:
    # Integrators report exactly this answer for PATCH InventoryGenEntries {"DocDate": ...}.
    assert client.post("InventoryGenEntries", receipt(101, 1)).status_code == 201
    refused = client.patch("InventoryGenEntries(1)", {"DocDate": "2026-06-11"})
    assert_error(client, refused, 400, -1029, "[OIGN.DocDate], " + FIELD_NOT_UPDATABLE)
    moved = client.patch("InventoryGenEntries(1)", {"DocEntry": 7})
    assert_error(client, moved, 400, -1029, "[OIGN.DocEntry], " + FIELD_NOT_UPDATABLE)
    assert client.patch("InventoryGenEntries(1)", {"DocEntry": 1, "Comments": "ok"}).status_code == 204
    assert client.get("InventoryGenEntries(1)").json()["DocDate"].startswith("2026-06-10")


# -- ETags on actions ------------------------------------------------------------------------------
def test_cancel_with_a_stale_if_match_is_412_and_cancels_nothing(client: Client) -> None:
    etag = client.get("ProductionOrders(120)").headers["ETag"]
    assert client.patch("ProductionOrders(120)", {"Remarks": "changed"}).status_code == 204
    stale = client.post("ProductionOrders(120)/Cancel", headers={"If-Match": etag})
    assert_error(
        client,
        stale,
        412,
        -2039,
        "Another user or another operation modified data; to continue, open the window again (ODBC -2039)",
    )
    assert client.get("ProductionOrders(120)").json()["ProductionOrderStatus"] == "boposPlanned"
    fresh = client.get("ProductionOrders(120)").headers["ETag"]
    assert client.post("ProductionOrders(120)/Cancel", headers={"If-Match": fresh}).status_code == 204
    assert client.get("ProductionOrders(120)").json()["ProductionOrderStatus"] == "boposCancelled"


# -- UDF values ------------------------------------------------------------------------------------
def udf(table: str, name: str, kind: str, **extra: object) -> dict[str, object]:
    field_id = 50 + sum(map(ord, name))  # unique within the table for the names below
    return {"TableName": table, "FieldID": field_id, "Name": name, "Type": kind, "Size": 10, **extra}


@pytest.fixture
def udf_client(make_client: Any) -> Client:
    """The demo company with UDFs that have valid values, a number type and a mandatory default."""
    data = load_data(DEMO)
    data["UserFieldsMD"] += [
        udf(
            "OIGN",
            "Shift",
            "db_Alpha",
            ValidValuesMD=[{"Value": "A", "Description": "Early"}, {"Value": "B", "Description": "Late"}],
        ),
        udf("OIGN", "Crate", "db_Numeric", Size=11),
        udf("OIGN", "Origin", "db_Alpha", Mandatory="tYES", DefaultValue="MES"),
        udf(
            "IGN1",
            "Grade",
            "db_Alpha",
            ValidValuesMD=[{"Value": "1", "Description": "First"}, {"Value": "2", "Description": "Second"}],
        ),
        udf("OWOR", "Station", "db_Alpha", ValidValuesMD=[{"Value": "S1", "Description": "Saw"}]),
    ]
    return make_client(data=data)


def test_a_udf_value_outside_its_valid_values_is_refused(udf_client: Client) -> None:
    client = udf_client
    refused = client.post("InventoryGenEntries", {**receipt(101, 1), "U_Shift": "Z"})
    message = (
        "'Z' is not a valid value for property 'U_Shift'. The valid values are: 'A' - 'Early', 'B' - 'Late'"
    )
    assert_error(client, refused, 400, -1004, message)
    assert client.sl.store.rows("InventoryGenEntries") == []
    line = client.post("InventoryGenEntries", receipt(101, 1, U_Grade="3"))
    message = (
        "'3' is not a valid value for property 'U_Grade'. The valid values are: '1' - 'First', '2' - 'Second'"
    )
    assert_error(client, line, 400, -1004, message)
    patched = client.patch("ProductionOrders(104)", {"U_Station": "S9"})
    assert_error(
        client,
        patched,
        400,
        -1004,
        "'S9' is not a valid value for property 'U_Station'. The valid values are: 'S1' - 'Saw'",
    )
    assert (
        client.post("InventoryGenEntries", {**receipt(101, 1, U_Grade="2"), "U_Shift": "A"}).status_code
        == 201
    )
    assert client.patch("ProductionOrders(104)", {"U_Station": "S1"}).status_code == 204


def test_a_number_udf_refuses_text(udf_client: Client) -> None:
    client = udf_client
    refused = client.post("InventoryGenEntries", {**receipt(101, 1), "U_Crate": "twelve"})
    assert_error(client, refused, 400, 205, "the given value('twelve') of property 'U_Crate' is not a NUMBER")
    posted = client.post("InventoryGenEntries", {**receipt(101, 1), "U_Crate": "12"})
    assert posted.status_code == 201 and posted.json()["U_Crate"] == 12


def test_an_omitted_mandatory_udf_gets_its_default(udf_client: Client) -> None:
    client = udf_client
    posted = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert posted["U_Origin"] == "MES"
    chosen = client.post("InventoryGenEntries", {**receipt(101, 1), "U_Origin": "PLC"}).json()
    assert chosen["U_Origin"] == "PLC"


# -- $skip paging reads only what the page needs ---------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"$filter": "ProductionOrderStatus eq 'boposReleased'"},
        {"$filter": "ProductionOrderStatus eq 'boposReleased'", "$orderby": "AbsoluteEntry"},
        {"$filter": "PlannedQuantity ge 10", "$orderby": "AbsoluteEntry", "$top": "7"},
        {"$filter": "startswith(ItemNo,'FG-C')", "$skip": "3"},
        {"$orderby": "AbsoluteEntry", "$top": "30"},
        {"$orderby": "AbsoluteEntry", "$skip": "18", "$top": "2"},
        {"$orderby": "AbsoluteEntry desc"},  # not key order: every row is read
        {"$filter": "AbsoluteEntry eq 105 or AbsoluteEntry eq 102"},
        {"$top": "0"},
    ],
)
@pytest.mark.parametrize("page", [None, "0", "4", "5"])
def test_skip_paging_answers_as_a_full_scan(
    reversed_orders: Client, query: dict[str, str], page: str | None
) -> None:
    # Without a count the mock stops reading rows once the page is full; with one it reads them all.
    # Every page of both must hold the same rows and link on in the same way.
    client = reversed_orders
    count = {"$inlinecount": "allpages"} if client.version == "v1" else {"$count": "true"}
    headers = {"Prefer": f"odata.maxpagesize={page}"} if page is not None else {}
    link_key = "odata.nextLink" if client.version == "v1" else "@odata.nextLink"
    params: dict[str, str] | None = {**query, "$select": "AbsoluteEntry"}
    pages = 0
    while params is not None and pages < 30:
        lazy = client.get("ProductionOrders", params=params, headers=headers)
        full = client.get("ProductionOrders", params={**params, **count}, headers=headers)
        assert lazy.status_code == full.status_code == 200
        assert lazy.json()["value"] == full.json()["value"]
        full_link = full.json().get(link_key)
        expected_link = (
            None
            if full_link is None
            else "&".join(
                part
                for part in full_link.split("&")
                if not part.startswith(("$count", "%24count", "$inline", "%24inline"))
            )
        )
        assert lazy.json().get(link_key) == expected_link
        link = lazy.json().get(link_key)
        params = None if link is None else dict(parse_qsl(link.split("?", 1)[1]))
        pages += 1
    assert params is None


def test_skip_paging_in_key_order_reads_one_page(reversed_orders: Client, monkeypatch) -> None:
    # A company of many orders pages by $skip without the mock filtering every row for every page.
    client = reversed_orders
    visited: list[int] = []
    real = routes_module.evaluate

    def counting(tree, row, known, *, fold=False):
        visited.append(row["AbsoluteEntry"])
        return real(tree, row, known, fold=fold)

    monkeypatch.setattr(routes_module, "evaluate", counting)
    query = {"$filter": "PlannedQuantity ge 1", "$orderby": "AbsoluteEntry", "$select": "AbsoluteEntry"}
    page = client.get(
        "ProductionOrders", params={**query, "$skip": "4"}, headers={"Prefer": "odata.maxpagesize=3"}
    )
    assert [row["AbsoluteEntry"] for row in page.json()["value"]] == [105, 106, 107]
    assert visited == list(range(101, 108))


# -- batch and serial master data ------------------------------------------------------------------
def batch_receipt(client: Client, batches: list[dict[str, object]], quantity: float = 4) -> requests.Response:
    name = "BatchNumber" if client.version == "v1" else "BatchNumberProperty"
    lines = [{**{k: v for k, v in b.items() if k != "BatchNumber"}, name: b["BatchNumber"]} for b in batches]
    return client.post("InventoryGenEntries", receipt(108, quantity, BatchNumbers=lines))


def test_a_received_batch_becomes_batch_number_details(client: Client) -> None:
    first = [
        {"BatchNumber": "B-001", "Quantity": 3, "ExpiryDate": "2027-01-31", "ManufacturerSerialNumber": "M1"},
        {"BatchNumber": "B-002", "Quantity": 1},
    ]
    assert batch_receipt(client, first).status_code == 201
    assert batch_receipt(client, [{"BatchNumber": "B-001", "Quantity": 2}], quantity=2).status_code == 201
    listed = client.get(
        "BatchNumberDetails", params={"$filter": "ItemCode eq 'FG-BATCHED'", "$orderby": "DocEntry"}
    )
    assert listed.status_code == 200
    rows = listed.json()["value"]
    assert [(r["Batch"], r["SystemNumber"], r["Status"]) for r in rows] == [
        ("B-001", 1, "bdsStatus_Released"),
        ("B-002", 2, "bdsStatus_Released"),
    ]  # a batch received again is the same batch
    one = client.get(f"BatchNumberDetails({rows[0]['DocEntry']})").json()
    assert one["ItemCode"] == "FG-BATCHED" and one["ItemDescription"]
    assert one["BatchAttribute1"] == "M1"
    assert one["ExpirationDate"] == ("2027-01-31" if client.version == "v1" else "2027-01-31T00:00:00Z")
    assert one["AdmissionDate"] == ("2026-06-10" if client.version == "v1" else "2026-06-10T00:00:00Z")
    found = client.get(
        "BatchNumberDetails", params={"$filter": "Batch eq 'B-002'", "$select": "DocEntry,Batch"}
    )
    assert found.json()["value"] == [{"DocEntry": rows[1]["DocEntry"], "Batch": "B-002"}]


def test_batch_number_details_keys_and_formats_as_the_real_collection(client: Client) -> None:
    real = payload("response-batchnumberdetails-collection_v1_real.json")
    assert batch_receipt(client, [{"BatchNumber": "H35996", "Quantity": 4}]).status_code == 201
    body = client.get("BatchNumberDetails", params={"$filter": "Batch eq 'H35996'"}).json()
    meta = "odata.metadata" if client.version == "v1" else "@odata.context"
    assert list(body) == [meta, "value"] and body[meta].endswith("$metadata#BatchNumberDetails")
    row = body["value"][0]
    real_row = real["value"][0]
    standard = [k for k in real_row if not k.startswith("U_")]
    assert list(row) == standard  # the real rows carry no etag annotation
    single = client.get(f"BatchNumberDetails({row['DocEntry']})")
    assert "ETag" not in single.headers
    assert [k for k in single.json() if k.startswith(("odata.", "@odata."))] == [meta]
    assert type(row["DocEntry"]) is int and type(row["SystemNumber"]) is int
    assert len(row["AdmissionDate"]) == (len(real_row["AdmissionDate"]) if client.version == "v1" else 20)


def test_a_batch_can_be_locked_but_not_created_renamed_or_deleted(client: Client) -> None:
    assert batch_receipt(client, [{"BatchNumber": "B-9", "Quantity": 4}]).status_code == 201
    entry = client.get("BatchNumberDetails", params={"$select": "DocEntry"}).json()["value"][0]["DocEntry"]
    assert client.patch(f"BatchNumberDetails({entry})", {"Status": "bdsStatus_Locked"}).status_code == 204
    assert client.get(f"BatchNumberDetails({entry})").json()["Status"] == "bdsStatus_Locked"
    renamed = client.patch(f"BatchNumberDetails({entry})", {"Batch": "B-10"})
    assert_error(client, renamed, 400, -1029, FIELD_NOT_UPDATABLE)
    created = client.post("BatchNumberDetails", {"ItemCode": "FG-BATCHED", "Batch": "X"})
    assert_error(client, created, 400, -5006, "The requested action is not supported for this object.")
    deleted = client.request("DELETE", f"BatchNumberDetails({entry})")
    assert_error(client, deleted, 400, -5006, "The requested action is not supported for this object.")
    missing = client.get("BatchNumberDetails(999)")
    assert_error(client, missing, 404, -2028, "No matching records found (ODBC -2028)")


def test_received_serials_become_serial_number_details(client: Client) -> None:
    serials = [
        {"InternalSerialNumber": f"SN-{n}", "ManufacturerSerialNumber": f"MF-{n}", "Quantity": 1}
        for n in (1, 2)
    ]
    posted = client.post("InventoryGenEntries", receipt(109, 2, SerialNumbers=serials))
    assert posted.status_code == 201, posted.text
    rows = client.get("SerialNumberDetails", params={"$orderby": "SystemNumber"}).json()["value"]
    assert [(r["ItemCode"], r["SerialNumber"], r["MfrSerialNo"], r["SystemNumber"]) for r in rows] == [
        ("FG-SERIAL", "SN-1", "MF-1", 1),
        ("FG-SERIAL", "SN-2", "MF-2", 2),
    ]
    assert "MFrWarrantyEnd" in rows[0]  # SAP's spelling
    assert client.get("SerialNumberDetails/$count").text == "2"


# -- switches for what the reference leaves open ---------------------------------------------------
@pytest.mark.parametrize("accepted", [False, True])
def test_switch_v2_accepts_v1s_batch_number_name(make_client, protocol: str, accepted: bool) -> None:
    # v2's metadata names the batch BatchNumberProperty; whether v2 also takes v1's BatchNumber is open.
    client = make_client(switches={"v2_accepts_batch_number": accepted})
    sent = client.post(
        "InventoryGenEntries", receipt(119, 5, BatchNumbers=[{"BatchNumber": "B1", "Quantity": 5}])
    )
    if protocol == "v1" or accepted:
        assert sent.status_code == 201, sent.text
        name = "BatchNumber" if protocol == "v1" else "BatchNumberProperty"
        assert sent.json()["DocumentLines"][0]["BatchNumbers"][0][name] == "B1"
    else:
        assert_error(client, sent, 400, -1000, "Property 'BatchNumber' of 'BatchNumber' is invalid")


def test_cli_flag_v2_accepts_batch_number() -> None:
    args = build_parser().parse_args(["--v2-accepts-batch-number"])
    assert args.v2_accepts_batch_number is True
    assert build_parser().parse_args([]).v2_accepts_batch_number is False


def test_count_answers_carry_odata_version_on_v2(client: Client) -> None:
    # Every v2 GET carries OData-Version: 4.0 (real captures); /$count is one, its body the bare number.
    counted = client.get("Warehouses/$count")
    assert counted.status_code == 200 and counted.text == "5"
    assert counted.headers["Content-Type"] == "text/plain;charset=utf-8"
    assert counted.headers.get("OData-Version") == ("4.0" if client.version == "v2" else None)


@pytest.mark.parametrize("numbers", [False, True])
def test_switch_enum_number_in_filter(make_client, numbers: bool) -> None:
    # 'boposReleased' and its DB code 'R' filter; the metadata Value (1) was never tried on a real SL.
    client = make_client(switches={"enum_numbers_in_filter": numbers})
    query = {"$filter": "ProductionOrderStatus eq 1", "$select": "AbsoluteEntry", "$top": "2"}
    answer = client.get("ProductionOrders", params=query)
    if numbers:
        assert answer.status_code == 200
        assert [row["AbsoluteEntry"] for row in answer.json()["value"]] == [101, 102]
        planned = client.get("ProductionOrders/$count", params={"$filter": "ProductionOrderStatus eq 0"})
        assert planned.text == "1"
    else:
        message = (
            "Invalid item name '1' in Enum 'BoProductionOrderStatusEnum'. The valid names are: "
            "'boposPlanned'-'P', 'boposReleased'-'R', 'boposClosed'-'L', 'boposCancelled'-'C'"
        )
        assert_error(client, answer, 400, 201, message)


# -- creating items --------------------------------------------------------------------------------
def test_post_item_creates_it_and_a_second_post_is_sap_s_duplicate_error(client: Client) -> None:
    created = client.post("Items", {"ItemCode": "NEW'1", "ItemName": "New part", "ManageBatchNumbers": "N"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{client.sl.root(client.version)}/Items('NEW''1')"
    body = created.json()
    assert (body["ItemCode"], body["ItemName"], body["ManageBatchNumbers"]) == ("NEW'1", "New part", "tNO")
    assert created.headers["ETag"] == 'W/"356A192B7913B04C54574D18C28D46E6395428AB"'  # DataVersion 1
    assert client.get("Items('NEW''1')").json()["ItemName"] == "New part"
    real = payload("error-400-batch-subrequest-item-exists_v1_sap-guide.json")  # SAP's own example text
    again = client.post("Items", {"ItemCode": "NEW'1"})
    assert_error(client, again, 400, -10, real["error"]["message"]["value"].replace("i002", "NEW'1"))
    assert client.get("Items/$count").text == str(len(client.sl.store.rows("Items")))


def test_post_item_without_a_code_is_refused(client: Client) -> None:
    refused = client.post("Items", {"ItemName": "No code"})
    assert_error(client, refused, 400, -5002, "Code undefined  [OITM.ItemCode]")
