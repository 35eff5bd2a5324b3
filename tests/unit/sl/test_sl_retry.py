"""The retry predicate (a table) and the tenacity policy built from settings."""

from __future__ import annotations

import logging
import threading

import pytest

from connector.clock import Clock
from connector.errors import (
    SLAuthError,
    SLConnectionError,
    SLError,
    SLNotFoundError,
    SLOutcomeUnknownError,
    SLQueryError,
    SLRequestError,
    SLServerError,
    SLSessionError,
)
from connector.sl.retry import RetryPolicy, build_retrying, is_idempotent, is_retryable

DATA = "/b1s/v2/InventoryGenEntries"
#: No time passes and no wait is made.
NO_WAIT = Clock(monotonic=lambda: 0.0, pause=lambda _s: None)
LOGIN = "/b1s/v2/Login"


def server(
    status: int, code: str | None = None, path: str = DATA, method: str | None = None
) -> SLServerError:
    return SLServerError("x", status=status, code=code, path=path, method=method)


def conn(sent: bool, method: str | None = None, path: str = DATA) -> SLConnectionError:
    return SLConnectionError("x", request_sent=sent, method=method, path=path)


@pytest.mark.parametrize(
    ("exc", "method", "expected"),
    [
        (conn(False), "GET", True),
        (conn(False), "POST", True),  # connect failed: nothing reached SAP
        (conn(True), "GET", True),
        (conn(True), "PATCH", True),
        (conn(True), "POST", False),
        (conn(True, path=LOGIN), "POST", True),
        (conn(True, method="POST", path=LOGIN), "GET", True),  # the Login of a GET's attempt
        (SLOutcomeUnknownError("x", path=DATA), "POST", False),
        (SLOutcomeUnknownError("x", path=DATA), "GET", False),
        (server(502), "GET", True),
        (server(503), "GET", True),
        (server(504), "PATCH", True),
        (server(502), "POST", False),
        (server(503), "DELETE", True),
        (server(500), "GET", False),
        (server(500, "407"), "GET", False),  # broken node: re-login, not a blind retry
        (server(500, "299", LOGIN), "POST", True),  # SAML login race
        (server(500, "299", DATA), "POST", False),
        (server(500, "299", DATA), "GET", False),
        (server(502, path=LOGIN), "POST", True),
        (server(503, path="/b1s/v1/Logout"), "POST", True),
        (server(502, method="POST", path=LOGIN), "GET", True),
        (server(502, method="POST", path=DATA), "GET", False),  # the error's own method wins
        (SLSessionError("x", status=401), "GET", False),  # handled by re-login, not by the loop
        (SLAuthError("x", status=401), "POST", False),
        (SLRequestError("x", status=400, code="-5002"), "GET", False),
        (SLNotFoundError("x", status=404), "GET", False),
        (SLQueryError("x", status=400, code="201"), "GET", False),
        (SLError("x"), "GET", False),
        (ValueError("x"), "GET", False),
    ],
)
def test_is_retryable_table(exc: BaseException, method: str, expected: bool) -> None:
    assert is_retryable(exc, method) is expected


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", DATA, True),
        ("patch", DATA, True),
        ("POST", DATA, False),
        ("POST", LOGIN, True),
        ("POST", "/b1s/v1/Logout", True),
        ("POST", "/b1s/v1/ProductionOrders(1)/Cancel", False),
        ("POST", None, False),
    ],
)
def test_is_idempotent_table(method: str, path: str | None, expected: bool) -> None:
    assert is_idempotent(method, path) is expected


class Flaky:
    """Fails with ``errors`` in turn, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_build_retrying_retries_then_succeeds_and_logs_each_retry(caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    retrying = build_retrying(
        RetryPolicy(attempts=4, max_wait_s=2.0),
        method="GET",
        path=DATA,
        clock=Clock(monotonic=lambda: 0.0, pause=sleeps.append),
    )
    flaky = Flaky(server(503), conn(True))
    with caplog.at_level(logging.WARNING, logger="connector.sl.retry"):
        assert retrying(flaky) == "ok"
    assert flaky.calls == 3
    assert len(sleeps) == 2 and all(0 <= s <= 2.0 for s in sleeps)
    records = [r for r in caplog.records if r.getMessage() == "sl.retry"]
    assert [r.attempt for r in records] == [1, 2]  # type: ignore[attr-defined]
    assert [r.reason for r in records] == ["SLServerError", "SLConnectionError"]  # type: ignore[attr-defined]
    assert all(r.wait_s is not None for r in records)  # type: ignore[attr-defined]


def test_build_retrying_stops_after_attempts_and_reraises_the_last_error() -> None:
    retrying = build_retrying(RetryPolicy(attempts=3), method="GET", path=DATA, clock=NO_WAIT)
    last = server(504)
    flaky = Flaky(server(502), server(503), last, server(502))
    with pytest.raises(SLServerError) as info:
        retrying(flaky)
    assert info.value is last
    assert flaky.calls == 3


def test_build_retrying_stops_when_the_total_budget_is_spent() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 50.0  # each back-off "takes" 50 s on the injected clock

    retrying = build_retrying(
        RetryPolicy(attempts=10, total_s=120.0),
        method="GET",
        path=DATA,
        clock=Clock(monotonic=lambda: now[0], pause=sleep),
    )
    flaky = Flaky(*(server(503) for _ in range(10)))
    with pytest.raises(SLServerError):
        retrying(flaky)
    assert flaky.calls == 4  # t=0, 50, 100, 150 → over 120 s: stop


def test_build_retrying_does_not_retry_what_the_predicate_refuses() -> None:
    retrying = build_retrying(RetryPolicy(attempts=5), method="POST", path=DATA, clock=NO_WAIT)
    flaky = Flaky(server(502, method="POST"))
    with pytest.raises(SLServerError):
        retrying(flaky)
    assert flaky.calls == 1


def test_build_retrying_stops_at_once_when_shutdown_is_requested() -> None:
    stop = threading.Event()
    stop.set()
    sleeps: list[float] = []
    retrying = build_retrying(
        RetryPolicy(attempts=5),
        method="GET",
        path=DATA,
        clock=Clock(monotonic=lambda: 0.0, pause=sleeps.append, stop_event=stop),
    )
    flaky = Flaky(server(503), server(503))
    with pytest.raises(SLServerError):
        retrying(flaky)
    assert flaky.calls == 1 and sleeps == []


def test_the_clocks_sleep_wakes_when_the_stop_event_is_set() -> None:
    import time

    stop = threading.Event()
    clock = Clock(stop_event=stop)
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    clock.sleep(5.0)
    assert time.monotonic() - started < 1.0


def test_the_clocks_sleep_skips_an_injected_pause_after_shutdown() -> None:
    stop = threading.Event()
    calls: list[float] = []
    clock = Clock(stop_event=stop, pause=calls.append)
    clock.sleep(1.0)
    stop.set()
    clock.sleep(2.0)
    assert calls == [1.0]
