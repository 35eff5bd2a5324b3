"""Creating master data through the Service Layer: ``POST Items`` (docs/service-layer.md §2.3, §6.1).

The mock creates items so a dry run can add the part it needs before ordering it; other master data
(warehouses, batches, UDFs) is not created through it (-5006).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from connector.mock_sl.protocol import SapError
from connector.mock_sl.store import Store

#: ✅ SAP's text for an item code that exists already (its own $batch example: "Item code 'i002' already
#: exists", code -10, the generic business-rule code).
ITEM_EXISTS = "Item code '{code}' already exists"
#: ◐ The shape SAP answers for a missing mandatory key on POST (FP 2608: "Code undefined  [OCRD.CardCode]"
#: for a business partner); ASSUMPTION: the same for an item without ItemCode.
CODE_UNDEFINED = "Code undefined  [OITM.ItemCode]"


def create_item(store: Store, body: dict[str, Any], today: date) -> dict[str, Any]:
    """POST Items: the item as sent, with DataVersion 1 and today's dates; a code in use is -10."""
    code = body.get("ItemCode")
    if not isinstance(code, str) or not code.strip():
        raise SapError(400, -5002, CODE_UNDEFINED)
    if store.live("Items", code) is not None:
        raise SapError(400, -10, ITEM_EXISTS.format(code=code))
    item = {
        "InventoryItem": "tYES",
        "SalesItem": "tYES",
        "PurchaseItem": "tYES",
        "ManageBatchNumbers": "tNO",
        "ManageSerialNumbers": "tNO",
        "Valid": "tYES",
        "Frozen": "tNO",
        **body,
        "QuantityOnStock": 0.0,
        "CreateDate": today.isoformat(),
        "UpdateDate": today.isoformat(),
        "DataVersion": 1,
    }
    store.insert("Items", item)
    return item
