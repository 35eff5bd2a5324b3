"""``B1_POST_SESSIONS``: several Service Layer sessions posting receipts at once.

The Service Layer serves sessions in parallel, so a backlog drains about N times faster with N
sessions. Each session is its own logged-in client with its own ``Poster``; a thread takes a free
one for each receipt. Every exactly-once rule stays where it is, in ``Poster.post``: the intent is
committed before the POST, a per-key lock (shared by all posters) keeps two threads off one key, and
the crash points fire in whichever thread reaches them. What the pool does not do is decide: the
worker assesses orders one by one in the cycle's thread and reserves the components a receipt
backflushes before it hands the receipt over, so two orders sharing a scarce component are never
both sent.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from connector.posting import Poster

T = TypeVar("T")
A = TypeVar("A")


class PostingPool:
    """N posters (one session each) and N threads; ``submit`` runs ``fn(poster, arg)`` on a free one."""

    def __init__(self, posters: list[Poster]) -> None:
        if not posters:
            raise ValueError("a posting pool needs at least one poster")
        self.size = len(posters)
        self._free: queue.SimpleQueue[Poster] = queue.SimpleQueue()
        for poster in posters:
            self._free.put(poster)
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="b1bf-post")

    def submit(self, fn: Callable[[Poster, A], T], arg: A) -> Future[T]:
        """Run ``fn`` with a poster nobody else is using (callers keep at most ``size`` in flight)."""

        def run() -> T:
            poster = self._free.get()
            try:
                return fn(poster, arg)
            finally:
                self._free.put(poster)

        return self._executor.submit(run)

    def close(self) -> None:
        """Wait for the postings in hand, then stop the threads (idempotent)."""
        self._executor.shutdown(wait=True)
