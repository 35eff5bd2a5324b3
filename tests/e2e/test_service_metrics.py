"""``B1_HTTP_PORT``: the service's status page, /healthz and Prometheus /metrics, read over HTTP."""

from __future__ import annotations

import socket

import pytest
import requests
from filelock import FileLock
from prometheus_client.parser import text_string_to_metric_families

from connector.errors import ConfigError
from connector.production.reasons import REASON_HELP
from connector.service import run_service
from tests.support.mock import make_settings
from tests.support.service import CLEAN_DEMO_ORDERS, ServiceThread, fast, receipts_posted, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scraped(port: int, key: tuple[str, tuple]) -> float:
    """One sample's value, 0 while the endpoint or the sample is not there yet."""
    try:
        return scrape(port).get(key, 0.0)
    except requests.ConnectionError:
        return 0.0


def test_the_service_exposes_what_it_posted_and_held(mock_sl, tmp_path):
    port = free_port()
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5, http_port=port)
    with ServiceThread(settings) as service:
        wait_until(
            lambda: scraped(port, ("b1bf_cycles_total", (("outcome", "ok"),))) >= 1,
            what="the first cycle in the metrics",
        )
        metrics = scrape(port)
        assert service.stop() == 0

    assert metrics[("b1bf_receipts_posted_total", ())] == CLEAN_DEMO_ORDERS
    assert metrics[("b1bf_cycles_total", (("outcome", "ok"),))] == 1
    held = {labels[0][1]: value for (name, labels), value in metrics.items() if name == "b1bf_orders_held"}
    assert held == {
        "MANUAL_NOT_ISSUED": 1,
        "BACKFLUSH_BATCH_MANAGED": 1,
        "BACKFLUSH_SERIAL_MANAGED": 1,
        "INSUFFICIENT_STOCK": 1,
        "FINISHED_GOOD_NEEDS_BATCH": 2,
        "FINISHED_GOOD_NEEDS_SERIAL": 1,
        "OVER_RECEIPT": 1,
        "OVER_RECEIVED_IN_SAP": 1,
        "UNKNOWN_ITEM": 1,
        "UNSUPPORTED_ORDER_TYPE": 1,
    }
    assert metrics[("b1bf_postings_unsettled", ())] == 0
    assert metrics[("b1bf_duplicates_in_sap", ())] == 0
    assert metrics[("b1bf_last_successful_cycle_timestamp_seconds", ())] > 0
    # The endpoint goes with the service.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_failed_cycles_and_lost_answers_show(mock_sl, tmp_path):
    port = free_port()
    settings = fast(
        make_settings(mock_sl, "v2", tmp_path, retry_attempts=1, http_port=port, unknown_quiet_period_s=3600)
    )
    mock_sl.faults.fail_next("ProductionOrders", count=1, status=500, method="GET")  # the first poll fails
    # One receipt POST gets Apache's 502: its outcome is unknown until looked up (quiet period 1 h).
    mock_sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
    ok = ("b1bf_cycles_total", (("outcome", "ok"),))
    with ServiceThread(settings) as service:
        wait_until(lambda: scraped(port, ok) >= 1, what="a completed cycle after the failed one")
        metrics = scrape(port)
        assert service.stop() == 0  # also while the next cycle waits out the quiet period
    assert metrics[("b1bf_cycles_total", (("outcome", "failed"),))] >= 1
    assert metrics[("b1bf_postings_unsettled", ())] == 1


def test_the_status_page_shows_held_orders_with_what_to_do_and_escapes_sap_text(mock_sl, tmp_path):
    port = free_port()
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5, http_port=port)
    # SAP refuses order 101's receipt with a message that is markup: it must show as text.
    mock_sl.faults.fail_next(
        "InventoryGenEntries",
        count=1,
        status=400,
        code=-5002,
        message="<script>alert('x')</script> refused",
        method="POST",
    )
    with ServiceThread(settings) as service:
        wait_until(
            lambda: scraped(port, ("b1bf_cycles_total", (("outcome", "ok"),))) >= 1, what="the first cycle"
        )
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        as_json = requests.get(f"http://127.0.0.1:{port}/status.json", timeout=5).json()
        missing = requests.get(f"http://127.0.0.1:{port}/nope", timeout=5)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert service.stop() == 0

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; refused" in html
    assert "Held orders (12)" in html  # the demo's 11, and 101 refused by SAP
    assert "2026230104" in html and "MANUAL_NOT_ISSUED" in html
    assert REASON_HELP["MANUAL_NOT_ISSUED"].what_to_do.replace("'", "&#x27;") in html  # what to do
    assert {h["order_number"] for h in as_json["held"]} >= {2026230101, 2026230104}
    assert missing.status_code == 404
    assert health.status_code == 200 and health.json()["status"] == "ok"


class SetClock:
    """A wall clock the test moves by hand."""

    now = 10_000.0

    def __call__(self) -> float:
        return self.now


def endpoint_on_a_set_clock(mock_sl, tmp_path):
    """(clock, metrics, endpoint) of a service polling every 60 s, all reading ``clock``."""
    from connector.endpoint import ServiceEndpoint
    from connector.metrics import ServiceMetrics

    clock = SetClock()
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=60)
    metrics = ServiceMetrics(clock=clock)
    return clock, metrics, ServiceEndpoint(settings, metrics, clock=clock)


def test_healthz_turns_503_when_no_cycle_succeeded_for_three_intervals(mock_sl, tmp_path):
    clock, metrics, endpoint = endpoint_on_a_set_clock(mock_sl, tmp_path)
    assert endpoint.health()[0] == 200  # just started: no cycle yet is fine
    clock.now += 181
    status, body = endpoint.health()
    assert (status, body["status"], body["last_successful_cycle_age_s"]) == (503, "stale", None)
    metrics.last_success_at = clock.now - 10
    assert endpoint.health() == (
        200,
        {
            "status": "ok",
            "last_successful_cycle_age_s": 10.0,
            "running_cycle_last_progress_age_s": None,
            "healthy_within_s": 180.0,
            "login_refusals": 0,
        },
    )
    clock.now += 200
    assert endpoint.health()[0] == 503


def test_healthz_stays_200_while_a_long_cycle_makes_progress_and_turns_503_when_it_stalls(mock_sl, tmp_path):
    clock, metrics, endpoint = endpoint_on_a_set_clock(mock_sl, tmp_path)
    metrics.last_success_at = clock.now
    metrics.cycle_started()  # a backlog of 1100 orders: this cycle runs for many intervals
    for _ in range(20):  # ten minutes, posting all the while
        clock.now += 30
        metrics.progress()
        status, body = endpoint.health()
        assert status == 200, body
    assert body["status"] == "busy" and body["running_cycle_last_progress_age_s"] == 0.0
    assert body["last_successful_cycle_age_s"] == 600.0  # well past three intervals: only progress counts
    clock.now += 60
    assert endpoint.health()[0] == 200  # quiet for one interval is still fine (one slow request)
    clock.now += 1
    status, body = endpoint.health()
    assert (status, body["status"]) == (503, "stale")  # stalled: no progress for more than an interval
    metrics.cycle_failed(login_refusals=0)  # the cycle gave up: no running cycle counts any more
    assert endpoint.health()[0] == 503


def test_the_worker_reports_progress_per_page_and_per_order(mock_sl, worker_factory):
    ticks: list[int] = []
    worker = worker_factory()
    worker.on_progress = lambda: ticks.append(1)
    report = worker.run_cycle()
    assert len(ticks) >= len(report.posted) + 1  # the page, and every receipt posted


def test_settling_lost_answers_at_the_start_of_a_cycle_is_progress_too(mock_sl, worker_factory):
    worker = worker_factory()
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=2)
    assert len(worker.run_cycle().errors) == 2  # two answers lost: settled at the next cycle's start
    events: list[str] = []
    settle = worker.poster.settle
    worker.poster.settle = lambda row: (events.append("settle"), settle(row))[1]  # type: ignore[method-assign]
    worker.on_progress = lambda: events.append("progress")
    report = worker.run_cycle()
    assert [s.state for s in report.settled] == ["posted", "posted"]
    assert events[:4] == ["settle", "progress", "settle", "progress"]


def test_a_metrics_port_in_use_stops_the_service_at_start_naming_the_setting(mock_sl, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5, http_port=port)
        with pytest.raises(ConfigError, match="B1_HTTP_PORT"):
            run_service(settings, install_signals=False)
    # Nothing ran, and the single-instance lock was released: the service can start once the port is free.
    assert receipts_posted(mock_sl) == 0
    with FileLock(str(settings.ledger_path) + ".lock").acquire(timeout=0):
        pass


def test_a_reason_code_that_no_longer_applies_leaves_the_held_gauge(mock_sl, worker_factory):
    from connector.metrics import ServiceMetrics

    metrics = ServiceMetrics()
    worker = worker_factory()
    metrics.cycle_finished(worker.run_cycle(), duration_s=1, finished_at=1, postings_by_state={})
    assert metrics.registry.get_sample_value("b1bf_orders_held", {"code": "INSUFFICIENT_STOCK"}) == 1
    # Order 107's confirmation is corrected to 0.5 (FOAM-LOW: 1 needed, 1 in stock): it is received, and
    # INSUFFICIENT_STOCK is gone from the gauge instead of lingering at its old count.
    mock_sl.store.patch("ProductionOrders", 107, {"U_ConfirmedQty": 0.5})
    metrics.cycle_finished(worker.run_cycle(), duration_s=1, finished_at=2, postings_by_state={})
    assert metrics.registry.get_sample_value("b1bf_orders_held", {"code": "INSUFFICIENT_STOCK"}) is None
    assert metrics.registry.get_sample_value("b1bf_orders_held", {"code": "OVER_RECEIPT"}) == 1
    assert metrics.registry.get_sample_value("b1bf_receipts_posted_total") == CLEAN_DEMO_ORDERS + 1
