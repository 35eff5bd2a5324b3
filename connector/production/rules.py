"""Pure validation: would SAP accept this receipt, and should it be posted? → ``Verdict``.

Every rule runs and reports every finding, so a planner fixes an order in one go rather than one
reason per cycle. Reasons come out in rule order (the order of ``RULES``), then by ``LineNumber``.
Rules that depend on the quantity of this receipt are silent when there is nothing to receive:
an order that is fully received must not be held for, e.g., a component issued short in the past.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from connector.errors import OrderError
from connector.mapping import spec
from connector.production import reasons as rc
from connector.production.company_facts import NO_FACTS, RECEIPT_LINE_TABLE, RECEIPT_TABLE, CompanyFacts
from connector.production.confirmations import ReceiptPlan, round_quantity
from connector.production.confirmations import format_quantity as q
from connector.production.orders import (
    DISASSEMBLY,
    MANUAL,
    RELEASED,
    ComponentLine,
    ItemMaster,
    ProductionOrder,
)
from connector.production.reasons import Reason, Severity
from connector.production.receipt_fields import DOCUMENT_FIELD_RULES, DOCUMENT_FIELD_SIZES, resolve_warehouse

#: Slack for float comparisons of quantities that SAP keeps to 6 decimals.
EPSILON = 1e-6


@dataclass(frozen=True)
class Verdict:
    """Every reason found for one order; ``blocked`` when at least one of them blocks."""

    reasons: tuple[Reason, ...] = ()

    @property
    def blocking(self) -> tuple[Reason, ...]:
        """Reasons that stop the posting."""
        return tuple(r for r in self.reasons if r.severity == "block")

    @property
    def warnings(self) -> tuple[Reason, ...]:
        """Reasons reported while the receipt is still posted."""
        return tuple(r for r in self.reasons if r.severity == "warn")

    @property
    def blocked(self) -> bool:
        """Whether the order must be held."""
        return bool(self.blocking)


@dataclass(frozen=True)
class _Context:
    order: ProductionOrder
    plan: ReceiptPlan
    items: Mapping[str, ItemMaster]
    mapping: spec.Mapping
    facts: CompanyFacts = NO_FACTS

    @property
    def receiving(self) -> float:
        """Good plus rejected quantity of this receipt."""
        return self.plan.good + self.plan.rejected

    @property
    def label(self) -> str:
        return f"Order {self.order.DocumentNumber}"

    @property
    def lines(self) -> list[ComponentLine]:
        """The order's lines by LineNumber, so reasons come out in a stable order."""
        return sorted(self.order.lines, key=lambda line: line.LineNumber)


def _block(code: str, message: str, *, line: int | None = None, item: str | None = None) -> Reason:
    return Reason(code=code, severity="block", message=message, line=line, item=item)


def check_order_type(c: _Context) -> list[Reason]:
    """UNSUPPORTED_ORDER_TYPE: disassembly orders, or a type the mapping does not list."""
    kind = c.order.ProductionOrderType
    if kind == DISASSEMBLY:
        message = (
            f"{c.label} is a disassembly order ({DISASSEMBLY}); its receipt is never posted "
            "automatically. Receive it by hand in SAP."
        )
        return [_block(rc.UNSUPPORTED_ORDER_TYPE, message, item=c.order.ItemNo)]
    if kind not in c.mapping.candidates.order_types:
        allowed = ", ".join(c.mapping.candidates.order_types) or "none"
        message = (
            f"{c.label} has order type {kind}, which the mapping does not handle "
            f"(candidates.order_types: {allowed})."
        )
        return [_block(rc.UNSUPPORTED_ORDER_TYPE, message, item=c.order.ItemNo)]
    return []


def check_released(c: _Context) -> list[Reason]:
    """ORDER_NOT_RELEASED: SAP takes receipts only on released orders (docs/service-layer.md §4.5)."""
    status = c.order.ProductionOrderStatus
    if status == RELEASED:
        return []
    return [
        _block(
            rc.ORDER_NOT_RELEASED,
            f"{c.label} is {status or 'without a status'}, not released "
            f"({RELEASED}); SAP accepts receipts only on released orders.",
            item=c.order.ItemNo,
        )
    ]


def check_quantities(c: _Context) -> list[Reason]:
    """INVALID_QUANTITY: unreadable confirmations, a planned quantity of zero or less."""
    found = list(c.plan.problems)
    if c.order.PlannedQuantity <= 0:
        message = (
            f"{c.label}: the planned quantity is {q(c.order.PlannedQuantity)}; component quantities "
            "cannot be worked out. Correct the order's planned quantity."
        )
        found.append(_block(rc.INVALID_QUANTITY, message, item=c.order.ItemNo))
    return found


def check_items_known(c: _Context) -> list[Reason]:
    """UNKNOWN_ITEM: the product or a stock component is missing from the item master read."""
    found = []
    if c.order.ItemNo not in c.items:
        message = (
            f"{c.label}: product {c.order.ItemNo or '(none)'} was not found in the item master. "
            "Correct the order's product or create the item in SAP."
        )
        found.append(_block(rc.UNKNOWN_ITEM, message, item=c.order.ItemNo or None))
    for line in c.lines:
        shown = rc.screen_line(line.LineNumber)
        if line.is_item and line.ItemNo not in c.items:
            found.append(
                _block(
                    rc.UNKNOWN_ITEM,
                    f"{c.label} line {shown}: component "
                    f"{line.ItemNo or '(none)'} was not found in the item master. Correct "
                    "the component on the order or create the item in SAP.",
                    line=line.LineNumber,
                    item=line.ItemNo,
                )
            )
    return found


def check_over_receipt(c: _Context) -> list[Reason]:
    """OVER_RECEIPT: received + this receipt beyond PlannedQuantity × (1 + tolerance)."""
    # A planned quantity of zero or less is already INVALID_QUANTITY; one reason is enough.
    if c.plan.nothing_to_receive or c.order.PlannedQuantity <= 0:
        return []
    percent = c.mapping.policies.over_receipt.tolerance_percent
    limit = c.order.PlannedQuantity * (1 + percent / 100)
    total = c.order.received_quantity + c.receiving
    if total <= limit + EPSILON:
        return []
    message = (
        f"{c.label}: receiving {q(c.plan.good)} good and {q(c.plan.rejected)} rejected would bring "
        f"the order to {q(total)} of {q(c.order.PlannedQuantity)} planned (allowed up to {q(limit)} "
        f"with {q(percent)}% tolerance). Check the confirmed quantity, or raise the order's planned "
        "quantity."
    )
    return [_block(rc.OVER_RECEIPT, message, item=c.order.ItemNo)]


def check_backflush_tracked(c: _Context) -> list[Reason]:
    """BACKFLUSH_BATCH/SERIAL_MANAGED: SAP cannot backflush tracked items and rejects the whole receipt."""
    if c.plan.nothing_to_receive:
        return []
    found = []
    for line in c.lines:
        item = c.items.get(line.ItemNo or "")
        if not (line.is_item and line.is_backflush and item):
            continue
        shown = rc.screen_line(line.LineNumber)
        for managed, code, kind, plural in (
            (item.ManageBatchNumbers, rc.BACKFLUSH_BATCH_MANAGED, "batch", "batches"),
            (item.ManageSerialNumbers, rc.BACKFLUSH_SERIAL_MANAGED, "serial-number", "serial numbers"),
        ):
            if managed:
                message = (
                    f"{c.label} line {shown}: component {line.ItemNo} is {kind} managed "
                    f"but set to backflush; SAP cannot pick {plural} by itself and would refuse the "
                    "whole receipt. Set the line to Manual and issue it with an Issue for Production."
                )
                found.append(_block(code, message, line=line.LineNumber, item=line.ItemNo))
    return found


def _severity(policy: spec.CheckPolicy) -> Severity:
    return "block" if policy.mode == "block" else "warn"


def check_manual_issued(c: _Context) -> list[Reason]:
    """MANUAL_NOT_ISSUED: a manual line issued less than its share of all received after this receipt."""
    policy = c.mapping.policies.manual_issue
    if policy.mode == "off" or c.plan.nothing_to_receive or c.order.PlannedQuantity <= 0:
        return []
    units = c.order.received_quantity + c.receiving
    found = []
    for line in c.lines:
        if not (line.is_item and line.ProductionOrderIssueType == MANUAL):
            continue
        needed = round_quantity(line.PlannedQuantity * units / c.order.PlannedQuantity)
        if line.IssuedQuantity >= needed - policy.tolerance - EPSILON:
            continue
        missing = needed - line.IssuedQuantity
        shown = rc.screen_line(line.LineNumber)
        found.append(
            Reason(
                code=rc.MANUAL_NOT_ISSUED,
                severity=_severity(policy),
                line=line.LineNumber,
                item=line.ItemNo,
                message=f"{c.label} line {shown}: component {line.ItemNo} is issued manually; "
                f"{q(line.IssuedQuantity)} of {q(needed)} needed for this receipt have been issued "
                f"(line planned {q(line.PlannedQuantity)} for {q(c.order.PlannedQuantity)} units). "
                f"Issue the missing {q(missing)} with an Issue for Production, then the receipt is "
                "posted next cycle.",
            )
        )
    return found


def backflush_demand(
    order: ProductionOrder, plan: ReceiptPlan, items: Mapping[str, ItemMaster]
) -> dict[tuple[str, str], tuple[float, list[int]]]:
    """What SAP takes from stock when it backflushes this receipt, per (ItemNo, Warehouse), with the lines.

    SAP backflushes receipt qty ÷ planned qty × line planned qty (docs/service-layer.md §5.4), and does so
    on reject receipts too (the mock's default; ❓ unconfirmed for real SAP, so we count it: safer).
    The worker also subtracts it from the cycle's cached stock after a posting, so a second order
    in the same cycle is checked against what is really left.
    """
    demand: dict[tuple[str, str], tuple[float, list[int]]] = {}
    if plan.nothing_to_receive or order.PlannedQuantity <= 0:
        return demand
    receiving = plan.good + plan.rejected
    for line in sorted(order.lines, key=lambda ln: ln.LineNumber):
        item = items.get(line.ItemNo or "")
        # Resources and text lines hold no stock; negative planned lines are by-products (received).
        stock_line = line.is_item and line.is_backflush and line.PlannedQuantity > 0
        if not (stock_line and item and item.InventoryItem):
            continue
        quantity = receiving / order.PlannedQuantity * line.PlannedQuantity
        key = (item.ItemCode, line.Warehouse or "")
        total, numbers = demand.get(key, (0.0, []))
        demand[key] = (total + quantity, [*numbers, line.LineNumber])
    return demand


def check_stock(c: _Context) -> list[Reason]:
    """INSUFFICIENT_STOCK: what SAP will backflush, summed per (ItemNo, Warehouse), against InStock there."""
    policy = c.mapping.policies.stock
    if policy.mode == "off":
        return []
    demand = backflush_demand(c.order, c.plan, c.items)
    found = []
    for (code, warehouse), (quantity, numbers) in demand.items():
        in_stock = c.items[code].in_stock(warehouse)
        if round_quantity(quantity) <= in_stock + policy.tolerance + EPSILON:
            continue
        shown = [str(rc.screen_line(n)) for n in numbers]
        where = f"line {shown[0]}" if len(shown) == 1 else "lines " + ", ".join(shown)
        found.append(
            Reason(
                code=rc.INSUFFICIENT_STOCK,
                severity=_severity(policy),
                line=numbers[0],
                item=code,
                message=f"{c.label} {where}: component {code} in warehouse {warehouse or '(none)'}: this "
                f"receipt backflushes {q(quantity)}, but only {q(in_stock)} are in stock (short by "
                f"{q(quantity - in_stock)}). Bring the missing stock into warehouse "
                f"{warehouse or '(none)'}; the receipt is posted next cycle.",
            )
        )
    return sorted(found, key=lambda r: r.line or 0)


def check_finished_good(c: _Context) -> list[Reason]:
    """FINISHED_GOOD_NEEDS_BATCH/SERIAL, and INVALID_QUANTITY for part units of a serial product."""
    product = c.items.get(c.order.ItemNo)
    if product is None or c.plan.nothing_to_receive:
        return []
    found = []
    rule = c.mapping.finished_good
    if product.ManageBatchNumbers and rule.batch is None:
        message = (
            f"{c.label}: product {product.ItemCode} is batch managed, but the mapping has no "
            "finished_good.batch rule to name the batch. A consultant adds it, or the order is "
            "received by hand."
        )
        found.append(_block(rc.FINISHED_GOOD_NEEDS_BATCH, message, item=product.ItemCode))
    if product.ManageSerialNumbers and rule.serial is None:
        message = (
            f"{c.label}: product {product.ItemCode} is serial managed, but the mapping has no "
            "finished_good.serial rule to number the units. A consultant adds it, or the order is "
            "received by hand."
        )
        found.append(_block(rc.FINISHED_GOOD_NEEDS_SERIAL, message, item=product.ItemCode))
    whole_units = all(float(x).is_integer() for x in (c.plan.good, c.plan.rejected))
    if product.ManageSerialNumbers and not whole_units:
        message = (
            f"{c.label}: product {product.ItemCode} is serial managed (one serial number per unit), "
            f"but this receipt is for {q(c.plan.good)} good and {q(c.plan.rejected)} rejected. "
            "Confirm whole units."
        )
        found.append(_block(rc.INVALID_QUANTITY, message, item=product.ItemCode))
    return found


def _receipt_warehouses(c: _Context) -> dict[str, list[str]]:
    """WarehouseCode → what the receipt puts there and which rule chose it, for the lines it will have."""
    try:
        good, good_how = resolve_warehouse(c.order, c.items.get(c.order.ItemNo), c.mapping.receipt.warehouse)
    except OrderError:
        return {}  # no warehouse at all: the build reports MAPPING_RULE_FAILED
    used: dict[str, list[str]] = {}
    if c.plan.good > 0:
        used.setdefault(good, []).append(f"the good quantity ({good_how})")
    if c.plan.rejected > 0:
        reject = c.mapping.receipt.reject_warehouse
        how = (
            f"receipt.reject_warehouse {reject!r}"
            if reject
            else f"the same as the good quantity ({good_how})"
        )
        used.setdefault(reject or good, []).append(f"the rejected quantity ({how})")
    return used


def _warehouse_state(active: bool | None) -> str:
    return "does not exist in SAP" if active is None else "is inactive in SAP"


def check_warehouses(c: _Context) -> list[Reason]:
    """UNKNOWN_WAREHOUSE: a receipt line would go into a warehouse SAP does not have, or an inactive one;
    or a backflushed component would be issued from one (SAP refuses the whole receipt either way)."""
    known = c.facts.warehouses
    if known is None or c.plan.nothing_to_receive:
        return []
    found = []
    for code, uses in _receipt_warehouses(c).items():
        active = known.get(code)
        if active:
            continue
        state = _warehouse_state(active)
        fix = (
            "Create or activate the warehouse in SAP, or correct the order's warehouse"
            if all("order Warehouse" in use for use in uses)
            else "A consultant corrects the mapping, or the warehouse is created or activated in SAP"
        )
        message = (
            f"{c.label}: {' and '.join(uses)} would be received into warehouse {code!r}, which "
            f"{state}; SAP would refuse the receipt. {fix}."
        )
        found.append(_block(rc.UNKNOWN_WAREHOUSE, message, item=c.order.ItemNo))
    for line in c.lines:
        if not (line.is_item and line.is_backflush):
            continue
        active = known.get(line.Warehouse or "")
        if active:
            continue
        message = (
            f"{c.label} line {rc.screen_line(line.LineNumber)}: component {line.ItemNo} is backflushed "
            f"from warehouse {line.Warehouse!r}, which {_warehouse_state(active)}; SAP would refuse the "
            "receipt. Activate the warehouse in SAP, or correct the warehouse on the order's line."
        )
        found.append(_block(rc.UNKNOWN_WAREHOUSE, message, line=line.LineNumber, item=line.ItemNo))
    return found


def check_series(c: _Context) -> list[Reason]:
    """UNKNOWN_SERIES: receipt.series is not a Receipt from Production series in SAP, or it is locked."""
    wanted, known = c.mapping.receipt.series, c.facts.receipt_series
    if wanted is None or known is None or c.plan.nothing_to_receive:
        return []
    series = known.get(wanted)
    if series is not None and not series.locked:
        return []
    usable = ", ".join(str(s.series) for s in known.values() if not s.locked) or "none"
    state = (
        "is locked in SAP"
        if series is not None
        else "is not a numbering series of Receipts from Production in SAP"
    )
    message = (
        f"{c.label}: receipt.series {wanted} {state} (series SAP offers: {usable}); SAP would refuse "
        "the receipt. A consultant corrects receipt.series in the mapping."
    )
    return [_block(rc.UNKNOWN_SERIES, message, item=c.order.ItemNo)]


#: The rules in reporting order.
RULES: tuple[Callable[[_Context], list[Reason]], ...] = (
    check_order_type,
    check_released,
    check_quantities,
    check_items_known,
    check_over_receipt,
    check_backflush_tracked,
    check_manual_issued,
    check_stock,
    check_finished_good,
    check_warehouses,
    check_series,
)


def evaluate(
    order: ProductionOrder,
    plan: ReceiptPlan,
    items: Mapping[str, ItemMaster],
    mapping: spec.Mapping,
    facts: CompanyFacts = NO_FACTS,
) -> Verdict:
    """Run every rule on one order and its receipt plan (pure); the Verdict lists every finding."""
    context = _Context(order, plan, items, mapping, facts)
    return Verdict(reasons=tuple(reason for rule in RULES for reason in rule(context)))


def _too_long(label: str, field: str, rule: str, text: str, limit: int) -> Reason:
    return _block(
        rc.MAPPING_RULE_FAILED,
        f"{label}: {field} would be {len(text)} characters, but SAP's {field} holds {limit} at most "
        f"(made by {rule}, starting {text[:40]!r}). Shorten the order's text "
        f"the rule uses, or a consultant shortens {rule} in the mapping, e.g. with {{left(Field, n)}}.",
    )


def check_receipt_fields(
    order: ProductionOrder,
    payload: Mapping[str, object],
    mapping: spec.Mapping,
    facts: CompanyFacts = NO_FACTS,
) -> list[Reason]:
    """MAPPING_RULE_FAILED for each built text longer than its field: the document fields' known sizes
    (``DOCUMENT_FIELD_SIZES``) and each receipt UDF's size in UserFieldsMD; a UDF SAP does not have."""
    label = f"Order {order.DocumentNumber}"
    found = []
    for field, limit in DOCUMENT_FIELD_SIZES.items():
        text = payload.get(field)
        if isinstance(text, str) and len(text) > limit:
            found.append(_too_long(label, field, DOCUMENT_FIELD_RULES[field], text, limit))
    if facts.udfs is None:
        return found
    key_field = mapping.idempotency.key_field
    header = [(n, "receipt.header_udfs." + n) for n in mapping.receipt.header_udfs]
    header.append((key_field, "idempotency.key_field (the posting key)"))
    lines = payload.get("DocumentLines")
    first_line = lines[0] if isinstance(lines, list) and lines and isinstance(lines[0], Mapping) else {}
    for values, table, names in (
        (payload, RECEIPT_TABLE, header),
        (first_line, RECEIPT_LINE_TABLE, [(n, "receipt.line_udfs." + n) for n in mapping.receipt.line_udfs]),
    ):
        for name, rule in names:
            udf = facts.udfs.get((name, table))
            if udf is None:
                found.append(
                    _block(
                        rc.MAPPING_RULE_FAILED,
                        f"{label}: {rule} writes UDF {name}, which does not exist on table {table} in SAP; "
                        f"SAP would refuse the receipt. Create the UDF {name[2:]} on {table}, or a "
                        "consultant removes it from the mapping.",
                    )
                )
                continue
            text, udf_limit = values.get(name), udf.max_chars
            if isinstance(text, str) and udf_limit is not None and len(text) > udf_limit:
                found.append(_too_long(label, f"UDF {name}", rule, text, udf_limit))
    return found
