"""A chunk's receipts are decided, then handed to the posting sessions; a stop takes back every
receipt no session has started: the ones queued in the pool and the ones not handed over yet.

Nothing of a receipt taken back was sent (no intent was written either), so its order is decided
afresh next cycle, and the components reserved for it are free again for the rest of the cycle.
"""

from __future__ import annotations

import threading
from typing import Any

from connector.posting_pool import PostingPool
from connector.worker import Worker
from tests.support.demo import DEMO_POSTS, receipt_posts


def test_a_stop_takes_back_the_receipts_no_session_started_and_the_next_cycle_posts_them(
    mock_sl, worker_factory, monkeypatch
):
    worker = worker_factory(post_sessions=2)
    stop = threading.Event()
    worker.stop_event = stop
    sessions_may_post = threading.Event()
    handed_over: list[int] = []
    given_back: list[int] = []

    submit = PostingPool.submit

    def counting_submit(pool: PostingPool, fn: Any, a: Any) -> Any:
        handed_over.append(a.order.AbsoluteEntry)
        if len(handed_over) == 4:  # stop (SIGTERM, in the service) with the chunk half handed over
            stop.set()
        return submit(pool, fn, a)

    send = Worker._send

    def held_send(self: Worker, poster: Any, a: Any) -> Any:
        # Both sessions start their first receipt and wait; the other two stay queued behind them.
        assert sessions_may_post.wait(10), "the cycle never took the waiting receipts back"
        return send(self, poster, a)

    take = Worker._take_backflushed_stock

    def noting_give_back(a: Any, items: Any, *, sign: float = 1.0) -> None:
        take(a, items, sign=sign)
        if sign < 0:
            given_back.append(a.order.AbsoluteEntry)
            if len(given_back) == len(decided) - 2:  # all but the two started: let the sessions post
                sessions_may_post.set()

    monkeypatch.setattr(PostingPool, "submit", counting_submit)
    monkeypatch.setattr(Worker, "_send", held_send)
    monkeypatch.setattr(Worker, "_take_backflushed_stock", staticmethod(noting_give_back))

    decided: list[int] = []
    decide = Worker._decide

    def noting_decide(self: Worker, *args: Any) -> Any:
        a = decide(self, *args)
        if a is not None:
            decided.append(a.order.AbsoluteEntry)
        return a

    monkeypatch.setattr(Worker, "_decide", noting_decide)

    report = worker.run_cycle()

    assert report.aborted == "stop requested"
    # The whole chunk was decided before the first receipt was handed over, and a stop mid-chunk
    # takes back the two queued in the pool and the ones the cycle had not handed over yet.
    assert len(decided) == len(DEMO_POSTS) and decided[:4] == handed_over
    assert len(handed_over) == 4 and sorted(given_back) == sorted(decided[2:])
    posted = {p.order_entry for p in report.posted}
    assert posted == set(handed_over) - set(given_back) and len(posted) == 2
    assert {e for r in receipt_posts(mock_sl) for e in _bases(r.body)} == posted
    for entry in given_back:  # never sent, never intended: nothing to settle
        assert worker.ledger.postings_for_order(worker.company, entry) == []

    stop.clear()
    sessions_may_post.set()
    again = worker.run_cycle()
    assert again.aborted is None
    assert {p.order_entry for p in report.posted} | {p.order_entry for p in again.posted} == set(DEMO_POSTS)
    assert sorted(e for r in receipt_posts(mock_sl) for e in _bases(r.body)) == sorted(DEMO_POSTS)


def _bases(body: dict[str, Any]) -> set[int]:
    return {line["BaseEntry"] for line in body.get("DocumentLines") or [] if line.get("BaseType") == 202}
