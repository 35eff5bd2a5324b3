"""``b1-backflush run``: the unattended service.

* One instance per ledger: an exclusive OS lock on ``<ledger>.lock`` (filelock), never on the
  SQLite file itself (exactly-once rule 7: closing another descriptor drops SQLite's POSIX locks).
  APScheduler's ``max_instances=1`` only protects inside one process.
* APScheduler runs one cycle at a time, coalesced: a cycle that overruns the interval does not
  pile up missed runs.
* SIGTERM/SIGINT set a stop event: the worker finishes the posting in hand, then stops before the
  next one; back-off sleeps and quiet periods wake at once.
* Bad settings, mapping or ledger, and refused credentials, stop the service at start (exit 2 / 3):
  restarting cannot help, and retrying a wrong password can lock the SAP user. A Service Layer that
  is merely unreachable at start (SAP still booting) is waited for: the first interval tries again.
* A cycle that fails later (SAP down, session lost) is logged and the next interval tries again;
  the session is re-created then. A login SAP refuses while running (password changed) is tried
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
from filelock import FileLock, Timeout

from connector import sd_notify
from connector.clock import REAL_CLOCK, Clock
from connector.composition import build_worker
from connector.endpoint import ServiceEndpoint
from connector.errors import Action, ConfigError, ConnectorError, SLAuthError
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

    def ensure_worker(self) -> Any:
        """The logged-in worker, built on first use and after a failed cycle."""
        if self._worker is None:
            stack = ExitStack()
            try:
                self._worker = build_worker(self.settings, stack, stop_event=self.stop_event)
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

    def _failed(self) -> None:
        if self.metrics is not None:
            self.metrics.cycle_failed(login_refusals=self.login_refusals)
        self.reset()


def run_service(
    settings: Settings, *, stop_event: threading.Event | None = None, install_signals: bool = True
) -> int:
    """Run cycles every ``B1_POLL_INTERVAL_S`` until SIGTERM/SIGINT (or ``stop_event``)."""
    stop_event = stop_event or threading.Event()
    lock_path = settings.ledger_path.with_name(settings.ledger_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(
            f"another b1-backflush is already running on {settings.ledger_path} "
            f"(lock {lock_path}); stop it first"
        ) from None
    metrics = ServiceMetrics() if settings.http_port else None
    runner = CycleRunner(settings, stop_event, metrics=metrics)
    with ExitStack() as cleanup:  # in reverse: HTTP endpoint, session and ledger, then the lock
        cleanup.callback(lock.release)
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
