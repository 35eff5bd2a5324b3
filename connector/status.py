"""``b1-backflush status``: recent postings, holds and why, unsettled postings, cycles (page: status_page)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from connector.ledger import Ledger
from connector.production.confirmations import format_quantity
from connector.production.receipt import receipt_name


def status_dict(ledger: Ledger, company: str | None) -> dict[str, Any]:
    """Everything ``status`` shows, read from the ledger only (works while SAP is down).

    ``company`` None (``B1_COMPANY_DB`` unset for ``status``): the held orders of every company.
    ``last_reconciliation`` is what ``run``'s own reconciliation last found (None before the first).
    """

    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(r).items() if k != "payload"} for r in items]

    return {
        "company": company,
        "counts": ledger.count_by_state(),
        "recent_postings": rows(ledger.recent(20, state="posted")),
        "unsettled": rows(ledger.in_flight()),
        "duplicates": rows(ledger.duplicates()),
        "rejected": rows(ledger.recent(20, state="rejected")),
        "held": ledger.holds(company),
        "last_cycles": ledger.last_cycles(5),
        "cycles": ledger.cycle_overview(company),
        "last_reconciliation": ledger.last_reconciliation(),
    }


def status_text(d: dict[str, Any]) -> str:
    """Plain words for the terminal."""
    lines = [
        f"Company {d['company'] or '(all in the ledger)'}. Postings by state: "
        + (", ".join(f"{k} {v}" for k, v in sorted(d["counts"].items())) or "none yet")
    ]
    cycles = d["last_cycles"]
    if cycles:
        last = cycles[0]
        summary = last.get("summary") or {}
        lines.append(
            f"Last cycle: {last['started_at']} -> {last['finished_at'] or 'still running'}, "
            f"{last['outcome'].replace('_', ' ')}; posted {summary.get('posted', 0)}, "
            f"held {summary.get('held', 0)}, errors {summary.get('errors', 0)}"
            + (" (dry run)" if last["dry_run"] else "")
        )
    reconciliation = d.get("last_reconciliation")
    if reconciliation and not reconciliation.get("clean"):
        lines.append(
            f"ALERT — the reconciliation at {reconciliation['at']} found SAP and the ledger disagreeing: "
            f"{len(reconciliation['duplicates'])} duplicate key(s), {len(reconciliation['orphans'])} "
            f"receipt(s) the ledger does not know, {len(reconciliation['missing'])} posting(s) SAP does "
            "not have (details: b1-backflush reconcile)"
        )
    if d["duplicates"]:
        lines.append("ALERT — more than one receipt in SAP carries one key (a person must look):")
        lines.extend(f"  {r['key']}: {r['sl_message']}" for r in d["duplicates"])
    if d["unsettled"]:
        lines.append("Unsettled postings (answer lost; looked up in SAP at the next cycle):")
        lines.extend(
            f"  order {r['order_number']}: {r['key']} ({r['state']} since {r['updated_at']})"
            + (
                f"; company {r['company']}: settled only by a connector logged in to it"
                if d["company"] and r["company"] != d["company"]
                else ""
            )
            for r in d["unsettled"]
        )
    if d["held"]:
        lines.append(f"Held orders ({len(d['held'])}):")
        for hold in d["held"]:
            lines.append(f"  order {hold['order_number']} ({hold['item']}), held since {hold['first_held']}:")
            lines.extend(f"    - {r['code']}: {r['message']}" for r in hold["reasons"])
    if d["recent_postings"]:
        lines.append("Recent postings:")
        lines.extend(
            f"  order {r['order_number']}: {format_quantity(r['quantity'])} good, "
            f"{format_quantity(r['rejected_quantity'])} rejected -> receipt "
            f"{receipt_name(r['receipt_number'], r['receipt_entry'])} at {r['updated_at']}"
            for r in d["recent_postings"]
        )
    if d["rejected"]:
        lines.append("Refused by SAP (evaluated again each cycle):")
        lines.extend(
            f"  order {r['order_number']}: [{r['sl_code']}] {r['sl_message']}" for r in d["rejected"]
        )
    return "\n".join(lines)
