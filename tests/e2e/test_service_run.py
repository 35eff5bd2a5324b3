"""``b1-backflush run`` against the real mock: first cycle at once, one instance per ledger, clean stop,
recovery from a failed cycle, waiting for a Service Layer that is down at start."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from connector import cli
from connector.clock import Clock
from connector.errors import InstanceBusyError
from connector.service import run_service
from tests.support.mock import free_port, make_settings, process_env
from tests.support.service import (
    CLEAN_DEMO_ORDERS,
    ServiceThread,
    fast,
    finished_cycles,
    receipts_posted,
    wait_until,
)


@pytest.fixture
def env_for(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def set_env(settings) -> None:
        for name, value in {
            "B1_SL_URL": settings.sl_url,
            "B1_COMPANY_DB": settings.company_db,
            "B1_USERNAME": settings.username,
            "B1_PASSWORD": settings.password.get_secret_value(),
            "B1_LEDGER_PATH": str(settings.ledger_path),
            "B1_UNKNOWN_QUIET_PERIOD_S": "0",
            "B1_POLL_INTERVAL_S": "5",
        }.items():
            monkeypatch.setenv(name, value)

    yield set_env


def test_first_cycle_runs_at_once_and_a_stop_leaves_exactly_one_receipt_per_order(
    mock_sl, protocol, tmp_path
):
    settings = make_settings(mock_sl, protocol, tmp_path, poll_interval_s=5)
    with ServiceThread(settings) as service:
        wait_until(lambda: finished_cycles(settings.ledger_path) >= 1, what="the first cycle")
        result = service.stop()
    assert result == 0
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS


def test_later_cycles_post_nothing_new(mock_sl, tmp_path):
    settings = fast(make_settings(mock_sl, "v2", tmp_path))
    with ServiceThread(settings) as service:
        wait_until(lambda: finished_cycles(settings.ledger_path) >= 3, what="three cycles")
        assert service.stop() == 0
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS


def test_a_second_instance_on_the_same_ledger_is_refused(mock_sl, tmp_path, env_for, capsys):
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=5)
    with ServiceThread(settings) as service:
        wait_until(lambda: finished_cycles(settings.ledger_path) >= 1, what="the first cycle")
        with pytest.raises(InstanceBusyError, match="already running"):
            run_service(settings, stop_event=threading.Event(), install_signals=False)
        env_for(settings)
        assert cli.main(["run"]) == cli.EXIT_BUSY == 75
        err = capsys.readouterr().err  # the running service's own log lines may be in it too
        [refused] = [line for line in err.splitlines() if line.startswith("busy:")]
        assert refused.startswith("busy: another b1-backflush is already running on the ledger")
        assert service.stop() == 0
    # The lock goes with the service: the next start is allowed.
    with ServiceThread(settings) as again:
        wait_until(
            lambda: finished_cycles(settings.ledger_path) >= 2, what="a cycle of the restarted service"
        )
        assert again.stop() == 0
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS


def test_a_failed_cycle_is_logged_and_the_next_interval_recovers(mock_sl, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    settings = fast(make_settings(mock_sl, "v2", tmp_path, retry_attempts=1))
    # The first poll after login fails outright (SAP answers 500 to the production order query).
    mock_sl.faults.fail_next("ProductionOrders", count=1, status=500, method="GET")
    with ServiceThread(settings) as service:
        wait_until(lambda: receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS, what="the recovering cycle")
        assert service.stop() == 0
    failures = [r for r in caplog.records if r.getMessage().startswith("service_cycle_failed")]
    assert len(failures) == 1
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS


def test_a_service_layer_down_at_start_is_waited_for(tmp_path, caplog):
    from connector.mock_sl.server import MockServiceLayer
    from tests.support.mock import DEMO

    caplog.set_level(logging.INFO)
    port = free_port()
    sl = MockServiceLayer(DEMO, port=port)  # not started yet: SAP is still booting
    settings = fast(make_settings(sl, "v2", tmp_path, retry_attempts=1, connect_timeout_s=1))
    with ServiceThread(settings) as service:
        wait_until(
            lambda: any(r.getMessage().startswith("service_waiting_for_sl") for r in caplog.records),
            what="the waiting message",
        )
        assert service.thread.is_alive()
        with sl:
            wait_until(
                lambda: receipts_posted(sl) == CLEAN_DEMO_ORDERS, what="the first cycle once SAP is up"
            )
            assert service.stop() == 0


def test_wrong_credentials_stop_the_service_at_start(mock_sl, tmp_path, env_for, capsys):
    settings = make_settings(mock_sl, "v2", tmp_path, password="not-the-password-9z")
    env_for(settings)
    assert cli.main(["run"]) == cli.EXIT_SL
    err = capsys.readouterr().err
    assert "login to the Service Layer failed" in err
    assert "not-the-password-9z" not in err


def test_sigterm_stops_the_service_process_cleanly(mock_sl, tmp_path):
    settings = make_settings(mock_sl, "v2", tmp_path)  # the same login and ledger as the process's
    env = process_env(mock_sl, tmp_path, B1_POLL_INTERVAL_S="5", B1_LOG_FORMAT="json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: finished_cycles(settings.ledger_path) >= 1 or proc.poll() is not None,
            what="the first cycle of the service process",
        )
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "service_stopped" in err + out
    assert settings.password.get_secret_value() not in err + out
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS


def test_a_password_changed_while_running_is_retried_ever_more_rarely(mock_sl, tmp_path, caplog):
    from connector.service import CycleRunner

    class Monotonic:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    def logins() -> int:
        return sum(1 for r in mock_sl.requests if r.path == "Login")

    clock = Monotonic()
    settings = make_settings(mock_sl, "v2", tmp_path, poll_interval_s=60)
    runner = CycleRunner(settings, threading.Event(), clock=Clock(monotonic=clock))
    runner()
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS and logins() == 1

    # An administrator changes the user's password in SAP; the sessions end.
    mock_sl.store.users["manager"] = "changed-by-admin"
    mock_sl.faults.expire_all_sessions()
    runner()
    assert runner.login_refusals == 1 and logins() == 2
    runner()  # the next interval (60 s later is still inside the 120 s pause): no login attempt at all
    clock.now += 60
    runner()
    assert logins() == 2
    assert any(r.getMessage().startswith("service_login_paused") for r in caplog.records)
    clock.now += 61
    runner()  # 121 s after the refusal: one more attempt, refused again → the pause doubles to 240 s
    assert runner.login_refusals == 2 and logins() == 3
    clock.now += 200
    runner()
    assert logins() == 3

    # The connector's .env is updated to the new password (as IT would; here the mock's is restored).
    mock_sl.store.users["manager"] = settings.password.get_secret_value()
    clock.now += 41
    runner()
    assert runner.login_refusals == 0 and logins() == 4
    runner.reset()
    assert receipts_posted(mock_sl) == CLEAN_DEMO_ORDERS
