"""Every lost-response mode of the mock against a real worker: SAP ends with exactly one receipt per posting
key, the ledger agrees, and a receipt whose answer was lost is settled by looking its key up, never re-sent.

``slow_commit`` is the in-flight race the quiet period exists for: the worker gives up, SAP commits a moment
later; the first look-up finds nothing, the quiet period passes, the second look-up finds the receipt.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tests.support.exactly_once import KEY_FIELD, assert_exactly_once_and_ledger_agrees

READ_TIMEOUT_S = 0.25
HOLD_S = 0.5  # > READ_TIMEOUT_S: the client gives up first
COMMIT_THEN_MODES = [
    "commit_then_drop",
    "commit_then_reset",
    "commit_then_502",
    "commit_then_hang",
    "commit_then_truncate",
]


def _receipt_posts(sl, key: str | None = None) -> list:
    return [
        r
        for r in sl.requests
        if r.method == "POST"
        and r.path.startswith("InventoryGenEntries")
        and (key is None or (r.body or {}).get(KEY_FIELD) == key)
    ]


def _documents(sl, key: str) -> list[dict]:
    return [r for r in sl.store.rows("InventoryGenEntries") if r[KEY_FIELD] == key]


@pytest.mark.parametrize("mode", COMMIT_THEN_MODES)
def test_committed_receipt_whose_answer_is_lost_is_settled_by_key_and_never_resent(
    mock_sl, worker_factory, tmp_path, mode
):
    arm = getattr(mock_sl.faults, mode)
    if mode == "commit_then_hang":
        arm("InventoryGenEntries", seconds=HOLD_S)
        worker = worker_factory(read_timeout_s=READ_TIMEOUT_S)
    else:
        arm("InventoryGenEntries")
        worker = worker_factory()

    first = worker.run_cycle()
    assert [e.key is not None and "was lost" in e.message for e in first.errors] == [True]
    key = first.errors[0].key
    assert key not in {p.key for p in first.posted} and first.posted, "the other orders still post"
    assert [r.faults for r in _receipt_posts(mock_sl, key)] == [(mode,)]  # the fault fired on this receipt
    assert len(_documents(mock_sl, key)) == 1  # SAP committed it although the worker got no usable answer
    assert worker.ledger.get(key).state == "uncertain"
    posts_after_first = len(_receipt_posts(mock_sl))

    second = worker.run_cycle()
    assert [(s.key, s.state) for s in second.settled] == [(key, "posted")]
    assert second.posted == [] and second.errors == []
    assert len(_receipt_posts(mock_sl)) == posts_after_first  # settled by look-up, not by a new POST

    third = worker.run_cycle()
    assert (third.settled, third.posted, third.errors) == ([], [], [])
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


def test_slow_commit_is_found_by_the_second_lookup_after_the_quiet_period(mock_sl, worker_factory, tmp_path):
    quiet_period_s = 0.4
    worker = worker_factory(read_timeout_s=READ_TIMEOUT_S, unknown_quiet_period_s=quiet_period_s)
    assert worker.run_cycle().posted  # everything confirmed so far is received
    mock_sl.store.patch("ProductionOrders", 116, {"U_ConfirmedQty": 7.0})  # the shop floor confirms 2 more
    mock_sl.faults.slow_commit("InventoryGenEntries", seconds=HOLD_S)

    first = worker.run_cycle()
    assert first.posted == [] and len(first.errors) == 1
    key = first.errors[0].key
    assert key.endswith("/116/C7/R0")
    assert _documents(mock_sl, key) == []  # the worker gave up; SAP has not committed yet

    lookups: list[int] = []
    real_lookup = worker.poster.lookup

    def spy_lookup(k: str, field: str | None = None) -> list[dict]:
        found = real_lookup(k, field)
        lookups.append(len(found))
        return found

    waits: list[float] = []

    def quiet_period(seconds: float) -> None:
        # The quiet period passes; meanwhile SAP finishes the held request (instead of sleeping blindly,
        # wait just until it has: the request log records it once carried out).
        waits.append(seconds)
        assert _documents(mock_sl, key) == [], "the first look-up must race the commit"
        deadline = time.monotonic() + 2
        while not [r for r in _receipt_posts(mock_sl, key) if r.faults == ("slow_commit",)]:
            assert time.monotonic() < deadline, "the slow commit never landed"
            time.sleep(0.01)

    worker.poster.lookup = spy_lookup
    worker.poster.clock = replace(worker.poster.clock, pause=quiet_period)
    second = worker.run_cycle()
    assert lookups == [0, 1]  # nothing, then (after the quiet period) the receipt
    assert len(waits) == 1 and 0 < waits[0] <= quiet_period_s  # counted from when the worker gave up
    assert [(s.key, s.state) for s in second.settled] == [(key, "posted")]
    assert second.posted == [] and second.errors == []
    assert len(_receipt_posts(mock_sl, key)) == 1  # never re-sent
    assert worker.ledger.get(key).receipt_entry == _documents(mock_sl, key)[0]["DocEntry"]

    third = worker.run_cycle()
    assert (third.settled, third.posted, third.errors) == ([], [], [])
    assert mock_sl.store.get("ProductionOrders", 116)["CompletedQuantity"] == 7.0
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")
