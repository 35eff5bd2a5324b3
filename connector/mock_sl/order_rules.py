"""Production order writes SAP allows: create (planned), PATCH status/UDFs/remarks, Cancel (§4.5).

Status changes accept the enum name or the DB code (``"R"``, SAP-APIREF's own PATCH example; §4.4).
The transition rules follow the SAP help (§4.5 "Status rules"); SAP's exact error texts for a refused
transition were not found, so those texts are ASSUMPTIONS.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from connector.mock_sl import numbering
from connector.mock_sl.protocol import SapError
from connector.mock_sl.store import Store

PLANNED, RELEASED, CLOSED, CANCELLED = "boposPlanned", "boposReleased", "boposClosed", "boposCancelled"

#: Header properties a PATCH may change (besides UDFs). Quantities booked by documents
#: (CompletedQuantity, RejectedQuantity) and keys are SAP's to maintain.
PATCHABLE = frozenset(
    {
        "ProductionOrderStatus",
        "Remarks",
        "DueDate",
        "StartDate",
        "PostingDate",
        "Warehouse",
        "Priority",
        "CustomerCode",
        "Project",
        "JournalRemarks",
        "PickRemarks",
        "PlannedQuantity",
        "ProductDescription",
        "DistributionRule",
        "DistributionRule2",
        "DistributionRule3",
        "DistributionRule4",
        "DistributionRule5",
    }
)
#: Allowed (from, to) status changes; a same-status PATCH is a no-op.
TRANSITIONS = frozenset(
    {
        (PLANNED, RELEASED),
        (PLANNED, CANCELLED),
        (PLANNED, CLOSED),
        (RELEASED, CLOSED),
        (RELEASED, CANCELLED),
        (RELEASED, PLANNED),
    }
)


def _received(order: dict[str, Any]) -> bool:
    return float(order.get("CompletedQuantity") or 0) + float(order.get("RejectedQuantity") or 0) > 0


def _issued(order: dict[str, Any]) -> bool:
    return any(float(line.get("IssuedQuantity") or 0) > 0 for line in order.get("ProductionOrderLines") or [])


def change_status(order: dict[str, Any], target: str, today: date) -> None:
    """Move ``order`` to ``target`` if SAP allows (Planned→Released→Closed; Cancel only before receipts)."""
    current = order.get("ProductionOrderStatus")
    if current == target:
        return
    if (current, target) not in TRANSITIONS:
        # ASSUMPTION: text not captured; B1 refuses changes out of Closed/Cancelled.
        raise SapError(400, -5002, f"Cannot change status of production order from '{current}' to '{target}'")
    if target == CANCELLED and (_received(order) or _issued(order)):
        raise SapError(400, -5002, "Cannot cancel production order with posted transactions")  # ASSUMPTION
    if target == PLANNED and (_received(order) or _issued(order)):
        raise SapError(
            400, -5002, "Cannot change status of production order with posted transactions"
        )  # ASSUMPTION
    order["ProductionOrderStatus"] = target
    if target == RELEASED:
        order["ReleaseDate"] = today.isoformat()
    if target in (CLOSED, CANCELLED):
        order["ClosingDate"] = today.isoformat()


def patch_order(store: Store, key: int, changes: dict[str, Any], today: date) -> None:
    """PATCH ProductionOrders(k): validated changes applied atomically, DataVersion moves on."""
    order = store.live("ProductionOrders", key)
    assert order is not None  # the route answered 404 already
    udfs = store.udfs("ProductionOrders")
    for name in changes:
        if name not in PATCHABLE and name not in udfs:
            raise SapError(400, -5006, "The requested action is not supported for this object.")
    status = changes.get("ProductionOrderStatus")
    if status is not None:
        if status not in (PLANNED, RELEASED, CLOSED, CANCELLED):
            raise SapError(400, -1000, "Property 'ProductionOrderStatus' of 'ProductionOrder' is invalid")
        change_status(order, status, today)
    for name, value in changes.items():
        if name != "ProductionOrderStatus":
            order[name] = value
    store.touch("ProductionOrders", key)


def create_order(store: Store, body: dict[str, Any], today: date) -> dict[str, Any]:
    """POST ProductionOrders: a planned order; lines as given (the mock does not explode BOMs, §4.5)."""
    for name in ("ItemNo", "DueDate", "PlannedQuantity"):
        if body.get(name) in (None, ""):
            raise SapError(400, -5002, f"Field '{name}' is mandatory")  # ASSUMPTION: text not captured
    product = store.live("Items", body["ItemNo"])
    if product is None:
        raise SapError(400, -5002, "Invalid item code  [OWOR.ItemCode]")  # ASSUMPTION
    # DocumentNumber comes from the series (SAP's create answer: AbsoluteEntry 3585, DocumentNumber
    # 2026230060, Series 138, §4.5); a Series of another object type is refused before anything is stored.
    store.numbering.resolve(numbering.PRODUCTION_ORDER, body.get("Series"), "OWOR")
    entry = store.next_number("ProductionOrders", "AbsoluteEntry")
    lines = []
    for number, line in enumerate(body.get("ProductionOrderLines") or []):
        lines.append(
            {
                "IssuedQuantity": 0.0,
                "ProductionOrderIssueType": "im_Manual",
                "ItemType": "pit_Item",
                "BaseQuantity": 0.0,
                "PlannedQuantity": 0.0,
                **line,
                "DocumentAbsoluteEntry": entry,
                "LineNumber": number,
                "VisualOrder": number,
            }
        )
    order = {
        "ProductionOrderStatus": PLANNED,
        "ProductionOrderType": "bopotStandard",
        "ProductionOrderOrigin": "bopooManual",
        # ◐ B1 fills the order's warehouse from the product's default warehouse (SAP's own minimal
        # create example sends none), so a receipt without WarehouseCode has somewhere to go.
        "Warehouse": product.get("DefaultWarehouse"),
        "PostingDate": today.isoformat(),
        **body,
        "AbsoluteEntry": entry,
        "DocumentNumber": None,
        "Series": None,
        "CompletedQuantity": 0.0,
        "RejectedQuantity": 0.0,
        "CreationDate": today.isoformat(),
        "ProductionOrderLines": lines,
    }
    if order["ProductionOrderStatus"] != PLANNED:
        raise SapError(400, -5002, "A new production order must be planned")  # ASSUMPTION
    order["Series"], order["DocumentNumber"] = store.take_number(
        "ProductionOrders", "DocumentNumber", numbering.PRODUCTION_ORDER, body.get("Series"), "OWOR"
    )
    store.insert("ProductionOrders", order)
    return order
