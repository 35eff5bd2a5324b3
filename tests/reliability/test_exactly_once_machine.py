"""A Hypothesis state machine of the shop floor, the network and the worker against the mock SL:
confirmations arrive, faults strike the next receipt POST, the worker crashes at a named crash point and a
new one starts on the same ledger, cycles run.

After every step: at most one receipt per posting key, no two receipts for the same (order, cumulative
target), every receipt brings its order exactly to its key's target, no order ever receives more than was
confirmed, and every ``posted`` row of the ledger points at its receipt in SAP. Drained at the end (one
more cycle, then faults and crashes cleared, cycles until nothing posts and nothing is in flight): each
order's CompletedQuantity and RejectedQuantity equal the confirmed totals, and the ledger's posted rows
match SAP's receipts one to one.

The quiet period is 0: before each cycle the test waits until the mock has finished every request in
flight (``MockServiceLayer.wait_idle``), which is what a quiet period longer than the slowest commit
guarantees. (With a quiet period shorter than a commit the connector can post twice: that race, and how
the quiet period closes it, is test_lost_response_modes.py's slow-commit test.)
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from connector import posting
from connector.composition import build_worker
from connector.mock_sl.server import MockServiceLayer
from tests.support.exactly_once import KEY_FIELD, assert_exactly_once_and_ledger_agrees
from tests.support.mock import DEMO, duplicates_visible, make_settings

RECEIPTS = "InventoryGenEntries"
#: The demo orders that post under the default mapping (demo_company/README.md); the others stay held.
CLEAN = (101, 102, 103, 115, 116, 117, 118)
FAULTS = ("commit_then_drop", "commit_then_502", "fail_502", "slow_commit")
READ_TIMEOUT_S = 0.25
SLOW_COMMIT_S = 0.35  # > READ_TIMEOUT_S: the worker gives up, SAP commits a moment later
EPSILON = 1e-9

#: What the runs exercised (faults that fired, crash points hit), summed over all examples of one test.
STATS: Counter[str] = Counter()


def _note(what: str) -> None:
    STATS[what] += 1
    if currently_in_test_context():  # the scripted tests call the rules outside Hypothesis
        event(what)


class Crash(BaseException):
    """The worker process dies here: the in-process stand-in for SIGKILL (``except Exception`` misses it)."""


class ExactlyOnceMachine(RuleBasedStateMachine):
    #: B1_POST_SESSIONS of the worker under test.
    post_sessions = 1

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="b1bf-machine-"))
        # Over-receipt allowed: a duplicate must show up as a second receipt, not as a refusal.
        self.sl = MockServiceLayer(DEMO, port=0, switches=duplicates_visible()).start()
        self.stack = ExitStack()
        self.worker = None
        self.crash_at: str | None = None  # the worker dies the next time it reaches this crash point

    @property
    def ledger_path(self) -> Path:
        return self.tmp / "ledger.sqlite3"

    # -- the world -----------------------------------------------------------------------------------
    @initialize(
        protocol=st.sampled_from(["v1", "v2"]),
        confirmed=st.fixed_dictionaries({entry: st.integers(0, 3) for entry in CLEAN}),
    )
    def start_worker(self, protocol: str, confirmed: dict[int, int] | None = None) -> None:
        # Where the shop floor starts (at most 3 of each clean order: most of the plan is still ahead).
        for entry, quantity in (confirmed or {}).items():
            self.sl.store.patch(
                "ProductionOrders", entry, {"U_ConfirmedQty": float(quantity), "U_RejectedQty": 0.0}
            )
        self.settings = make_settings(
            self.sl,
            protocol,
            self.tmp,
            read_timeout_s=READ_TIMEOUT_S,
            unknown_quiet_period_s=0,
            post_sessions=self.post_sessions,
        )
        self.worker = build_worker(self.settings, self.stack)

    def _cycle(self):
        """One cycle of the current worker; it dies if it reaches the armed crash point, and a new worker
        starts on the same ledger file."""
        assert self.sl.wait_idle(5), "a request of the mock never finished"
        struck_before = len(self._struck_posts())
        point, hit = self.crash_at, []

        def crash(name: str) -> None:
            if name == point and not hit:
                hit.append(name)
                raise Crash(name)

        posting.CRASH_HOOK = crash if point else None
        try:
            report = self.worker.run_cycle()
        except Crash:
            report = None
        finally:
            posting.CRASH_HOOK = None
        assert self.sl.wait_idle(5)  # a slow commit is recorded once carried out
        for record in self._struck_posts()[struck_before:]:
            _note(f"fault fired: {record.faults[0]}")
        if hit:
            _note(f"crash: {point}")
            self.crash_at = None
            self.stack.close()  # the dead worker's connections go; nothing it did not commit survives
            self.stack = ExitStack()
            self.worker = build_worker(self.settings, self.stack)
        return report

    def _struck_posts(self) -> list:
        return [r for r in self.sl.requests if r.method == "POST" and r.path == RECEIPTS and r.faults]

    # -- rules ---------------------------------------------------------------------------------------
    @rule(entry=st.sampled_from(CLEAN), more=st.integers(1, 3), rejected=st.booleans())
    def shop_floor_confirms_more(self, entry: int, more: int, rejected: bool) -> None:
        order = self.sl.store.get("ProductionOrders", entry)
        good, bad = order["U_ConfirmedQty"] or 0.0, order["U_RejectedQty"] or 0.0
        more = min(more, order["PlannedQuantity"] - good - bad)  # never above PlannedQuantity
        if more <= 0:
            _note("confirmation: order full")
            return
        field, value = ("U_RejectedQty", bad + more) if rejected else ("U_ConfirmedQty", good + more)
        self.sl.store.patch("ProductionOrders", entry, {field: value})

    @precondition(lambda self: not self.sl.faults.pending())
    @rule(fault=st.sampled_from(FAULTS))
    def fault_strikes_next_receipt_post(self, fault: str) -> None:
        faults = self.sl.faults
        if fault == "fail_502":  # not carried out: Apache's 502 without a commit
            faults.fail_next(RECEIPTS, status=502, html=True, method="POST")
        elif fault == "slow_commit":
            faults.slow_commit(RECEIPTS, seconds=SLOW_COMMIT_S, method="POST")
        else:
            getattr(faults, fault)(RECEIPTS, method="POST")

    @precondition(lambda self: self.crash_at is None)
    @rule(point=st.sampled_from(posting.CRASH_POINTS))
    def worker_will_crash(self, point: str) -> None:
        self.crash_at = point

    @rule()
    def cycle(self) -> None:
        self._cycle()

    # -- invariants ----------------------------------------------------------------------------------
    @invariant()
    def one_receipt_per_key_and_each_brings_its_order_to_its_target(self) -> None:
        receipts = self.sl.store.rows(RECEIPTS)
        per_key = Counter(r[KEY_FIELD] for r in receipts)
        assert all(n == 1 for n in per_key.values()), f"duplicates in SAP: {per_key}"
        targets = Counter()
        running: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for receipt in sorted(receipts, key=lambda r: r["DocEntry"]):
            _company, entry, completed, rejected = receipt[KEY_FIELD].split("/")
            target = (int(entry), float(completed[1:]), float(rejected[1:]))
            targets[target] += 1
            for line in receipt["DocumentLines"]:
                assert line["BaseEntry"] == target[0], (receipt[KEY_FIELD], line)
                rejects = line["TransactionType"] == "botrntReject"
                running[target[0]][1 if rejects else 0] += line["Quantity"]
            got = running[target[0]]
            assert abs(got[0] - target[1]) < EPSILON and abs(got[1] - target[2]) < EPSILON, (
                f"receipt {receipt[KEY_FIELD]} brings order {target[0]} to {got}"
            )
        assert all(n == 1 for n in targets.values()), f"two receipts for one (order, target): {targets}"

    @invariant()
    def no_order_receives_more_than_was_confirmed(self) -> None:
        for entry in CLEAN:
            order = self.sl.store.get("ProductionOrders", entry)
            assert order["CompletedQuantity"] <= order["U_ConfirmedQty"] + EPSILON, order
            assert order["RejectedQuantity"] <= (order["U_RejectedQty"] or 0.0) + EPSILON, order

    @invariant()
    def every_posted_row_points_at_its_receipt(self) -> None:
        if self.worker is None:
            return
        by_key = {r[KEY_FIELD]: r for r in self.sl.store.rows(RECEIPTS)}
        for row in self.worker.ledger.recent(10_000, state="posted"):
            assert row.key in by_key, f"the ledger says {row.key} is posted; SAP has no such receipt"
            assert row.receipt_entry == by_key[row.key]["DocEntry"]

    # -- the end -------------------------------------------------------------------------------------
    def drain(self) -> None:
        """One more cycle (a fault or crash still armed gets its chance), then faults and crashes cleared,
        cycles until nothing is posted or settled and nothing is in flight."""
        self._cycle()
        self.sl.faults.clear()
        self.crash_at = None
        for _ in range(5):
            report = self._cycle()
            if not (report.posted or report.settled or self.worker.ledger.in_flight()):
                return
        raise AssertionError("not drained after 5 cycles")

    def teardown(self) -> None:
        try:
            if self.worker is not None:
                self.drain()
                for entry in CLEAN:
                    order = self.sl.store.get("ProductionOrders", entry)
                    assert abs(order["CompletedQuantity"] - order["U_ConfirmedQty"]) < EPSILON, order
                    assert abs(order["RejectedQuantity"] - (order["U_RejectedQty"] or 0.0)) < EPSILON, order
                assert_exactly_once_and_ledger_agrees(self.sl, self.ledger_path)
        finally:
            self.stack.close()
            self.sl.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)


class ExactlyOnceMachineFourSessions(ExactlyOnceMachine):
    post_sessions = 4


MACHINES = {1: ExactlyOnceMachine, 4: ExactlyOnceMachineFourSessions}
SESSIONS = pytest.mark.parametrize("post_sessions", list(MACHINES), ids=lambda n: f"sessions{n}")


@SESSIONS
def test_exactly_once_whatever_confirmations_faults_and_crashes_come(post_sessions):
    STATS.clear()
    # derandomize: the same draws on every run, so CI and a developer see the same result (a random
    # run once drew no crash at all and failed the check below). Every fault and every crash point is
    # also struck deterministically by the scripted tests below.
    run_state_machine_as_test(
        MACHINES[post_sessions],
        settings=settings(
            max_examples=25, stateful_step_count=12, deadline=None, derandomize=True, database=None
        ),
    )
    # Not vacuous: faults struck receipt POSTs and the worker died at crash points (per kind: the
    # scripted tests below; these totals depend on what Hypothesis drew).
    assert sum(n for name, n in STATS.items() if name.startswith("fault fired")) > 0, STATS
    assert sum(n for name, n in STATS.items() if name.startswith("crash")) > 0, STATS


def _scripted(protocol: str, post_sessions: int):
    machine = MACHINES[post_sessions]()
    machine.start_worker(protocol, dict.fromkeys(CLEAN, 0))  # nothing confirmed yet
    return machine


def _check(machine: ExactlyOnceMachine) -> None:
    machine.one_receipt_per_key_and_each_brings_its_order_to_its_target()
    machine.no_order_receives_more_than_was_confirmed()
    machine.every_posted_row_points_at_its_receipt()


@SESSIONS
def test_scripted_every_fault_strikes_a_receipt_then_drains_exactly_once(post_sessions):
    STATS.clear()
    machine = _scripted("v2", post_sessions)
    try:
        for fault in FAULTS:
            machine.shop_floor_confirms_more(116, 1, False)
            machine.fault_strikes_next_receipt_post(fault)
            machine.cycle()
            _check(machine)
            assert STATS[f"fault fired: {'fail' if fault == 'fail_502' else fault}"] == 1  # the mock's mode
            assert len(machine.worker.ledger.in_flight()) == 1  # the answer was lost: settled next cycle
    finally:
        machine.teardown()
    assert machine.sl.store.get("ProductionOrders", 116)["CompletedQuantity"] == len(FAULTS)


@SESSIONS
def test_scripted_crash_at_every_point_then_drains_exactly_once(post_sessions):
    STATS.clear()
    machine = _scripted("v1", post_sessions)
    try:
        machine.shop_floor_confirms_more(101, 2, False)
        for point in (
            "after_intent",  # nothing sent; the intent is in flight
            "before_second_lookup",  # settling it: the first look-up found nothing
            "before_settle_update",  # settling it: both look-ups found nothing
            "after_post",  # settled void, posted again; SAP committed, the ledger never knew
            "before_settle_update",
        ):  # settling that: SAP has the receipt, the ledger not yet
            machine.worker_will_crash(point)
            machine.cycle()
            _check(machine)
            assert machine.crash_at is None, f"never reached {point}"
        machine.cycle()
        _check(machine)
    finally:
        machine.teardown()
    assert {point: STATS[f"crash: {point}"] for point in posting.CRASH_POINTS} == {
        "after_intent": 1,
        "after_post": 1,
        "before_second_lookup": 1,
        "before_settle_update": 2,
    }
    assert machine.sl.store.get("ProductionOrders", 101)["CompletedQuantity"] == 2
