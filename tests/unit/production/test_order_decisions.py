"""The worker's decision for one order, as one table: order situation → post / hold / nothing + reason codes.

``assess`` is the pure function the worker (and ``explain``) calls for every candidate order: plan the
receipt from the confirmation, run the rules, build the receipt and check what was built. Every reason
code the pure decision can produce has at least one row here (the last test checks it), so a new code
without a row fails the suite. The holds the worker decides before ``assess`` (an unsettled or duplicate
earlier posting, a confirmation already received, unreadable item masters) have their own small table
over the pure builders in production/assessment.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import connector.production
from connector.production import reasons as rc
from connector.production.assessment import (
    already_posted,
    assess,
    unfinished_posting,
    unreadable_item_reasons,
)
from connector.production.company_facts import NO_FACTS, CompanyFacts, NumberingSeries, UdfField
from connector.production.confirmations import plan_receipt
from connector.production.orders import ItemMaster
from tests.support.production_factories import item, items, line, mapping, order

COMPANY = "SBODEMOUS"
TODAY = date(2026, 4, 25)
NOW = datetime(2026, 4, 25, 8, 0)

FG = item("FG", stock={"01": 0.0})
STEEL = item("STEEL", stock={"01": 100.0})
#: One backflushed component: 10 planned for 10 products, so receiving 4 consumes 4.
STEEL_LINE = line(0, "STEEL", planned=10.0)


@dataclass(frozen=True)
class Situation:
    """One order as the worker sees it: header fields, component lines, item masters, mapping, facts."""

    header: dict[str, Any] = field(default_factory=dict)
    lines: tuple[dict[str, Any], ...] = (STEEL_LINE,)
    catalogue: tuple[ItemMaster, ...] = (FG, STEEL)
    mapping: dict[str, Any] = field(default_factory=dict)
    facts: CompanyFacts = NO_FACTS


def confirmed(good: Any, rejected: Any = 0, **header: Any) -> dict[str, Any]:
    """The order's cumulative confirmation UDFs (the default mapping reads U_ConfirmedQty/U_RejectedQty)."""
    return {"U_ConfirmedQty": good, "U_RejectedQty": rejected, **header}


# (situation, action, [(code, severity)] in reporting order)
TABLE = [
    pytest.param(Situation(confirmed(4)), "post", [], id="clean-confirmation-posts"),
    pytest.param(Situation(confirmed(4, 1)), "post", [], id="good-and-rejected-post"),
    pytest.param(Situation(confirmed(0)), "nothing", [], id="nothing-confirmed"),
    pytest.param(
        Situation(confirmed(4, CompletedQuantity=4.0)), "nothing", [], id="confirmation-already-received"
    ),
    pytest.param(
        Situation(confirmed(4, ProductionOrderType="bopotDisassembly")),
        "hold",
        [(rc.UNSUPPORTED_ORDER_TYPE, "block")],
        id="disassembly-order",
    ),
    pytest.param(
        Situation(confirmed(0, ProductionOrderStatus="boposPlanned")),
        "hold",
        [(rc.ORDER_NOT_RELEASED, "block")],
        id="not-released-even-with-nothing-to-receive",
    ),
    pytest.param(
        Situation(confirmed("four")), "hold", [(rc.INVALID_QUANTITY, "block")], id="confirmation-not-a-number"
    ),
    pytest.param(
        Situation(confirmed(3, CompletedQuantity=4.0)),
        "hold",
        [(rc.OVER_RECEIVED_IN_SAP, "block")],
        id="confirmation-below-what-sap-received",
    ),
    pytest.param(
        Situation(confirmed(4, PlannedQuantity=0.0)),
        "hold",
        [(rc.INVALID_QUANTITY, "block")],
        id="planned-quantity-zero",
    ),
    pytest.param(
        Situation(confirmed(4), lines=(STEEL_LINE, line(1, "GHOST"))),
        "hold",
        [(rc.UNKNOWN_ITEM, "block")],
        id="component-unknown-in-sap",
    ),
    pytest.param(
        Situation(confirmed(4), catalogue=(STEEL,)),
        "hold",
        [(rc.UNKNOWN_ITEM, "block")],
        id="product-unknown-in-sap",
    ),
    pytest.param(Situation(confirmed(12)), "hold", [(rc.OVER_RECEIPT, "block")], id="beyond-planned"),
    pytest.param(
        Situation(confirmed(11), mapping={"policies": {"over_receipt": {"tolerance_percent": 10}}}),
        "post",
        [],
        id="beyond-planned-within-tolerance",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            lines=(STEEL_LINE, line(1, "GLUE")),
            catalogue=(FG, STEEL, item("GLUE", batch=True, stock={"01": 100.0})),
        ),
        "hold",
        [(rc.BACKFLUSH_BATCH_MANAGED, "block")],
        id="backflushed-component-batch-managed",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            lines=(STEEL_LINE, line(1, "SENSOR")),
            catalogue=(FG, STEEL, item("SENSOR", serial=True, stock={"01": 100.0})),
        ),
        "hold",
        [(rc.BACKFLUSH_SERIAL_MANAGED, "block")],
        id="backflushed-component-serial-managed",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            lines=(STEEL_LINE, line(1, "PAINT", issue="im_Manual")),
            catalogue=(FG, STEEL, item("PAINT")),
        ),
        "hold",
        [(rc.MANUAL_NOT_ISSUED, "block")],
        id="manual-component-not-issued",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            lines=(STEEL_LINE, line(1, "PAINT", issue="im_Manual")),
            catalogue=(FG, STEEL, item("PAINT")),
            mapping={"policies": {"manual_issue": {"mode": "warn"}}},
        ),
        "post",
        [(rc.MANUAL_NOT_ISSUED, "warn")],
        id="manual-component-not-issued-warn-policy-posts",
    ),
    pytest.param(
        Situation(confirmed(4), catalogue=(FG, item("STEEL", stock={"01": 1.0}))),
        "hold",
        [(rc.INSUFFICIENT_STOCK, "block")],
        id="backflush-stock-short",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            catalogue=(FG, item("STEEL", stock={"01": 1.0})),
            mapping={"policies": {"stock": {"mode": "off"}}},
        ),
        "post",
        [],
        id="backflush-stock-short-check-off",
    ),
    pytest.param(
        Situation(confirmed(4), catalogue=(item("FG", batch=True), STEEL)),
        "hold",
        [(rc.FINISHED_GOOD_NEEDS_BATCH, "block")],
        id="product-batch-managed-without-batch-rule",
    ),
    pytest.param(
        Situation(confirmed(4), catalogue=(item("FG", serial=True), STEEL)),
        "hold",
        [(rc.FINISHED_GOOD_NEEDS_SERIAL, "block")],
        id="product-serial-managed-without-serial-rule",
    ),
    pytest.param(
        Situation(confirmed(4), facts=CompanyFacts(warehouses={"01": True, "OLD": False})),
        "post",
        [],
        id="warehouses-known-and-active",
    ),
    pytest.param(
        Situation(
            confirmed(4, Warehouse="OLD"),
            lines=(line(0, "STEEL", planned=10.0),),
            catalogue=(FG, item("STEEL", stock={"01": 100.0})),
            facts=CompanyFacts(warehouses={"01": True, "OLD": False}),
        ),
        "hold",
        [(rc.UNKNOWN_WAREHOUSE, "block")],
        id="receipt-warehouse-inactive",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            mapping={"receipt": {"series": 999}},
            facts=CompanyFacts(receipt_series={122: NumberingSeries(122, "Primary")}),
        ),
        "hold",
        [(rc.UNKNOWN_SERIES, "block")],
        id="receipt-series-not-in-sap",
    ),
    pytest.param(
        Situation(confirmed(4, U_Lot="abc"), mapping={"receipt": {"comments": "{U_Lot:05d}"}}),
        "hold",
        [(rc.MAPPING_RULE_FAILED, "block")],
        id="mapping-template-cannot-render",
    ),
    pytest.param(
        Situation(
            confirmed(4),
            mapping={
                "receipt": {"header_udfs": {"U_Source": "b1-backflush order {DocumentNumber} of {ItemNo}"}}
            },
            facts=CompanyFacts(
                udfs={
                    ("U_B1BF_Key", "OIGN"): UdfField("U_B1BF_Key", "OIGN", "db_Alpha", 100, 100),
                    ("U_Source", "OIGN"): UdfField("U_Source", "OIGN", "db_Alpha", 30, 30),
                }
            ),
        ),
        "hold",
        [(rc.MAPPING_RULE_FAILED, "block")],
        id="built-udf-longer-than-sap-holds",
    ),
    pytest.param(
        Situation(
            confirmed(12, ProductionOrderType="bopotDisassembly"),
            lines=(STEEL_LINE, line(1, "GHOST")),
        ),
        "hold",
        [(rc.UNSUPPORTED_ORDER_TYPE, "block"), (rc.UNKNOWN_ITEM, "block"), (rc.OVER_RECEIPT, "block")],
        id="several-problems-all-reported-in-rule-order",
    ),
]


def decide(s: Situation):
    return assess(
        order(lines=list(s.lines), **s.header),
        items(*s.catalogue),
        mapping(**s.mapping),
        company=COMPANY,
        today=TODAY,
        now=NOW,
        protocol="v2",
        facts=s.facts,
    )


@pytest.mark.parametrize(("situation", "action", "reasons"), TABLE)
def test_order_decision(situation: Situation, action: str, reasons: list[tuple[str, str]]) -> None:
    decision = decide(situation)
    assert decision.action == action
    assert [(r.code, r.severity) for r in decision.verdict.reasons] == reasons
    # A posting carries its key and the receipt to send; a hold or nothing sends nothing.
    if action == "post":
        assert decision.key is not None and decision.key.startswith(f"{COMPANY}/101/")
        assert decision.built is not None
        assert decision.built.payload["DocumentLines"][0]["BaseEntry"] == 101
    else:
        assert decision.key is None and decision.built is None
    # Every reason names the order by its DocumentNumber, the number planners see in SAP.
    assert all("2026230104" in r.message for r in decision.verdict.reasons)


@dataclass(frozen=True)
class Earlier:
    """A ledger posting of the order (what ``LedgerPosting`` reads)."""

    state: str
    key: str = "SBODEMOUS/101/C4/R0"
    quantity: float = 4.0
    rejected_quantity: float = 0.0
    receipt_entry: int | None = None
    receipt_number: int | None = None
    sl_message: str | None = None


#: The holds decided from the ledger and from unreadable item masters (the worker asks these builders
#: before ``assess``): situation → [(code, severity, line)].
OUTSIDE_ASSESS = [
    pytest.param(
        lambda o: [unfinished_posting(o, Earlier("uncertain"))],
        [(rc.POSTING_UNCERTAIN, "block", None)],
        id="earlier-posting-answer-lost",
    ),
    pytest.param(
        lambda o: [unfinished_posting(o, Earlier("duplicate", sl_message="2 receipts carry key K"))],
        [(rc.DUPLICATE_IN_SAP, "block", None)],
        id="earlier-posting-found-twice-in-sap",
    ),
    pytest.param(
        lambda o: [
            already_posted(o, plan_receipt(o, mapping().quantities), receipt_number=9, receipt_entry=7)
        ],
        [(rc.ALREADY_POSTED, "block", None)],
        id="confirmation-received-before-yet-order-below-target",
    ),
    pytest.param(
        lambda o: unreadable_item_reasons(o, {"FG": "ItemsGroupCode is text", "STEEL": "InventoryItem is 7"}),
        [(rc.INVALID_ITEM_DATA, "block", None), (rc.INVALID_ITEM_DATA, "block", 0)],
        id="item-masters-unreadable",
    ),
    pytest.param(lambda o: unreadable_item_reasons(o, {}), [], id="item-masters-readable"),
]


@pytest.mark.parametrize(("builder", "reasons"), OUTSIDE_ASSESS)
def test_hold_decided_outside_assess(builder, reasons: list[tuple[str, str, int | None]]) -> None:
    o = order(lines=[STEEL_LINE], **confirmed(4))
    found = builder(o)
    assert [(r.code, r.severity, r.line) for r in found] == reasons
    assert all("2026230104" in r.message for r in found)


#: The modules of the pure decision: the assessment and its reason builders, the confirmation, the rules,
#: the receipt builder and its field rules.
ASSESSMENT_MODULES = ("assessment.py", "confirmations.py", "rules.py", "receipt.py", "receipt_fields.py")


def _codes_the_pure_rules_produce() -> set[str]:
    """Every ``rc.<CODE>`` the modules of the pure decision name."""
    folder = Path(connector.production.__file__).parent
    names = {
        name
        for module in ASSESSMENT_MODULES
        for name in re.findall(r"\brc\.([A-Z_]+)\b", (folder / module).read_text())
    }
    return {getattr(rc, name) for name in names}


def test_the_table_covers_every_reason_code_the_pure_rules_produce() -> None:
    produced = _codes_the_pure_rules_produce()
    assert len(produced) >= 18  # the scan finds the rules' codes at all
    in_table = {code for param in TABLE for code, _severity in param.values[2]}
    in_table |= {reason[0] for param in OUTSIDE_ASSESS for reason in param.values[1]}
    assert produced - in_table == set(), "add a row for each code missing from TABLE"
