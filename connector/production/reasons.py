"""Every reason an order is held (or posted with a warning), with what a planner does about it.

The codes are stable: they appear in the CLI's JSON, the ledger's holds table, logs and the
consultant documentation, so they are never renamed. ``REASON_HELP`` is the one place that says,
in planner words, what each code means and how to clear it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["block", "warn"]

BACKFLUSH_BATCH_MANAGED = "BACKFLUSH_BATCH_MANAGED"
BACKFLUSH_SERIAL_MANAGED = "BACKFLUSH_SERIAL_MANAGED"
MANUAL_NOT_ISSUED = "MANUAL_NOT_ISSUED"
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
FINISHED_GOOD_NEEDS_BATCH = "FINISHED_GOOD_NEEDS_BATCH"
FINISHED_GOOD_NEEDS_SERIAL = "FINISHED_GOOD_NEEDS_SERIAL"
OVER_RECEIPT = "OVER_RECEIPT"
INVALID_QUANTITY = "INVALID_QUANTITY"
UNKNOWN_ITEM = "UNKNOWN_ITEM"
UNSUPPORTED_ORDER_TYPE = "UNSUPPORTED_ORDER_TYPE"
ORDER_NOT_RELEASED = "ORDER_NOT_RELEASED"
SL_REJECTED = "SL_REJECTED"
INVALID_ORDER_DATA = "INVALID_ORDER_DATA"
INVALID_ITEM_DATA = "INVALID_ITEM_DATA"
MAPPING_RULE_FAILED = "MAPPING_RULE_FAILED"
POSTING_UNCERTAIN = "POSTING_UNCERTAIN"
DUPLICATE_IN_SAP = "DUPLICATE_IN_SAP"
ALREADY_POSTED = "ALREADY_POSTED"
UNKNOWN_WAREHOUSE = "UNKNOWN_WAREHOUSE"
UNKNOWN_SERIES = "UNKNOWN_SERIES"
OVER_RECEIVED_IN_SAP = "OVER_RECEIVED_IN_SAP"


@dataclass(frozen=True)
class ReasonHelp:
    """What a reason code means and what the planner or consultant does to clear it."""

    title: str
    what_to_do: str


@dataclass(frozen=True)
class Reason:
    """One finding about one order: a stable code, block or warn, and a message a planner understands."""

    code: str
    severity: Severity
    message: str
    line: int | None = None
    item: str | None = None

    @property
    def blocks(self) -> bool:
        """Whether this reason stops the receipt from being posted."""
        return self.severity == "block"


def screen_line(line_number: int) -> int:
    """A component line as people see it: SAP's screens and messages count from 1, ``LineNumber`` from 0.

    ``Reason.line`` keeps SAP's ``LineNumber`` (the value the Service Layer returns and takes as
    ``BaseLine``); every text for people says ``screen_line`` of it.
    """
    return line_number + 1


REASON_HELP: dict[str, ReasonHelp] = {
    BACKFLUSH_BATCH_MANAGED: ReasonHelp(
        "A batch-managed component is set to backflush",
        "SAP cannot pick batches automatically and refuses the whole receipt. On the production order "
        "set the component line's issue method to Manual and issue its batches with an Issue for "
        "Production; the receipt is posted in the next cycle.",
    ),
    BACKFLUSH_SERIAL_MANAGED: ReasonHelp(
        "A serial-managed component is set to backflush",
        "SAP cannot pick serial numbers automatically and refuses the whole receipt. Set the component "
        "line's issue method to Manual and issue the serial numbers with an Issue for Production.",
    ),
    MANUAL_NOT_ISSUED: ReasonHelp(
        "A manually issued component has not been issued far enough",
        "Post an Issue for Production for the missing quantity named in the message. The consultant "
        "can make this a warning or switch it off (policies.manual_issue in the mapping).",
    ),
    INSUFFICIENT_STOCK: ReasonHelp(
        "Not enough stock to backflush a component",
        "SAP issues backflush components automatically with the receipt and refuses the whole receipt "
        "if one would go below zero. Bring the missing stock into the component's warehouse (goods "
        "receipt, transfer, or finish the sub-assembly). Policy: policies.stock in the mapping.",
    ),
    FINISHED_GOOD_NEEDS_BATCH: ReasonHelp(
        "The product is batch-managed and the mapping does not say how to name its batch",
        "A consultant adds finished_good.batch to the mapping (e.g. number: "
        '"{DocumentNumber}-{today:%Y%m%d}"), or the order is received by hand in SAP.',
    ),
    FINISHED_GOOD_NEEDS_SERIAL: ReasonHelp(
        "The product is serial-managed and the mapping does not say how to number it",
        "A consultant adds finished_good.serial to the mapping (e.g. number: "
        '"{ItemNo}-{DocumentNumber}-{serial:04d}"), or the order is received by hand in SAP.',
    ),
    OVER_RECEIPT: ReasonHelp(
        "The receipt would go beyond the order's planned quantity",
        "Check the confirmed quantity on the order. If more was really produced, raise the order's "
        "planned quantity; the consultant can allow a tolerance (policies.over_receipt.tolerance_percent).",
    ),
    INVALID_QUANTITY: ReasonHelp(
        "A quantity is missing, not a number, negative, or impossible",
        "Correct the quantity named in the message on the production order (confirmed quantities are "
        "cumulative: the total produced so far, never less than what SAP already received).",
    ),
    UNKNOWN_ITEM: ReasonHelp(
        "An item of the order was not found in the item master",
        "Check that the item exists and is active in SAP and that the connector's user may read it.",
    ),
    UNSUPPORTED_ORDER_TYPE: ReasonHelp(
        "The order type is not handled by the connector",
        "Disassembly orders are never posted automatically; receive them by hand. For other types the "
        "consultant lists the type in candidates.order_types.",
    ),
    ORDER_NOT_RELEASED: ReasonHelp(
        "The order is not released",
        "SAP posts receipts only on released orders. Release the order, or leave it if it was "
        "closed or cancelled on purpose.",
    ),
    SL_REJECTED: ReasonHelp(
        "SAP refused the receipt",
        "Read SAP's message in the reason; fix the cause in SAP. The order is evaluated again every cycle.",
    ),
    INVALID_ORDER_DATA: ReasonHelp(
        "SAP returned production order data the connector cannot read",
        "The message names the property. Usually a customisation or a damaged order; ask the consultant.",
    ),
    INVALID_ITEM_DATA: ReasonHelp(
        "SAP returned item master data the connector cannot read",
        "The message names the item and property; ask the consultant.",
    ),
    MAPPING_RULE_FAILED: ReasonHelp(
        "A mapping rule cannot produce a value for this order",
        "E.g. a text or UDF value would be longer than SAP's field holds (the message names the field, "
        "the length and the limit), or no receipt warehouse is known. Shorten the order's text the "
        "rule uses, or a consultant adjusts the rule in the mapping file (e.g. {left(Remarks, 200)}).",
    ),
    UNKNOWN_WAREHOUSE: ReasonHelp(
        "The receipt would go into a warehouse SAP does not have, or an inactive one, or a backflushed "
        "component would be issued from one",
        "The message names the warehouse and where it comes from (the order, its line, or the mapping). "
        "Correct the order's warehouse, activate the warehouse in SAP, or a consultant corrects the "
        "mapping (receipt.warehouse, receipt.reject_warehouse).",
    ),
    UNKNOWN_SERIES: ReasonHelp(
        "The receipt's numbering series does not exist in SAP or is locked",
        "A consultant sets receipt.series in the mapping to a Receipt from Production series SAP "
        "has and that is not locked (Administration > System Initialization > Document Numbering), "
        "or removes it to use SAP's default series.",
    ),
    POSTING_UNCERTAIN: ReasonHelp(
        "An earlier receipt's outcome is not settled yet",
        "Nothing to do: the connector looks the posting up in SAP before anything new is posted for "
        "this order. If it persists for hours, check connectivity to the Service Layer.",
    ),
    DUPLICATE_IN_SAP: ReasonHelp(
        "More than one receipt in SAP carries the same posting key",
        "A person must look: compare the receipts named in the message with the order, and cancel "
        "the extra one in SAP. The connector posts nothing more for this order until then, and "
        "resumes by itself once only one of them is left uncancelled.",
    ),
    ALREADY_POSTED: ReasonHelp(
        "This confirmation was already received once",
        "SAP's order shows less received than the connector posted for this confirmation, usually "
        "because the receipt named in the message was cancelled. The connector never posts one "
        "confirmation twice: receive the goods by hand in SAP if they must be received again, or "
        "correct the confirmed quantity on the order. When the message says SAP's duplicate guard "
        "refused a second receipt, nothing needs doing, unless two connectors run for this company: "
        "then stop one.",
    ),
    OVER_RECEIVED_IN_SAP: ReasonHelp(
        "SAP has received more for the order than was confirmed",
        "A receipt was posted twice (its first attempt reached SAP later than every look-up) or by "
        "hand beyond the confirmation. Find the extra Receipt from Production for the order in SAP and "
        "cancel it; the connector posts nothing for the order until SAP's received quantity is back "
        "within the confirmed total. Do not raise the confirmation to match, unless that much was "
        "really produced.",
    ),
}

#: Every code, in documentation order.
ALL_CODES: tuple[str, ...] = tuple(REASON_HELP)
