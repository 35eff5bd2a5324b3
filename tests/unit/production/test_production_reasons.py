"""Reason codes: one constant per code, each documented for planners; the pure flow end to end."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from connector.production import reasons as rc
from connector.production.confirmations import plan_receipt
from connector.production.receipt import build_receipt, posting_key
from connector.production.rules import evaluate
from tests.support.production_factories import item, items, line, mapping, order

CONSTANTS = {name: value for name, value in vars(rc).items() if name.isupper() and isinstance(value, str)}
BRIEF_CODES = {
    "BACKFLUSH_BATCH_MANAGED",
    "BACKFLUSH_SERIAL_MANAGED",
    "MANUAL_NOT_ISSUED",
    "INSUFFICIENT_STOCK",
    "FINISHED_GOOD_NEEDS_BATCH",
    "FINISHED_GOOD_NEEDS_SERIAL",
    "OVER_RECEIPT",
    "INVALID_QUANTITY",
    "UNKNOWN_ITEM",
    "UNSUPPORTED_ORDER_TYPE",
    "ORDER_NOT_RELEASED",
    "SL_REJECTED",
    "INVALID_ORDER_DATA",
    "INVALID_ITEM_DATA",
    "MAPPING_RULE_FAILED",
    "POSTING_UNCERTAIN",
    "DUPLICATE_IN_SAP",
    "ALREADY_POSTED",
    "UNKNOWN_WAREHOUSE",
    "UNKNOWN_SERIES",
    "OVER_RECEIVED_IN_SAP",
}
#: The real v2 receipt that SAP accepted (201): sl-payloads/request-receipt-from-production_v2_real.json (P2).
P2_REQUEST = {
    "DocDate": "2026-04-23",
    "Comments": "P2-A receipt from production prototype",
    "DocumentLines": [{"BaseType": 202, "BaseEntry": 3585, "Quantity": 1, "WarehouseCode": "Mc"}],
}


def test_reasons_every_constant_is_its_own_name_and_documented() -> None:
    assert set(CONSTANTS) == BRIEF_CODES
    assert all(name == value for name, value in CONSTANTS.items())
    assert set(rc.REASON_HELP) == set(CONSTANTS.values()) == set(rc.ALL_CODES)


@pytest.mark.parametrize("code", sorted(BRIEF_CODES))
def test_reasons_help_has_title_and_what_to_do(code: str) -> None:
    help_ = rc.REASON_HELP[code]
    assert len(help_.title) > 10 and len(help_.what_to_do) > 30
    assert help_.title[0].isupper() and help_.what_to_do.rstrip().endswith(".")


@pytest.mark.parametrize(("severity", "blocks"), [("block", True), ("warn", False)])
def test_reasons_reason_blocks_only_when_severity_is_block(severity: str, blocks: bool) -> None:
    assert rc.Reason(code=rc.OVER_RECEIPT, severity=severity, message="m").blocks is blocks  # type: ignore[arg-type]


def test_production_flow_matches_the_real_captured_receipt_shape() -> None:
    # P2 (docs/service-layer.md §5.3): order 3585 planned 1, two backflush lines with stock in Mc.
    o = order(
        AbsoluteEntry=3585,
        DocumentNumber=2026230060,
        ItemNo="FG_P1_ODP_TEST",
        PlannedQuantity=1.0,
        Warehouse="Mc",
        U_ConfirmedQty=1.0,
        lines=[line(0, "C1", planned=1.0, warehouse="Mc"), line(1, "C2", planned=1.0, warehouse="Mc")],
    )
    catalogue = items(item("FG_P1_ODP_TEST"), item("C1", stock={"Mc": 1.0}), item("C2", stock={"Mc": 1.0}))
    m = mapping()
    the_plan = plan_receipt(o, m.quantities)
    assert not evaluate(o, the_plan, catalogue, m).reasons
    key = posting_key("SBODEMOUS", o, the_plan)
    built = build_receipt(
        o,
        the_plan,
        catalogue,
        m,
        key=key,
        today=date(2026, 4, 23),
        now=datetime(2026, 4, 23, 9),
        protocol="v2",
    )
    real = P2_REQUEST
    ours = built.payload
    assert ours["DocDate"] == real["DocDate"]
    real_line, our_line = real["DocumentLines"][0], ours["DocumentLines"][0]
    assert {k: our_line[k] for k in real_line} == real_line
    assert set(our_line) - set(real_line) == {"TransactionType"}
    assert ours["U_B1BF_Key"] == key == "SBODEMOUS/3585/C1/R0"
