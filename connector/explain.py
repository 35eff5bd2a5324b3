"""``b1-backflush explain``: one order's verdict, reasons, exact payload and which rule made each field."""

from __future__ import annotations

import json
from typing import Any

from connector.mapping.spec import Mapping, ReadyFlagSource
from connector.production.assessment import Assessment
from connector.production.confirmations import format_quantity as q
from connector.production.reasons import Reason, screen_line
from connector.production.receipt import receipt_name
from connector.report import reason_dict


def _show(value: Any) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return q(value)
    return repr(value)


def _nothing_because(a: Assessment, mapping: Mapping) -> str:
    """Why there is nothing to receive, in the terms of the mapping's quantity source."""
    order, source = a.order, mapping.quantities
    if isinstance(source, ReadyFlagSource):
        flag = order.fields.get(source.ready_field)
        if flag != source.ready_value:
            return f"the ready flag {source.ready_field} is {_show(flag)}, not {source.ready_value!r}."
        return "the ready flag is set, but everything planned is already received."
    confirmed = order.fields.get(source.confirmed_field)
    text = (
        f"{source.confirmed_field} is {_show(confirmed)}; SAP has already received "
        f"{q(order.CompletedQuantity)} good"
    )
    if source.rejected_field:
        text += (
            f"; {source.rejected_field} is {_show(order.fields.get(source.rejected_field))}, SAP has "
            f"received {q(order.RejectedQuantity)} rejected"
        )
    return text + "."


def _receipt_text(r: dict[str, Any]) -> str:
    """One posting of the order: which receipt (DocNum and DocEntry), for what, in which state."""
    what = f"{q(r['good'])} good, {q(r['rejected'])} rejected, key {r['key']}"
    if r["receipt_entry"] is not None:
        return f"receipt {receipt_name(r['receipt_number'], r['receipt_entry'])}: {what} [{r['state']}]"
    return f"no receipt known yet: {what} [{r['state']}]"


def explain_dict(a: Assessment, mapping: Mapping) -> dict[str, Any]:
    """Machine-readable explanation (the ``--json`` line)."""
    order = a.order
    return {
        "candidate": a.not_a_candidate is None,
        "not_a_candidate_because": a.not_a_candidate,
        "nothing_because": _nothing_because(a, mapping) if a.action == "nothing" else None,
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
        # SAP's two receipt numbers are never interchangeable: DocEntry is the key (what the connector
        # looks receipts up by), DocNum the number users see, drawn from a numbering series.
        "receipts": [
            {
                "key": row.key,
                "state": row.state,
                "good": row.quantity,
                "rejected": row.rejected_quantity,
                "receipt_entry": row.receipt_entry,
                "receipt_number": row.receipt_number,
            }
            for row in a.postings
        ],
    }


def explain_text(a: Assessment, mapping: Mapping) -> str:
    """Plain words: what would happen and why, then the payload with each field's rule."""
    d = explain_dict(a, mapping)
    lines = [
        f"Production order {d['order_number']} (AbsoluteEntry {d['order_entry']}), product {d['item']}, "
        f"status {d['status']}",
        f"  planned {q(d['planned'])}, completed {q(d['completed'])}, rejected {q(d['rejected'])}; "
        f"to receive now: {q(d['to_receive']['good'])} good, {q(d['to_receive']['rejected'])} rejected",
        {
            "post": "Verdict: POST — every check passed.",
            "hold": "Verdict: HOLD — not posted until the reasons below are fixed.",
            "nothing": f"Verdict: NOTHING TO DO — {d['nothing_because']}",
        }[d["verdict"]],
    ]
    if d["not_a_candidate_because"]:
        lines.append(
            f"Cycles never look at this order: {d['not_a_candidate_because']}. The verdict above "
            "is what would happen if they did."
        )
    if d["receipts"]:
        lines.append("Receipts from this connector for the order (ledger):")
        lines.extend(f"  - {_receipt_text(r)}" for r in d["receipts"])
    for reason in d["reasons"]:
        where = (
            f" (line {screen_line(reason['line'])}, item {reason['item']})"
            if reason["line"] is not None
            else ""
        )
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


def unreadable_order_dict(order: int, *, by_entry: bool, reason: Reason) -> dict[str, Any]:
    """The same shape as ``explain_dict`` for an order SAP sent in a shape the connector cannot read
    (the cycle holds it with ``reason``): what SAP's data cannot tell is null."""
    return {
        "candidate": None,
        "not_a_candidate_because": None,
        "nothing_because": None,
        "order_entry": order if by_entry else None,
        "order_number": None if by_entry else order,
        "item": None,
        "status": None,
        "planned": None,
        "completed": None,
        "rejected": None,
        "to_receive": None,
        "verdict": "hold",
        "reasons": [reason_dict(reason)],
        "key": None,
        "payload": None,
        "provenance": {},
        "receipts": [],  # the ledger is not read for an order that cannot be read
    }


def unreadable_order_text(d: dict[str, Any]) -> str:
    """Plain words for ``unreadable_order_dict``."""
    which = (
        f"AbsoluteEntry {d['order_entry']}"
        if d["order_number"] is None
        else (f"DocumentNumber {d['order_number']}")
    )
    reason = d["reasons"][0]
    return (
        f"Production order {which} cannot be read from SAP.\n"
        "Verdict: HOLD — not posted until the reasons below are fixed.\n"
        f"  - [{reason['severity']}] {reason['code']}: {reason['message']}"
    )
