"""The crash-point matrix: a worker SIGKILLed at every named point of the posting path (posting.CRASH_POINTS,
alone or while settling what an earlier crash or lost answer left), and between SAP's commit and its
answer, then restarted: SAP ends with exactly one receipt per confirmation, and the ledger agrees."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from connector.ledger import Ledger
from connector.posting import CRASH_POINTS
from tests.support import crash_worker
from tests.support.exactly_once import KEY_FIELD, assert_exactly_once_and_ledger_agrees


def _worker_argv(sl, protocol: str, ledger: Path, crash_at: str, post_sessions: int = 1) -> list[str]:
    user, password = next(iter(sl.users.items()))
    return [sl.root(protocol), sl.company_db, user, password, str(ledger), crash_at, str(post_sessions)]


def _run_worker(
    sl, protocol: str, ledger: Path, crash_at: str, post_sessions: int = 1
) -> subprocess.CompletedProcess[str]:
    """One worker process (forked from a preloaded fork server), killed at ``crash_at`` or run to the end."""
    return crash_worker.run(
        _worker_argv(sl, protocol, ledger, crash_at, post_sessions), ledger.parent / "worker-output"
    )


@dataclass(frozen=True)
class Run:
    """One worker run before the final restart: killed at ``crash_at`` or, without one, a full cycle with
    ``fault`` armed on the mock for its first receipt POST."""

    crash_at: str | None = None
    fault: str | None = None


#: Scenario → the runs before the clean restart, and how many receipts SAP holds for the key left in
#: flight (0: the POST never reached SAP; 1: it did and the worker never learnt it).
SCENARIOS: dict[str, tuple[list[Run], int]] = {
    "after_intent": ([Run("after_intent")], 0),
    "after_post": ([Run("after_post")], 1),
    # Settling a crashed intent: the first look-up found nothing, killed before the second one.
    "before_second_lookup": ([Run("after_intent"), Run("before_second_lookup")], 0),
    # Settling an answer lost without a commit (Apache 502): killed between the two look-ups.
    "before_second_lookup/502": ([Run(fault="fail_502"), Run("before_second_lookup")], 0),
    # Killed after SAP answered the settling look-up, before the ledger recorded what it said.
    "before_settle_update/found": ([Run("after_post"), Run("before_settle_update")], 1),
    "before_settle_update/absent": ([Run("after_intent"), Run("before_settle_update")], 0),
    "before_settle_update/dropped": ([Run(fault="commit_then_drop"), Run("before_settle_update")], 1),
}


def _arm(sl, fault: str) -> None:
    if fault == "fail_502":
        sl.faults.fail_next("InventoryGenEntries", status=502, html=True, method="POST")
    else:
        getattr(sl.faults, fault)("InventoryGenEntries", method="POST")


def _in_flight(ledger_path: Path) -> list:
    ledger = Ledger(ledger_path)
    try:
        return ledger.in_flight()
    finally:
        ledger.close()


def _restart_until_drained(sl, protocol: str, ledger: Path, post_sessions: int = 1, left: int = 1) -> None:
    """The clean restart settles the ``left`` postings left in flight; SAP ends exactly once; a further
    run posts nothing."""
    restarted = _run_worker(sl, protocol, ledger, "none", post_sessions)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert f"settled={left}" in restarted.stdout
    assert_exactly_once_and_ledger_agrees(sl, ledger)
    posted_total = len(sl.store.rows("InventoryGenEntries"))
    assert posted_total > 1

    again = _run_worker(sl, protocol, ledger, "none", post_sessions)
    assert again.returncode == 0 and "posted=0" in again.stdout and "settled=0" in again.stdout
    assert len(sl.store.rows("InventoryGenEntries")) == posted_total


def test_every_crash_point_of_the_posting_path_is_in_the_matrix():
    covered = {run.crash_at for runs, _ in SCENARIOS.values() for run in runs}
    assert set(CRASH_POINTS) <= covered, set(CRASH_POINTS) - covered


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_crash_point_kill_then_restart_posts_exactly_once(
    mock_sl, protocol, tmp_path, scenario, post_sessions
):
    runs, receipts_for_key = SCENARIOS[scenario]
    ledger = tmp_path / "ledger.sqlite3"
    for run in runs:
        if run.fault:
            _arm(mock_sl, run.fault)
        result = _run_worker(mock_sl, protocol, ledger, run.crash_at or "none", post_sessions)
        if run.crash_at:
            assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
            assert f"crashed_at={run.crash_at}" in result.stderr  # killed at that very point
        else:
            assert result.returncode == 0, result.stderr[-2000:]
            assert mock_sl.faults.pending() == []  # the fault struck a receipt POST
    in_flight = _in_flight(ledger)
    if post_sessions == 1:
        [left] = in_flight
        assert left.state == ("sending" if len(runs) == 1 else "uncertain")
        assert (
            len([r for r in mock_sl.store.rows("InventoryGenEntries") if r[KEY_FIELD] == left.key])
            == receipts_for_key
        )
    else:
        # The kill also took the other sessions' postings in hand: each is left in flight, none lost.
        assert 1 <= len(in_flight) <= post_sessions
        assert {row.state for row in in_flight} <= {"sending", "uncertain"}
    _restart_until_drained(mock_sl, protocol, ledger, post_sessions, left=len(in_flight))


@pytest.mark.slow
def test_kill_after_sap_committed_before_the_answer_arrived(mock_sl, protocol, tmp_path, post_sessions):
    """The crash between SAP's commit and the answer: the mock holds the answer, the test kills the worker
    as soon as the receipt is committed (the request log shows it)."""
    ledger = tmp_path / "ledger.sqlite3"
    mock_sl.faults.commit_then_hang("InventoryGenEntries", seconds=3)  # killed long before the answer
    worker, out, err = crash_worker.start(
        _worker_argv(mock_sl, protocol, ledger, "none", post_sessions), tmp_path / "worker-output"
    )
    try:
        deadline = time.monotonic() + 60
        while not (hung := [r for r in mock_sl.requests if r.faults == ("commit_then_hang",)]):
            assert worker.is_alive() and time.monotonic() < deadline, "the worker never posted"
            time.sleep(0.005)
    finally:
        worker.kill()
    assert crash_worker.finished(worker, out, err).returncode == -signal.SIGKILL
    in_flight = {row.key: row for row in _in_flight(ledger)}
    key = hung[0].body[KEY_FIELD]
    assert in_flight[key].state == "sending"
    assert len([r for r in mock_sl.store.rows("InventoryGenEntries") if r[KEY_FIELD] == key]) == 1
    if post_sessions == 1:
        assert list(in_flight) == [key]
    _restart_until_drained(mock_sl, protocol, ledger, post_sessions, left=len(in_flight))
