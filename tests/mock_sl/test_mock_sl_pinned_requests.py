"""Requests a real Service Layer (or SAP's own API reference) accepted, sent to the mock unchanged but
for the codes that name the other company's data (item, warehouse, order): the mock accepts them too
and answers with the keys, enum spellings and formats of the real answers (fixtures/sl-payloads)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.mock_sl.server import MockServiceLayer
from tests.support.payloads import payload
from tests.support.raw_client import Client, start_mock


def date_of(client: Client, day: str) -> str:
    """A date as the version answers it (§8: v1 ``2026-04-25``, v2 ``2026-04-25T00:00:00Z``)."""
    return day if client.version == "v1" else f"{day}T00:00:00Z"


def test_pinned_login_with_a_hosted_session_timeout(protocol: str) -> None:
    real = payload("login-v2-response_real-1000190-timeout1500.json")
    sl = start_mock(session_timeout_s=1500 * 60)
    try:
        client = Client(sl, protocol)
        body = client.login().json()
        assert list(body) == ["odata.metadata" if protocol == "v1" else "@odata.context", *list(real)[1:]]
        assert body["SessionTimeout"] == real["SessionTimeout"] == 1500
    finally:
        sl.stop()


@pytest.mark.parametrize(
    "name",
    [
        "request-productionorder-create_v2_real.json",
        "request-productionorder-create_v2_sap-apiref-1.json",
        "request-productionorder-create_v2_sap-apiref-2.json",
    ],
)
def test_pinned_production_order_create(client: Client, name: str) -> None:
    body: dict[str, Any] = {**payload(name), "ItemNo": "FG-CHAIR"}
    if "Warehouse" in body:
        body["Warehouse"] = "01"
    response = client.post("ProductionOrders", body)
    assert response.status_code == 201, response.text
    created = response.json()
    entry = created["AbsoluteEntry"]
    assert response.headers["Location"] == f"{client.sl.root(client.version)}/ProductionOrders({entry})"
    assert response.headers["ETag"] == created["odata.etag" if client.version == "v1" else "@odata.etag"]
    real = payload("response-productionorder-create-201_v2_real-EXCERPT.json")
    assert set(real) <= set(created)
    for key in ("AbsoluteEntry", "DocumentNumber", "Series"):
        assert type(created[key]) is int
    assert created["ProductionOrderStatus"] == real["ProductionOrderStatus"] == "boposPlanned"
    assert created["ProductionOrderOrigin"] == real["ProductionOrderOrigin"] == "bopooManual"
    # No Warehouse in the body: the product's default warehouse, as B1 fills it in.
    assert created["Warehouse"] == "01"
    due = body["DueDate"].replace("-", "")  # "2026-04-25" or SAP's compact "20170604"
    assert created["DueDate"] == date_of(client, f"{due[:4]}-{due[4:6]}-{due[6:]}")


@pytest.mark.parametrize(
    "name",
    [
        "request-productionorder-patch-status_v2_sap-apiref.json",
        "request-productionorder-release_v2_real.json",
    ],
)
def test_pinned_production_order_release_then_select(client: Client, name: str) -> None:
    body = payload(name)
    released = client.patch("ProductionOrders(120)", body)
    assert released.status_code == 204 and released.content == b""
    assert "ETag" not in released.headers
    real = payload("response-productionorder-get-select-after-release_v2_real-EXCERPT.json")
    read = client.get("ProductionOrders(120)", params={"$select": ",".join(real)})
    assert read.status_code == 200
    selected = {k: v for k, v in read.json().items() if not k.startswith(("odata.", "@odata."))}
    assert list(selected) == list(real)
    assert selected["ProductionOrderStatus"] == real["ProductionOrderStatus"] == "boposReleased"
    assert selected["Remarks"] == body["Remarks"]


def test_pinned_receipt_from_production_real(client: Client, sl: MockServiceLayer) -> None:
    body = payload("request-receipt-from-production_v2_real.json")
    line = body["DocumentLines"][0]
    line.update(BaseEntry=101, WarehouseCode="01")
    response = client.post("InventoryGenEntries", body)
    assert response.status_code == 201, response.text
    posted = response.json()
    doc_entry = posted["DocEntry"]
    assert response.headers["Location"] == f"{sl.root(client.version)}/InventoryGenEntries({doc_entry})"
    assert posted["DocNum"] != doc_entry and type(posted["Series"]) is int
    # SAP fills in the finished good's ItemCode from the order (P2: "FG_P1_ODP_TEST").
    assert posted["DocumentLines"][0]["ItemCode"] == "FG-CHAIR"
    assert (posted["DocumentLines"][0]["BaseType"], posted["DocumentLines"][0]["BaseEntry"]) == (202, 101)
    real_dates = payload("response-invoice-get-select_v2_real-EXCERPT.json")
    assert len(posted["DocDate"]) == (10 if client.version == "v1" else len(real_dates["DocDate"]))
    order = client.get("ProductionOrders(101)").json()
    assert order["CompletedQuantity"] == 1.0
    # Both backflush lines issued their share of 1 of the order's PlannedQuantity (P2: 0.0 → 1.0).
    shares = [ol["PlannedQuantity"] / order["PlannedQuantity"] for ol in order["ProductionOrderLines"]]
    assert [ol["IssuedQuantity"] for ol in order["ProductionOrderLines"]] == shares


def test_pinned_receipt_from_production_sap_apiref(client: Client) -> None:
    # SAP's example: numbers as strings, three lines for one order, bin allocations, compact dates.
    body = payload("request-receipt-from-production_v2_sap-apiref.json")
    for line in body["DocumentLines"]:
        line.update(BaseEntry="101", WarehouseCode="01")
    response = client.post("InventoryGenEntries", body)
    assert response.status_code == 201, response.text
    lines = response.json()["DocumentLines"]
    assert [(ln["BaseType"], ln["BaseEntry"], ln["Quantity"]) for ln in lines] == [(202, 101, 1.0)] * 3
    assert [ln["CostingCode"] for ln in lines] == ["1020", "1177", "1301"]
    assert [ln["DocumentLinesBinAllocations"][0]["BinAbsEntry"] for ln in lines] == [2, 3, 4]
    assert response.json()["DocDate"] == date_of(client, "2017-06-04")
    assert client.get("ProductionOrders(101)").json()["CompletedQuantity"] == 3.0


def test_pinned_issue_for_production_sap_apiref(client: Client) -> None:
    # SAP's example has BaseEntry and BaseLine but no BaseType; order 104's line 0 is issued manually.
    body = payload("request-issue-for-production_v2_sap-apiref.json")
    for line in body["DocumentLines"]:
        line.update(BaseEntry="104", WarehouseCode="02")
    response = client.post("InventoryGenExits", body)
    assert response.status_code == 201, response.text
    lines = response.json()["DocumentLines"]
    assert [(ln["BaseType"], ln["BaseEntry"], ln["BaseLine"], ln["ItemCode"]) for ln in lines] == [
        (202, 104, 0, "PAINT-WHITE")
    ] * 3
    order = client.get("ProductionOrders(104)").json()
    assert order["ProductionOrderLines"][0]["IssuedQuantity"] == 3.0
