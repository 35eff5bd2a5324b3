"""Readiness and watchdog for systemd (``Type=notify``, ``WatchdogSec=``), by the documented protocol.

sd_notify(3): a service started with ``NOTIFY_SOCKET`` in its environment sends newline-separated
``KEY=value`` assignments as one datagram to that AF_UNIX socket (a leading ``@`` means the abstract
namespace). ``READY=1`` once it runs its schedule, ``WATCHDOG=1`` at least every half of
``WATCHDOG_USEC`` (else systemd kills and restarts it), ``STOPPING=1`` on the way out. Without
``NOTIFY_SOCKET`` (a terminal, NSSM, Docker) every call is a no-op, so the service runs the same
everywhere. A few lines of standard library instead of a dependency: the protocol is that small.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def notify(*assignments: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``assignments`` (e.g. ``"READY=1"``) to systemd; False when not run under systemd or it failed."""
    address = environ.get("NOTIFY_SOCKET", "")
    family = getattr(socket, "AF_UNIX", None)  # absent on Windows, where systemd never is
    if not address or family is None or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(assignments).encode("utf-8"))
    except OSError as exc:
        # Never let the service manager's socket stop the service: systemd restarts it if it must.
        log.warning("sd_notify_failed", extra={"error": str(exc)})
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] = os.environ) -> float | None:
    """``WatchdogSec=`` in seconds when systemd watches this process, else None."""
    usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # set for another process (a parent), not for us
    return int(usec) / 1_000_000


def keep_alive_until(
    stop_event: threading.Event, is_alive: Callable[[], bool], environ: Mapping[str, str] = os.environ
) -> None:
    """Block until ``stop_event``; meanwhile send ``WATCHDOG=1`` every half interval while ``is_alive()``.

    A hung service loop or a dead scheduler stops the pings, and systemd restarts the service. A long
    cycle (a big backlog) does not: the pings come from this loop, not from the cycle.
    """
    interval = watchdog_interval_s(environ)
    while not stop_event.wait(interval / 2 if interval else None):
        if is_alive():
            notify("WATCHDOG=1", environ=environ)
