"""The SL client against the real mock Service Layer over loopback, on /b1s/v1 and /b1s/v2.

Fixtures ``mock_sl`` (the demo company on port 0) and ``protocol`` (v1, v2) come from tests/conftest.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from connector.demo_company import DEMO_COMPANY
from connector.errors import SLAuthError, SLNotFoundError, SLOutcomeUnknownError, SLQueryError, SLRequestError
from connector.sl import odata
from connector.sl.client import ServiceLayerClient
from tests.support.sl_client import client_from

COMPANY = json.loads((DEMO_COMPANY / "company.json").read_text())
USER, PASSWORD = next(iter(COMPANY["users"].items()))
RELEASED = odata.eq("ProductionOrderStatus", "boposReleased")
#: Order 101 (FG-CHAIR, all backflush, plenty of stock): a clean receipt on the demo company.
RECEIPT = {
    "Comments": "b1-backflush integration test",
    "DocumentLines": [
        {
            "BaseType": 202,
            "BaseEntry": 101,
            "Quantity": 1,
            "WarehouseCode": "01",
            "TransactionType": "botrntComplete",
        }
    ],
}


def make_client(sl: Any, protocol: str, **overrides: Any) -> ServiceLayerClient:
    """A client on the mock with a no-op sleep (retries without waiting) and a short read timeout."""
    options: dict[str, Any] = {
        "base_url": sl.root(protocol),
        "company_db": COMPANY["CompanyDB"],
        "username": USER,
        "password": SecretStr(PASSWORD),
        "read_timeout_s": 5.0,
        "sleep": lambda seconds: None,
    }
    options.update(overrides)
    return client_from(**options)


def calls(sl: Any, method: str, path_prefix: str) -> list[Any]:
    return [r for r in sl.requests if r.method == method and r.path.startswith(path_prefix)]


def test_live_login_reads_version_and_logout_ends_the_session(mock_sl: Any, protocol: str) -> None:
    client = make_client(mock_sl, protocol)
    client.login()
    assert client.version == COMPANY["Version"]
    client.logout()
    assert [(r.method, r.path, r.status) for r in mock_sl.requests] == [
        ("POST", "Login", 200),
        ("POST", "Logout", 204),
    ]
    client.get_entity("Items", "WOOD-LEG", select=["ItemCode"])  # a new session, transparently
    assert len(calls(mock_sl, "POST", "Login")) == 2


def test_live_wrong_password_is_one_login_and_an_auth_error(mock_sl: Any, protocol: str) -> None:
    client = make_client(mock_sl, protocol, password=SecretStr("not-the-password"))
    with pytest.raises(SLAuthError) as info:
        client.get_entity("Items", "WOOD-LEG")
    assert info.value.sap_message and info.value.status == 401
    assert "not-the-password" not in str(info.value)
    assert len(mock_sl.requests) == 1


def test_live_paging_released_orders_with_filter_select_and_page_size_5(mock_sl: Any, protocol: str) -> None:
    with make_client(mock_sl, protocol) as client:
        expected = client.count("ProductionOrders", where=RELEASED)
        pages = list(
            client.iter_pages(
                "ProductionOrders",
                where=RELEASED,
                select=["AbsoluteEntry", "ItemNo", "ProductionOrderStatus"],
                orderby="AbsoluteEntry",
                page_size=5,
            )
        )
    assert expected == 19
    assert [len(p) for p in pages] == [5, 5, 5, 4]
    entries = [row["AbsoluteEntry"] for page in pages for row in page]
    assert entries == sorted(entries) and len(set(entries)) == expected
    assert all(row["ProductionOrderStatus"] == "boposReleased" for page in pages for row in page)
    assert all("PlannedQuantity" not in row for page in pages for row in page)  # $select was honoured
    gets = calls(mock_sl, "GET", "ProductionOrders")
    assert len(gets) >= 4 and all(g.status == 200 for g in gets)


def test_live_iter_collection_with_any_of_on_quoted_codes(mock_sl: Any, protocol: str) -> None:
    codes = ["BOLT'M8", "WOOD-LEG", "NO'SUCH & #+"]
    with make_client(mock_sl, protocol) as client:
        found = list(
            client.iter_collection("Items", where=odata.any_of("ItemCode", codes), select=["ItemCode"])
        )
    assert sorted(row["ItemCode"] for row in found) == ["BOLT'M8", "WOOD-LEG"]


def test_live_get_item_whose_code_has_a_quote(mock_sl: Any, protocol: str) -> None:
    with make_client(mock_sl, protocol) as client:
        item = client.get_entity("Items", "BOLT'M8", select=["ItemCode", "IssueMethod"])
        assert item["ItemCode"] == "BOLT'M8"
        with pytest.raises(SLNotFoundError):
            client.get_entity("Items", "NO'SUCH")


def test_live_bad_filter_is_a_query_error(mock_sl: Any, protocol: str) -> None:
    with make_client(mock_sl, protocol) as client, pytest.raises(SLQueryError) as info:
        list(client.iter_pages("ProductionOrders", where="NoSuchField eq 1"))
    assert info.value.code == "201"


def test_live_post_receipt_returns_201_body(mock_sl: Any, protocol: str) -> None:
    with make_client(mock_sl, protocol) as client:
        created = client.post("InventoryGenEntries", RECEIPT)
    assert isinstance(created["DocEntry"], int)
    stored = mock_sl.store.rows("InventoryGenEntries")
    assert [row["DocEntry"] for row in stored] == [created["DocEntry"]]


@pytest.mark.parametrize("v2_error_details", [True, False], ids=["details", "no-details"])
def test_live_post_business_error_keeps_sap_code_and_message(
    mock_sl: Any, protocol: str, v2_error_details: bool
) -> None:
    # Both v2 error shapes seen in the field (with and without "details") read the same.
    mock_sl.switches.v2_error_details = v2_error_details
    short = {"DocumentLines": [{**RECEIPT["DocumentLines"][0], "BaseEntry": 107, "Quantity": 5}]}
    with make_client(mock_sl, protocol) as client, pytest.raises(SLRequestError) as info:
        client.post("InventoryGenEntries", short)
    assert info.value.code == "-5002" and "fall below zero" in (info.value.sap_message or "")
    assert len(calls(mock_sl, "POST", "InventoryGenEntries")) == 1


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_502"])
def test_live_lost_answer_is_outcome_unknown_and_the_document_exists(
    mock_sl: Any, protocol: str, fault: str
) -> None:
    getattr(mock_sl.faults, fault)("InventoryGenEntries", count=1)
    with make_client(mock_sl, protocol) as client, pytest.raises(SLOutcomeUnknownError) as info:
        client.post("InventoryGenEntries", RECEIPT)
    assert "look the document up" in str(info.value)
    assert len(calls(mock_sl, "POST", "InventoryGenEntries")) == 1  # never re-sent
    assert len(mock_sl.store.rows("InventoryGenEntries")) == 1  # SAP has it


@pytest.mark.parametrize("html", [False, True], ids=["json-503", "apache-html-502"])
def test_live_failed_get_is_retried_and_succeeds(mock_sl: Any, protocol: str, html: bool) -> None:
    status = 502 if html else 503
    mock_sl.faults.fail_next("Items", count=1, status=status, html=html, method="GET")
    sleeps: list[float] = []
    with make_client(mock_sl, protocol, sleep=sleeps.append) as client:
        assert client.get_entity("Items", "WOOD-LEG", select=["ItemCode"])["ItemCode"] == "WOOD-LEG"
    assert [r.status for r in calls(mock_sl, "GET", "Items")] == [status, 200]
    assert len(sleeps) == 1


def test_live_expired_sessions_are_renewed_transparently(mock_sl: Any, protocol: str) -> None:
    with make_client(mock_sl, protocol) as client:
        client.login()
        mock_sl.faults.expire_all_sessions()
        assert client.get_entity("Items", "WOOD-LEG", select=["ItemCode"])["ItemCode"] == "WOOD-LEG"
        mock_sl.faults.expire_all_sessions()
        assert client.post("InventoryGenEntries", RECEIPT)["DocEntry"]
    assert [(r.method, r.path, r.status) for r in mock_sl.requests] == [
        ("POST", "Login", 200),
        ("GET", "Items('WOOD-LEG')", 401),
        ("POST", "Login", 200),
        ("GET", "Items('WOOD-LEG')", 200),
        ("POST", "InventoryGenEntries", 401),
        ("POST", "Login", 200),
        ("POST", "InventoryGenEntries", 201),
        ("POST", "Logout", 204),
    ]
    assert len(mock_sl.store.rows("InventoryGenEntries")) == 1
