"""Prometheus metrics of ``b1-backflush run``: what IT graphs and alerts on (``endpoint`` serves them).

One registry per service, not the library's global one, so two services in one process (tests,
later several companies) never share a counter. Suggested alerts, in PromQL:

* no successful cycle for three intervals: ``time() - b1bf_last_successful_cycle_timestamp_seconds > 180``
* a person must look: ``b1bf_duplicates_in_sap > 0``
* a lost answer that will not settle: ``b1bf_postings_unsettled > 0`` for 30 minutes
* SAP refuses the credentials: ``b1bf_login_refusals > 0``
* the hourly reconciliation found SAP and the ledger disagreeing: ``sum(b1bf_reconcile_differences) > 0``
* SAP's duplicate guard refused a second receipt (another connector posts for this company, or SAP
  committed a receipt very late): ``increase(b1bf_receipts_refused_by_duplicate_guard_total[1h]) > 0``
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


class ServiceMetrics:
    """The service's counters and gauges, updated after every cycle."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter(
            "b1bf_cycles", "Cycles run, by outcome (ok, stopped, failed)", ["outcome"], registry=r
        )
        self.receipts = Counter("b1bf_receipts_posted", "Receipts from Production posted", registry=r)
        self.refused_by_guard = Counter(
            "b1bf_receipts_refused_by_duplicate_guard",
            "Receipts SAP's duplicate guard refused: another receipt already carries their posting key",
            registry=r,
        )
        self.held = Gauge(
            "b1bf_orders_held",
            "Orders held by the last completed cycle, by reason code",
            ["code"],
            registry=r,
        )
        self.unsettled = Gauge(
            "b1bf_postings_unsettled", "Postings whose answer was lost, not settled yet", registry=r
        )
        self.duplicates = Gauge(
            "b1bf_duplicates_in_sap", "Posting keys SAP holds more than one receipt for", registry=r
        )
        self.last_success = Gauge(
            "b1bf_last_successful_cycle_timestamp_seconds",
            "Unix time the last cycle finished without failing",
            registry=r,
        )
        self.last_duration = Gauge(
            "b1bf_last_cycle_duration_seconds", "How long the last cycle took", registry=r
        )
        self.login_refusals = Gauge("b1bf_login_refusals", "Logins SAP refused in a row", registry=r)
        self.reconcile_differences = Gauge(
            "b1bf_reconcile_differences",
            "What the last reconciliation found, by kind (duplicates, orphans, missing)",
            ["kind"],
            registry=r,
        )
        self.last_reconciliation = Gauge(
            "b1bf_last_reconciliation_timestamp_seconds", "Unix time of the last reconciliation", registry=r
        )
        #: The same facts as plain values, for ``/healthz``.
        self.last_success_at: float | None = None
        self.login_refusal_count = 0
        #: When the running cycle last made progress (a page read, a posting); None between cycles.
        self.cycle_started_at: float | None = None
        self.last_progress_at: float | None = None

    def cycle_started(self) -> None:
        """A cycle begins: it counts as making progress until it stalls for an interval."""
        self.cycle_started_at = self.last_progress_at = self.clock()

    def progress(self) -> None:
        """The running cycle did something (read a page, posted or held an order)."""
        self.last_progress_at = self.clock()

    def cycle_finished(
        self, report: Any, *, duration_s: float, finished_at: float, postings_by_state: Mapping[str, int]
    ) -> None:
        """After a cycle that ran to its end (or was stopped between postings)."""
        self.cycles.labels(outcome="stopped" if report.aborted else "ok").inc()
        self.receipts.inc(report.posted_count)
        self.refused_by_guard.inc(report.refused_by_duplicate_guard)
        self.held.clear()  # codes that no longer apply must not linger at their old count
        for code, count in Tally(reason["code"] for held in report.held for reason in held.reasons).items():
            self.held.labels(code=code).set(count)
        self.unsettled.set(postings_by_state.get("sending", 0) + postings_by_state.get("uncertain", 0))
        self.duplicates.set(postings_by_state.get("duplicate", 0))
        self.last_success.set(finished_at)
        self.last_success_at = finished_at
        self.last_duration.set(duration_s)
        self.login_refusals.set(0)
        self.login_refusal_count = 0
        self.cycle_started_at = self.last_progress_at = None

    def reconciled(self, found: Mapping[str, Any], *, postings_by_state: Mapping[str, int]) -> None:
        """After ``run``'s own reconciliation; the duplicates it marked count at once."""
        for kind in ("duplicates", "orphans", "missing"):
            self.reconcile_differences.labels(kind=kind).set(len(found.get(kind) or ()))
        self.last_reconciliation.set(self.clock())
        self.duplicates.set(postings_by_state.get("duplicate", 0))

    def cycle_failed(self, *, login_refusals: int) -> None:
        """After a cycle that SAP, the ledger or the mapping stopped."""
        self.cycles.labels(outcome="failed").inc()
        self.login_refusals.set(login_refusals)
        self.login_refusal_count = login_refusals
        self.cycle_started_at = self.last_progress_at = None
