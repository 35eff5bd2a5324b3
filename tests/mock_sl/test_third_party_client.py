"""An independent Service Layer client (PyPI ``b1sl-python``, import ``b1sl``) against the mock, unchanged.

It logs in, pages through released production orders with $filter + $select, reads an item, posts a
Receipt from Production, sends $batch requests and logs out: proof that the mock speaks the real
protocol, not just ours.
"""

from __future__ import annotations

import pytest
from b1sl.b1sl.batch import BatchOutcome
from b1sl.b1sl.client import B1Client
from b1sl.b1sl.config import B1Config
from b1sl.b1sl.models._generated.entities.general import Document
from b1sl.b1sl.models._generated.entities.production import ProductionOrder
from b1sl.b1sl.resources.base import ODataQuery

from connector.mock_sl.server import MockServiceLayer


def config(sl: MockServiceLayer, version: str) -> B1Config:
    user, password = next(iter(sl.users.items()))
    return B1Config(
        base_url=sl.base_url,
        username=user,
        password=password,
        company_db=sl.company_db,
        ssl_verify=False,
        connect_timeout=5,
        read_timeout=10,
    )


def test_third_party_client_full_flow(sl: MockServiceLayer, protocol: str) -> None:
    with B1Client(config(sl, protocol), version=protocol) as b1:
        orders = b1.get_resource(ProductionOrder, "ProductionOrders")
        query = ODataQuery()
        query.filter = "ProductionOrderStatus eq 'boposReleased'"
        query.select = ["AbsoluteEntry", "ItemNo", "PlannedQuantity", "ProductionOrderLines"]
        query.orderby = "AbsoluteEntry"
        released = list(orders.stream(query, page_size=5))
        assert [o.absolute_entry for o in released] == list(range(101, 120))
        assert released[0].production_order_lines[0].item_no == "WOOD-LEG"

        item = b1.items.get("BOLT'M8")
        assert item.item_code == "BOLT'M8"

        posted = b1.inventory_gen_entries.create(
            Document.model_validate(
                {"DocumentLines": [{"BaseType": 202, "BaseEntry": 101, "Quantity": 4, "WarehouseCode": "01"}]}
            )
        )
        assert posted.doc_entry == 1
    logins = [r for r in sl.requests if r.path == "Login"]
    logouts = [r for r in sl.requests if r.path == "Logout"]
    assert [r.status for r in logins] == [200] and [r.status for r in logouts] == [204]
    assert {r.version for r in sl.requests} == {protocol}
    assert sl.store.get("ProductionOrders", 101)["CompletedQuantity"] == 4.0  # type: ignore[index]
    assert len(sl.sessions) == 0
    pages = [r for r in sl.requests if r.path == "ProductionOrders"]
    assert len(pages) == 4 and pages[-1].query.get("$skip") == "15"


def receipt_document(entry: int, quantity: float) -> Document:
    return Document.model_validate(
        {
            "DocumentLines": [
                {"BaseType": 202, "BaseEntry": entry, "Quantity": quantity, "WarehouseCode": "01"}
            ]
        }
    )


@pytest.mark.parametrize("protocol", ["v2"])  # b1sl writes /b1s/v2/ into every batch line
def test_third_party_client_batch(sl: MockServiceLayer, protocol: str) -> None:
    """b1sl's own $batch API: a GET and an atomic change set, then a change set that fails as a unit."""
    with B1Client(config(sl, protocol), version=protocol) as b1:
        with b1.batch() as batch:
            item = batch.items.get("FG-CHAIR")
            with batch.changeset() as change_set:
                first = change_set.inventory_gen_entries.create(receipt_document(101, 4))
                second = change_set.inventory_gen_entries.create(receipt_document(102, 2))
            results = batch.execute()
        assert [r.outcome for r in results] == [BatchOutcome.APPLIED] * 3
        assert results[item].entity.item_code == "FG-CHAIR"
        assert [results[first].entity.doc_entry, results[second].entity.doc_entry] == [1, 2]

        with b1.batch() as batch:
            with batch.changeset() as change_set:
                change_set.inventory_gen_entries.create(receipt_document(103, 1))
                change_set.inventory_gen_entries.create(receipt_document(107, 5))  # FOAM-LOW short: -5002
            later = batch.items.get("WOOD-LEG")
            failed = batch.execute()
        assert [r.outcome for r in failed] == [BatchOutcome.ROLLED_BACK] * 2 + [BatchOutcome.NOT_EXECUTED]
        assert failed[0].status == 400 and "Production Order no" in (failed[0].error or "")
        assert failed[later].status is None
    assert [d["DocEntry"] for d in sl.store.rows("InventoryGenEntries")] == [1, 2]
    assert sl.store.get("ProductionOrders", 103)["CompletedQuantity"] == 0  # type: ignore[index]
    assert [r.path for r in sl.requests] == ["Login", "$batch", "$batch", "Logout"]
