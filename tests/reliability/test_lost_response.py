"""Lost answers to the receipt POST: one receipt in SAP, the ledger agrees, nothing re-sent blindly."""

from __future__ import annotations

import pytest

from tests.support.exactly_once import assert_exactly_once_and_ledger_agrees


def _receipt_posts(sl) -> int:
    return sum(1 for r in sl.requests if r.method == "POST" and r.path.startswith("InventoryGenEntries"))


@pytest.mark.parametrize("fault", ["commit_then_drop", "commit_then_502"])
def test_lost_response_after_commit_is_found_by_key_and_never_reposted(
    mock_sl, worker_factory, tmp_path, fault
):
    getattr(mock_sl.faults, fault)("InventoryGenEntries", count=1)
    worker = worker_factory()
    first = worker.run_cycle()
    assert len(first.errors) == 1 and "lost" in first.errors[0]["message"]
    uncertain_key = first.errors[0]["key"]
    assert uncertain_key not in {p.key for p in first.posted}
    posts_after_first = _receipt_posts(mock_sl)

    second = worker.run_cycle()
    assert [(s["key"], s["state"]) for s in second.settled] == [(uncertain_key, "posted")]
    assert second.posted == []
    assert _receipt_posts(mock_sl) == posts_after_first  # settled by look-up, not by a new POST
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_lost_response_without_commit_is_posted_again_after_two_empty_lookups(
    mock_sl, worker_factory, tmp_path
):
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    worker = worker_factory()
    first = worker.run_cycle()
    assert len(first.errors) == 1
    key = first.errors[0]["key"]
    second = worker.run_cycle()
    assert [(s["key"], s["state"]) for s in second.settled] == [(key, "void")]
    assert [p.key for p in second.posted] == [key]
    lookups = [r for r in mock_sl.requests if r.method == "GET" and r.path.startswith("InventoryGenEntries")]
    assert len(lookups) >= 2  # looked twice before posting anew
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_uncertain_order_is_held_until_settled_and_other_orders_still_post(mock_sl, worker_factory):
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1)
    worker = worker_factory()
    first = worker.run_cycle()
    assert first.posted, "the other valid orders are posted in the same cycle"
    assert len(first.errors) == 1


def test_dry_run_posts_nothing_and_writes_no_intent(mock_sl, worker_factory, tmp_path):
    worker = worker_factory()
    report = worker.run_cycle(dry_run=True)
    assert report.would_post and not report.posted
    assert _receipt_posts(mock_sl) == 0
    assert worker.ledger.count_by_state() == {}


def test_quiet_period_never_waits_longer_than_one_period_when_the_clock_stepped_back(mock_sl, worker_factory):
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    worker = worker_factory(unknown_quiet_period_s=30)
    worker.run_cycle()
    waits: list[float] = []
    worker.poster.sleep = waits.append
    real_clock = worker.poster.clock
    worker.poster.clock = lambda: real_clock() - 3600  # NTP stepped the wall clock back an hour
    second = worker.run_cycle()
    assert [s["state"] for s in second.settled] == ["void"]
    assert waits == [30]
