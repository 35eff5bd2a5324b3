"""Login sessions: GUID ids, sliding inactivity timeout, logout (docs/service-layer.md §1.2–§1.5)."""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable

DEFAULT_TIMEOUT_MIN = 30  # §1.4: 30 minutes of inactivity by default


class Sessions:
    """Open sessions and their last use; a session works on both roots (§1.1, FP2608)."""

    def __init__(self, timeout_s: float | None, clock: Callable[[], float]) -> None:
        self.timeout_s = float(timeout_s) if timeout_s is not None else DEFAULT_TIMEOUT_MIN * 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._last_used: dict[str, float] = {}

    def __repr__(self) -> str:
        # Session ids are credentials: never print them.
        return f"Sessions(open={len(self._last_used)}, timeout_s={self.timeout_s})"

    @property
    def timeout_minutes(self) -> int:
        """``SessionTimeout`` as Login reports it: whole minutes (§1.2), at least 1."""
        return max(1, math.ceil(self.timeout_s / 60))

    def create(self) -> str:
        """A new session; real ids are GUIDs (§1.2)."""
        session_id = str(uuid.uuid4())
        with self._lock:
            self._last_used[session_id] = self._clock()
        return session_id

    def use(self, session_id: str | None) -> bool:
        """True if the session is open and not idle past the timeout; using it slides the timeout (§1.4)."""
        if not session_id:
            return False
        now = self._clock()
        with self._lock:
            last = self._last_used.get(session_id)
            if last is None:
                return False
            if now - last > self.timeout_s:
                del self._last_used[session_id]
                return False
            self._last_used[session_id] = now
            return True

    def drop(self, session_id: str | None) -> None:
        """Logout."""
        with self._lock:
            self._last_used.pop(session_id or "", None)

    def clear(self) -> None:
        """Every session expires at once."""
        with self._lock:
            self._last_used.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._last_used)
