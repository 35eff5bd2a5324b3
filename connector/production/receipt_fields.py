"""The mapping rules that give a receipt its values: template values, DocDate, receiving warehouse.

Each function returns the value together with a short provenance text ("which rule made it") so
``explain`` can show consultants where every payload field comes from. A rule that cannot give a
value raises ``OrderError(reason_code=MAPPING_RULE_FAILED)`` naming the rule and the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from connector.errors import OrderError
from connector.mapping import spec
from connector.mapping.templates import TemplateError, render_template
from connector.production import reasons as rc
from connector.production.dates import parse_sl_date
from connector.production.orders import ItemMaster, ProductionOrder

#: Receipt header text fields the mapping fills, and how many characters SAP stores in each (OIGN
#: columns; $metadata gives no MaxLength). A longer value is never cut: the order is held
#: MAPPING_RULE_FAILED naming the field, so SAP never refuses the receipt and no text is lost.
DOCUMENT_FIELD_SIZES: dict[str, int] = {
    # OIGN.Comments: 254 (DI API help, Documents~Comments).
    "Comments": 254,
    # OIGN.JrnlMemo: not in the DI API help; 50 is B1's column size for journal remarks. Chosen,
    # not confirmed: a shorter limit than SAP's only holds an order, a longer one would be refused.
    "JournalMemo": 50,
    # OIGN.Ref2: 11 (DI API help, Documents~Reference2).
    "Reference2": 11,
}
#: Characters SAP stores in a batch number or a serial number (OBTN.DistNumber and OSRN.DistNumber,
#: nvarchar(36) as SDK table references give them). A longer one is held MAPPING_RULE_FAILED, never cut.
TRACKING_NUMBER_SIZE = 36

#: The mapping key that fills each of those fields (for messages that say what to change).
DOCUMENT_FIELD_RULES: dict[str, str] = {
    "Comments": "receipt.comments",
    "JournalMemo": "receipt.journal_memo",
    "Reference2": "receipt.reference2",
}


def rule_failed(order: ProductionOrder, message: str) -> OrderError:
    """An OrderError for a mapping rule that cannot produce a value for this order."""
    return OrderError(f"Order {order.DocumentNumber}: {message}", reason_code=rc.MAPPING_RULE_FAILED)


def template_values(
    order: ProductionOrder,
    product: ItemMaster | None,
    *,
    today: date,
    now: datetime,
    good: float,
    rejected: float,
    key: str,
) -> dict[str, Any]:
    """Exactly the values templates see: order fields, product fields, today/now, quantities, key."""
    values: dict[str, Any] = dict(order.fields)
    values["ItemName"] = product.ItemName if product else None
    values["ItemsGroupCode"] = product.ItemsGroupCode if product else None
    # The item master's inventory UoM wins; the order's own InventoryUOM is the fallback.
    if product is not None and product.InventoryUOM is not None:
        values["InventoryUOM"] = product.InventoryUOM
    else:
        values["InventoryUOM"] = order.fields.get("InventoryUOM")
    values.update(today=today, now=now, Quantity=good, RejectQuantity=rejected, key=key)
    return values


def render(order: ProductionOrder, rule: str, template: str, values: Mapping[str, Any]) -> str:
    """Render one mapping template; a TemplateError becomes MAPPING_RULE_FAILED naming the rule."""
    try:
        return render_template(template, values)
    except TemplateError as exc:
        raise rule_failed(order, f"{rule} cannot be rendered: {exc}") from None


def describe_template(rule: str, template: str) -> str:
    """Provenance text of a field made by a template (or a constant text without placeholders)."""
    return f"{rule} template {template!r}" if "{" in template else f"{rule} constant {template!r}"


def resolve_doc_date(order: ProductionOrder, rule: spec.ReceiptRule, today: date) -> tuple[date, str]:
    """DocDate per receipt.doc_date: today, the order's DueDate or its PostingDate."""
    if rule.doc_date == "today":
        return today, f"receipt.doc_date: today ({today.isoformat()})"
    field = "DueDate" if rule.doc_date == "order_due_date" else "PostingDate"
    raw = order.fields.get(field)
    value = parse_sl_date(raw)
    if value is None:
        raise rule_failed(
            order, f"receipt.doc_date is {rule.doc_date}, but the order's {field} is {raw!r}, not a date"
        )
    return value, f"receipt.doc_date: {rule.doc_date} → order {field} {raw!r}"


def resolve_warehouse(
    order: ProductionOrder, product: ItemMaster | None, rule: spec.WarehouseRule
) -> tuple[str, str]:
    """The receiving WarehouseCode per receipt.warehouse, with its provenance."""
    code: str | None
    group = product.ItemsGroupCode if product is not None else None
    if rule.rule == "constant":
        code, how = rule.code, f"receipt.warehouse: rule constant {rule.code!r}"
    elif rule.rule == "by_item" and order.ItemNo in rule.by_item:
        code = rule.by_item[order.ItemNo]
        how = f"receipt.warehouse: rule by_item, product {order.ItemNo} → {code!r}"
    elif rule.rule == "by_item_group" and group is not None and group in rule.by_item_group:
        code = rule.by_item_group[group]
        how = f"receipt.warehouse: rule by_item_group, ItemsGroupCode {group} → {code!r}"
    else:
        code = order.Warehouse
        fallback = "" if rule.rule == "order" else " (not in the table: falls back to the order)"
        how = f"receipt.warehouse: rule {rule.rule}{fallback} → order Warehouse {code!r}"
    if not code:
        raise rule_failed(
            order,
            f"no receipt warehouse: receipt.warehouse rule {rule.rule} gives none and "
            "the order has no Warehouse. Set the order's warehouse or extend the rule.",
        )
    return code, how


def field_value(
    order: ProductionOrder, rule: str, value: spec.FieldValue, values: Mapping[str, Any]
) -> tuple[spec.FieldValue, str]:
    """A header/line UDF value: numbers pass through as numbers, text is rendered as a template."""
    if isinstance(value, str):
        return render(order, rule, value, values), describe_template(rule, value)
    return value, f"{rule} constant {value!r}"
