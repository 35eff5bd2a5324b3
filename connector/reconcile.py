"""``b1-backflush reconcile``: read the target back (exactly-once rule 9).

Compares the ledger with the receipts SAP holds for recent days, by posting key:

* **duplicates**: more than one uncancelled receipt carries one key (a person must look);
* **orphans**: a receipt in SAP carries one of this company's keys, but the ledger does not know it
  as posted (the ledger was lost or restored from a backup, or another instance posted it);
* **missing**: the ledger says posted, but SAP has no such receipt, a different one, or only a
  cancelled one;
* **over-received**: SAP shows an order received beyond what the connector's last receipt for it
  brought it to (the key's targets): a receipt someone posted by hand — in the worst case while the
  connector's own receipt for the same confirmation was on its way (the window between the re-read of
  a chunk of orders and their POSTs), which receives that confirmation twice.

``b1-backflush reconcile`` is read-only on both sides. ``run`` reconciles the last
``SERVICE_RECONCILE_DAYS`` days by itself every ``B1_RECONCILE_INTERVAL_S`` and ``record_findings``
marks each duplicate key in its ledger, so the order is held ``DUPLICATE_IN_SAP`` and the duplicate
shows on ``status``, the status page and ``/metrics``: the net for a first attempt that SAP
committed later than every look-up. SAP is asked for receipts created in the window whose key starts
with the company's key prefix (``startswith`` on a UDF is documented, docs/service-layer.md §7); each key
is then matched to the company exactly here, so a long, hashed company prefix is recognised too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from connector.ledger import Ledger, PostingRow
from connector.posting import RECEIPT_STATE_FIELDS, RECEIPTS, is_cancelled
from connector.production.confirmations import format_quantity
from connector.production.receipt import key_belongs_to, key_prefix
from connector.sl import odata
from connector.sl.client import ServiceLayerClient


@dataclass(frozen=True)
class Receipt:
    """One receipt in SAP that carries a posting key."""

    DocEntry: int
    DocNum: int | None
    CreationDate: str | None
    cancelled: bool


@dataclass
class Reconciliation:
    """What ``reconcile`` found; ``clean`` when ledger and SAP agree."""

    company: str
    since: str
    receipts_in_sap: int = 0
    postings_in_ledger: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    over_received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.orphans or self.missing or self.over_received)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clean": self.clean}


def _receipts_by_key(
    client: ServiceLayerClient, company: str, key_fields: list[str], since: date
) -> dict[str, list[Receipt]]:
    # CreationDate, not DocDate: a mapping may date receipts back to the order's due date. One day
    # earlier than asked, because SAP's CreationDate is the server's local date and the ledger's UTC.
    found: dict[str, list[Receipt]] = defaultdict(list)
    for key_field in key_fields:
        query_filter = odata.and_(
            odata.startswith(key_field, key_prefix(company)),
            odata.compare("CreationDate", "ge", since - timedelta(days=1)),
        )
        for row in client.iter_collection(
            RECEIPTS, where=query_filter, select=[*RECEIPT_STATE_FIELDS, "CreationDate", key_field]
        ):
            key = row.get(key_field)
            if not (isinstance(key, str) and key_belongs_to(company, key)):
                continue
            if any(r.DocEntry == int(row["DocEntry"]) for r in found[key]):
                continue  # one receipt carrying its key in two of the fields is still one receipt
            found[key].append(
                Receipt(int(row["DocEntry"]), row.get("DocNum"), row.get("CreationDate"), is_cancelled(row))
            )
    return found


#: Orders per request when their received quantities are read back (a short ``$filter`` URL).
ORDERS_PER_READ = 50
_EPSILON = 1e-6


def key_targets(key: str) -> tuple[float, float] | None:
    """The cumulative (completed, rejected) a posting key's receipt brings its order to, or None."""
    parts = key.rsplit("/", 2)
    if len(parts) != 3:
        return None
    completed, rejected = parts[1], parts[2]
    if not (completed.startswith("C") and rejected.startswith("R")):
        return None
    try:
        return float(completed[1:]), float(rejected[1:])
    except ValueError:
        return None


def _over_received(client: ServiceLayerClient, postings: list[PostingRow]) -> list[dict[str, Any]]:
    """Orders SAP shows received beyond the targets of the connector's last receipt for them."""
    last: dict[int, tuple[float, float, PostingRow]] = {}
    for row in postings:
        targets = key_targets(row.key) if row.state == "posted" else None
        if targets is not None and targets > last.get(row.order_entry, (-1.0, -1.0, row))[:2]:
            last[row.order_entry] = (*targets, row)
    entries = sorted(last)
    found = []
    for start in range(0, len(entries), ORDERS_PER_READ):
        chunk = entries[start : start + ORDERS_PER_READ]
        for order in client.iter_collection(
            "ProductionOrders",
            where=odata.any_of("AbsoluteEntry", chunk),
            select=["AbsoluteEntry", "DocumentNumber", "CompletedQuantity", "RejectedQuantity"],
            page_size=len(chunk) + 1,
        ):
            if order.get("AbsoluteEntry") not in last:
                continue
            completed_target, rejected_target, row = last[order["AbsoluteEntry"]]
            try:
                completed = float(order.get("CompletedQuantity") or 0)
                rejected = float(order.get("RejectedQuantity") or 0)
            except (TypeError, ValueError):
                continue  # unreadable quantities: the cycle holds the order and says why
            if completed > completed_target + _EPSILON or rejected > rejected_target + _EPSILON:
                found.append(
                    {
                        "order_entry": row.order_entry,
                        "order_number": order.get("DocumentNumber", row.order_number),
                        "key": row.key,
                        "completed_in_sap": completed,
                        "rejected_in_sap": rejected,
                        "completed_target": completed_target,
                        "rejected_target": rejected_target,
                    }
                )
    return found


def _receipt_dicts(receipts: list[Receipt]) -> list[dict[str, Any]]:
    return [{"DocEntry": r.DocEntry, "DocNum": r.DocNum, "cancelled": r.cancelled} for r in receipts]


def reconcile(
    client: ServiceLayerClient,
    ledger: Ledger,
    *,
    company: str,
    key_field: str,
    days: int,
    today: date | None = None,
) -> Reconciliation:
    """Compare the last ``days`` days of ledger postings with SAP's receipts, key by key."""
    since = (today or datetime.now(UTC).date()) - timedelta(days=days)
    since_text = datetime.combine(since, time(), UTC).isoformat(timespec="seconds")
    result = Reconciliation(company=company, since=since.isoformat())
    postings = {row.key: row for row in ledger.postings_since(company, since_text)}
    # The mapping's key field, and any other the period's receipts were sent with (it may have moved).
    sent_in = {field for row in postings.values() if (field := row.key_field()) is not None}
    in_sap = _receipts_by_key(client, company, [key_field, *sorted(sent_in - {key_field})], since)
    result.receipts_in_sap = sum(len(r) for r in in_sap.values())
    result.postings_in_ledger = len(postings)

    for key, receipts in sorted(in_sap.items()):
        live = [r for r in receipts if not r.cancelled]
        if len(live) > 1:
            result.duplicates.append({"key": key, "receipts": _receipt_dicts(receipts)})
        row = postings.get(key) or ledger.get(key)
        if row is None or row.state not in ("posted", "duplicate"):
            result.orphans.append(
                {"key": key, "ledger_state": row.state if row else None, "receipts": _receipt_dicts(receipts)}
            )

    for key, row in postings.items():
        if row.state != "posted":
            continue
        receipts = in_sap.get(key, [])
        mine = [r for r in receipts if r.DocEntry == row.receipt_entry]
        if not receipts:
            problem = "no receipt with this key in SAP"
        elif not mine:
            problem = f"SAP's receipt for this key is DocEntry {receipts[0].DocEntry}, not the ledger's"
        elif mine[0].cancelled:
            problem = "the receipt was cancelled in SAP"
        else:
            continue
        result.missing.append(
            {
                "key": key,
                "order_number": row.order_number,
                "receipt_entry": row.receipt_entry,
                "receipt_number": row.receipt_number,
                "problem": problem,
            }
        )
    result.over_received = _over_received(client, list(postings.values()))
    return result


def _receipts_text(receipts: list[dict[str, Any]]) -> str:
    """Receipts as a user finds them in SAP (DocNum) and as the Service Layer keys them (DocEntry)."""
    return ", ".join(
        f"DocNum {x['DocNum']} (DocEntry {x['DocEntry']})" + (", cancelled" if x["cancelled"] else "")
        for x in receipts
    )


#: How many days back ``run``'s own reconciliation looks.
SERVICE_RECONCILE_DAYS = 2


def record_findings(ledger: Ledger, result: Reconciliation) -> list[str]:
    """Mark the ledger's settled keys SAP holds twice as ``duplicate`` and keep the summary; the marked keys.

    In-flight keys are left to settling, which looks them up itself; a key the ledger does not know
    (an orphan) cannot be marked and stays in the recorded summary.
    """
    marked = []
    for found in result.duplicates:
        row = ledger.get(found["key"])
        if row is None or row.state not in ("posted", "void", "rejected"):
            continue
        entries = [r["DocEntry"] for r in found["receipts"] if not r["cancelled"]]
        ledger.mark_duplicate(
            row.key,
            message=f"{len(entries)} receipts carry key {row.key} (DocEntry {entries}), found by the "
            "reconciliation: a person must look",
        )
        marked.append(row.key)
    ledger.record_reconciliation(result.to_dict())
    return marked


def reconciliation_text(r: Reconciliation) -> str:
    """Plain words for the terminal."""
    lines = [
        f"Company {r.company}, since {r.since}: {r.receipts_in_sap} keyed receipt(s) in SAP, "
        f"{r.postings_in_ledger} posting(s) in the ledger."
    ]
    if r.clean:
        lines.append(
            "Ledger and SAP agree: every posted key has exactly one receipt, and SAP has none the "
            "ledger does not know."
        )
        return "\n".join(lines)
    if r.duplicates:
        lines.append("DUPLICATES — more than one uncancelled receipt per key (cancel the extra one in SAP):")
        lines.extend(f"  {d['key']}: " + _receipts_text(d["receipts"]) for d in r.duplicates)
    if r.orphans:
        lines.append(
            "In SAP but not posted according to the ledger (ledger lost or restored, or another "
            "instance posted them):"
        )
        lines.extend(
            f"  {o['key']}: "
            + _receipts_text(o["receipts"])
            + f" (ledger: {o['ledger_state'] or 'unknown key'})"
            for o in r.orphans
        )
    if r.missing:
        lines.append("Posted according to the ledger, but not so in SAP:")
        lines.extend(
            f"  order {m['order_number']}: {m['key']} (receipt DocNum {m['receipt_number']}, DocEntry "
            f"{m['receipt_entry']}): {m['problem']}"
            for m in r.missing
        )
    if r.over_received:
        lines.append(
            "Received in SAP beyond the connector's last receipt (a receipt posted by hand, perhaps while "
            "the connector's own was on its way: check the order's receipts and cancel one that receives "
            "a confirmation twice):"
        )
        lines.extend(
            f"  order {o['order_number']}: SAP shows {format_quantity(o['completed_in_sap'])} good and "
            f"{format_quantity(o['rejected_in_sap'])} rejected received; the connector's last receipt "
            f"({o['key']}) brought it to {format_quantity(o['completed_target'])} and "
            f"{format_quantity(o['rejected_target'])}"
            for o in r.over_received
        )
    return "\n".join(lines)
