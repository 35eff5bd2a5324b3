"""A held order is logged when it becomes held, when its reason changes and when it is released —
not again every cycle while nothing changed (a planner's log must not drown in repeats)."""

from __future__ import annotations

import logging

from connector.production import reasons as rc
from tests.support.demo import DEMO_HOLDS, number


def _held_lines(caplog) -> dict[int, list[logging.LogRecord]]:
    lines: dict[int, list[logging.LogRecord]] = {}
    for record in caplog.records:
        if record.getMessage() == "order_held":
            lines.setdefault(record.order_entry, []).append(record)  # type: ignore[attr-defined]
    return lines


def test_a_hold_is_logged_once_then_on_a_new_reason_then_on_release(worker_factory, mock_sl, caplog):
    caplog.set_level(logging.INFO, logger="connector.worker")
    worker = worker_factory()

    worker.run_cycle()
    first = _held_lines(caplog)
    assert set(first) == set(DEMO_HOLDS)
    over = first[110][0]
    assert (over.order, over.code, over.previous_code) == (number(110), rc.OVER_RECEIPT, None)  # type: ignore[attr-defined]

    caplog.clear()
    worker.run_cycle()
    assert _held_lines(caplog) == {}, "nothing changed: no order_held line"

    caplog.clear()
    mock_sl.store.patch("ProductionOrders", 107, {"U_ConfirmedQty": 12})  # now over the planned 10
    worker.run_cycle()
    changed = _held_lines(caplog)
    assert list(changed) == [107]
    line = changed[107][0]
    assert rc.OVER_RECEIPT in line.code.split(",")  # type: ignore[attr-defined]
    assert line.previous_code == rc.INSUFFICIENT_STOCK  # type: ignore[attr-defined]

    caplog.clear()
    mock_sl.store.patch("ProductionOrders", 110, {"U_ConfirmedQty": 0})
    worker.run_cycle()
    assert _held_lines(caplog) == {}
    released = [r for r in caplog.records if r.getMessage() == "order_released"]
    assert [(r.order, r.order_entry) for r in released] == [(number(110), 110)]  # type: ignore[attr-defined]
