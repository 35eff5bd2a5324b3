"""``b1-backflush run``: the unattended service.

* One instance per ledger: the exclusive instance lock ``<ledger>.lock`` (``connector.instance_lock``,
  also held by ``once``); a second one is refused with exit 75. APScheduler's ``max_instances=1``
  only protects inside one process.
* APScheduler runs one cycle at a time, coalesced: a cycle that overruns the interval does not
  pile up missed runs.
* SIGTERM/SIGINT set a stop event: the worker finishes the posting in hand, then stops before the
  next one; back-off sleeps and quiet periods wake at once.
* Bad settings, mapping or ledger, and refused credentials, stop the service at start (exit 2 / 3):
  restarting cannot help, and retrying a wrong password can lock the SAP user. A Service Layer that
  is merely unreachable at start (SAP still booting) is waited for: the first interval tries again.
* A cycle that fails later (SAP down, session lost, the ledger failing: disk full, I/O error) is
  logged in one line and the next interval tries again with a fresh session and ledger connection;
  nothing is posted while the ledger fails, and ``/healthz`` turns 503 after three intervals.
* Every ``B1_RECONCILE_INTERVAL_S`` (hourly) after a good cycle, the last two days of receipts in SAP
  are reconciled with the ledger (``connector.reconcile``): duplicates are marked and held, the
  findings go to ``status``, the page and ``/metrics``. A reconciliation that fails is logged and
  tried again after the next cycle. A login SAP refuses while running (password changed) is tried
  again only after interval × 2^n (at most an hour): each refusal counts towards SAP's lockout.
* Under systemd (``Type=notify``, ``WatchdogSec=``) it says READY=1 once its schedule runs and pings
  the watchdog from the service loop (connector/sd_notify.py); elsewhere that is a no-op.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from connector import sd_notify
from connector.clock import REAL_CLOCK, Clock
from connector.composition import build_worker
from connector.endpoint import ServiceEndpoint
from connector.errors import Action, ConnectorError, SLAuthError
from connector.instance_lock import instance_lock
from connector.metrics import ServiceMetrics
from connector.settings import Settings

log = logging.getLogger(__name__)


class CycleRunner:
    """Runs one cycle per call, keeping the logged-in worker between cycles and rebuilding it after errors."""

    #: Longest pause between login attempts after SAP refused the credentials.
    MAX_LOGIN_PAUSE_S = 3600.0

    def __init__(
        self,
        settings: Settings,
        stop_event: threading.Event,
        clock: Clock = REAL_CLOCK,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.stop_event = stop_event
        self.clock = clock
        self.metrics = metrics
        self._stack: ExitStack | None = None
        self._worker: Any = None
        self.cycles_ok = 0
        self.cycles_failed = 0
        self.login_refusals = 0
        self._no_login_before = 0.0
        #: ``clock()`` of the last reconciliation (None: not yet; the first comes after the first good cycle).
        self._reconciled_at: float | None = None

    def ensure_worker(self) -> Any:
        """The logged-in worker, built on first use and after a failed cycle."""
        if self._worker is None:
            stack = ExitStack()
            try:
                self._worker = build_worker(self.settings, stack, stop_event=self.stop_event)
                if self.metrics is not None:
                    self._worker.on_progress = self.metrics.progress
            except BaseException:
                stack.close()
                raise
            self._stack = stack
        return self._worker

    def reset(self) -> None:
        """Drop the session and ledger connection; the next cycle starts afresh."""
        if self._stack is not None:
            self._stack.close()
        self._stack, self._worker = None, None

    def __call__(self) -> None:
        if self.stop_event.is_set():
            return
        if self._worker is None and self.clock.monotonic() < self._no_login_before:
            log.warning(
                "service_login_paused",
                extra={
                    "retry_in_s": round(self._no_login_before - self.clock.monotonic()),
                    "reason": "login refused",
                },
            )
            return
        started = self.clock.monotonic()
        try:
            if self.metrics is not None:
                self.metrics.cycle_started()
            worker = self.ensure_worker()
            report = worker.run_cycle()
            self.cycles_ok += 1
            self.login_refusals = 0
            log.info(
                "service_cycle",
                extra={"posted": report.posted_count, "held": len(report.held), "errors": len(report.errors)},
            )
            if self.metrics is not None:
                self.metrics.cycle_finished(
                    report,
                    duration_s=self.clock.monotonic() - started,
                    finished_at=self.clock.wall(),
                    postings_by_state=worker.ledger.count_by_state(),
                )
            self._reconcile_when_due(worker)
        except SLAuthError as exc:
            # The password changed or the user was locked while running. Every refused login counts
            # towards SAP's lockout policy, so the attempts are spaced out: interval × 2^n, at most 1 h.
            self.cycles_failed += 1
            self.login_refusals += 1
            pause = min(self.settings.poll_interval_s * 2**self.login_refusals, self.MAX_LOGIN_PAUSE_S)
            self._no_login_before = self.clock.monotonic() + pause
            log.error(
                "service_login_refused",
                extra={
                    "error": str(exc),
                    "retry_in_s": round(pause),
                    "hint": "check B1_USERNAME and B1_PASSWORD, then restart the service to try at once",
                },
            )
            self._failed()
        except ConnectorError as exc:
            # ConfigError too: a mapping edited into an invalid state while running. The service
            # keeps the schedule and says so every interval instead of dying unattended.
            self.cycles_failed += 1
            log.error("service_cycle_failed", extra={"error": str(exc)})
            self._failed()
        except Exception:
            self.cycles_failed += 1
            log.exception("service_cycle_crashed")
            self._failed()

    def _reconcile_when_due(self, worker: Any) -> None:
        """Every ``B1_RECONCILE_INTERVAL_S``: SAP's recent receipts against the ledger; duplicates held."""
        every = self.settings.reconcile_interval_s
        if not every or self.stop_event.is_set():
            return
        if self._reconciled_at is not None and self.clock.monotonic() - self._reconciled_at < every:
            return
        from connector.reconcile import SERVICE_RECONCILE_DAYS, reconcile, record_findings

        try:
            result = reconcile(
                worker.client,
                worker.ledger,
                company=worker.company,
                key_field=worker.mapping.idempotency.key_field,
                days=SERVICE_RECONCILE_DAYS,
            )
            marked = record_findings(worker.ledger, result)
        except ConnectorError as exc:  # SAP or the ledger failing shows in the next cycle anyway
            log.warning("service_reconcile_failed", extra={"error": str(exc)})
            return
        self._reconciled_at = self.clock.monotonic()
        if self.metrics is not None:
            self.metrics.reconciled(result.to_dict(), postings_by_state=worker.ledger.count_by_state())
        fields = {
            "duplicates": len(result.duplicates),
            "orphans": len(result.orphans),
            "missing": len(result.missing),
            "marked_duplicate": marked,
        }
        if result.clean:
            log.info("service_reconciled", extra=fields)
        else:
            log.error("service_reconcile_differences", extra={**fields, "hint": "see b1-backflush reconcile"})

    def _failed(self) -> None:
        if self.metrics is not None:
            self.metrics.cycle_failed(login_refusals=self.login_refusals)
        self.reset()


def run_service(
    settings: Settings, *, stop_event: threading.Event | None = None, install_signals: bool = True
) -> int:
    """Run cycles every ``B1_POLL_INTERVAL_S`` until SIGTERM/SIGINT (or ``stop_event``)."""
    stop_event = stop_event or threading.Event()
    metrics = ServiceMetrics() if settings.http_port else None
    runner = CycleRunner(settings, stop_event, metrics=metrics)
    with ExitStack() as cleanup:  # in reverse: HTTP endpoint, session and ledger, then the lock
        cleanup.enter_context(instance_lock(settings.ledger_path))  # InstanceBusyError: exit 75
        cleanup.callback(runner.reset)
        if metrics is not None and settings.http_port:
            endpoint = ServiceEndpoint(settings, metrics)
            cleanup.callback(endpoint.serve(settings.http_host, settings.http_port))
        try:
            runner.ensure_worker()  # bad mapping, ledger or credentials fail here, not in the background
        except ConnectorError as exc:
            if exc.action is Action.STOP:
                raise  # bad settings, mapping, ledger, certificate or credentials: exit 2 / 3
            # SAP still booting or unreachable: the first interval tries again.
            log.warning(
                "service_waiting_for_sl", extra={"error": str(exc), "retry_in_s": settings.poll_interval_s}
            )
        if install_signals:

            def _stop(signum: int, _frame: object) -> None:
                log.info("service_stopping", extra={"signal": signal.Signals(signum).name})
                stop_event.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        scheduler.add_job(
            runner, "interval", seconds=settings.poll_interval_s, id="cycle", next_run_time=datetime.now()
        )
        scheduler.start()
        log.info(
            "service_started",
            extra={"interval_s": settings.poll_interval_s, "ledger": str(settings.ledger_path)},
        )
        sd_notify.notify("READY=1", f"STATUS=a cycle every {settings.poll_interval_s:g} s")
        sd_notify.keep_alive_until(stop_event, lambda: scheduler.running)
        sd_notify.notify("STOPPING=1")
        # wait=True: a cycle in progress finishes the posting in hand (the worker checks the event).
        scheduler.shutdown(wait=True)
        log.info(
            "service_stopped", extra={"cycles_ok": runner.cycles_ok, "cycles_failed": runner.cycles_failed}
        )
        return 0
