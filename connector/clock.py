"""The package's one clock and one way to wait: ``Clock``.

Every part that measures time or waits (the client's retries and session expiry, the poster's quiet
period, the service's login pause) takes a ``Clock``, so tests inject one fake instead of patching
``time`` in each place, and SIGTERM wakes every wait at once: ``sleep`` returns as soon as the stop
event is set, and never starts a wait after it was set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Clock:
    """Monotonic time for durations, wall time for what is stored, and a stop-aware sleep."""

    #: Seconds on a clock that never steps back: durations, deadlines, session expiry.
    monotonic: Callable[[], float] = time.monotonic
    #: Seconds since the epoch: what the ledger stores (an uncertain posting's ``uncertain_since``).
    wall: Callable[[], float] = time.time
    #: Set on SIGTERM/SIGINT; every ``sleep`` wakes at once.
    stop_event: threading.Event | None = None
    #: How a wait is carried out when a test injects one (it records instead of waiting); None: the real wait.
    pause: Callable[[float], None] | None = None

    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self.stop_event is not None and self.stop_event.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, returning early when the stop event is set (and at once if it already is)."""
        if seconds <= 0 or self.stopping():
            return
        if self.pause is not None:
            self.pause(seconds)
        elif self.stop_event is not None:
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def with_stop(self, stop_event: threading.Event | None) -> Clock:
        """This clock, waking on ``stop_event``."""
        return replace(self, stop_event=stop_event)


#: The real clock, with no stop event.
REAL_CLOCK = Clock()
