"""The JSON Schema of mapping files, for editors: ``python -m connector.mapping.schema`` rewrites schema.json.

It is ``Mapping.model_json_schema()`` plus what an editor needs to help a consultant: a
description (with the default) on every key, the UDF name pattern, and ``source`` marked
required in the quantities union (pydantic needs it to pick the variant). A test keeps the
committed ``schema.json`` equal to :func:`build_schema`, so it cannot go stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from connector.mapping.spec import Mapping

#: Where the schema ships (package data next to this module).
SCHEMA_PATH = Path(__file__).with_name("schema.json")

_UDF_PATTERN = "^U_[A-Za-z0-9_]{1,50}$"

#: (definition, property) → description shown by the editor on hover.
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("Mapping", "version"): "Format version of this file. Always 1.",
    ("Mapping", "description"): "Free text shown in logs and in `b1-backflush explain`.",
    ("Mapping", "candidates"): "Which released production orders are looked at.",
    ("Mapping", "quantities"): (
        "Where the quantity to receive comes from: source confirmed_fields or ready_flag."
    ),
    ("Mapping", "receipt"): "The Receipt from Production document (InventoryGenEntries) to post.",
    ("Mapping", "finished_good"): (
        "Batch and serial numbers for the product; null = orders needing them are held."
    ),
    ("Mapping", "idempotency"): "Where the connector writes its posting key, so nothing is posted twice.",
    ("Mapping", "policies"): "How strict the checks are (block, warn, off).",
    ("Mapping", "after_full_receipt"): (
        "nothing, or close_order: close the production order once all is received."
    ),
    ("Candidates", "extra_filter"): (
        "Extra OData condition on ProductionOrders, e.g. U_Line eq 'A'. Text in single quotes."
    ),
    ("Candidates", "series"): "Only these document Series numbers; empty = all.",
    ("Candidates", "warehouses"): "Only orders whose header Warehouse is one of these codes; empty = all.",
    ("Candidates", "item_groups"): "Only products of these ItemsGroupCode numbers; empty = all.",
    ("Candidates", "order_types"): (
        "bopotStandard and/or bopotSpecial. Disassembly orders are never received."
    ),
    ("ConfirmedFieldsSource", "source"): (
        "confirmed_fields: receive what the shop floor confirmed on order UDFs."
    ),
    ("ConfirmedFieldsSource", "confirmed_field"): (
        "Order UDF with the cumulative good quantity confirmed (e.g. U_ConfirmedQty)."
    ),
    ("ConfirmedFieldsSource", "rejected_field"): (
        "Order UDF with the cumulative rejected quantity; null = no rejects."
    ),
    ("ReadyFlagSource", "source"): (
        "ready_flag: when the flag has ready_value, receive all that is still open."
    ),
    ("ReadyFlagSource", "ready_field"): "Order UDF holding the flag (e.g. U_ReadyToReceive).",
    ("ReadyFlagSource", "ready_value"): "The flag value meaning 'ready' (e.g. Y).",
    ("ReceiptRule", "doc_date"): "Posting date of the receipt: today, order_due_date or order_posting_date.",
    ("ReceiptRule", "series"): (
        "Numbering series of the receipt (Series number in SAP); null = SAP's default series."
    ),
    ("ReceiptRule", "comments"): (
        "Template for Comments, e.g. 'Receipt from production order {DocumentNumber}'."
    ),
    ("ReceiptRule", "journal_memo"): "Template for JournalMemo.",
    ("ReceiptRule", "reference2"): (
        "Template for Reference2 (11 characters at most once filled in); null = empty."
    ),
    ("ReceiptRule", "header_udfs"): "Receipt header UDFs (OIGN): U_Name: constant or template.",
    ("ReceiptRule", "line_udfs"): "Receipt line UDFs (IGN1) on every line: U_Name: constant or template.",
    ("ReceiptRule", "warehouse"): "Where the finished good is received.",
    ("ReceiptRule", "reject_warehouse"): (
        "Warehouse for the rejected quantity; null = same as the good quantity."
    ),
    ("WarehouseRule", "rule"): (
        "order (the order's Warehouse), constant (code), by_item or by_item_group (tables)."
    ),
    ("WarehouseRule", "code"): "Warehouse code for rule: constant, in quotes (e.g. '01').",
    ("WarehouseRule", "by_item"): (
        "ItemCode: WarehouseCode, for rule: by_item. Unlisted items use the order's warehouse."
    ),
    ("WarehouseRule", "by_item_group"): (
        "ItemsGroupCode: WarehouseCode, for rule: by_item_group. Unlisted groups use the order's warehouse."
    ),
    ("FinishedGoodRule", "batch"): "Batch rule for batch-managed products; null = such orders are held.",
    ("FinishedGoodRule", "serial"): "Serial rule for serial-managed products; null = such orders are held.",
    ("BatchRule", "number"): "Template of the batch number, e.g. '{DocumentNumber}-{today:%Y%m%d}'.",
    ("BatchRule", "shelf_life_days"): "ExpiryDate = posting date + this many days; null = no expiry date.",
    ("SerialRule", "number"): "Template of each serial number; must contain {serial} (1, 2, ... per order).",
    ("IdempotencyRule", "key_field"): (
        "Receipt header UDF (OIGN) that carries the posting key, e.g. U_B1BF_Key."
    ),
    ("Policies", "manual_issue"): "Components with manual issue that are not fully issued.",
    ("Policies", "stock"): "Not enough component stock for the backflush.",
    ("Policies", "over_receipt"): "Completed + rejected beyond PlannedQuantity.",
    ("CheckPolicy", "mode"): "block = hold the order, warn = post and report, off = do not check.",
    ("CheckPolicy", "tolerance"): "Absolute quantity tolerance in the inventory unit.",
    ("OverReceiptPolicy", "tolerance_percent"): "How many percent beyond PlannedQuantity are accepted.",
}

#: (definition, property) → extra JSON Schema keywords (patterns the pydantic validators enforce).
EXTRA_KEYWORDS: dict[tuple[str, str], dict[str, Any]] = {
    ("ReceiptRule", "header_udfs"): {"propertyNames": {"pattern": _UDF_PATTERN}},
    ("ReceiptRule", "line_udfs"): {"propertyNames": {"pattern": _UDF_PATTERN}},
    ("WarehouseRule", "by_item_group"): {"propertyNames": {"pattern": "^[0-9]+$"}},
    ("IdempotencyRule", "key_field"): {"pattern": "^U_"},
}


def _describe(definition: str, schema: dict[str, Any]) -> None:
    for name, prop in schema.get("properties", {}).items():
        text = DESCRIPTIONS.get((definition, name))
        if text:
            default = prop.get("default")
            suffix = f" Default: {json.dumps(default)}." if "default" in prop else ""
            prop["description"] = text + (suffix if default not in ({}, []) else "")
        prop.update(EXTRA_KEYWORDS.get((definition, name), {}))


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a mapping file, with editor descriptions."""
    schema = Mapping.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "b1-backflush mapping file"
    schema["description"] = "One company's or scenario's mapping (B1_MAPPING). See mappings/README.md."
    _describe("Mapping", schema)
    for definition, sub in schema.get("$defs", {}).items():
        _describe(definition, sub)
        if definition in {"ConfirmedFieldsSource", "ReadyFlagSource"}:
            # pydantic picks the variant by `source`: without it the file is refused, so say so here too.
            sub["required"] = sorted({*sub.get("required", []), "source"})
        for key in ("confirmed_field", "rejected_field", "ready_field"):
            prop = sub.get("properties", {}).get(key)
            if prop is not None:
                target = next((o for o in prop.get("anyOf", []) if o.get("type") == "string"), prop)
                target["pattern"] = _UDF_PATTERN
    return schema


def render_schema() -> str:
    """schema.json's exact text (stable key order, trailing newline)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Rewrite schema.json next to this module."""
    SCHEMA_PATH.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
