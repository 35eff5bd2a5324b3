"""Fault injection: the ways a real Service Layer and its Apache front fail (service-layer.md §2.2).

A fault matches a request by method (None = any; the commit-then modes default to writes only) and by
prefix of the path after the service root, without the query (``"InventoryGenEntries"`` matches
``InventoryGenEntries(5)`` too). Each fires ``count`` times, in the order they were added.

Lost-response modes (exactly-once.md "How to prove it"):
- ``commit_then_drop``: the request is carried out (document created), then the socket is closed
  without a status line, so the client sees a connection error after sending.
- ``commit_then_502``: carried out, then Apache's HTML "502 Proxy Error" page (§2.2: not JSON).
- ``delay``: the request waits before being carried out, so a client read timeout races the commit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

Mode = Literal["fail", "delay", "commit_then_drop", "commit_then_502"]
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

APACHE_502 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>502 Proxy Error</title>\n'
    "</head><body>\n<h1>Proxy Error</h1>\n<p>The proxy server received an invalid\nresponse from an "
    "upstream server.<br />\nThe proxy server could not handle the request<p>Reason: <strong>Error "
    "reading from remote server</strong></p></p>\n</body></html>\n"
)


def apache_error_page(status: int) -> str:
    """The HTML page Apache's mod_proxy answers with (502 is the one seen on a real SL, §2.2)."""
    if status == 502:
        return APACHE_502
    titles = {500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}
    title = titles.get(status, "Error")
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        f"<title>{status} {title}</title>\n</head><body>\n<h1>{title}</h1>\n</body></html>\n"
    )


@dataclass
class Fault:
    """One armed fault."""

    mode: Mode
    path: str
    method: str | None
    count: int
    status: int = 500
    code: int | None = None
    message: str | None = None
    html: bool = False
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to ``method path`` (path without query, after the root)."""
        if self.method is not None:
            if method.upper() != self.method.upper():
                return False
        elif self.mode in ("commit_then_drop", "commit_then_502") and method.upper() not in WRITE_METHODS:
            return False
        return path.startswith(self.path)


class Faults:
    """The armed faults of one mock; safe to arm from a test thread while requests run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.on_expire_all: list[object] = []

    def fail_next(
        self, path: str, *, count: int = 1, status: int = 500, code: int | None = None,
        message: str | None = None, html: bool = False, method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with an error, without carrying them out."""
        self._add(Fault("fail", path, method, count, status=status, code=code, message=message, html=html))

    def delay(self, path: str, *, seconds: float, count: int = 1, method: str | None = None) -> None:
        """Hold the next ``count`` matching requests ``seconds`` before carrying them out."""
        self._add(Fault("delay", path, method, count, seconds=seconds))

    def commit_then_drop(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then close the socket without any response."""
        self._add(Fault("commit_then_drop", path, method, count))

    def commit_then_502(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then answer Apache's HTML 502 Proxy Error page."""
        self._add(Fault("commit_then_502", path, method, count, status=502, html=True))

    def expire_all_sessions(self) -> None:
        """Every open session becomes invalid now (the next request gets 401 / 301)."""
        for callback in list(self.on_expire_all):
            callback()  # type: ignore[operator]

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request (at most one of each mode), consuming one use each."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(method, path) and all(f.mode != fault.mode for f in fired):
                    fault.count -= 1
                    fired.append(fault)
            self._faults = [fault for fault in self._faults if fault.count > 0]
        return fired

    def pending(self) -> list[Fault]:
        """Faults not yet used up (for diagnostics)."""
        with self._lock:
            return list(self._faults)

    def _add(self, fault: Fault) -> None:
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)


def parse_fault_spec(spec: str) -> tuple[str, dict[str, object]]:
    """CLI ``METHOD:PATH:MODE[:COUNT[:ARG]]`` → (faults method name, kwargs).

    Examples: ``POST:InventoryGenEntries:commit_then_drop:1``, ``*:ProductionOrders:delay:2:0.5``,
    ``POST:InventoryGenEntries:fail:1:502`` (ARG = status for fail, seconds for delay).
    """
    parts = spec.split(":")
    if len(parts) < 3:
        raise ValueError(f"fault {spec!r}: expected METHOD:PATH:MODE[:COUNT[:ARG]]")
    method, path, mode = parts[0], parts[1], parts[2]
    count = int(parts[3]) if len(parts) > 3 and parts[3] else 1
    kwargs: dict[str, object] = {"count": count, "method": None if method in ("*", "") else method.upper()}
    if mode == "fail":
        kwargs["status"] = int(parts[4]) if len(parts) > 4 else 500
        kwargs["html"] = kwargs["status"] in (502, 503, 504)
        return "fail_next", {"path": path, **kwargs}
    if mode == "delay":
        kwargs["seconds"] = float(parts[4]) if len(parts) > 4 else 1.0
        return "delay", {"path": path, **kwargs}
    if mode in ("commit_then_drop", "commit_then_502"):
        return mode, {"path": path, **kwargs}
    raise ValueError(f"fault {spec!r}: unknown mode {mode!r} (fail, delay, commit_then_drop, commit_then_502)")
