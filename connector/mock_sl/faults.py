"""Fault injection: the ways a real Service Layer and its Apache front fail (docs/service-layer.md §2.2).

A fault matches a request by method (None = any; the commit-then modes default to writes only) and by
prefix of the path after the service root, without the query (``"InventoryGenEntries"`` matches
``InventoryGenEntries(5)`` too). Each fires ``count`` times, in the order they were added.

Lost-response modes (docs/exactly-once.md "How to prove it"); each is carried out (document created) and
its answer is then lost in a different way:
- ``commit_then_drop``: the socket is shut down without a status line (the client sees the
  connection closed after sending).
- ``commit_then_reset``: the socket is closed with SO_LINGER 0, so the client gets a TCP RST
  (``ConnectionResetError``) instead of an answer.
- ``commit_then_502``: Apache's HTML "502 Proxy Error" page (§2.2: not JSON).
- ``commit_then_hang``: the answer is held ``seconds`` (past the client's read timeout), then sent.
- ``commit_then_truncate``: the status line and a Content-Length for the whole body, then only half
  the body, then the connection is closed (an answer without a body, a 204: its status line, cut
  before the code).
- ``slow_commit``: the request is held ``seconds`` *before* it is carried out, so the client times
  out while the server commits later: the in-flight race the quiet period exists for.
- ``delay`` (any method): the request waits before being carried out, like ``slow_commit``.

The commit-then modes and ``slow_commit`` match writes only unless a method is given.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, get_args

Mode = Literal[
    "fail",
    "delay",
    "slow_commit",
    "commit_then_drop",
    "commit_then_reset",
    "commit_then_502",
    "commit_then_hang",
    "commit_then_truncate",
]
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
#: Modes that apply to writes only when no method is given.
WRITE_ONLY_MODES = frozenset(get_args(Mode)) - {"fail", "delay"}
#: Every mode the command line accepts, in the order ``--help`` lists them.
CLI_MODES: tuple[str, ...] = get_args(Mode)
#: Modes whose ARG is a number of seconds, and its default on the command line.
SECONDS_DEFAULTS = {"delay": 1.0, "slow_commit": 1.0, "commit_then_hang": 120.0}

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
        elif self.mode in WRITE_ONLY_MODES and method.upper() not in WRITE_METHODS:
            return False
        return path.startswith(self.path)


class Faults:
    """The armed faults of one mock; safe to arm from a test thread while requests run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.on_expire_all: list[object] = []

    def fail_next(
        self,
        path: str,
        *,
        count: int = 1,
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
        html: bool = False,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with an error, without carrying them out."""
        self._add(Fault("fail", path, method, count, status=status, code=code, message=message, html=html))

    def delay(self, path: str, *, seconds: float, count: int = 1, method: str | None = None) -> None:
        """Hold the next ``count`` matching requests ``seconds`` before carrying them out."""
        self._add(Fault("delay", path, method, count, seconds=seconds))

    def slow_commit(self, path: str, *, seconds: float, count: int = 1, method: str | None = None) -> None:
        """Hold the next ``count`` matching writes ``seconds`` before carrying them out (the client times out
        first, the document appears later)."""
        self._add(Fault("slow_commit", path, method, count, seconds=seconds))

    def commit_then_drop(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then close the socket without any response."""
        self._add(Fault("commit_then_drop", path, method, count))

    def commit_then_reset(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then reset the connection (TCP RST, no answer)."""
        self._add(Fault("commit_then_reset", path, method, count))

    def commit_then_502(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then answer Apache's HTML 502 Proxy Error page."""
        self._add(Fault("commit_then_502", path, method, count, status=502, html=True))

    def commit_then_hang(
        self, path: str, *, seconds: float, count: int = 1, method: str | None = None
    ) -> None:
        """Carry out the next ``count`` matching writes, then hold the answer ``seconds`` (past the client's
        read timeout) before sending it and closing the connection."""
        self._add(Fault("commit_then_hang", path, method, count, seconds=seconds))

    def commit_then_truncate(self, path: str, *, count: int = 1, method: str | None = None) -> None:
        """Carry out the next ``count`` matching writes, then send the headers (Content-Length of the whole
        body) and only half the body, and close the connection."""
        self._add(Fault("commit_then_truncate", path, method, count))

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
                fresh_mode = all(f.mode != fault.mode for f in fired)
                if fault.count > 0 and fault.matches(method, path) and fresh_mode:
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
    ``POST:InventoryGenEntries:fail:1:502``, ``POST:InventoryGenEntries:slow_commit:1:3``
    (ARG = status for fail, default 500; seconds for delay, slow_commit and commit_then_hang,
    defaults in ``SECONDS_DEFAULTS``).
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
    if mode in SECONDS_DEFAULTS:
        kwargs["seconds"] = float(parts[4]) if len(parts) > 4 else SECONDS_DEFAULTS[mode]
        return mode, {"path": path, **kwargs}
    if mode in CLI_MODES:
        return mode, {"path": path, **kwargs}
    raise ValueError(f"fault {spec!r}: unknown mode {mode!r} ({', '.join(CLI_MODES)})")
