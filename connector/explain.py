"""``b1-backflush explain``: the verdict for one order, every reason, the exact payload and which rule made each field."""

from __future__ import annotations

import json
from typing import Any

from connector.report import reason_dict
from connector.worker import Assessment


def explain_dict(a: Assessment) -> dict[str, Any]:
    """Machine-readable explanation (the ``--json`` line)."""
    order = a.order
    return {
        "order_entry": order.AbsoluteEntry,
        "order_number": order.DocumentNumber,
        "item": order.ItemNo,
        "status": order.ProductionOrderStatus,
        "planned": order.PlannedQuantity,
        "completed": order.CompletedQuantity,
        "rejected": order.RejectedQuantity,
        "to_receive": {"good": a.plan.good, "rejected": a.plan.rejected},
        "verdict": a.action,
        "reasons": [reason_dict(r) for r in a.verdict.reasons],
        "key": a.key,
        "payload": a.built.payload if a.built else None,
        "provenance": a.built.provenance if a.built else {},
    }


def explain_text(a: Assessment) -> str:
    """Plain words: what would happen and why, then the payload with each field's rule."""
    d = explain_dict(a)
    lines = [
        f"Production order {d['order_number']} (AbsoluteEntry {d['order_entry']}), product {d['item']}, "
        f"status {d['status']}",
        f"  planned {d['planned']:g}, completed {d['completed']:g}, rejected {d['rejected']:g}; "
        f"to receive now: {d['to_receive']['good']:g} good, {d['to_receive']['rejected']:g} rejected",
        {"post": "Verdict: POST — every check passed.",
         "hold": "Verdict: HOLD — not posted until the reasons below are fixed.",
         "nothing": "Verdict: NOTHING TO DO — all confirmed quantity is already received."}[d["verdict"]],
    ]
    for reason in d["reasons"]:
        where = f" (line {reason['line']}, item {reason['item']})" if reason["line"] is not None else ""
        lines.append(f"  - [{reason['severity']}] {reason['code']}{where}: {reason['message']}")
    if d["payload"] is not None:
        lines.append(f"Posting key: {d['key']}")
        lines.append("Payload (POST InventoryGenEntries):")
        lines.extend("  " + line for line in json.dumps(d["payload"], indent=2).splitlines())
        if d["provenance"]:
            lines.append("Where each field comes from:")
            width = max(len(k) for k in d["provenance"])
            lines.extend(f"  {field.ljust(width)}  {rule}" for field, rule in d["provenance"].items())
    return "\n".join(lines)
