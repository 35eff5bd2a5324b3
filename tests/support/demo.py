"""The demo company's expected outcomes (connector/demo_company/README.md), so every end-to-end module
checks the same table, and readers of what the mock received and of ``--json`` reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.production import reasons as rc

COMPANY = "SBODEMOUS"

#: connector/demo_company/README.md: AbsoluteEntry → (good, rejected) posted by the first cycle.
DEMO_POSTS: dict[int, tuple[float, float]] = {
    101: (4, 0),
    102: (8, 2),
    103: (5, 0),
    115: (2, 0),
    116: (5, 0),
    117: (4, 0),
    118: (10, 0),
}
#: AbsoluteEntry → the one reason code it is held with under the default mapping.
DEMO_HOLDS: dict[int, str] = {
    104: rc.MANUAL_NOT_ISSUED,
    105: rc.BACKFLUSH_BATCH_MANAGED,
    106: rc.BACKFLUSH_SERIAL_MANAGED,
    107: rc.INSUFFICIENT_STOCK,
    108: rc.FINISHED_GOOD_NEEDS_BATCH,
    109: rc.FINISHED_GOOD_NEEDS_SERIAL,
    110: rc.OVER_RECEIPT,
    111: rc.OVER_RECEIVED_IN_SAP,
    112: rc.UNKNOWN_ITEM,
    113: rc.UNSUPPORTED_ORDER_TYPE,
    119: rc.FINISHED_GOOD_NEEDS_BATCH,
}
#: Reasons about one component line: AbsoluteEntry → (LineNumber, component ItemCode).
DEMO_LINE_REASONS: dict[int, tuple[int, str]] = {
    104: (0, "PAINT-WHITE"),
    105: (1, "GLUE-BATCH"),
    106: (1, "SENSOR-SN"),
    107: (0, "FOAM-LOW"),
    112: (1, "GHOST-PART"),
}
#: What the planner is told to do, per code (each held demo message must say it).
DEMO_ACTIONS: dict[str, str] = {
    rc.MANUAL_NOT_ISSUED: "Issue the missing 4 with an Issue for Production",
    rc.BACKFLUSH_BATCH_MANAGED: "Set the line to Manual and issue it with an Issue for Production",
    rc.BACKFLUSH_SERIAL_MANAGED: "Set the line to Manual and issue it with an Issue for Production",
    rc.INSUFFICIENT_STOCK: "Bring the missing stock into warehouse 02",
    rc.FINISHED_GOOD_NEEDS_BATCH: "A consultant adds it, or the order is received by hand",
    rc.FINISHED_GOOD_NEEDS_SERIAL: "A consultant adds it, or the order is received by hand",
    rc.OVER_RECEIPT: "Check the confirmed quantity, or raise the order's planned quantity",
    rc.OVER_RECEIVED_IN_SAP: "A receipt must be cancelled in SAP",
    rc.UNKNOWN_ITEM: "create the item in SAP",
    rc.UNSUPPORTED_ORDER_TYPE: "Receive it by hand in SAP",
}
DEMO_RELEASED = 19  # 101-119; 120 planned, 121 closed, 122 cancelled are never looked at


def number(entry: int) -> int:
    """The demo's DocumentNumber of an AbsoluteEntry."""
    return 2026230000 + entry


def key_of(entry: int, completed: float, rejected: float) -> str:
    """The posting key README.md documents: company/AbsoluteEntry/C<completed target>/R<rejected target>."""
    return f"{COMPANY}/{entry}/C{completed:g}/R{rejected:g}"


def _bases(body: Any) -> set[Any]:
    lines = body.get("DocumentLines") if isinstance(body, dict) else None
    return {line.get("BaseEntry") for line in lines or [] if isinstance(line, dict)}


def receipt_posts(sl: Any, entry: int | None = None) -> list[Any]:
    """Every ``POST InventoryGenEntries`` the mock received (for one order's AbsoluteEntry if given)."""
    return [
        r
        for r in sl.requests
        if r.method == "POST"
        and r.path.startswith("InventoryGenEntries")
        and (entry is None or entry in _bases(r.body))
    ]


def documents_for(sl: Any, entity_set: str, entry: int) -> list[dict[str, Any]]:
    """Documents in SAP (mock store) with a line based on production order ``entry``."""
    return [doc for doc in sl.store.rows(entity_set) if entry in _bases(doc)]


def refusals(sl: Any) -> list[tuple[str, int | None]]:
    """(path, status) of every receipt POST SAP refused or never answered."""
    return [(r.path, r.status) for r in receipt_posts(sl) if r.status is None or r.status >= 400]


def receipts_for(sl: Any, order_entry: int) -> list[dict[str, Any]]:
    """Every receipt SAP holds (cancelled or not) with a line based on production order ``order_entry``."""
    return [
        d
        for d in sl.store.rows("InventoryGenEntries")
        if any(ln.get("BaseEntry") == order_entry for ln in d.get("DocumentLines") or [])
    ]


def held_by_entry(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {h["order_entry"]: h for h in report["held"]}


def posted_by_entry(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {p["order_entry"]: p for p in report["posted"]}


def codes_by_entry(report: dict[str, Any]) -> dict[int, list[str]]:
    return {entry: [r["code"] for r in h["reasons"]] for entry, h in held_by_entry(report).items()}


@dataclass(frozen=True)
class CliResult:
    """One ``b1-backflush`` run: exit code and what it printed."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """Stdout as the one JSON document ``--json`` prints (nothing else may be there)."""
        assert self.out.strip(), f"no output; stderr: {self.err[-2000:]}"
        document = json.loads(self.out)
        assert document["schema"].startswith("b1-backflush."), document["schema"]
        return document


def ledger_path(env: dict[str, str]) -> Path:
    return Path(env["B1_LEDGER_PATH"])
