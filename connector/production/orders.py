"""Service Layer JSON → typed production orders, component lines and item master (SAP names kept).

Attribute names are SAP's property names verbatim (``AbsoluteEntry``, ``ProductionOrderIssueType``)
so consultants and the reference can be searched for them. Parsing is strict about what the
connector relies on: a missing or non-numeric quantity raises ``OrderError`` with a reason code
instead of being guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from connector.errors import OrderError
from connector.production.reasons import INVALID_ITEM_DATA, INVALID_ORDER_DATA, INVALID_QUANTITY

# Enum members as the Service Layer spells them in responses (docs/service-layer.md §4.4).
RELEASED = "boposReleased"
DISASSEMBLY = "bopotDisassembly"
BACKFLUSH = "im_Backflush"
MANUAL = "im_Manual"
PIT_ITEM = "pit_Item"
PIT_RESOURCE = "pit_Resource"
PIT_TEXT = "pit_Text"
YES = "tYES"

#: Header properties the poll selects (plus the mapping's UDFs and template fields).
ORDER_SELECT: tuple[str, ...] = (
    "AbsoluteEntry",
    "DocumentNumber",
    "Series",
    "ItemNo",
    "ProductionOrderStatus",
    "ProductionOrderType",
    "PlannedQuantity",
    "CompletedQuantity",
    "RejectedQuantity",
    "Warehouse",
    "DueDate",
    "PostingDate",
    "InventoryUOM",
    "ProductionOrderLines",
)

#: Item master properties the cycle reads, batched per page of orders.
ITEM_SELECT: tuple[str, ...] = (
    "ItemCode",
    "ItemName",
    "ItemsGroupCode",
    "InventoryItem",
    "ManageBatchNumbers",
    "ManageSerialNumbers",
    "IssueMethod",
    "InventoryUOM",
    "ItemWarehouseInfoCollection",
)


@dataclass(frozen=True, slots=True)  # slots: an order may have hundreds of lines in memory
class ComponentLine:
    """One ``ProductionOrderLines`` row: a component, a resource or a text line."""

    LineNumber: int
    ItemNo: str | None
    ItemType: str
    ProductionOrderIssueType: str | None
    BaseQuantity: float
    PlannedQuantity: float
    IssuedQuantity: float
    Warehouse: str | None

    @property
    def is_item(self) -> bool:
        """Stock items only: resources are issued without stock and text lines are never issued."""
        return self.ItemType == PIT_ITEM

    @property
    def is_backflush(self) -> bool:
        """SAP issues the line automatically when the receipt is posted (im_Backflush)."""
        return self.ProductionOrderIssueType == BACKFLUSH


@dataclass(frozen=True)
class ProductionOrder:
    """A production order header with its lines; ``fields`` keeps every selected property (UDFs too)."""

    AbsoluteEntry: int
    DocumentNumber: int
    ItemNo: str
    ProductionOrderStatus: str
    ProductionOrderType: str
    PlannedQuantity: float
    CompletedQuantity: float
    RejectedQuantity: float
    Warehouse: str | None
    lines: tuple[ComponentLine, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def received_quantity(self) -> float:
        """Completed plus rejected: what receipts have already booked against the order."""
        return self.CompletedQuantity + self.RejectedQuantity


@dataclass(frozen=True)
class WarehouseStock:
    """One ``ItemWarehouseInfoCollection`` row."""

    WarehouseCode: str
    InStock: float
    Committed: float
    Ordered: float


@dataclass(frozen=True)
class ItemMaster:
    """The item master fields the rules need."""

    ItemCode: str
    ItemName: str | None
    ItemsGroupCode: int | None
    InventoryItem: bool
    ManageBatchNumbers: bool
    ManageSerialNumbers: bool
    IssueMethod: str | None
    InventoryUOM: str | None
    warehouses: Mapping[str, WarehouseStock] = field(default_factory=dict)

    def in_stock(self, warehouse: str | None) -> float:
        """``InStock`` in one warehouse (0 when the item has no row there)."""
        row = self.warehouses.get(warehouse or "")
        return row.InStock if row else 0.0

    def with_stock_taken(self, warehouse: str, quantity: float) -> ItemMaster:
        """A copy with ``quantity`` less ``InStock`` in ``warehouse`` (what a posted receipt consumed)."""
        row = self.warehouses.get(warehouse) or WarehouseStock(warehouse, 0.0, 0.0, 0.0)
        return replace(
            self, warehouses={**self.warehouses, warehouse: replace(row, InStock=row.InStock - quantity)}
        )


def _number(raw: Mapping[str, Any], name: str, *, where: str, reason: str = INVALID_QUANTITY) -> float:
    value = raw.get(name)
    # bool is an int subclass; SAP never sends one for a quantity.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OrderError(f"{where}: {name} is {value!r}, expected a number", reason_code=reason)
    try:
        number = float(value)
    except ValueError:
        raise OrderError(f"{where}: {name} is {value!r}, expected a number", reason_code=reason) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise OrderError(f"{where}: {name} is {value!r}, expected a finite number", reason_code=reason)
    return number


def parse_line(raw: Mapping[str, Any], *, order_label: str) -> ComponentLine:
    """One ``ProductionOrderLines`` row; quantities must be numbers."""
    line_number = raw.get("LineNumber")
    if not isinstance(line_number, int) or isinstance(line_number, bool):
        raise OrderError(
            f"{order_label}: a line has LineNumber {line_number!r}", reason_code=INVALID_ORDER_DATA
        )
    where = f"{order_label} line {line_number}"
    item_type = raw.get("ItemType") or PIT_ITEM
    return ComponentLine(
        LineNumber=line_number,
        ItemNo=raw.get("ItemNo"),
        ItemType=item_type,
        ProductionOrderIssueType=raw.get("ProductionOrderIssueType"),
        BaseQuantity=(
            _number(raw, "BaseQuantity", where=where) if raw.get("BaseQuantity") is not None else 0.0
        ),
        PlannedQuantity=_number(raw, "PlannedQuantity", where=where) if item_type != PIT_TEXT else 0.0,
        IssuedQuantity=_number(raw, "IssuedQuantity", where=where) if item_type != PIT_TEXT else 0.0,
        Warehouse=raw.get("Warehouse"),
    )


def parse_order(raw: Mapping[str, Any]) -> ProductionOrder:
    """A ``ProductionOrders`` row → ``ProductionOrder``; ``OrderError`` names the bad property."""
    entry = raw.get("AbsoluteEntry")
    if not isinstance(entry, int) or isinstance(entry, bool):
        raise OrderError(f"a production order has AbsoluteEntry {entry!r}", reason_code=INVALID_ORDER_DATA)
    number = raw.get("DocumentNumber")
    label = f"production order {number if number is not None else '?'} (AbsoluteEntry {entry})"
    if not isinstance(number, int) or isinstance(number, bool):
        raise OrderError(f"{label}: DocumentNumber is {number!r}", reason_code=INVALID_ORDER_DATA)
    lines_raw = raw.get("ProductionOrderLines") or []
    if not isinstance(lines_raw, list):
        raise OrderError(f"{label}: ProductionOrderLines is not a list", reason_code=INVALID_ORDER_DATA)
    return ProductionOrder(
        AbsoluteEntry=entry,
        DocumentNumber=number,
        ItemNo=str(raw.get("ItemNo") or ""),
        ProductionOrderStatus=str(raw.get("ProductionOrderStatus") or ""),
        ProductionOrderType=str(raw.get("ProductionOrderType") or "bopotStandard"),
        PlannedQuantity=_number(raw, "PlannedQuantity", where=label),
        CompletedQuantity=_number(raw, "CompletedQuantity", where=label),
        RejectedQuantity=_number(raw, "RejectedQuantity", where=label),
        Warehouse=raw.get("Warehouse"),
        lines=tuple(parse_line(line, order_label=label) for line in lines_raw),
        fields={
            k: v for k, v in raw.items() if k != "ProductionOrderLines" and not k.startswith(("@", "odata."))
        },
    )


def parse_item(raw: Mapping[str, Any]) -> ItemMaster:
    """An ``Items`` row → ``ItemMaster``; warehouse rows keyed by ``WarehouseCode``."""
    rows = {}
    for row in raw.get("ItemWarehouseInfoCollection") or []:
        code = row.get("WarehouseCode")
        if code is None:
            continue
        where = f"item {raw.get('ItemCode')} warehouse {code}"
        rows[code] = WarehouseStock(
            WarehouseCode=code,
            InStock=_number(row, "InStock", where=where, reason=INVALID_ITEM_DATA),
            Committed=_number(row, "Committed", where=where, reason=INVALID_ITEM_DATA),
            Ordered=_number(row, "Ordered", where=where, reason=INVALID_ITEM_DATA),
        )
    group = raw.get("ItemsGroupCode")
    return ItemMaster(
        ItemCode=str(raw.get("ItemCode")),
        ItemName=raw.get("ItemName"),
        ItemsGroupCode=group if isinstance(group, int) else None,
        InventoryItem=raw.get("InventoryItem") == YES,
        ManageBatchNumbers=raw.get("ManageBatchNumbers") == YES,
        ManageSerialNumbers=raw.get("ManageSerialNumbers") == YES,
        IssueMethod=raw.get("IssueMethod"),
        InventoryUOM=raw.get("InventoryUOM"),
        warehouses=rows,
    )
