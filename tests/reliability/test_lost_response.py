"""Lost answers to the receipt POST: one receipt in SAP, the ledger agrees, nothing re-sent blindly.

Each test follows the posting to where it ends: uncertain in the ledger (and the order held
POSTING_UNCERTAIN while it is) after the lost answer, then settled (posted pointing at SAP's one receipt
with the key, or void and posted anew) by looking the key up in SAP.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from connector.production import reasons as rc
from tests.support.exactly_once import (
    assert_exactly_once_and_ledger_agrees,
    order_entry_of,
    receipts_with_key,
    skip_quiet_periods,
)


def _receipt_posts(sl) -> int:
    return sum(1 for r in sl.requests if r.method == "POST" and r.path.startswith("InventoryGenEntries"))


def _held_codes(report, entry: int) -> list[str]:
    return [r["code"] for h in report.held if h.order_entry == entry for r in h.reasons]


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_502"])
def test_lost_response_after_commit_is_found_by_key_and_never_reposted(
    mock_sl, worker_factory, tmp_path, fault
):
    getattr(mock_sl.faults, fault)("InventoryGenEntries", count=1)
    worker = worker_factory()
    first = worker.run_cycle()
    assert len(first.errors) == 1 and "lost" in first.errors[0].message
    uncertain_key = first.errors[0].key
    assert uncertain_key not in {p.key for p in first.posted}
    # SAP committed the receipt; the ledger does not know its DocEntry yet and says so.
    [in_sap] = receipts_with_key(mock_sl, uncertain_key)
    row = worker.ledger.get(uncertain_key)
    assert (row.state, row.receipt_entry) == ("uncertain", None)
    posts_after_first = _receipt_posts(mock_sl)

    second = worker.run_cycle()
    assert [(s.key, s.state, s.receipt_entry, s.receipt_number) for s in second.settled] == [
        (uncertain_key, "posted", in_sap["DocEntry"], in_sap["DocNum"])
    ]
    assert second.posted == [] and second.errors == []
    assert _receipt_posts(mock_sl) == posts_after_first  # settled by look-up, not by a new POST
    row = worker.ledger.get(uncertain_key)
    assert (row.state, row.receipt_entry, row.receipt_number) == (
        "posted",
        in_sap["DocEntry"],
        in_sap["DocNum"],
    )
    assert receipts_with_key(mock_sl, uncertain_key) == [in_sap]
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_lost_response_without_commit_is_posted_again_after_two_empty_lookups(
    mock_sl, worker_factory, tmp_path
):
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    worker = worker_factory()
    skip_quiet_periods(worker)  # SAP never got the POST: nothing can land during the quiet period
    first = worker.run_cycle()
    assert len(first.errors) == 1
    key = first.errors[0].key
    assert receipts_with_key(mock_sl, key) == []  # the gateway answered 502 before SAP committed
    assert worker.ledger.get(key).state == "uncertain"
    lookups_before = sum(
        1 for r in mock_sl.requests if r.method == "GET" and r.path.startswith("InventoryGenEntries")
    )

    second = worker.run_cycle()
    assert [(s.key, s.state) for s in second.settled] == [(key, "void")]
    [posted] = [p for p in second.posted if p.key == key]
    assert [p.key for p in second.posted] == [key]
    lookups = sum(
        1 for r in mock_sl.requests if r.method == "GET" and r.path.startswith("InventoryGenEntries")
    )
    assert lookups - lookups_before >= 2  # looked twice, a quiet period apart, before posting anew
    [in_sap] = receipts_with_key(mock_sl, key)
    assert posted.receipt_entry == in_sap["DocEntry"]
    row = worker.ledger.get(key)
    assert (row.state, row.receipt_entry) == ("posted", in_sap["DocEntry"])
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_uncertain_order_is_held_until_settled_and_other_orders_still_post(mock_sl, worker_factory, tmp_path):
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1)
    worker = worker_factory()
    first = worker.run_cycle()
    [error] = first.errors
    key, entry = error.key, order_entry_of(error.key)
    posted_entries = {p.order_entry for p in first.posted}
    assert posted_entries and entry not in posted_entries, (
        "the other valid orders are posted in the same cycle"
    )
    assert all(receipts_with_key(mock_sl, p.key) for p in first.posted)
    assert worker.ledger.get(key).state == "uncertain"

    # Until the posting is settled, the order is held with POSTING_UNCERTAIN and nothing is sent for it
    # (a dry run does not settle, so it shows the order as it stands between cycles).
    posts = _receipt_posts(mock_sl)
    between = worker.run_cycle(dry_run=True)
    assert _held_codes(between, entry) == [rc.POSTING_UNCERTAIN]
    assert entry not in {w["order_entry"] for w in between.would_post}
    assert _receipt_posts(mock_sl) == posts

    settled = worker.run_cycle()
    assert [(s.key, s.state) for s in settled.settled] == [(key, "posted")]
    assert _held_codes(settled, entry) == [] and settled.posted == []
    assert worker.ledger.get(key).state == "posted"
    assert len(receipts_with_key(mock_sl, key)) == 1
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_dry_run_posts_nothing_and_writes_no_intent(mock_sl, worker_factory, tmp_path):
    worker = worker_factory()
    report = worker.run_cycle(dry_run=True)
    assert report.would_post and not report.posted
    assert _receipt_posts(mock_sl) == 0
    assert worker.ledger.count_by_state() == {}


def test_quiet_period_never_waits_longer_than_one_window_when_the_clock_stepped_back(
    mock_sl, worker_factory, tmp_path
):
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    worker = worker_factory(unknown_quiet_period_s=30)
    [error] = worker.run_cycle().errors
    waits: list[float] = []
    real_wall = worker.poster.clock.wall
    # NTP stepped the wall clock back an hour
    worker.poster.clock = replace(worker.poster.clock, pause=waits.append, wall=lambda: real_wall() - 3600)
    second = worker.run_cycle()
    assert [(s.key, s.state) for s in second.settled] == [(error.key, "void")]
    assert waits == [worker.poster.read_timeout_s + 30]  # read timeout + quiet period, not an hour
    assert [p.key for p in second.posted] == [error.key]  # posted anew once found void
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize(("settled_after_s", "waits_left"), [(1.5, True), (40.0, False)])
def test_quiet_period_counts_from_when_the_post_was_sent(
    mock_sl, worker_factory, settled_after_s, waits_left
):
    # The window is read timeout + quiet period (30 s) after the POST went out, whoever settles it and
    # whenever: 1.5 s after the send, the rest of the window is waited; 40 s after, nothing.
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    worker = worker_factory(unknown_quiet_period_s=30)
    worker.run_cycle()
    [row] = worker.ledger.in_flight()
    assert row.sent_at is not None
    waits: list[float] = []
    worker.poster.clock = replace(
        worker.poster.clock, pause=waits.append, wall=lambda: row.sent_at + settled_after_s
    )
    second = worker.run_cycle()
    assert [s.state for s in second.settled] == ["void"]
    window = worker.poster.read_timeout_s + 30
    assert [round(w, 3) for w in waits] == ([round(window - settled_after_s, 3)] if waits_left else [])
