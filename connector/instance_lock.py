"""One writer per ledger: the exclusive OS lock ``<ledger>.lock`` that every ledger-writing command holds.

``run`` holds it for its whole life, ``once`` for its cycle. Without it, a ``once`` started while
``run`` is posting would settle the service's in-flight posting as its own: look the key up, find
nothing because SAP has not committed yet, void it and post again — a duplicate. The lock is a
separate file (filelock), never the SQLite file itself: closing any other descriptor of the
database would drop SQLite's POSIX locks. A busy lock is refused at once, never waited for, so a
cron ``once`` never queues up behind a long cycle; the caller exits 75 (EX_TEMPFAIL: try later).
Commands that only read (``status``, ``reconcile``, ``explain``) open the ledger read-only instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from connector.errors import InstanceBusyError


def lock_path_of(ledger_path: Path) -> Path:
    """``<ledger>.lock`` next to the ledger."""
    return ledger_path.with_name(ledger_path.name + ".lock")


@contextmanager
def instance_lock(ledger_path: Path) -> Iterator[None]:
    """Hold the ledger's instance lock, or raise ``InstanceBusyError`` at once if another process has it."""
    lock_path = lock_path_of(ledger_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise InstanceBusyError(
            f"another b1-backflush is already running on the ledger {ledger_path} (lock {lock_path}): "
            "try again when it has finished, or stop the service first"
        ) from None
    try:
        yield
    finally:
        lock.release()
