"""What a cycle did: posted, held, warnings, errors — as JSON for machines and plain words for people."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from connector.production.confirmations import format_quantity
from connector.production.reasons import Reason
from connector.production.receipt import receipt_name


@dataclass
class Posted:
    """One receipt SAP created (or that settling found in SAP)."""

    order_entry: int
    order_number: int
    item: str
    quantity: float
    rejected_quantity: float
    receipt_entry: int | None
    receipt_number: int | None
    key: str
    order_closed: bool = False  # after_full_receipt: close_order closed it


@dataclass
class Held:
    """One order not posted, with every reason."""

    order_entry: int
    order_number: int | None
    item: str | None
    reasons: list[dict[str, Any]]

    @classmethod
    def from_reasons(
        cls, *, order_entry: int, order_number: int | None, item: str | None, reasons: list[Reason]
    ) -> Held:
        """Build from domain reasons (code, line, item, message, severity)."""
        return cls(order_entry, order_number, item, [reason_dict(r) for r in reasons])


def reason_dict(reason: Reason) -> dict[str, Any]:
    """The JSON shape of a reason (the CLI's ``held[].reasons[]``)."""
    return {
        "code": reason.code,
        "line": reason.line,
        "item": reason.item,
        "message": reason.message,
        "severity": reason.severity,
    }


@dataclass(frozen=True)
class CycleWarning:
    """Posted (or about the cycle), but worth a look: ``warnings[]`` of the report."""

    #: None for a warning about the cycle (e.g. COMPANY_FACTS_UNREAD), not one order.
    order_number: int | None
    code: str
    message: str
    #: Only a reason-based warning (``from_reason``) carries these three; ``severity`` tells it.
    line: int | None = None
    item: str | None = None
    severity: str | None = None

    @classmethod
    def from_reason(cls, order_number: int, reason: Reason) -> CycleWarning:
        """A ``warn`` reason of the order's verdict."""
        return cls(order_number, reason.code, reason.message, reason.line, reason.item, reason.severity)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: a reason-based warning is the order number and the reason's fields."""
        if self.severity is None:
            return {"order_number": self.order_number, "code": self.code, "message": self.message}
        return {
            "order_number": self.order_number,
            "code": self.code,
            "line": self.line,
            "item": self.item,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class CycleError:
    """What went wrong for one order or the cycle: ``errors[]`` of the report."""

    #: ``cycle`` or ``order <DocumentNumber>``.
    where: str
    message: str
    #: The posting key, for a receipt that was not sent or whose answer was lost.
    key: str | None = None
    #: ``uncertain`` when SAP's answer to the receipt was lost.
    state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``key`` and ``state`` only when they apply."""
        data: dict[str, Any] = {"where": self.where}
        if self.key is not None:
            data["key"] = self.key
        if self.state is not None:
            data["state"] = self.state
        data["message"] = self.message
        return data


@dataclass(frozen=True)
class Settled:
    """A posting whose lost answer this cycle cleared up: ``settled[]`` of the report."""

    key: str
    order_number: int
    #: The posting's state now (``posted``, ``void``, ``duplicate``, ``uncertain``).
    state: str
    receipt_entry: int | None
    receipt_number: int | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: every field."""
        return asdict(self)


#: Receipts a report lists one by one; beyond that it counts them (every one is a row in the ledger:
#: ``b1-backflush status``), so a cycle draining a large backlog does not grow in memory per receipt.
POSTED_SAMPLE = 1000


@dataclass
class CycleReport:
    """Everything one cycle did; ``to_dict`` is the ``--json`` line."""

    company: str
    dry_run: bool = False
    orders_seen: int = 0
    #: The first ``POSTED_SAMPLE`` receipts of the cycle; ``posted_count`` counts them all.
    posted: list[Posted] = field(default_factory=list)
    posted_count: int = 0
    held: list[Held] = field(default_factory=list)
    would_post: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[CycleWarning] = field(default_factory=list)
    errors: list[CycleError] = field(default_factory=list)
    settled: list[Settled] = field(default_factory=list)
    aborted: str | None = None
    #: B1_MAX_RECEIPTS_PER_CYCLE when this cycle reached it (else None), and how many orders ready to
    #: post it left for the next cycle.
    receipt_limit: int | None = None
    deferred: int = 0
    #: Receipts SAP's duplicate guard refused because another receipt carries their key (each order
    #: is also held ALREADY_POSTED): another connector posts for this company, or a commit came late.
    refused_by_duplicate_guard: int = 0

    def add_posted(self, posted: Posted) -> None:
        """Count a receipt; list it while the sample is not full."""
        self.posted_count += 1
        if len(self.posted) < POSTED_SAMPLE:
            self.posted.append(posted)

    def number_receipts(self, numbers: dict[str, int]) -> None:
        """The DocNums read after posting (posting key → DocNum) into the listed receipts."""
        self.posted = [
            replace(p, receipt_number=numbers[p.key]) if p.receipt_number is None and p.key in numbers else p
            for p in self.posted
        ]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (stable keys)."""
        data = asdict(self)
        data["warnings"] = [w.to_dict() for w in self.warnings]
        data["errors"] = [e.to_dict() for e in self.errors]
        data["settled"] = [s.to_dict() for s in self.settled]
        if not self.dry_run:
            data.pop("would_post")
        return data

    def summary(self) -> dict[str, Any]:
        """Counts for the ledger's cycle history and the metrics line."""
        return {
            "orders_seen": self.orders_seen,
            "posted": self.posted_count,
            "held": len(self.held),
            "warnings": len(self.warnings),
            "errors": len(self.errors),
            # receipts whose answer was lost (also counted in errors): the cycle is not "ok"
            "uncertain": sum(1 for e in self.errors if e.state == "uncertain"),
            "aborted": self.aborted,
            "would_post": len(self.would_post),
            "deferred": self.deferred,
        }

    def render_text(self) -> str:
        """Plain words for the terminal."""
        lines = [
            f"Company {self.company}: {self.orders_seen} released order(s) looked at"
            + (" (dry run: nothing was posted)" if self.dry_run else "")
            + "."
        ]
        for s in self.settled:
            found = (
                f" as receipt {receipt_name(s.receipt_number, s.receipt_entry)}"
                if s.receipt_entry is not None
                else ""
            )
            lines.append(f"  Settled earlier posting {s.key}: {s.state}{found}.")
        if self.posted:
            lines.append(f"Posted {self.posted_count} Receipt(s) from Production:")
            for p in self.posted:
                reject = f" and {_qty(p.rejected_quantity)} rejected" if p.rejected_quantity else ""
                lines.append(
                    f"  order {p.order_number}: {_qty(p.quantity)} x {p.item}{reject}"
                    f" -> receipt {receipt_name(p.receipt_number, p.receipt_entry)}"
                    + ("; order closed" if p.order_closed else "")
                )
            if self.posted_count > len(self.posted):
                more = self.posted_count - len(self.posted)
                lines.append(f"  ... and {more} more (b1-backflush status lists every receipt).")
        for w in self.would_post:
            lines.append(
                f"  would post order {w['order_number']}: {_qty(w['quantity'])} x {w['item']}"
                + (f" and {_qty(w['rejected_quantity'])} rejected" if w["rejected_quantity"] else "")
            )
        if self.held:
            lines.append(f"Held {len(self.held)} order(s):")
            for h in self.held:
                lines.append(f"  order {h.order_number} ({h.item}):")
                lines.extend(f"    - {r['code']}: {r['message']}" for r in h.reasons)
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {_about(w.order_number)}{w.code}: {w.message}" for w in self.warnings)
        if self.errors:
            lines.append("Errors:")
            lines.extend(f"  {e.where}: {e.message}" for e in self.errors)
        if self.deferred:
            lines.append(
                f"Stopped posting after {self.receipt_limit} receipt(s) (B1_MAX_RECEIPTS_PER_CYCLE): "
                f"{self.deferred} more order(s) are ready and are posted in the next cycle(s)."
            )
        if self.aborted:
            lines.append(f"The cycle stopped early: {self.aborted}")
        if not (self.posted or self.held or self.would_post or self.errors or self.deferred):
            lines.append("Nothing to post: every confirmation is already received.")
        return "\n".join(lines)


def _about(order_number: int | None) -> str:
    """``order N: `` for a warning about one order; nothing for one about the cycle."""
    return f"order {order_number}: " if order_number is not None else ""


def _qty(value: float) -> str:
    return format_quantity(value)
