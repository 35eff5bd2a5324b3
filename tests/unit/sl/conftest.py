"""Shared helpers for the Service Layer client's unit tests: v1/v2 roots, SAP bodies, a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from pydantic import SecretStr
from responses.registries import OrderedRegistry

from connector.sl.client import ServiceLayerClient

HOST = "https://sap.example:50000"
PASSWORD = "s3cr3t-Pa55"
SESSION_IDS = ["11111111-aaaa-4bbb-8ccc-session0001", "22222222-aaaa-4bbb-8ccc-session0002",
               "33333333-aaaa-4bbb-8ccc-session0003"]
ROUTE = ".node7"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepRecorder:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def sl_error(version: str, code: int | str, message: str) -> dict[str, Any]:
    """An SL error body in the shape of ``version`` (service-layer.md §2.1)."""
    if version == "v1":
        return {"error": {"code": int(code), "message": {"lang": "en-us", "value": message}}}
    return {"error": {"code": str(code), "details": [{"code": "", "message": ""}], "message": message}}


def login_ok(root: str, version: str, session_id: str = SESSION_IDS[0], *, timeout_min: int = 30,
             route: str | None = ROUTE) -> responses.BaseResponse:
    """A 200 Login answer with B1SESSION (+ ROUTEID path=/b1s) cookies, shaped per version."""
    meta = ({"odata.metadata": f"{root}/$metadata#B1Sessions/@Element"} if version == "v1"
            else {"@odata.context": f"{root}/$metadata#B1Sessions/$entity"})
    headers = [("Set-Cookie", f"B1SESSION={session_id};HttpOnly;")]
    if route:
        headers.append(("Set-Cookie", f"ROUTEID={route}; path=/b1s"))
    return responses.Response(
        responses.POST, f"{root}/Login",
        json={**meta, "SessionId": session_id, "Version": "1000280", "SessionTimeout": timeout_min},
        headers=headers,
    )


def session_expired(version: str, method: str, url: str) -> responses.BaseResponse:
    """401 / 301 "Invalid session" for ``method url``."""
    return responses.Response(method, url, status=401,
                              json=sl_error(version, 301, "Invalid session or session already timeout."))


@pytest.fixture(params=["v1", "v2"])
def version(request: pytest.FixtureRequest) -> str:
    """Every SL-facing test runs against both roots."""
    return str(request.param)


@pytest.fixture
def root(version: str) -> str:
    """The service root for ``version``."""
    return f"{HOST}/b1s/{version}"


@pytest.fixture
def clock() -> FakeClock:
    """A hand-driven clock."""
    return FakeClock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    """The injected sleep."""
    return SleepRecorder()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """Strict, ordered `responses`: every scripted answer must be used, in order."""
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        yield rsps


@pytest.fixture
def make_client(root: str, clock: FakeClock, sleeps: SleepRecorder) -> Callable[..., ServiceLayerClient]:
    """Build a client on ``root`` with the fake clock and sleep; keyword overrides allowed."""

    def build(**overrides: Any) -> ServiceLayerClient:
        options: dict[str, Any] = {
            "base_url": root, "company_db": "SBODEMOUS", "username": "manager",
            "password": SecretStr(PASSWORD), "page_size": 5, "retry_attempts": 4,
            "retry_max_wait_s": 2.0, "retry_total_s": 60.0, "session_margin_s": 60.0,
            "sleep": sleeps, "clock": clock,
        }
        options.update(overrides)
        return ServiceLayerClient(**options)

    return build
