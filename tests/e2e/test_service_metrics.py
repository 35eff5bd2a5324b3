"""``B1_METRICS_PORT``: the service's Prometheus endpoint, scraped over HTTP like Prometheus does."""

from __future__ import annotations

import socket

import pytest
import requests
from filelock import FileLock
from prometheus_client.parser import text_string_to_metric_families

from connector.errors import ConfigError
from connector.service import run_service
from tests.conftest import make_settings
from tests.e2e.test_service_run import CLEAN_DEMO_ORDERS, ServiceThread, fast, receipts_posted, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scraped(port: int, key: tuple[str, tuple]) -> float:
    """One sample's value, 0 while the endpoint or the sample is not there yet."""
    try:
        return scrape(port).get(key, 0.0)
    except requests.ConnectionError:
        return 0.0


def test_the_service_exposes_what_it_posted_and_held(mock_sl, tmp_path):
    port = free_port()
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5, metrics_port=port)
    with ServiceThread(settings) as service:
        wait_until(lambda: scraped(port, ("b1bf_cycles_total", (("outcome", "ok"),))) >= 1,
                   what="the first cycle in the metrics")
        metrics = scrape(port)
        assert service.stop() == 0

    assert metrics[("b1bf_receipts_posted_total", ())] == CLEAN_DEMO_ORDERS
    assert metrics[("b1bf_cycles_total", (("outcome", "ok"),))] == 1
    held = {labels[0][1]: value for (name, labels), value in metrics.items() if name == "b1bf_orders_held"}
    assert held == {"MANUAL_NOT_ISSUED": 1, "BACKFLUSH_BATCH_MANAGED": 1, "BACKFLUSH_SERIAL_MANAGED": 1,
                    "INSUFFICIENT_STOCK": 1, "FINISHED_GOOD_NEEDS_BATCH": 2, "FINISHED_GOOD_NEEDS_SERIAL": 1,
                    "OVER_RECEIPT": 1, "INVALID_QUANTITY": 1, "UNKNOWN_ITEM": 1, "UNSUPPORTED_ORDER_TYPE": 1}
    assert metrics[("b1bf_postings_unsettled", ())] == 0
    assert metrics[("b1bf_duplicates_in_sap", ())] == 0
    assert metrics[("b1bf_last_successful_cycle_timestamp_seconds", ())] > 0
    # The endpoint goes with the service.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_failed_cycles_and_lost_answers_show(mock_sl, tmp_path):
    port = free_port()
    settings = fast(make_settings(mock_sl, "v2", tmp_path, retry_attempts=1, metrics_port=port,
                                  unknown_quiet_period_s=3600))
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


def test_a_metrics_port_in_use_stops_the_service_at_start_naming_the_setting(mock_sl, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5, metrics_port=port)
        with pytest.raises(ConfigError, match="B1_METRICS_PORT"):
            run_service(settings, install_signals=False)
    # Nothing ran, and the single-instance lock was released: the service can start once the port is free.
    assert receipts_posted(mock_sl) == 0
    with FileLock(str(settings.ledger_path) + ".lock").acquire(timeout=0):
        pass
