"""SAP's duplicate guard (``b1-backflush mappings guard-sql``): with it in SBO_SP_TransactionNotification,
SAP itself refuses a second receipt for a posting key. The two ways past the connector's own rules are
then prevented, not just caught afterwards:

* two connectors on different ledgers for one company (README, exactly-once assumption 1);
* a first attempt SAP commits later than read timeout + quiet period (assumption 2).

The mock imitates the guard with ``MockSwitches.duplicate_key_guard``; over-receipt and negative stock
are allowed, so nothing but the guard stands between a race and a second receipt.
"""

from __future__ import annotations

import collections
from contextlib import ExitStack

from connector import posting
from connector.composition import build_worker
from connector.metrics import ServiceMetrics
from connector.mock_sl.sap_rules import MockSwitches
from connector.mock_sl.server import MockServiceLayer
from connector.production import reasons as rc
from tests.support.exactly_once import KEY_FIELD
from tests.support.mock import DEMO, make_settings
from tests.support.service import wait_until


def _receipts_per_key(sl) -> collections.Counter[str]:
    return collections.Counter(
        doc[KEY_FIELD] for doc in sl.store.rows("InventoryGenEntries") if doc.get(KEY_FIELD)
    )


def _held(report, code: str) -> dict[int, str]:
    """Order entry → message of the holds with ``code``."""
    return {h.order_entry: r["message"] for h in report.held for r in h.reasons if r["code"] == code}


def _race(mock_sl, worker_factory, tmp_path, monkeypatch):
    """The first connector has read its orders and committed its first intent; right then the second,
    with a ledger of its own, runs a whole cycle on the same company. Then the first goes on."""
    mock_sl.switches.allow_negative_stock = True
    first = worker_factory(ledger_path=tmp_path / "first.sqlite3")
    second = worker_factory(ledger_path=tmp_path / "second.sqlite3")
    reports = {}

    def second_connector_runs_meanwhile(point: str) -> None:
        if point == "after_intent" and "second" not in reports:
            reports["second"] = None  # its own intents pass here too
            reports["second"] = second.run_cycle()

    monkeypatch.setattr(posting, "CRASH_HOOK", second_connector_runs_meanwhile)
    reports["first"] = first.run_cycle()
    return first, reports["first"], second, reports["second"]


def test_two_connectors_with_their_own_ledgers_post_each_key_once_with_the_guard(
    mock_sl, worker_factory, tmp_path, monkeypatch
):
    mock_sl.switches.duplicate_key_guard = KEY_FIELD
    first, first_report, second, second_report = _race(mock_sl, worker_factory, tmp_path, monkeypatch)

    per_key = _receipts_per_key(mock_sl)
    assert per_key and set(per_key.values()) == {1}
    posted_by = {p.order_entry: p for report in (first_report, second_report) for p in report.posted}
    assert not {p.order_entry for p in first_report.posted} & {p.order_entry for p in second_report.posted}
    # Whichever connector lost an order's race holds it ALREADY_POSTED, naming the winner's receipt,
    # and its ledger points at that receipt: the key is never sent again.
    for loser, loser_report in ((first, first_report), (second, second_report)):
        for entry, message in _held(loser_report, rc.ALREADY_POSTED).items():
            winner = posted_by[entry]
            assert "duplicate guard" in message and f"DocEntry {winner.receipt_entry}" in message
            row = loser.ledger.get(winner.key)
            assert (row.state, row.receipt_entry) == ("posted", winner.receipt_entry)
    refused = _held(first_report, rc.ALREADY_POSTED).keys() | _held(second_report, rc.ALREADY_POSTED).keys()
    assert refused, "the race never happened: no POST met the guard"
    # IT sees it on /metrics: another connector posts for this company.
    refusals = first_report.refused_by_duplicate_guard + second_report.refused_by_duplicate_guard
    assert refusals == len(_held(first_report, rc.ALREADY_POSTED)) + len(
        _held(second_report, rc.ALREADY_POSTED)
    )
    metrics = ServiceMetrics()
    for report in (first_report, second_report):
        metrics.cycle_finished(report, duration_s=1.0, finished_at=0.0, postings_by_state={})
    assert metrics.registry.get_sample_value("b1bf_receipts_refused_by_duplicate_guard_total") == refusals

    # Next cycle both see SAP's quantities: nothing more is posted, nothing is held for the race.
    for worker in (first, second):
        again = worker.run_cycle()
        assert not again.posted and not _held(again, rc.ALREADY_POSTED)
    assert set(_receipts_per_key(mock_sl).values()) == {1}


def test_without_the_guard_the_same_race_makes_second_receipts(
    mock_sl, worker_factory, tmp_path, monkeypatch
):
    # What assumption 1 says, and the proof that the race above is real: SAP as it ships takes both.
    _race(mock_sl, worker_factory, tmp_path, monkeypatch)
    assert max(_receipts_per_key(mock_sl).values()) == 2


def test_a_first_attempt_committed_after_the_quiet_period_is_refused_by_the_guard(tmp_path):
    switches = MockSwitches(over_receipt="allow", allow_negative_stock=True, duplicate_key_guard=KEY_FIELD)
    with MockServiceLayer(DEMO, port=0, switches=switches) as sl, ExitStack() as stack:
        settings = make_settings(sl, "v2", tmp_path, read_timeout_s=0.5, unknown_quiet_period_s=0.5)
        worker = build_worker(settings, stack)
        sl.faults.slow_commit("InventoryGenEntries", seconds=2.5, count=1)
        worker.run_cycle()
        [row] = worker.ledger.in_flight()
        assert row.state == "uncertain"

        worker.run_cycle()  # two empty look-ups a quiet period apart: posted again, and SAP took it
        assert _receipts_per_key(sl)[row.key] == 1 and worker.ledger.get(row.key).recheck
        wait_until(
            lambda: any(r.path == "InventoryGenEntries" and r.status == 400 for r in sl.requests),
            what="the slow first attempt to reach SAP's guard",
        )

        worker.run_cycle()  # the re-posted key is looked up once more: one receipt, nothing to hold
        assert _receipts_per_key(sl)[row.key] == 1
        assert worker.ledger.get(row.key).state == "posted" and not worker.ledger.duplicates()
        assert not [h for h in worker.ledger.holds() if h["order_entry"] == row.order_entry]


def test_a_guard_checking_another_udf_than_the_key_field_holds_orders_naming_the_mismatch(tmp_path):
    # Installed for U_B1BF_Source, which every receipt of this mapping carries with the same value: the
    # guard refuses every receipt after the first, and no receipt carries the refused receipt's key.
    mapping = tmp_path / "consultant.yaml"
    mapping.write_text('version: 1\nreceipt:\n  header_udfs:\n    U_B1BF_Source: "b1-backflush"\n')
    with (
        MockServiceLayer(DEMO, port=0, switches=MockSwitches(duplicate_key_guard="U_B1BF_Source")) as sl,
        ExitStack() as stack,
    ):
        worker = build_worker(make_settings(sl, "v2", tmp_path, mapping=mapping), stack)
        report = worker.run_cycle()
        assert len(report.posted) == 1
        rejected = _held(report, rc.SL_REJECTED)
        assert len(rejected) == 6 and len(sl.store.rows("InventoryGenEntries")) == 1
        for message in rejected.values():
            assert "duplicate guard" in message and "idempotency.key_field" in message
        assert {row.state for row in worker.ledger.recent(limit=10)} == {"posted", "rejected"}
