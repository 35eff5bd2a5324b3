"""Builders of orders, items and mappings for the production unit tests (SAP names verbatim)."""

from __future__ import annotations

from typing import Any

from connector.mapping.spec import Mapping
from connector.production.confirmations import ReceiptPlan
from connector.production.orders import ItemMaster, ProductionOrder, parse_item, parse_order


def line(
    number: int,
    item: str | None = "COMP",
    *,
    issue: str = "im_Backflush",
    kind: str = "pit_Item",
    planned: float = 10.0,
    issued: float = 0.0,
    warehouse: str | None = "01",
) -> dict[str, Any]:
    """A raw ``ProductionOrderLines`` row as the SL returns it."""
    return {
        "LineNumber": number,
        "ItemNo": item,
        "ItemType": kind,
        "ProductionOrderIssueType": issue,
        "BaseQuantity": planned / 10,
        "PlannedQuantity": planned,
        "IssuedQuantity": issued,
        "Warehouse": warehouse,
    }


def order(*, lines: list[dict[str, Any]] | None = None, **fields: Any) -> ProductionOrder:
    """A released standard order for 10 × FG in warehouse 01; keyword arguments override header fields."""
    raw: dict[str, Any] = {
        "AbsoluteEntry": 101,
        "DocumentNumber": 2026230104,
        "Series": 138,
        "ItemNo": "FG",
        "ProductionOrderStatus": "boposReleased",
        "ProductionOrderType": "bopotStandard",
        "PlannedQuantity": 10.0,
        "CompletedQuantity": 0.0,
        "RejectedQuantity": 0.0,
        "Warehouse": "01",
        "DueDate": "2026-05-01T00:00:00Z",
        "PostingDate": "2026-04-20T00:00:00Z",
        "InventoryUOM": "pcs",
        "ProductionOrderLines": lines or [],
    }
    raw.update(fields)
    return parse_order(raw)


def item(
    code: str,
    *,
    stock: dict[str, float] | None = None,
    batch: bool = False,
    serial: bool = False,
    inventory: bool = True,
    group: int | None = 100,
    name: str | None = None,
    uom: str | None = "each",
) -> ItemMaster:
    """An item master row; ``stock`` maps WarehouseCode → InStock."""
    return parse_item(
        {
            "ItemCode": code,
            "ItemName": name or f"Item {code}",
            "ItemsGroupCode": group,
            "InventoryItem": "tYES" if inventory else "tNO",
            "ManageBatchNumbers": "tYES" if batch else "tNO",
            "ManageSerialNumbers": "tYES" if serial else "tNO",
            "IssueMethod": "im_Backflush",
            "InventoryUOM": uom,
            "ItemWarehouseInfoCollection": [
                {"WarehouseCode": wh, "InStock": q, "Committed": 0.0, "Ordered": 0.0}
                for wh, q in (stock or {}).items()
            ],
        }
    )


def items(*entries: ItemMaster) -> dict[str, ItemMaster]:
    """Items keyed by ItemCode, as the worker passes them."""
    return {entry.ItemCode: entry for entry in entries}


def mapping(**sections: Any) -> Mapping:
    """The default mapping with whole sections replaced (validated like a mapping file)."""
    return Mapping.model_validate(sections)


def plan(
    good: float, rejected: float = 0.0, *, completed: float = 0.0, rejected_before: float = 0.0
) -> ReceiptPlan:
    """A problem-free receipt plan."""
    return ReceiptPlan(good, rejected, (), completed_before=completed, rejected_before=rejected_before)
