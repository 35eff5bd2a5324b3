"""The mock pinned to real Service Layer payloads (fixtures/sl-payloads): keys, code type, text, status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.payloads import payload
from tests.support.raw_client import Client, receipt


def assert_same_error(client: Client, response: Any, real: dict[str, Any], status: int) -> None:
    """Same HTTP status, same keys for this version, code type per version, same message text."""
    assert response.status_code == status
    error = response.json()["error"]
    real_error = real["error"]
    real_code = int(real_error["code"])
    real_text = (
        real_error["message"]["value"] if isinstance(real_error["message"], dict) else real_error["message"]
    )
    if client.version == "v1":
        assert set(error) == {"code", "message"}
        assert type(error["code"]) is int and error["code"] == real_code
        assert error["message"] == {"lang": "en-us", "value": real_text}
    else:
        assert set(error) == {"code", "message", "details"}
        assert error["code"] == str(real_code)
        assert error["message"] == real_text
        assert error["details"] == [{"code": "", "message": ""}]


def test_pinned_invalid_session_401_301(client: Client) -> None:
    client.cookies = {"B1SESSION": "garbage"}
    response = client.get("Items")
    assert_same_error(client, response, payload("error-401-invalid-session_v1_sap-guide.json"), 401)


def test_pinned_not_found_404_2028(client: Client) -> None:
    response = client.get("ProductionOrders(999999)")
    real = payload("error-404-no-matching-records_v2_batch-subresponse.json")
    assert_same_error(client, response, real, 404)
    if client.version == "v2":
        assert set(response.json()["error"]) == set(real["error"])


def test_pinned_receipt_backflush_negative_stock_5002(client: Client) -> None:
    # Order 107: component FOAM-LOW has 1 in stock, a receipt of 5 needs 10 (line 0 → "Line: 1").
    real = payload("error-400-receipt-backflush-negative-stock_v2_real.json")
    response = client.post("InventoryGenEntries", receipt(107, 5))
    expected = real["error"]["message"].replace("2026230060", "2026230107")
    assert_same_error(client, response, {"error": {"code": real["error"]["code"], "message": expected}}, 400)


def test_pinned_issue_on_backflush_line_5002(client: Client) -> None:
    real = payload("error-400-issue-on-backflush-line_v2_real.json")
    body = {
        "DocDate": "2026-04-23",
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": 101, "BaseLine": 0, "Quantity": 1, "WarehouseCode": "02"}
        ],
    }
    response = client.post("InventoryGenExits", body)
    # §2.1 note: in the issue error "Production Order no" is the AbsoluteEntry.
    expected = real["error"]["message"].replace("3586", "101")
    assert_same_error(client, response, {"error": {"code": real["error"]["code"], "message": expected}}, 400)


def test_pinned_batch_selection_incomplete_4014(client: Client) -> None:
    response = client.post("InventoryGenEntries", receipt(108, 4))
    assert_same_error(client, response, payload("error-400-batch-serial-selection-incomplete_v1.json"), 400)


def test_pinned_delete_document_5006(client: Client) -> None:
    assert client.post("InventoryGenEntries", receipt(101, 1)).status_code == 201
    response = client.request("DELETE", "InventoryGenEntries(1)")
    assert_same_error(client, response, payload("error-400-action-not-supported_v1_sap-guide.json"), 400)


def test_pinned_stale_etag_412_2039(client: Client) -> None:
    etag = client.get("ProductionOrders(101)").headers["ETag"]
    fresh = client.patch("ProductionOrders(101)", {"Remarks": "a"}, headers={"If-Match": etag})
    assert fresh.status_code == 204
    stale = client.patch("ProductionOrders(101)", {"Remarks": "b"}, headers={"If-Match": etag})
    assert_same_error(client, stale, payload("error-412-etag-mismatch_v2_sap-guide.json"), 412)
    assert stale.headers["Content-Type"].startswith("application/json")


def test_pinned_unknown_property_1000(client: Client) -> None:
    body = receipt(101, 1)
    body["NoSuchField"] = 1
    response = client.post("InventoryGenEntries", body)
    real = {"error": {"code": -1000, "message": "Property 'NoSuchField' of 'Document' is invalid"}}
    assert_same_error(client, response, real, 400)


def test_pinned_login_body_and_headers(client: Client) -> None:
    name = (
        "login-v1-response_sap-guide.json"
        if client.version == "v1"
        else "login-v2-response_real-1000280.json"
    )
    real = payload(name)
    response = client.login()
    body = response.json()
    assert list(body) == list(real)
    meta = "odata.metadata" if client.version == "v1" else "@odata.context"
    assert body[meta].split("$metadata")[1] == real[meta].split("$metadata")[1]
    assert isinstance(body["Version"], str) and body["Version"].isdigit()
    assert type(body["SessionTimeout"]) is int
    assert "OData-Version" not in response.headers  # the real v2 Login answer has none (§1.2)
    cookies = response.raw.headers.getlist("Set-Cookie")
    assert cookies == [f"B1SESSION={body['SessionId']};HttpOnly;", "ROUTEID=.node1; path=/b1s"]


def test_pinned_warehouses_collection_envelope(client: Client) -> None:
    real = payload("response-warehouses-collection-select_v2_real.json")
    response = client.get(
        "Warehouses", params={"$filter": "Inactive eq 'tNO'", "$select": "WarehouseCode,WarehouseName"}
    )
    body = response.json()
    meta = "odata.metadata" if client.version == "v1" else "@odata.context"
    assert list(body) == ([meta, "value"])
    if client.version == "v2":
        assert list(body) == list(real)
    assert body[meta].endswith("$metadata#Warehouses")
    assert [set(row) for row in body["value"]] == [set(real["value"][0])] * len(body["value"])


@pytest.mark.parametrize("item", ["BOLT'M8"])
def test_pinned_items_get_key_names_and_formats(client: Client, item: str) -> None:
    name = (
        "response-items-get_v1_real-EXCERPT.json"
        if client.version == "v1"
        else "response-items-get_v2_real-1000280-EXCERPT.json"
    )
    real = payload(name)
    response = client.get("Items('BOLT''M8')")
    body = response.json()
    assert set(real) - set(body) == {
        "U_MYOBItemCode",
        "U_WFPLocation",
        "U_Compatiable",
        "U_QAVersion",
        "U_Manufacturers",
        "U_Utiliza_CCE",
        "U_ClaveUnidad",
    } & set(real)
    assert list(body)[:2] == list(real)[:2]
    real_whs = {k for k in real["ItemWarehouseInfoCollection"][0] if not k.startswith("U_")}
    assert real_whs <= set(body["ItemWarehouseInfoCollection"][0])
    assert response.headers["ETag"] == body[list(real)[1]] == 'W/"356A192B7913B04C54574D18C28D46E6395428AB"'
    date_shape = real["CreateDate"]
    assert len(body["CreateDate"]) == len(date_shape)
    assert body["CreateDate"].endswith("T00:00:00Z") == date_shape.endswith("T00:00:00Z")
    assert isinstance(body["QuantityOnStock"], float) and isinstance(body["DataVersion"], int)
    assert response.headers["Content-Type"] == (
        "application/json;odata=minimalmetadata;charset=utf-8"
        if client.version == "v1"
        else "application/json;odata.metadata=minimal;charset=utf-8"
    )
    assert (response.headers.get("OData-Version") == "4.0") == (client.version == "v2")


def test_pinned_v2_error_without_details_is_the_p2_capture_byte_for_key(make_client, protocol: str) -> None:
    # The switch reproduces the older v2 shape exactly as captured (code + message, no details).
    client = make_client(switches={"v2_error_details": False})
    real = payload("error-400-receipt-backflush-negative-stock_v2_real.json")
    response = client.post("InventoryGenEntries", receipt(107, 5))
    assert response.status_code == 400
    error = response.json()["error"]
    if protocol == "v2":
        assert set(error) == set(real["error"]) == {"code", "message"}
        assert error["code"] == real["error"]["code"]
        assert error["message"] == real["error"]["message"].replace("2026230060", "2026230107")
    else:  # v1 never had details
        assert set(error) == {"code", "message"} and error["code"] == -5002
