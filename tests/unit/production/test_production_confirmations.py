"""plan_receipt: cumulative confirmed UDFs and the ready flag, against what SAP already received."""

from __future__ import annotations

from typing import Any

import pytest

from connector.mapping.spec import ConfirmedFieldsSource, ReadyFlagSource
from connector.production.confirmations import format_quantity, plan_receipt, round_quantity
from tests.support.production_factories import order

CONFIRMED = ConfirmedFieldsSource()
GOOD_ONLY = ConfirmedFieldsSource(rejected_field=None)


@pytest.mark.parametrize(
    ("confirmed", "rejected", "completed", "rejected_before", "good", "rejected_out"),
    [
        (4, None, 0.0, 0.0, 4.0, 0.0),
        (4.0, 1.0, 0.0, 0.0, 4.0, 1.0),
        ("4", "1", 0.0, 0.0, 4.0, 1.0),  # db_Alpha UDFs arrive as text
        (" 7.5 ", None, 2.5, 0.0, 5.0, 0.0),
        ("1e1", None, 0.0, 0.0, 10.0, 0.0),
        (None, None, 0.0, 0.0, 0.0, 0.0),  # no confirmation yet
        (None, None, 5.0, 1.0, 0.0, 0.0),  # null is not "0 confirmed" below a manual receipt
        (None, 2, 0.0, 0.0, 0.0, 2.0),
        (6, 2, 6.0, 2.0, 0.0, 0.0),  # everything confirmed is received
        (0.3, None, 0.1, 0.0, 0.2, 0.0),  # float noise: 0.3 - 0.1 = 0.19999999999999998
        (5.0000001, None, 5.0, 0.0, 0.0, 0.0),  # below SAP's 6 decimals
        (5.000001, None, 5.0, 0.0, 0.000001, 0.0),
    ],
)
def test_plan_receipt_confirmed_fields_table(
    confirmed: Any, rejected: Any, completed: float, rejected_before: float, good: float, rejected_out: float
) -> None:
    o = order(
        U_ConfirmedQty=confirmed,
        U_RejectedQty=rejected,
        CompletedQuantity=completed,
        RejectedQuantity=rejected_before,
    )
    plan = plan_receipt(o, CONFIRMED)
    assert plan.problems == ()
    assert (plan.good, plan.rejected) == (good, rejected_out)
    assert plan.nothing_to_receive == (good == 0 and rejected_out == 0)


@pytest.mark.parametrize(
    ("confirmed", "rejected", "completed", "rejected_before", "words"),
    [
        ("abc", None, 0.0, 0.0, "'abc', which is not a quantity"),
        ("", None, 0.0, 0.0, "not a quantity"),
        ("1_000", None, 0.0, 0.0, "not a quantity"),
        ("4,5", None, 0.0, 0.0, "not a quantity"),
        (float("nan"), None, 0.0, 0.0, "not a quantity"),
        ("nan", None, 0.0, 0.0, "not a quantity"),
        ("inf", None, 0.0, 0.0, "not a quantity"),
        (True, None, 0.0, 0.0, "not a quantity"),
        ([4], None, 0.0, 0.0, "not a quantity"),
        (-1, None, 0.0, 0.0, "negative"),
        ("-0.5", None, 0.0, 0.0, "negative"),
        (8, "x", 0.0, 0.0, "U_RejectedQty (the rejected quantity) is 'x'"),
    ],
)
def test_plan_receipt_invalid_confirmation_is_a_blocking_problem(
    confirmed: Any, rejected: Any, completed: float, rejected_before: float, words: str
) -> None:
    o = order(
        U_ConfirmedQty=confirmed,
        U_RejectedQty=rejected,
        CompletedQuantity=completed,
        RejectedQuantity=rejected_before,
    )
    plan = plan_receipt(o, CONFIRMED)
    assert [p.code for p in plan.problems] == ["INVALID_QUANTITY"]
    assert plan.problems[0].severity == "block"
    assert words in plan.problems[0].message
    assert "Order 2026230104" in plan.problems[0].message
    # Half a confirmation is never posted: both quantities are zero when anything is wrong.
    assert (plan.good, plan.rejected) == (0.0, 0.0)


def test_plan_receipt_reports_both_fields_when_both_are_bad() -> None:
    plan = plan_receipt(order(U_ConfirmedQty="a", U_RejectedQty=-1), CONFIRMED)
    assert [p.message.split(" (")[0] for p in plan.problems] == [
        "Order 2026230104: U_ConfirmedQty",
        "Order 2026230104: U_RejectedQty",
    ]


def test_plan_receipt_ignores_rejected_udf_when_mapping_has_no_rejected_field() -> None:
    plan = plan_receipt(order(U_ConfirmedQty=4, U_RejectedQty="garbage"), GOOD_ONLY)
    assert (plan.good, plan.rejected, plan.problems) == (4.0, 0.0, ())


def test_plan_receipt_uses_the_configured_udf_names() -> None:
    source = ConfirmedFieldsSource(confirmed_field="U_Done", rejected_field="U_Scrap")
    plan = plan_receipt(order(U_Done=3, U_Scrap=1, U_ConfirmedQty=9), source)
    assert (plan.good, plan.rejected) == (3.0, 1.0)


@pytest.mark.parametrize(
    ("flag", "planned", "completed", "rejected", "good"),
    [
        ("Y", 10.0, 0.0, 0.0, 10.0),
        ("Y", 10.0, 4.0, 1.0, 5.0),
        ("Y", 10.0, 10.0, 0.0, 0.0),
        ("Y", 10.0, 9.0, 3.0, 0.0),  # already over-received by hand: nothing, never negative
        ("N", 10.0, 0.0, 0.0, 0.0),
        (None, 10.0, 0.0, 0.0, 0.0),
        ("y", 10.0, 0.0, 0.0, 0.0),  # the value is compared exactly
        ("Y", 0.3, 0.1, 0.0, 0.2),
    ],
)
def test_plan_receipt_ready_flag_table(
    flag: Any, planned: float, completed: float, rejected: float, good: float
) -> None:
    o = order(
        U_ReadyToReceive=flag,
        PlannedQuantity=planned,
        CompletedQuantity=completed,
        RejectedQuantity=rejected,
        U_ConfirmedQty=99,
    )
    plan = plan_receipt(o, ReadyFlagSource())
    assert (plan.good, plan.rejected, plan.problems) == (good, 0.0, ())


def test_plan_receipt_ready_flag_accepts_numeric_flag_for_text_value() -> None:
    plan = plan_receipt(order(U_Ready=1), ReadyFlagSource(ready_field="U_Ready", ready_value="1"))
    assert plan.good == 10.0


@pytest.mark.parametrize(
    ("confirmed", "rejected", "completed", "rejected_before", "targets"),
    [
        (4, 1, 0.0, 0.0, (4.0, 1.0)),
        (7.5, None, 2.5, 1.0, (7.5, 1.0)),
        (None, None, 3.0, 0.0, (3.0, 0.0)),
        (0.3, None, 0.1, 0.0, (0.3, 0.0)),
    ],
)
def test_plan_receipt_cumulative_targets(
    confirmed: Any, rejected: Any, completed: float, rejected_before: float, targets: tuple[float, float]
) -> None:
    o = order(
        U_ConfirmedQty=confirmed,
        U_RejectedQty=rejected,
        CompletedQuantity=completed,
        RejectedQuantity=rejected_before,
    )
    plan = plan_receipt(o, CONFIRMED)
    assert (plan.completed_target, plan.rejected_target) == targets


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4.0, "4"),
        (4.5, "4.5"),
        (0.125, "0.125"),
        (1e-05, "0.00001"),
        (4.0000001, "4"),
        (10.0, "10"),
        (1200.0, "1200"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (123456789.123456, "123456789.123456"),
    ],
)
def test_format_quantity_is_canonical(value: float, text: str) -> None:
    assert format_quantity(value) == text


def test_round_quantity_drops_negative_zero() -> None:
    assert str(round_quantity(-0.0000001)) == "0.0"


@pytest.mark.parametrize(
    ("confirmed", "rejected", "completed", "rejected_before", "words"),
    [
        (
            3,
            None,
            5.0,
            0.0,
            "SAP has already received 5 confirmed good for this order, but U_ConfirmedQty "
            "confirms only 3 in total: 2 too many",
        ),
        (
            8,
            0,
            8.0,
            1.0,
            "SAP has already received 1 rejected for this order, but U_RejectedQty confirms only 0",
        ),
    ],
)
def test_plan_receipt_sap_above_the_confirmation_is_over_received_and_asks_for_a_cancellation(
    confirmed: Any, rejected: Any, completed: float, rejected_before: float, words: str
) -> None:
    o = order(
        U_ConfirmedQty=confirmed,
        U_RejectedQty=rejected,
        CompletedQuantity=completed,
        RejectedQuantity=rejected_before,
    )
    plan = plan_receipt(o, CONFIRMED)
    assert [p.code for p in plan.problems] == ["OVER_RECEIVED_IN_SAP"]
    message = plan.problems[0].message
    assert words in message and "A receipt must be cancelled in SAP" in message
    assert "at least" not in message  # raising the confirmation would lock the over-receipt in
    assert (plan.good, plan.rejected) == (0.0, 0.0)
