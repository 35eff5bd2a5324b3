"""Batch and serial master data: ``BatchNumberDetails``, ``SerialNumberDetails`` (docs/service-layer.md §6.2).

SAP keeps one master record per batch (OBTN) and per serial number (OSRN) of an item: no quantity,
no warehouse. A receipt that brings a batch or serial the item does not have yet creates its record;
one received again is the same record. The set is read (GET, filter, ``$count``) and patched (e.g.
``{"Status": "bdsStatus_Locked"}``), never created or deleted through the Service Layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connector.mock_sl.stock import is_batch, is_serial
from connector.mock_sl.store import Store

BATCHES = "BatchNumberDetails"
SERIALS = "SerialNumberDetails"
#: What identifies a record besides its DocEntry: the item and the batch or serial number.
NAME_OF = {BATCHES: "Batch", SERIALS: "SerialNumber"}


def register(store: Store, lines: Iterable[dict[str, Any]], admission: str) -> None:
    """The batch and serial records of a posted receipt's ``lines`` (callers hold the lock, and call this
    only once the document passed every check). ``admission``: the document date (ISO)."""
    for line in lines:
        item = store.live("Items", line.get("ItemCode"))
        if item is None:
            continue
        if is_batch(item):
            for batch in line.get("BatchNumbers") or []:
                _add(
                    store,
                    BATCHES,
                    item,
                    batch.get("BatchNumber"),
                    {
                        "Status": "bdsStatus_Released",
                        # ASSUMPTION (DI API field pairs): the batch line's manufacturer and internal
                        # serial numbers are the batch's attributes 1 and 2 (OBTN.MnfSerial, LotNumber).
                        "BatchAttribute1": batch.get("ManufacturerSerialNumber"),
                        "BatchAttribute2": batch.get("InternalSerialNumber"),
                        "AdmissionDate": batch.get("AddmisionDate") or admission,  # sic, SAP's spelling
                        "ManufacturingDate": batch.get("ManufacturingDate"),
                        "ExpirationDate": batch.get("ExpiryDate"),
                        "Details": batch.get("Notes"),
                    },
                )
        if is_serial(item):
            for serial in line.get("SerialNumbers") or []:
                _add(
                    store,
                    SERIALS,
                    item,
                    serial.get("InternalSerialNumber"),
                    {
                        "MfrSerialNo": serial.get("ManufacturerSerialNumber"),
                        "LotNumber": serial.get("BatchID"),
                        "AdmissionDate": serial.get("ReceptionDate") or admission,
                        "ManufacturingDate": serial.get("ManufactureDate"),
                        "ExpirationDate": serial.get("ExpiryDate"),
                        "MfrWarrantyStart": serial.get("WarrantyStart"),
                        "MFrWarrantyEnd": serial.get("WarrantyEnd"),  # sic, SAP's spelling
                        "Location": serial.get("Location"),
                        "Details": serial.get("Notes"),
                    },
                )


def _add(store: Store, entity_set: str, item: dict[str, Any], number: Any, fields: dict[str, Any]) -> None:
    """A new record for ``item``'s batch or serial ``number``, unless the item has it already."""
    if not number:
        return
    code = item.get("ItemCode")
    same_item = store.where_equal(entity_set, "ItemCode", [code]) or []
    if any(row.get(NAME_OF[entity_set]) == number for row in same_item):
        return
    system_numbers: list[int] = [
        row["SystemNumber"] for row in same_item if isinstance(row.get("SystemNumber"), int)
    ]
    store.insert(
        entity_set,
        {
            "DocEntry": store.next_number(entity_set, "DocEntry"),
            "ItemCode": code,
            "ItemDescription": item.get("ItemName"),
            NAME_OF[entity_set]: number,
            # SystemNumber counts the item's batches (or serials) from 1, as OBTN.SysNumber does.
            "SystemNumber": max(system_numbers, default=0) + 1,
            **{name: value for name, value in fields.items() if value is not None},
        },
    )
