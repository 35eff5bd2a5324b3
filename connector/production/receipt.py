"""The posting key and the exact ``POST InventoryGenEntries`` payload of a Receipt from Production.

The finished-good lines follow the real captured request (docs/service-layer.md §5.3): ``BaseType``
202, ``BaseEntry`` = the order's ``AbsoluteEntry``, never ``ItemCode`` (SAP derives it and refuses
it on a referenced line) and never ``BaseLine`` (that would point at a component/by-product line).
Every payload field gets a provenance text so ``explain`` can say which rule made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from connector.errors import OrderError
from connector.mapping import spec
from connector.production import reasons as rc
from connector.production.confirmations import ReceiptPlan, describe_source, format_quantity
from connector.production.orders import ItemMaster, ProductionOrder
from connector.production.receipt_fields import (
    DOCUMENT_FIELD_RULES,
    TRACKING_NUMBER_SIZE,
    describe_template,
    field_value,
    render,
    resolve_doc_date,
    resolve_warehouse,
    rule_failed,
    template_values,
)

#: oProductionOrders (BoObjectTypes): the BaseType of lines that reference a production order.
BASE_TYPE_PRODUCTION_ORDER = 202
#: The key must fit the key UDF (created as alphanumeric 100).
POSTING_KEY_MAX_CHARS = 100

Protocol = Literal["v1", "v2"]


def posting_key(company_db: str, order: ProductionOrder, plan: ReceiptPlan) -> str:
    """Deterministic key of one posting: ``company/AbsoluteEntry/C<completed target>/R<rejected target>``."""
    completed, rejected = format_quantity(plan.completed_target), format_quantity(plan.rejected_target)
    tail = f"/{order.AbsoluteEntry}/C{completed}/R{rejected}"
    key = company_db + tail
    if len(key) <= POSTING_KEY_MAX_CHARS:
        return key
    # Keep the key readable and unique: a prefix of the company plus a hash of the whole name.
    digest = hashlib.sha256(company_db.encode("utf-8")).hexdigest()[:8]
    room = POSTING_KEY_MAX_CHARS - len(tail) - len(digest) - 1
    return f"{company_db[:room]}~{digest}{tail}"


#: Characters of a long company name every one of its keys starts with: the hashed form keeps
#: ``POSTING_KEY_MAX_CHARS`` − tail − 9 of them, and a tail (``/entry/C<qty>/R<qty>``) stays far below 67.
KEY_PREFIX_CHARS = 24


def receipt_name(doc_num: int | None, doc_entry: int | None) -> str:
    """How people find a receipt in SAP: its DocNum, with the DocEntry (SAP's key) beside it.

    A receipt created with a 204 has no DocNum until it is read (connector/receipt_numbers.py)."""
    if doc_num is None:
        return f"DocEntry {doc_entry} (DocNum not read yet)"
    return f"DocNum {doc_num} (DocEntry {doc_entry})"


def key_prefix(company_db: str) -> str:
    """Text every posting key of ``company_db`` starts with, for a server-side ``startswith`` filter."""
    return company_db + "/" if len(company_db) <= KEY_PREFIX_CHARS else company_db[:KEY_PREFIX_CHARS]


def key_belongs_to(company_db: str, key: str) -> bool:
    """Whether ``key`` is a posting key ``posting_key`` makes for ``company_db`` (either form)."""
    parts = key.rsplit("/", 3)
    if len(parts) != 4:
        return False
    digest = hashlib.sha256(company_db.encode("utf-8")).hexdigest()[:8]
    return parts[0] == company_db or (
        parts[0].endswith("~" + digest) and company_db.startswith(parts[0][:-9])
    )


@dataclass(frozen=True)
class BuiltReceipt:
    """The body to POST and, per payload field path, the rule that made it."""

    payload: dict[str, Any]
    provenance: dict[str, str] = field(default_factory=dict)


def _batches(
    order: ProductionOrder,
    rule: spec.BatchRule,
    quantity: float,
    doc_date: date,
    values: Mapping[str, Any],
    protocol: Protocol,
    path: str,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    # The BatchNumber complex type names its number property differently per version (§5.5, META).
    name = "BatchNumber" if protocol == "v1" else "BatchNumberProperty"
    number = render(order, "finished_good.batch.number", rule.number, values)
    if not number:
        raise rule_failed(order, f"finished_good.batch.number {rule.number!r} gives an empty batch number")
    _check_tracking_number(order, "finished_good.batch.number", rule.number, number, "batch number")
    batch: dict[str, Any] = {name: number, "Quantity": quantity}
    prov = {
        f"{path}.{name}": describe_template("finished_good.batch.number", rule.number) + f" ({protocol})",
        f"{path}.Quantity": "the line Quantity: one batch per receipt line",
    }
    if rule.shelf_life_days is not None:
        batch["ExpiryDate"] = (doc_date + timedelta(days=rule.shelf_life_days)).isoformat()
        prov[f"{path}.ExpiryDate"] = f"DocDate + finished_good.batch.shelf_life_days {rule.shelf_life_days}"
    return [batch], prov


def _check_tracking_number(
    order: ProductionOrder, source: str, template: str, number: str, what: str
) -> None:
    if len(number) > TRACKING_NUMBER_SIZE:
        raise rule_failed(
            order,
            f"{source} {template!r} gives a {what} of {len(number)} characters ({number!r}); SAP stores "
            f"at most {TRACKING_NUMBER_SIZE}. A consultant shortens the rule",
        )


def _serials(
    order: ProductionOrder,
    rule: spec.SerialRule,
    first: int,
    count: int,
    values: Mapping[str, Any],
    path: str,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    rows: list[dict[str, Any]] = []
    prov: dict[str, str] = {}
    for index in range(count):
        serial = first + index
        number = render(order, "finished_good.serial.number", rule.number, {**values, "serial": serial})
        _check_tracking_number(order, "finished_good.serial.number", rule.number, number, "serial number")
        rows.append({"InternalSerialNumber": number, "Quantity": 1})
        prov[f"{path}[{index}].InternalSerialNumber"] = (
            describe_template("finished_good.serial.number", rule.number) + f" with serial={serial}"
        )
        prov[f"{path}[{index}].Quantity"] = "1: one serial number per unit"
    return rows, prov


def _header(
    order: ProductionOrder,
    mapping: spec.Mapping,
    values: Mapping[str, Any],
    doc_date: date,
    key: str,
    payload: dict[str, Any],
    prov: dict[str, str],
) -> None:
    rule = mapping.receipt
    payload["DocDate"] = doc_date.isoformat()
    if rule.series is not None:
        payload["Series"] = rule.series
        prov["Series"] = f"receipt.series {rule.series}: the numbering series of the receipt"
    # Rendered in full: a text longer than its field is held by rules.check_receipt_fields, never cut.
    for name, template in (
        ("Comments", rule.comments),
        ("JournalMemo", rule.journal_memo),
        ("Reference2", rule.reference2),
    ):
        if template is not None:
            source = DOCUMENT_FIELD_RULES[name]
            payload[name] = render(order, source, template, values)
            prov[name] = describe_template(source, template)
    for name, value in rule.header_udfs.items():
        payload[name], prov[name] = field_value(order, f"receipt.header_udfs.{name}", value, values)
    key_field = mapping.idempotency.key_field
    payload[key_field] = key
    prov[key_field] = (
        "idempotency.key_field: the posting key (company/AbsoluteEntry/completed target/rejected target)"
    )


def _check_tracking(
    order: ProductionOrder, plan: ReceiptPlan, product: ItemMaster | None, mapping: spec.Mapping
) -> None:
    # The rules hold such orders before a build; these guards keep a direct caller from building
    # a body SAP would refuse (-4014, docs/service-layer.md §2.3).
    if product is None:
        return
    label = f"Order {order.DocumentNumber}: product {order.ItemNo}"
    if product.ManageBatchNumbers and mapping.finished_good.batch is None:
        raise OrderError(
            f"{label} is batch managed and the mapping has no finished_good.batch rule",
            reason_code=rc.FINISHED_GOOD_NEEDS_BATCH,
        )
    if product.ManageSerialNumbers and mapping.finished_good.serial is None:
        raise OrderError(
            f"{label} is serial managed and the mapping has no finished_good.serial rule",
            reason_code=rc.FINISHED_GOOD_NEEDS_SERIAL,
        )
    whole_units = float(plan.good).is_integer() and float(plan.rejected).is_integer()
    if product.ManageSerialNumbers and not whole_units:
        raise OrderError(f"{label} is serial managed and needs whole units", reason_code=rc.INVALID_QUANTITY)


def _lines(
    order: ProductionOrder,
    plan: ReceiptPlan,
    product: ItemMaster | None,
    mapping: spec.Mapping,
    values: Mapping[str, Any],
    doc_date: date,
    protocol: Protocol,
    prov: dict[str, str],
) -> list[dict[str, Any]]:
    rule = mapping.receipt
    warehouse, warehouse_how = resolve_warehouse(order, product, rule.warehouse)
    specs = [(plan.good, "botrntComplete", warehouse, warehouse_how, "good quantity → CompletedQuantity")]
    reject_wh = rule.reject_warehouse or warehouse
    reject_how = (
        f"receipt.reject_warehouse {reject_wh!r}"
        if rule.reject_warehouse
        else f"same as the good quantity ({warehouse_how})"
    )
    specs.append(
        (plan.rejected, "botrntReject", reject_wh, reject_how, "rejected quantity → RejectedQuantity")
    )
    batch_rule = serial_rule = None
    if product is not None and product.ManageBatchNumbers:
        batch_rule = mapping.finished_good.batch
    if product is not None and product.ManageSerialNumbers:
        serial_rule = mapping.finished_good.serial
    # Serial numbers continue after everything already received, so partial receipts never reuse one.
    next_serial = int(order.received_quantity) + 1
    lines: list[dict[str, Any]] = []
    for quantity, transaction, wh, wh_how, meaning in specs:
        if quantity <= 0:
            continue
        path = f"DocumentLines[{len(lines)}]"
        line: dict[str, Any] = {
            "BaseType": BASE_TYPE_PRODUCTION_ORDER,
            "BaseEntry": order.AbsoluteEntry,
            "Quantity": quantity,
            "WarehouseCode": wh,
            "TransactionType": transaction,
        }
        prov[f"{path}.BaseType"] = "fixed 202 (oProductionOrders): the line references the production order"
        prov[f"{path}.BaseEntry"] = f"order AbsoluteEntry {order.AbsoluteEntry}"
        source = describe_source(mapping.quantities, rejected=transaction == "botrntReject")
        prov[f"{path}.Quantity"] = f"{source} = {format_quantity(quantity)}"
        prov[f"{path}.WarehouseCode"] = wh_how
        prov[f"{path}.TransactionType"] = f"fixed {transaction}: {meaning}"
        for name, value in rule.line_udfs.items():
            line[name], prov[f"{path}.{name}"] = field_value(
                order, f"receipt.line_udfs.{name}", value, values
            )
        if batch_rule is not None:
            line["BatchNumbers"], more = _batches(
                order, batch_rule, quantity, doc_date, values, protocol, f"{path}.BatchNumbers[0]"
            )
            prov.update(more)
        if serial_rule is not None:
            line["SerialNumbers"], more = _serials(
                order, serial_rule, next_serial, int(quantity), values, f"{path}.SerialNumbers"
            )
            next_serial += int(quantity)
            prov.update(more)
        lines.append(line)
    serials = [s["InternalSerialNumber"] for ln in lines for s in ln.get("SerialNumbers", [])]
    if serial_rule is not None and len(set(serials)) != len(serials):
        raise rule_failed(
            order,
            f"finished_good.serial.number {serial_rule.number!r} gives the same serial "
            "number twice; include {serial} in it",
        )
    return lines


def build_receipt(
    order: ProductionOrder,
    plan: ReceiptPlan,
    items: Mapping[str, ItemMaster],
    mapping: spec.Mapping,
    *,
    key: str,
    today: date,
    now: datetime,
    protocol: Protocol,
) -> BuiltReceipt:
    """The exact InventoryGenEntries body for ``plan``; OrderError(MAPPING_RULE_FAILED) if a rule fails."""
    if plan.nothing_to_receive:
        raise OrderError(f"Order {order.DocumentNumber}: nothing to receive", reason_code=rc.INVALID_QUANTITY)
    product = items.get(order.ItemNo)
    _check_tracking(order, plan, product, mapping)
    payload: dict[str, Any] = {}
    prov: dict[str, str] = {}
    doc_date, prov["DocDate"] = resolve_doc_date(order, mapping.receipt, today)
    # Templates' `today` is the receipt's posting date: with doc_date order_due_date a batch number
    # "{DocumentNumber}-{today:%Y%m%d}" carries the date the goods are booked on, not the run's date.
    values = template_values(
        order, product, today=doc_date, now=now, good=plan.good, rejected=plan.rejected, key=key
    )
    _header(order, mapping, values, doc_date, key, payload, prov)
    payload["DocumentLines"] = _lines(order, plan, product, mapping, values, doc_date, protocol, prov)
    return BuiltReceipt(payload, prov)
