"""Where the quantity to receive comes from: cumulative confirmed UDFs or a ready flag on the order.

The plan is always computed against what SAP has already received (``CompletedQuantity`` /
``RejectedQuantity``), never against a local counter: the confirmation is cumulative, so the
same confirmation read twice yields the same cumulative targets, and a receipt posted by a user
by hand simply lowers what is left to receive.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.mapping.spec import ConfirmedFieldsSource, ReadyFlagSource
from connector.production import reasons as rc
from connector.production.orders import ProductionOrder
from connector.production.reasons import Reason

#: SAP stores quantities with at most 6 decimals; rounding there removes float noise (0.1 + 0.2).
QUANTITY_DECIMALS = 6

# A plain decimal number as a db_Alpha UDF may hold it. float() alone would also accept "1_000",
# "inf" and "nan", none of which a planner means as a quantity.
_NUMERIC_TEXT = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def round_quantity(value: float) -> float:
    """Round to SAP's 6 decimals; -0.0 becomes 0.0."""
    return round(value, QUANTITY_DECIMALS) + 0.0


def format_quantity(value: float) -> str:
    """Canonical decimal text: 4, 4.5, 0.125, 0.00001 (never 4.0, 4.0000001 or 1e-05)."""
    rounded = round_quantity(value)
    if rounded == 0:
        return "0"
    return format(Decimal(repr(rounded)).normalize(), "f")


@dataclass(frozen=True)
class ReceiptPlan:
    """What to receive now (good and rejected) and what SAP will then show as cumulative totals."""

    good: float
    rejected: float
    problems: tuple[Reason, ...] = ()
    #: ``CompletedQuantity`` / ``RejectedQuantity`` of the order the plan was made from.
    completed_before: float = 0.0
    rejected_before: float = 0.0

    @property
    def nothing_to_receive(self) -> bool:
        """True when neither good nor rejected quantity is waiting."""
        return self.good <= 0 and self.rejected <= 0

    @property
    def completed_target(self) -> float:
        """``CompletedQuantity`` once this receipt is posted."""
        return round_quantity(self.completed_before + self.good)

    @property
    def rejected_target(self) -> float:
        """``RejectedQuantity`` once this receipt is posted."""
        return round_quantity(self.rejected_before + self.rejected)


def _problem(order: ProductionOrder, message: str, code: str = rc.INVALID_QUANTITY) -> Reason:
    return Reason(
        code=code,
        severity="block",
        message=f"Order {order.DocumentNumber}: {message}",
        item=order.ItemNo,
    )


def _read_cumulative(order: ProductionOrder, field: str, already: float, what: str) -> float | Reason | None:
    """The confirmed cumulative value of one UDF; None = not confirmed yet; a Reason when unusable."""
    raw: Any = order.fields.get(field)
    if raw is None:
        # Only a null UDF means "nothing confirmed yet"; it is not "0 confirmed", which would be
        # below a CompletedQuantity a user posted by hand and hold the order for nothing.
        return None
    number: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):  # noqa: SIM114 - two kinds of input
        number = float(raw)
    elif isinstance(raw, str) and _NUMERIC_TEXT.match(raw):
        number = float(raw)
    if number is None or not math.isfinite(number):
        return _problem(
            order,
            f"{field} (the {what} quantity) is {raw!r}, which is not a quantity. "
            "Enter the total as a plain number, e.g. 12 or 12.5.",
        )
    number = round_quantity(number)
    if number < 0:
        return _problem(
            order,
            f"{field} (the {what} quantity) is {format_quantity(number)}, a negative "
            "quantity. Enter the total produced so far.",
        )
    if number < round_quantity(already):
        # SAP received more than was confirmed: typically a receipt posted twice (a commit slower
        # than every look-up) or by hand. Raising the confirmation would lock the excess in.
        extra = format_quantity(round_quantity(already) - number)
        return _problem(
            order,
            f"SAP has already received {format_quantity(already)} {what} for this order, but "
            f"{field} confirms only {format_quantity(number)} in total: {extra} too many were "
            "received. A receipt must be cancelled in SAP (a duplicate, or one posted by hand); "
            "nothing more is posted for this order until SAP's total is back within the confirmation.",
            rc.OVER_RECEIVED_IN_SAP,
        )
    return number


def _plan(
    order: ProductionOrder, good: float, rejected: float, problems: tuple[Reason, ...] = ()
) -> ReceiptPlan:
    return ReceiptPlan(
        good,
        rejected,
        problems,
        completed_before=order.CompletedQuantity,
        rejected_before=order.RejectedQuantity,
    )


def _plan_confirmed(order: ProductionOrder, source: ConfirmedFieldsSource) -> ReceiptPlan:
    good_total = _read_cumulative(order, source.confirmed_field, order.CompletedQuantity, "confirmed good")
    rejected_total = (
        _read_cumulative(order, source.rejected_field, order.RejectedQuantity, "rejected")
        if source.rejected_field
        else None
    )
    problems = tuple(value for value in (good_total, rejected_total) if isinstance(value, Reason))
    if problems:
        # Never post half of a confirmation: a bad rejected figure also stops the good quantity.
        return _plan(order, 0.0, 0.0, problems)
    good = rejected = 0.0
    if isinstance(good_total, float):
        good = round_quantity(good_total - order.CompletedQuantity)
    if isinstance(rejected_total, float):
        rejected = round_quantity(rejected_total - order.RejectedQuantity)
    return _plan(order, good, rejected)


def _plan_ready_flag(order: ProductionOrder, source: ReadyFlagSource) -> ReceiptPlan:
    flag = order.fields.get(source.ready_field)
    # Compared as text: a db_Alpha flag arrives as "Y", a numeric UDF as 1 for ready_value "1".
    if flag is None or str(flag).strip() != source.ready_value:
        return _plan(order, 0.0, 0.0)
    open_quantity = round_quantity(order.PlannedQuantity - order.CompletedQuantity - order.RejectedQuantity)
    return _plan(order, max(open_quantity, 0.0), 0.0)


def describe_source(source: ConfirmedFieldsSource | ReadyFlagSource, *, rejected: bool) -> str:
    """Provenance text: how the good (or rejected) quantity is computed under ``source``."""
    if isinstance(source, ReadyFlagSource):
        return (
            f"quantities ready_flag: {source.ready_field} = {source.ready_value!r} → PlannedQuantity − "
            "CompletedQuantity − RejectedQuantity"
        )
    if rejected:
        return f"quantities confirmed_fields: {source.rejected_field} − RejectedQuantity"
    return f"quantities confirmed_fields: {source.confirmed_field} − CompletedQuantity"


def plan_receipt(order: ProductionOrder, source: ConfirmedFieldsSource | ReadyFlagSource) -> ReceiptPlan:
    """What to receive now for ``order`` according to the mapping's quantity source (pure)."""
    if isinstance(source, ReadyFlagSource):
        return _plan_ready_flag(order, source)
    return _plan_confirmed(order, source)
