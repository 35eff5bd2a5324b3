"""Every mapping file shipped in mappings/ is checked and run end to end against the demo company.

For each ``mappings/**/*.yaml`` (found by glob, so a new example is picked up by itself):
``b1-backflush mappings check FILE`` and ``... --online`` (against the mock) exit 0; then real cycles
run with that mapping on the mock Service Layer (v1 and v2) and the scenario's outcome is asserted:
which orders post, with which quantities, which are held with which code, and what every posted
Receipt from Production holds in SAP (header templates, UDFs, posting key, lines, warehouses,
batches). An example without an entry in SCENARIOS fails, so none goes untested.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.demo_company import DEMO_COMPANY
from connector.report import CycleReport
from connector.worker import Worker
from tests.support.mappings import (
    MAPPINGS,
    ROOT,
    doc_number,
    mapping_worker,
    order_row,
    posted_bodies,
    receipts_of,
    root_logging_kept,
    run_cli,
    use_mock_settings,
)

MAPPING_FILES = sorted(MAPPINGS.rglob("*.yaml"))
#: The posting date of every cycle here (the worker's clock is fixed, so dates can be asserted).
TODAY = date(2026, 4, 25)
COMPANY = "SBODEMOUS"
DEMO_README = DEMO_COMPANY / "README.md"

#: The demo outcome under the default mapping (demo_company/README.md; a test below keeps the two equal).
DEFAULT_POSTED = {101: (4, 0), 102: (8, 2), 103: (5, 0), 115: (2, 0), 116: (5, 0), 117: (4, 0), 118: (10, 0)}
DEFAULT_HELD = {
    104: ["MANUAL_NOT_ISSUED"],
    105: ["BACKFLUSH_BATCH_MANAGED"],
    106: ["BACKFLUSH_SERIAL_MANAGED"],
    107: ["INSUFFICIENT_STOCK"],
    108: ["FINISHED_GOOD_NEEDS_BATCH"],
    109: ["FINISHED_GOOD_NEEDS_SERIAL"],
    110: ["OVER_RECEIPT"],
    111: ["OVER_RECEIVED_IN_SAP"],
    112: ["UNKNOWN_ITEM"],
    113: ["UNSUPPORTED_ORDER_TYPE"],
    119: ["FINISHED_GOOD_NEEDS_BATCH"],
}
DEFAULT_NOTHING_TO_DO = {114}
DEFAULT_IGNORED = {120, 121, 122}  # planned, closed, cancelled: never looked at
ITEM = {
    101: "FG-CHAIR",
    102: "FG-TABLE",
    103: "FG-SHELF",
    108: "FG-BATCHED",
    114: "FG-CHAIR",
    115: "FG-TABLE",
    116: "FG-CHAIR",
    117: "FG-TABLE",
    118: "FG-CHAIR",
}


def _name(path: Path) -> str:
    return path.relative_to(MAPPINGS).as_posix()


@dataclass
class Demo:
    """One mapping on the demo company: run cycles, read back what SAP holds."""

    sl: Any
    protocol: str
    worker: Worker
    reports: list[CycleReport] = field(default_factory=list)

    def cycle(self) -> CycleReport:
        report = self.worker.run_cycle()
        assert report.errors == [] and report.aborted is None, report.render_text()
        self.reports.append(report)
        return report

    def set_order(self, entry: int, **changes: Any) -> None:
        """The shop floor / a planner changes the order in SAP."""
        self.sl.store.patch("ProductionOrders", entry, changes)

    def in_stock(self, item: str, warehouse: str) -> float:
        rows = self.sl.store.get("Items", item)["ItemWarehouseInfoCollection"]
        return sum(float(r["InStock"]) for r in rows if r["WarehouseCode"] == warehouse)


def posted(report: CycleReport) -> dict[int, tuple[float, float]]:
    return {p.order_entry: (p.quantity, p.rejected_quantity) for p in report.posted}


def held(report: CycleReport) -> dict[int, list[str]]:
    return {h.order_entry: sorted(r["code"] for r in h.reasons) for h in report.held}


def key(entry: int, completed: float, rejected: float) -> str:
    return f"{COMPANY}/{entry}/C{completed:g}/R{rejected:g}"


def assert_receipt(
    doc: dict[str, Any], entry: int, header: dict[str, Any], lines: list[tuple[float, str, str]]
) -> None:
    """One Receipt from Production as SAP holds it: header fields, and (Quantity, Warehouse, TransactionType)
    per line, each line based on the order (BaseType 202, BaseEntry) and on its product."""
    assert {name: doc[name] for name in header} == header
    assert doc["DocDate"] == TODAY.isoformat()
    got = [(ln["Quantity"], ln["WarehouseCode"], ln["TransactionType"]) for ln in doc["DocumentLines"]]
    assert got == lines
    for line in doc["DocumentLines"]:
        assert (line["BaseType"], line["BaseEntry"], line["ItemCode"]) == (202, entry, ITEM[entry])


# -- default.yaml: the demo company's documented outcome ---------------------------------------------------


def _default_header(entry: int, completed: float, rejected: float) -> dict[str, Any]:
    number = doc_number(entry)
    return {
        "Comments": f"Receipt from production order {number} (b1-backflush)",
        "JournalMemo": f"Receipt from production {number}",
        "Reference2": None,
        "U_B1BF_Key": key(entry, completed, rejected),
        "U_B1BF_Source": None,
        "U_B1BF_OrderRef": None,
    }


def default_demo_outcome(demo: Demo) -> None:
    first = demo.cycle()
    assert posted(first) == DEFAULT_POSTED
    assert held(first) == DEFAULT_HELD
    assert first.orders_seen == 19  # every released order; 120-122 are not
    for entry, (good, rejected) in DEFAULT_POSTED.items():
        [doc] = receipts_of(demo.sl, entry)
        lines = [(good, "01", "botrntComplete")] + ([(rejected, "01", "botrntReject")] if rejected else [])
        assert_receipt(doc, entry, _default_header(entry, good, rejected), lines)
        order = order_row(demo.sl, entry)
        assert (order["CompletedQuantity"], order["RejectedQuantity"]) == (good, rejected)
    for entry in [*DEFAULT_HELD, *DEFAULT_NOTHING_TO_DO, *DEFAULT_IGNORED]:
        assert receipts_of(demo.sl, entry) == []
    second = demo.cycle()
    assert (posted(second), held(second)) == ({}, DEFAULT_HELD)
    assert len(demo.sl.store.rows("InventoryGenEntries")) == len(DEFAULT_POSTED)


# -- partial confirmations, rejects to REJ, warehouse by item group ----------------------------------------


def _partial_header(entry: int, completed: float, rejected: float) -> dict[str, Any]:
    number = doc_number(entry)
    return {
        "Comments": f"Receipt from production order {number} ({ITEM[entry]})",
        "JournalMemo": f"Receipt from production {number}",
        "Reference2": None,
        "U_B1BF_Source": "b1-backflush",
        "U_B1BF_OrderRef": f"{number}-20260425",
        "U_B1BF_Key": key(entry, completed, rejected),
    }


def partial_confirmations_reject_warehouse(demo: Demo) -> None:
    # FG-SHELF moves to an item group the mapping does not list: its receipts fall back to the
    # order's own warehouse (01); the other products (group 100) are received into QC.
    demo.sl.store.patch("Items", "FG-SHELF", {"ItemsGroupCode": 105})
    wh = {entry: "01" if ITEM[entry] == "FG-SHELF" else "QC" for entry in ITEM}

    first = demo.cycle()
    assert posted(first) == DEFAULT_POSTED
    assert held(first) == DEFAULT_HELD
    for entry, (good, rejected) in DEFAULT_POSTED.items():
        [doc] = receipts_of(demo.sl, entry)
        lines = [(good, wh[entry], "botrntComplete")]
        lines += [(rejected, "REJ", "botrntReject")] if rejected else []
        assert_receipt(doc, entry, _partial_header(entry, good, rejected), lines)

    # The shop floor confirms more, cumulatively: 101 good and rejected, 115 good only, 116 rejects only.
    demo.set_order(101, U_ConfirmedQty=7, U_RejectedQty=1)
    demo.set_order(115, U_ConfirmedQty=6)
    demo.set_order(116, U_RejectedQty=3)
    second = demo.cycle()
    assert posted(second) == {101: (3, 1), 115: (4, 0), 116: (0, 3)}
    assert held(second) == DEFAULT_HELD
    assert_receipt(
        receipts_of(demo.sl, 101)[-1],
        101,
        _partial_header(101, 7, 1),
        [(3, "QC", "botrntComplete"), (1, "REJ", "botrntReject")],
    )
    assert_receipt(
        receipts_of(demo.sl, 115)[-1], 115, _partial_header(115, 6, 0), [(4, "QC", "botrntComplete")]
    )
    assert_receipt(
        receipts_of(demo.sl, 116)[-1], 116, _partial_header(116, 5, 3), [(3, "REJ", "botrntReject")]
    )  # rejects only: one line, into REJ

    demo.set_order(101, U_ConfirmedQty=9)
    third = demo.cycle()
    assert posted(third) == {101: (2, 0)}
    assert_receipt(
        receipts_of(demo.sl, 101)[-1], 101, _partial_header(101, 9, 1), [(2, "QC", "botrntComplete")]
    )

    fourth = demo.cycle()
    assert (posted(fourth), held(fourth)) == ({}, DEFAULT_HELD)
    assert len(receipts_of(demo.sl, 101)) == 3
    order = order_row(demo.sl, 101)
    assert (order["CompletedQuantity"], order["RejectedQuantity"]) == (9, 1)
    # Every rejected unit is in the reject warehouse: 101 (1) and 116 (3) chairs, 102 (2) tables.
    assert demo.in_stock("FG-CHAIR", "REJ") == 4
    assert demo.in_stock("FG-TABLE", "REJ") == 2


# -- ready flag, batch-managed finished good, close the order ----------------------------------------------


def _ready_header(entry: int, completed: float) -> dict[str, Any]:
    number = doc_number(entry)
    return {
        "Comments": f"Receipt from production order {number} (ready flag)",
        "JournalMemo": f"Receipt from production {number}",
        "Reference2": None,
        "U_B1BF_Source": None,
        "U_B1BF_OrderRef": None,
        "U_B1BF_Key": key(entry, completed, 0),
    }


def ready_flag_batch_close(demo: Demo) -> None:
    # As shipped, only 118 (line L1) has U_ReadyToReceive = 'Y': everything still open is received.
    first = demo.cycle()
    assert (posted(first), held(first), first.orders_seen) == ({118: (10, 0)}, {}, 1)
    [doc] = receipts_of(demo.sl, 118)
    assert_receipt(doc, 118, _ready_header(118, 10), [(10, "01", "botrntComplete")])
    assert order_row(demo.sl, 118)["ProductionOrderStatus"] == "boposClosed"

    # A planner flags more orders: 108 (batch-managed FG-BATCHED), 114 (6 of 10 already received),
    # 105 (a batch-managed component on backflush: held) and 117 (line L2: not a candidate).
    for entry in (105, 108, 114, 117):
        demo.set_order(entry, U_ReadyToReceive="Y")
    second = demo.cycle()
    assert posted(second) == {108: (10, 0), 114: (4, 0)}
    assert held(second) == {105: ["BACKFLUSH_BATCH_MANAGED"]}
    assert second.orders_seen == 3  # 105, 108, 114: 117 is on line L2, 118 is closed

    [doc] = receipts_of(demo.sl, 108)
    assert_receipt(doc, 108, _ready_header(108, 10), [(10, "01", "botrntComplete")])
    # The batch number rule "{ItemNo}-{DocumentNumber}-{today:%y%m%d}", ExpiryDate = DocDate + 365 days.
    assert doc["DocumentLines"][0]["BatchNumbers"] == [
        {"BatchNumber": "FG-BATCHED-2026230108-260425", "Quantity": 10, "ExpiryDate": "2027-04-25"}
    ]
    # The batch name property as each Service Layer version names it (the mock stores v1's name).
    body = next(b for b in posted_bodies(demo.sl) if b["DocumentLines"][0]["BaseEntry"] == 108)
    name = "BatchNumber" if demo.protocol == "v1" else "BatchNumberProperty"
    assert body["DocumentLines"][0]["BatchNumbers"][0][name] == "FG-BATCHED-2026230108-260425"
    [doc] = receipts_of(demo.sl, 114)
    assert_receipt(doc, 114, _ready_header(114, 10), [(4, "01", "botrntComplete")])
    assert "BatchNumbers" not in doc["DocumentLines"][0]  # FG-CHAIR is not batch-managed

    status = {e: order_row(demo.sl, e)["ProductionOrderStatus"] for e in (105, 108, 114, 117, 118)}
    assert status == {
        105: "boposReleased",
        108: "boposClosed",
        114: "boposClosed",
        117: "boposReleased",
        118: "boposClosed",
    }
    assert order_row(demo.sl, 114)["CompletedQuantity"] == 10
    assert receipts_of(demo.sl, 117) == [] and receipts_of(demo.sl, 105) == []

    third = demo.cycle()
    assert (posted(third), held(third)) == ({}, {105: ["BACKFLUSH_BATCH_MANAGED"]})
    assert len(demo.sl.store.rows("InventoryGenEntries")) == 3


#: mappings/<name> → its scenario on the demo company. Every shipped mapping needs one.
SCENARIOS: dict[str, Callable[[Demo], None]] = {
    "default.yaml": default_demo_outcome,
    "examples/partial-confirmations-reject-warehouse.yaml": partial_confirmations_reject_warehouse,
    "examples/ready-flag-batch-close.yaml": ready_flag_batch_close,
}


def scenario_for(name: str) -> Callable[[Demo], None]:
    """The scenario of mappings/<name>; a mapping without one fails the suite."""
    if name not in SCENARIOS:
        pytest.fail(
            f"mappings/{name} has no end-to-end expectations: add its expectations to SCENARIOS in "
            f"{Path(__file__).relative_to(ROOT)} (which demo orders post, with which quantities, "
            "which are held with which code, and what each posted receipt holds)",
            pytrace=False,
        )
    return SCENARIOS[name]


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    with root_logging_kept():
        yield


@pytest.mark.parametrize("path", MAPPING_FILES, ids=[_name(p) for p in MAPPING_FILES])
def test_shipped_mapping_is_checked_and_runs_end_to_end(
    path: Path,
    mock_sl: Any,
    protocol: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario = scenario_for(_name(path))
    use_mock_settings(monkeypatch, mock_sl, protocol, tmp_path)

    offline = run_cli(capsys, "mappings", "check", str(path))
    assert (offline.code, offline.out.splitlines()) == (
        0,
        [f"Checked {path} offline.", "OK: no problems found."],
    )
    online = run_cli(capsys, "mappings", "check", str(path), "--online")
    assert (online.code, online.out.splitlines()) == (
        0,
        [f"Checked {path} offline and online (against SAP).", "OK: no problems found."],
    )

    with ExitStack() as stack:
        scenario(Demo(mock_sl, protocol, mapping_worker(mock_sl, protocol, tmp_path, path, stack, TODAY)))


def test_every_scenario_names_a_shipped_mapping() -> None:
    # A renamed or removed example must not leave its expectations behind unnoticed.
    assert sorted(SCENARIOS) == sorted(_name(p) for p in MAPPING_FILES)


def test_a_mapping_without_expectations_fails_with_what_to_do() -> None:
    with pytest.raises(
        pytest.fail.Exception,
        match=r"mappings/examples/new\.yaml has no end-to-end "
        r"expectations: add its expectations to SCENARIOS",
    ):
        scenario_for("examples/new.yaml")


def _demo_readme_outcomes() -> dict[int, str]:
    """AbsoluteEntry → 'Expected outcome' cell of the demo table in connector/demo_company/README.md."""
    # Rows of the orders table only (its second cell is the status: R, P, L, C), not the series table.
    rows = re.findall(
        r"^\| (\d{3}) \| [RPLC]\b.*\| ([^|]+) \|$", DEMO_README.read_text(encoding="utf-8"), re.M
    )
    return {int(entry): outcome.strip() for entry, outcome in rows}


def test_default_expectations_are_the_demo_readme_table() -> None:
    readme: dict[int, Any] = {}
    for entry, outcome in _demo_readme_outcomes().items():
        if match := re.match(r"posts (\d+)(?: good \+ (\d+) rejected)?\b", outcome):
            readme[entry] = ("posts", int(match[1]), int(match[2] or 0))
        elif match := re.match(r"([A-Z_]{5,})\b", outcome):
            readme[entry] = ("held", match[1])
        else:
            readme[entry] = outcome
    expected: dict[int, Any] = {e: ("posts", g, r) for e, (g, r) in DEFAULT_POSTED.items()}
    expected |= {e: ("held", codes[0]) for e, codes in DEFAULT_HELD.items()}
    expected |= {e: "nothing posted" for e in DEFAULT_NOTHING_TO_DO} | {e: "ignored" for e in DEFAULT_IGNORED}
    assert readme == expected
