"""What the connector would do with one order, and why: pure, no SAP and no ledger.

``assess`` plans the quantities, validates the order and builds its receipt; the reason builders
here word the holds the cycle decides from what SAP and the ledger said (``unfinished_posting``,
``already_posted``, ``unreadable_item_reasons``). ``explain`` shows the same ``Assessment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from connector.errors import OrderError
from connector.mapping.spec import Mapping
from connector.production import reasons as rc
from connector.production.company_facts import NO_FACTS, CompanyFacts
from connector.production.confirmations import ReceiptPlan, plan_receipt
from connector.production.confirmations import format_quantity as q
from connector.production.orders import ItemMaster, ProductionOrder
from connector.production.reasons import Reason
from connector.production.receipt import BuiltReceipt, build_receipt, posting_key
from connector.production.rules import Verdict, check_receipt_fields, evaluate


class LedgerPosting(Protocol):
    """What the assessment reads of a posting the ledger remembers (``ledger.PostingRow``)."""

    @property
    def key(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def quantity(self) -> float: ...
    @property
    def rejected_quantity(self) -> float: ...
    @property
    def receipt_entry(self) -> int | None: ...
    @property
    def receipt_number(self) -> int | None: ...
    @property
    def sl_message(self) -> str | None: ...


class OrderAction(StrEnum):
    """What the cycle does with an assessed order (str-valued: reports and JSON keep the same text)."""

    POST = "post"
    HOLD = "hold"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Assessment:
    """What the connector would do with one order, and why."""

    order: ProductionOrder
    plan: ReceiptPlan
    verdict: Verdict
    key: str | None = None
    built: BuiltReceipt | None = None
    #: ``explain`` only: why the cycle would not even look at this order (None: it is a candidate).
    not_a_candidate: str | None = None
    #: ``explain`` only: what the ledger holds for this order (receipts posted, postings in flight).
    postings: tuple[LedgerPosting, ...] = ()

    @property
    def action(self) -> OrderAction:
        """post | hold | nothing."""
        if self.verdict.blocked:
            return OrderAction.HOLD
        return OrderAction.NOTHING if self.plan.nothing_to_receive else OrderAction.POST


def assess(
    order: ProductionOrder,
    items: dict[str, ItemMaster],
    mapping: Mapping,
    *,
    company: str,
    today: date,
    now: datetime,
    protocol: Literal["v1", "v2"],
    facts: CompanyFacts = NO_FACTS,
) -> Assessment:
    """Plan, validate and (when postable) build the receipt for one order, and check what was built. Pure."""
    plan = plan_receipt(order, mapping.quantities)
    verdict = evaluate(order, plan, items, mapping, facts)
    if verdict.blocked or plan.nothing_to_receive:
        return Assessment(order, plan, verdict)
    key = posting_key(company, order, plan)
    try:
        built = build_receipt(order, plan, items, mapping, key=key, today=today, now=now, protocol=protocol)
    except OrderError as exc:
        failed = order_block(order, exc.reason_code, str(exc))
        return Assessment(order, plan, Verdict(reasons=(*verdict.reasons, failed)))
    too_long = check_receipt_fields(order, built.payload, mapping, facts)
    if too_long:
        return Assessment(order, plan, Verdict(reasons=(*verdict.reasons, *too_long)))
    return Assessment(order, plan, verdict, key, built)


def order_block(order: ProductionOrder, code: str, message: str) -> Reason:
    """A blocking reason about the order as a whole (no line), naming its product."""
    return Reason(code=code, severity="block", message=message, line=None, item=order.ItemNo)


def unfinished_posting(order: ProductionOrder, row: LedgerPosting) -> Reason:
    """DUPLICATE_IN_SAP or POSTING_UNCERTAIN: an earlier posting of the order must be cleared first."""
    if row.state == "duplicate":
        return order_block(
            order,
            rc.DUPLICATE_IN_SAP,
            f"Order {order.DocumentNumber}: {row.sl_message or row.key}. Cancel the extra "
            "receipt in SAP; nothing more is posted for this order until then.",
        )
    return order_block(
        order,
        rc.POSTING_UNCERTAIN,
        f"Order {order.DocumentNumber}: the posting {row.key} is not settled yet (its answer "
        "was lost); it is looked up in SAP before anything new is posted.",
    )


def already_posted(
    order: ProductionOrder, plan: ReceiptPlan, *, receipt_number: int | None, receipt_entry: int | None
) -> Reason:
    """ALREADY_POSTED: the key was posted before, yet SAP's order is back below its target (cancelled?)."""
    return order_block(
        order,
        rc.ALREADY_POSTED,
        f"Order {order.DocumentNumber}: this confirmation ({q(plan.good)} good, {q(plan.rejected)} "
        f"rejected) was already received by receipt DocNum {receipt_number} (DocEntry "
        f"{receipt_entry}), yet SAP's order shows only {q(order.CompletedQuantity)} "
        "completed: was that receipt cancelled? It is never posted twice; receive the goods by hand "
        "if needed, or correct the confirmed quantity.",
    )


def refused_as_duplicate(
    order: ProductionOrder, plan: ReceiptPlan, *, receipt_number: int | None, receipt_entry: int | None
) -> Reason:
    """ALREADY_POSTED: SAP's duplicate guard refused the receipt, its key being on another receipt."""
    return order_block(
        order,
        rc.ALREADY_POSTED,
        f"Order {order.DocumentNumber}: SAP refused a second receipt for this confirmation "
        f"({q(plan.good)} good, {q(plan.rejected)} rejected): its duplicate guard found the posting key "
        f"on receipt DocNum {receipt_number} (DocEntry {receipt_entry}), posted by another connector for "
        "this company or by an earlier attempt whose answer was lost. Nothing was posted twice; if two "
        "connectors run for this company, stop one.",
    )


def unreadable_item_reasons(order: ProductionOrder, unreadable: dict[str, str]) -> list[Reason]:
    """INVALID_ITEM_DATA for the product and each component line whose item master SAP sent unreadable."""
    help_text = "Ask the consultant to check this item in SAP; the order is evaluated again next cycle."
    label = f"Order {order.DocumentNumber}"
    found = []
    if order.ItemNo in unreadable:
        found.append(
            Reason(
                code=rc.INVALID_ITEM_DATA,
                severity="block",
                item=order.ItemNo,
                message=f"{label}: the item master of product {order.ItemNo} cannot be read "
                f"({unreadable[order.ItemNo]}). {help_text}",
            )
        )
    for line in sorted(order.lines, key=lambda ln: ln.LineNumber):
        if line.is_item and line.ItemNo in unreadable:
            found.append(
                Reason(
                    code=rc.INVALID_ITEM_DATA,
                    severity="block",
                    line=line.LineNumber,
                    item=line.ItemNo,
                    message=f"{label} line {rc.screen_line(line.LineNumber)}: the item master of component "
                    f"{line.ItemNo} cannot be read ({unreadable[line.ItemNo]}). {help_text}",
                )
            )
    return found
