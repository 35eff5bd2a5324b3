"""Stock per item and warehouse (``ItemWarehouseInfoCollection``), batch and serial selection checks.

Movements are collected first and applied only when the whole document passed, so a refused
document changes nothing (docs/service-layer.md §5.4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from connector.mock_sl.protocol import SapError
from connector.mock_sl.store import Store

# ◐ practitioner text (docs/service-layer.md §2.3, sample saved as
# error-400-batch-serial-selection-incomplete_v1.json).
SELECTION_INCOMPLETE = "Cannot add row without complete selection of batch/serial numbers"


def is_batch(item: dict[str, Any]) -> bool:
    """``ManageBatchNumbers`` is tYES."""
    return item.get("ManageBatchNumbers") == "tYES"


def is_serial(item: dict[str, Any]) -> bool:
    """``ManageSerialNumbers`` is tYES."""
    return item.get("ManageSerialNumbers") == "tYES"


def batch_serial_complete(item: dict[str, Any], line: dict[str, Any], quantity: float) -> None:
    """-4014 unless a batch item's ``BatchNumbers`` sum to the quantity, or a serial item has one per unit.

    The batch name is stored under v1's ``BatchNumber`` (v2's ``BatchNumberProperty`` was renamed on
    the way in); the other version's spelling was already refused with -1000 (§5.5).
    """
    if is_batch(item):
        batches = line.get("BatchNumbers") or []
        total = sum(float(b.get("Quantity") or 0) for b in batches)
        if not batches or any(not b.get("BatchNumber") for b in batches) or abs(total - quantity) > 1e-9:
            raise SapError(400, -4014, SELECTION_INCOMPLETE)
    if is_serial(item):
        serials = line.get("SerialNumbers") or []
        # ❓ one serial per unit, Quantity 1 each, integer quantity: assumed (§5.5).
        whole = float(quantity).is_integer()
        if (
            not whole
            or len(serials) != int(quantity)
            or any(float(s.get("Quantity") or 1) != 1 for s in serials)
            or any(not (s.get("InternalSerialNumber") or s.get("ManufacturerSerialNumber")) for s in serials)
        ):
            raise SapError(400, -4014, SELECTION_INCOMPLETE)


class StockLedger:
    """Pending stock movements of one document over the store's ``InStock`` figures."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._delta: dict[tuple[str, str], float] = defaultdict(float)

    def on_hand(self, item_code: str, warehouse: str) -> float:
        """``InStock`` now (0 for an unknown item or a warehouse without a row)."""
        item = self._store.live("Items", item_code)
        for row in (item or {}).get("ItemWarehouseInfoCollection") or []:
            if row.get("WarehouseCode") == warehouse:
                return float(row.get("InStock") or 0)
        return 0.0

    def move(self, item_code: str, warehouse: str, quantity: float) -> None:
        """Queue ``quantity`` in (positive) or out (negative)."""
        self._delta[(item_code, warehouse)] += quantity

    def first_negative(self, keys: Iterable[tuple[str, str]]) -> int | None:
        """Index of the first of ``keys`` whose stock would end below zero, if any."""
        for index, key in enumerate(keys):
            if self.on_hand(*key) + self._delta[key] < -1e-9:
                return index
        return None

    def apply(self) -> None:
        """Write the movements into ``ItemWarehouseInfoCollection`` and ``QuantityOnStock``."""
        for (item_code, warehouse), quantity in self._delta.items():
            item = self._store.live("Items", item_code)
            if item is None or quantity == 0:
                continue
            rows = item.setdefault("ItemWarehouseInfoCollection", [])
            row = next((r for r in rows if r.get("WarehouseCode") == warehouse), None)
            if row is None:
                row = {
                    "WarehouseCode": warehouse,
                    "ItemCode": item_code,
                    "InStock": 0.0,
                    "Committed": 0.0,
                    "Ordered": 0.0,
                    "Locked": "tNO",
                }
                rows.append(row)
            row["InStock"] = float(row.get("InStock") or 0) + quantity
            item["QuantityOnStock"] = sum(float(r.get("InStock") or 0) for r in rows)
            self._store.touch("Items", item_code)
