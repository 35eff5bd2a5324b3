"""The service in a thread for tests, and polling helpers that wait for what it does (no fixed sleeps)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from connector.ledger import Ledger
from connector.service import run_service

CLEAN_DEMO_ORDERS = 7  # connector/demo_company/README.md: 101, 102, 103, 115, 116, 117, 118


def receipts_posted(sl) -> int:
    return sum(
        1
        for r in sl.requests
        if r.method == "POST"
        and r.path.startswith("InventoryGenEntries")
        and r.status == 204  # created (Prefer: return-no-content)
    )


def wait_until(condition: Callable[[], bool], *, timeout_s: float = 20.0, what: str = "") -> None:
    """Polls a condition (the service runs in another thread or process); no fixed sleeps."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finished_cycles(ledger_path: Path) -> int:
    if not ledger_path.exists():
        return 0
    ledger = Ledger(ledger_path)
    try:
        return sum(1 for c in ledger.last_cycles(50) if c.get("finished_at"))
    finally:
        ledger.close()


class ServiceThread:
    """``run_service`` in a thread, stopped through its stop event (what SIGTERM sets)."""

    def __init__(self, settings) -> None:
        self.stop_event = threading.Event()
        self.result: int | BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)

    def _run(self, settings) -> None:
        try:
            self.result = run_service(settings, stop_event=self.stop_event, install_signals=False)
        except BaseException as exc:  # handed to the test
            self.result = exc

    def __enter__(self) -> ServiceThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int | BaseException | None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the service did not stop within 30 s of its stop event"
        return self.result


def fast(settings, interval_s: float = 0.2):
    """B1_POLL_INTERVAL_S is >= 5 for users; tests shorten it past validation to stay quick."""
    return settings.model_copy(update={"poll_interval_s": interval_s})
