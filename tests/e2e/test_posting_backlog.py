"""Posting sessions are handed up to two receipts each; a stop takes back the ones not yet started.
With one session, the chunk is decided first and a stop gives back the decided receipts not sent.

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
    worker = worker_factory(post_sessions=2)  # 2 sessions: up to 4 receipts handed over
    stop = threading.Event()
    worker.stop_event = stop
    sessions_may_post = threading.Event()
    handed_over: list[int] = []
    given_back: list[int] = []

    submit = PostingPool.submit

    def counting_submit(pool: PostingPool, fn: Any, a: Any) -> Any:
        handed_over.append(a.order.AbsoluteEntry)
        if len(handed_over) == 4:  # the backlog is full: stop (SIGTERM, in the service)
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
            if len(given_back) == 2:  # both queued receipts were taken back: let the sessions post
                sessions_may_post.set()

    monkeypatch.setattr(PostingPool, "submit", counting_submit)
    monkeypatch.setattr(Worker, "_send", held_send)
    monkeypatch.setattr(Worker, "_take_backflushed_stock", staticmethod(noting_give_back))

    report = worker.run_cycle()

    assert report.aborted == "stop requested"
    assert len(handed_over) == 4 and len(given_back) == 2
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


def test_one_session_decides_the_whole_chunk_first_and_a_stop_gives_back_what_it_did_not_send(
    mock_sl, worker_factory, monkeypatch
):
    # With one session the chunk's orders are all decided (stock taken) before the first POST. A stop
    # during that POST: the rest of the chunk is given back, never sent, and posted by the next cycle.
    worker = worker_factory()
    stop = threading.Event()
    worker.stop_event = stop
    events: list[tuple[str, int]] = []

    decide = Worker._decide

    def noting_decide(self: Worker, *args: Any) -> Any:
        a = decide(self, *args)
        if a is not None:
            events.append(("decided", a.order.AbsoluteEntry))
        return a

    send = Worker._send

    def stopping_send(self: Worker, poster: Any, a: Any) -> Any:
        events.append(("sent", a.order.AbsoluteEntry))
        stop.set()  # SIGTERM, in the service, while the first POST is on its way
        return send(self, poster, a)

    take = Worker._take_backflushed_stock

    def noting_give_back(a: Any, items: Any, *, sign: float = 1.0) -> None:
        take(a, items, sign=sign)
        if sign < 0:
            events.append(("given back", a.order.AbsoluteEntry))

    monkeypatch.setattr(Worker, "_decide", noting_decide)
    monkeypatch.setattr(Worker, "_send", stopping_send)
    monkeypatch.setattr(Worker, "_take_backflushed_stock", staticmethod(noting_give_back))

    report = worker.run_cycle()

    decided = [entry for what, entry in events if what == "decided"]
    assert sorted(decided) == sorted(DEMO_POSTS)  # the demo's receipts fit in one chunk
    first = decided[0]
    assert events == [
        *(("decided", entry) for entry in decided),
        ("sent", first),
        *(("given back", entry) for entry in decided[1:]),
    ]
    assert report.aborted == "stop requested" and [p.order_entry for p in report.posted] == [first]
    assert {e for r in receipt_posts(mock_sl) for e in _bases(r.body)} == {first}

    stop.clear()
    monkeypatch.setattr(Worker, "_send", send)
    again = worker.run_cycle()
    assert sorted(p.order_entry for p in again.posted) == sorted(set(DEMO_POSTS) - {first})
