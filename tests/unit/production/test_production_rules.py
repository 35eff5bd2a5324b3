"""evaluate(): every rule as a table — pass, hold, warn, off, tolerance boundaries, ordering."""

from __future__ import annotations

from typing import Any

import pytest

from connector.production import reasons as rc
from connector.production.confirmations import ReceiptPlan
from connector.production.reasons import Reason
from connector.production.rules import Verdict, evaluate
from tests.support.production_factories import item, items, line, mapping, order, plan

FG = item("FG", stock={"01": 0.0})


def found(verdict: Verdict) -> list[tuple[str, str, int | None]]:
    return [(r.code, r.severity, r.line) for r in verdict.reasons]


def test_evaluate_clean_order_passes() -> None:
    o = order(lines=[line(0, "STEEL", planned=20.0), line(1, "BOLT", issue="im_Manual", issued=4.0)])
    verdict = evaluate(o, plan(4), items(FG, item("STEEL", stock={"01": 8.0}), item("BOLT")), mapping())
    assert verdict.reasons == ()
    assert not verdict.blocked


@pytest.mark.parametrize(
    ("kind", "allowed", "held"),
    [
        ("bopotStandard", None, False),
        ("bopotSpecial", None, False),
        ("bopotDisassembly", None, True),
        ("bopotDisassembly", ["bopotStandard", "bopotSpecial"], True),
        ("bopotSpecial", ["bopotStandard"], True),
    ],
)
def test_evaluate_order_type(kind: str, allowed: list[str] | None, held: bool) -> None:
    m = mapping(candidates={"order_types": allowed}) if allowed else mapping()
    verdict = evaluate(order(ProductionOrderType=kind), plan(1), items(FG), m)
    assert found(verdict) == ([(rc.UNSUPPORTED_ORDER_TYPE, "block", None)] if held else [])


@pytest.mark.parametrize("status", ["boposPlanned", "boposClosed", "boposCancelled", ""])
def test_evaluate_not_released_blocks_even_with_nothing_to_receive(status: str) -> None:
    verdict = evaluate(order(ProductionOrderStatus=status), plan(0), items(FG), mapping())
    assert found(verdict) == [(rc.ORDER_NOT_RELEASED, "block", None)]
    assert "not released" in verdict.reasons[0].message


def test_evaluate_passes_plan_problems_through() -> None:
    problem = Reason(code=rc.INVALID_QUANTITY, severity="block", message="Order 1: bad")
    verdict = evaluate(order(), ReceiptPlan(0.0, 0.0, (problem,)), items(FG), mapping())
    assert verdict.reasons == (problem,)
    assert verdict.blocked


@pytest.mark.parametrize("planned", [0.0, -5.0])
def test_evaluate_planned_quantity_not_positive_is_invalid(planned: float) -> None:
    verdict = evaluate(order(PlannedQuantity=planned), plan(0), items(FG), mapping())
    assert (rc.INVALID_QUANTITY, "block", None) in found(verdict)


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        (("FG", "A", "B"), []),
        (("A", "B"), [(rc.UNKNOWN_ITEM, "block", None)]),
        (("FG", "B"), [(rc.UNKNOWN_ITEM, "block", 0)]),
        (("FG",), [(rc.UNKNOWN_ITEM, "block", 0), (rc.UNKNOWN_ITEM, "block", 2)]),
    ],
)
def test_evaluate_unknown_items(known: tuple[str, ...], expected: list[Any]) -> None:
    o = order(
        lines=[
            line(2, "B"),
            line(0, "A"),
            line(1, "LABOUR", kind="pit_Resource"),
            line(3, None, kind="pit_Text"),
        ]
    )
    catalogue = items(*(item(c, stock={"01": 100.0}) for c in known))
    assert found(evaluate(o, plan(1), catalogue, mapping())) == expected


@pytest.mark.parametrize(
    ("completed", "rejected_before", "good", "rejected", "percent", "held"),
    [
        (0.0, 0.0, 10.0, 0.0, 0.0, False),
        (6.0, 1.0, 3.0, 0.0, 0.0, False),
        (6.0, 1.0, 3.0, 0.5, 0.0, True),
        (0.0, 0.0, 10.000001, 0.0, 0.0, False),  # within 1e-6
        (0.0, 0.0, 10.00001, 0.0, 0.0, True),
        (0.0, 0.0, 11.0, 0.0, 10.0, False),  # exactly at the tolerance
        (0.0, 0.0, 11.1, 0.0, 10.0, True),
        (10.0, 0.0, 0.0, 0.0, 0.0, False),
        (12.0, 0.0, 0.0, 0.0, 0.0, False),  # over-received by hand, nothing to receive: not held
    ],
)
def test_evaluate_over_receipt(
    completed: float, rejected_before: float, good: float, rejected: float, percent: float, held: bool
) -> None:
    o = order(CompletedQuantity=completed, RejectedQuantity=rejected_before)
    m = mapping(policies={"over_receipt": {"tolerance_percent": percent}})
    verdict = evaluate(
        o, plan(good, rejected, completed=completed, rejected_before=rejected_before), items(FG), m
    )
    assert found(verdict) == ([(rc.OVER_RECEIPT, "block", None)] if held else [])


@pytest.mark.parametrize(
    ("batch", "serial", "issue", "kind", "expected"),
    [
        (True, False, "im_Backflush", "pit_Item", [rc.BACKFLUSH_BATCH_MANAGED]),
        (False, True, "im_Backflush", "pit_Item", [rc.BACKFLUSH_SERIAL_MANAGED]),
        (True, False, "im_Manual", "pit_Item", []),
        (False, False, "im_Backflush", "pit_Item", []),
        (True, True, "im_Backflush", "pit_Resource", []),
    ],
)
def test_evaluate_backflush_tracked_components(
    batch: bool, serial: bool, issue: str, kind: str, expected: list[str]
) -> None:
    o = order(lines=[line(0, "C", issue=issue, kind=kind, issued=100.0)])
    # Even with every policy off the tracked-backflush rule blocks: SAP refuses the whole receipt.
    m = mapping(policies={"manual_issue": {"mode": "off"}, "stock": {"mode": "off"}})
    verdict = evaluate(o, plan(1), items(FG, item("C", batch=batch, serial=serial, stock={"01": 100.0})), m)
    assert [(r.code, r.severity, r.line, r.item) for r in verdict.reasons] == [
        (c, "block", 0, "C") for c in expected
    ]


# Line planned 10 for an order of 10: each received unit needs 1 issued.
@pytest.mark.parametrize(
    ("mode", "tolerance", "issued", "completed", "good", "rejected", "expected"),
    [
        ("block", 0.0001, 4.0, 0.0, 4.0, 0.0, []),
        ("block", 0.0001, 3.0, 0.0, 4.0, 0.0, [(rc.MANUAL_NOT_ISSUED, "block", 1)]),
        ("warn", 0.0001, 3.0, 0.0, 4.0, 0.0, [(rc.MANUAL_NOT_ISSUED, "warn", 1)]),
        ("off", 0.0001, 0.0, 0.0, 4.0, 0.0, []),
        ("block", 0.5, 3.5, 0.0, 4.0, 0.0, []),  # exactly at the tolerance
        ("block", 0.5, 3.4999, 0.0, 4.0, 0.0, [(rc.MANUAL_NOT_ISSUED, "block", 1)]),
        ("block", 0.0, 5.0, 2.0, 2.0, 1.0, []),  # past receipts + good + rejected
        ("block", 0.0, 4.9, 2.0, 2.0, 1.0, [(rc.MANUAL_NOT_ISSUED, "block", 1)]),
        ("block", 0.0, 0.0, 2.0, 0.0, 0.0, []),  # nothing to receive: not checked
    ],
)
def test_evaluate_manual_issue_policy(
    mode: str,
    tolerance: float,
    issued: float,
    completed: float,
    good: float,
    rejected: float,
    expected: list[Any],
) -> None:
    o = order(
        CompletedQuantity=completed,
        lines=[
            line(1, "BOLT", issue="im_Manual", issued=issued),
            line(2, "LAB", kind="pit_Resource", issue="im_Manual"),
        ],
    )
    m = mapping(policies={"manual_issue": {"mode": mode, "tolerance": tolerance}})
    verdict = evaluate(o, plan(good, rejected, completed=completed), items(FG, item("BOLT"), item("LAB")), m)
    assert found(verdict) == expected


def test_evaluate_manual_issue_message_speaks_planner() -> None:
    o = order(lines=[line(1, "BOLT-M8", issue="im_Manual")])
    reason = evaluate(o, plan(4), items(FG, item("BOLT-M8")), mapping()).reasons[0]
    assert reason.message == (
        # LineNumber 1 is the second row on SAP's screen: people read "line 2".
        "Order 2026230104 line 2: component BOLT-M8 is issued manually; 0 of 4 needed for this receipt "
        "have been issued (line planned 10 for 10 units). Issue the missing 4 with an Issue for "
        "Production, then the receipt is posted next cycle."
    )
    assert (reason.line, reason.item) == (1, "BOLT-M8")


@pytest.mark.parametrize(
    ("mode", "tolerance", "in_stock", "good", "rejected", "expected"),
    [
        ("block", 0.0001, 8.0, 4.0, 0.0, []),  # needs 2 × 4 = 8
        ("block", 0.0001, 7.9, 4.0, 0.0, [(rc.INSUFFICIENT_STOCK, "block", 0)]),
        ("warn", 0.0001, 7.9, 4.0, 0.0, [(rc.INSUFFICIENT_STOCK, "warn", 0)]),
        ("off", 0.0001, 0.0, 4.0, 0.0, []),
        ("block", 0.0001, 8.0, 3.0, 1.0, []),  # reject receipts backflush too
        ("block", 0.0001, 7.0, 3.0, 1.0, [(rc.INSUFFICIENT_STOCK, "block", 0)]),
        ("block", 0.5, 7.5, 4.0, 0.0, []),  # exactly at the tolerance
        ("block", 0.5, 7.4, 4.0, 0.0, [(rc.INSUFFICIENT_STOCK, "block", 0)]),
        ("block", 0.0001, 0.0, 0.0, 0.0, []),  # nothing to receive
    ],
)
def test_evaluate_stock_policy(
    mode: str, tolerance: float, in_stock: float, good: float, rejected: float, expected: list[Any]
) -> None:
    o = order(lines=[line(0, "STEEL", planned=20.0)])
    m = mapping(policies={"stock": {"mode": mode, "tolerance": tolerance}})
    verdict = evaluate(o, plan(good, rejected), items(FG, item("STEEL", stock={"01": in_stock})), m)
    assert found(verdict) == expected


def test_evaluate_stock_aggregates_lines_per_item_and_warehouse() -> None:
    # STEEL in 01 twice (3 + 4 = 7 > 6 in stock); STEEL in 02 alone (2 ≤ 2); GLUE in 01 (5 > 4).
    o = order(
        lines=[
            line(0, "STEEL", planned=30.0),
            line(3, "STEEL", planned=40.0),
            line(1, "STEEL", planned=20.0, warehouse="02"),
            line(2, "GLUE", planned=50.0),
        ]
    )
    catalogue = items(FG, item("STEEL", stock={"01": 6.0, "02": 2.0}), item("GLUE", stock={"01": 4.0}))
    verdict = evaluate(o, plan(1), catalogue, mapping())
    assert [(r.code, r.line, r.item) for r in verdict.reasons] == [
        (rc.INSUFFICIENT_STOCK, 0, "STEEL"),
        (rc.INSUFFICIENT_STOCK, 2, "GLUE"),
    ]
    assert "lines 1, 4" in verdict.reasons[0].message  # as SAP's screen numbers LineNumber 0 and 3
    assert "backflushes 7, but only 6 are in stock (short by 1)" in verdict.reasons[0].message


@pytest.mark.parametrize(
    ("component", "component_line", "expected"),
    [
        (item("X", stock={}), line(0, "X"), [(rc.INSUFFICIENT_STOCK, "block", 0)]),  # no warehouse row = 0
        (item("X", stock={}, inventory=False), line(0, "X"), []),  # non-stock item
        (item("X", stock={}), line(0, "X", kind="pit_Resource"), []),
        (item("X", stock={}), line(0, "X", kind="pit_Text"), []),
        (item("X", stock={}), line(0, "X", issue="im_Manual", issued=100.0), []),  # not backflushed
        (item("X", stock={}), line(0, "X", planned=-2.0), []),  # by-product: received
    ],
)
def test_evaluate_stock_only_for_backflushed_stock_items(
    component: Any, component_line: dict[str, Any], expected: list[Any]
) -> None:
    verdict = evaluate(order(lines=[component_line]), plan(1), items(FG, component), mapping())
    assert found(verdict) == expected


@pytest.mark.parametrize(
    ("batch", "serial", "fg_rule", "good", "expected"),
    [
        (True, False, {}, 1.0, [rc.FINISHED_GOOD_NEEDS_BATCH]),
        (True, False, {"batch": {}}, 1.0, []),
        (False, True, {}, 1.0, [rc.FINISHED_GOOD_NEEDS_SERIAL]),
        (False, True, {"serial": {}}, 2.0, []),
        (False, True, {"serial": {}}, 2.5, [rc.INVALID_QUANTITY]),
        (False, True, {}, 0.5, [rc.FINISHED_GOOD_NEEDS_SERIAL, rc.INVALID_QUANTITY]),
        (True, False, {}, 0.0, []),  # nothing to receive
        (False, False, {}, 2.5, []),
    ],
)
def test_evaluate_finished_good_tracking(
    batch: bool, serial: bool, fg_rule: dict[str, Any], good: float, expected: list[str]
) -> None:
    product = item("FG", batch=batch, serial=serial)
    verdict = evaluate(order(), plan(good), items(product), mapping(finished_good=fg_rule))
    assert [r.code for r in verdict.reasons] == expected
    assert all(r.severity == "block" for r in verdict.reasons)


def test_evaluate_reports_every_reason_in_rule_then_line_order() -> None:
    o = order(
        ProductionOrderStatus="boposClosed",
        CompletedQuantity=9.0,
        lines=[line(3, "BOLT", issue="im_Manual"), line(1, "LOT", planned=10.0), line(0, "STEEL")],
    )
    catalogue = items(
        item("FG", batch=True),
        item("BOLT"),
        item("LOT", batch=True, stock={"01": 100.0}),
        item("STEEL", stock={}),
    )
    m = mapping(policies={"manual_issue": {"mode": "warn"}})
    verdict = evaluate(o, plan(3, completed=9.0), catalogue, m)
    assert found(verdict) == [
        (rc.ORDER_NOT_RELEASED, "block", None),
        (rc.OVER_RECEIPT, "block", None),
        (rc.BACKFLUSH_BATCH_MANAGED, "block", 1),
        (rc.MANUAL_NOT_ISSUED, "warn", 3),
        (rc.INSUFFICIENT_STOCK, "block", 0),
        (rc.FINISHED_GOOD_NEEDS_BATCH, "block", None),
    ]
    assert [r.code for r in verdict.warnings] == [rc.MANUAL_NOT_ISSUED]
    assert len(verdict.blocking) == 5 and verdict.blocked


def test_evaluate_warnings_alone_do_not_block() -> None:
    o = order(lines=[line(0, "BOLT", issue="im_Manual")])
    verdict = evaluate(
        o, plan(1), items(FG, item("BOLT")), mapping(policies={"manual_issue": {"mode": "warn"}})
    )
    assert [r.code for r in verdict.warnings] == [rc.MANUAL_NOT_ISSUED]
    assert not verdict.blocked and verdict.blocking == ()


def test_evaluate_every_message_names_the_order() -> None:
    o = order(
        ProductionOrderType="bopotDisassembly",
        ProductionOrderStatus="boposPlanned",
        PlannedQuantity=0.0,
        lines=[line(0, "NOPE")],
    )
    verdict = evaluate(o, plan(1), {}, mapping())
    assert len(verdict.reasons) == 5
    assert all("Order 2026230104" in r.message for r in verdict.reasons)
    assert all(r.code in rc.REASON_HELP for r in verdict.reasons)
