"""A commit slower than read timeout + quiet period: the first attempt lands after the connector found it
absent twice and posted the key again. Within two cycles of that re-post it ends as a hold a person
sees on ``status``, ``/metrics`` and the page — never as a silent second receipt, never as "enter at
least N".

* It lands before the next cycle: the re-look-up of a re-posted key finds two receipts →
  ``DUPLICATE_IN_SAP``.
* It lands later still: SAP's CompletedQuantity is then above the confirmation → ``OVER_RECEIVED_IN_SAP``
  (cancel a receipt), and ``run``'s own reconciliation marks the key a duplicate.

The mock accepts both receipts on purpose (``over_receipt``/negative stock allowed): the case under
test is SAP creating the duplicate, not SAP refusing it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector.clock import Clock
from connector.ledger import Ledger
from connector.metrics import ServiceMetrics
from connector.mock_sl.sap_rules import MockSwitches
from connector.mock_sl.server import MockServiceLayer
from connector.production import reasons as rc
from connector.service import CycleRunner
from connector.status import status_dict, status_text
from connector.status_page import status_html
from tests.support.mock import DEMO, make_settings
from tests.support.service import wait_until

KEY_FIELD = "U_B1BF_Key"


@pytest.fixture
def lenient_sl() -> Iterator[MockServiceLayer]:
    switches = MockSwitches(over_receipt="allow", allow_negative_stock=True)
    with MockServiceLayer(DEMO, port=0, switches=switches) as sl:
        yield sl


class Hours:
    """The service's monotonic clock, moved on by hand (the reconciliation is hourly)."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


def _runner(sl: MockServiceLayer, tmp_path, clock: Hours) -> tuple[CycleRunner, ServiceMetrics]:
    settings = make_settings(
        sl, "v2", tmp_path, read_timeout_s=0.5, unknown_quiet_period_s=0.5, reconcile_interval_s=3600
    )
    metrics = ServiceMetrics()
    return CycleRunner(settings, threading.Event(), clock=Clock(monotonic=clock), metrics=metrics), metrics


def _receipts_for(sl: MockServiceLayer, key: str) -> int:
    return sum(1 for doc in sl.store.rows("InventoryGenEntries") if doc.get(KEY_FIELD) == key)


def _held_codes(ledger: Ledger, entry: int) -> list[str]:
    return [r["code"] for h in ledger.holds() if h["order_entry"] == entry for r in h["reasons"]]


def _first_cycle_loses_the_answer(
    sl: MockServiceLayer, runner: CycleRunner, seconds: float
) -> tuple[str, int]:
    sl.faults.slow_commit("InventoryGenEntries", seconds=seconds, count=1)
    runner()
    [row] = runner.ensure_worker().ledger.in_flight()
    assert row.state == "uncertain"
    return row.key, row.order_entry


def test_a_first_attempt_landing_before_the_next_cycle_is_held_duplicate_in_sap(lenient_sl, tmp_path):
    clock = Hours()
    runner, metrics = _runner(lenient_sl, tmp_path, clock)
    try:
        key, entry = _first_cycle_loses_the_answer(lenient_sl, runner, seconds=2.5)
        runner()  # two empty look-ups, the quiet period counted from the send: posted again
        ledger = runner.ensure_worker().ledger
        assert ledger.get(key).state == "posted" and ledger.get(key).recheck
        wait_until(lambda: _receipts_for(lenient_sl, key) == 2, what="the slow first attempt to land")

        runner()  # the re-posted key is looked up once more
        row = ledger.get(key)
        assert row.state == "duplicate" and "2 receipts carry key" in row.sl_message
        assert _held_codes(ledger, entry) == [rc.DUPLICATE_IN_SAP]

        status = status_dict(ledger, lenient_sl.company_db)
        assert [d["key"] for d in status["duplicates"]] == [key]
        assert "ALERT" in status_text(status) and key in status_text(status)
        assert key in status_html(status) and rc.DUPLICATE_IN_SAP in status_html(status)
        assert metrics.registry.get_sample_value("b1bf_duplicates_in_sap") == 1
        assert metrics.registry.get_sample_value("b1bf_orders_held", {"code": rc.DUPLICATE_IN_SAP}) == 1
    finally:
        runner.reset()


def test_a_first_attempt_landing_after_the_re_look_up_is_held_over_received_then_reconciled(
    lenient_sl, tmp_path
):
    clock = Hours()
    runner, metrics = _runner(lenient_sl, tmp_path, clock)
    try:
        key, entry = _first_cycle_loses_the_answer(lenient_sl, runner, seconds=4)
        runner()  # posted again
        runner()  # looked up once more: still only the re-post in SAP
        ledger = runner.ensure_worker().ledger
        assert ledger.get(key).state == "posted" and not ledger.get(key).recheck
        wait_until(lambda: _receipts_for(lenient_sl, key) == 2, what="the very slow first attempt to land")

        runner()  # SAP now shows more received than confirmed
        [reason] = [r for h in ledger.holds() if h["order_entry"] == entry for r in h["reasons"]]
        assert reason["code"] == rc.OVER_RECEIVED_IN_SAP
        assert (
            "A receipt must be cancelled in SAP" in reason["message"] and "at least" not in reason["message"]
        )
        # This order and the demo's order 111, whose confirmation is below what SAP received by design.
        assert metrics.registry.get_sample_value("b1bf_orders_held", {"code": rc.OVER_RECEIVED_IN_SAP}) == 2

        clock.now += 3600  # run's hourly reconciliation is due
        runner()
        assert ledger.get(key).state == "duplicate"
        assert metrics.registry.get_sample_value("b1bf_duplicates_in_sap") == 1
        assert metrics.registry.get_sample_value("b1bf_reconcile_differences", {"kind": "duplicates"}) == 1
        status = status_dict(ledger, lenient_sl.company_db)
        assert [d["key"] for d in status["duplicates"]] == [key]
        assert status["last_reconciliation"]["duplicates"][0]["key"] == key
        runner()  # the next cycle holds the order for the duplicate
        assert _held_codes(ledger, entry) == [rc.DUPLICATE_IN_SAP]
        assert _receipts_for(lenient_sl, key) == 2  # nothing more was posted for it
    finally:
        runner.reset()
