"""Fixtures for the Service Layer client's unit tests: v1/v2 roots, strict ordered mocks, a client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from pydantic import SecretStr
from responses.registries import OrderedRegistry

from connector.sl.client import ServiceLayerClient
from tests.support.sl_client import client_from
from tests.support.sl_unit import HOST, PASSWORD, FakeClock, SleepRecorder


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
            "base_url": root,
            "company_db": "SBODEMOUS",
            "username": "manager",
            "password": SecretStr(PASSWORD),
            "page_size": 5,
            "retry_attempts": 4,
            "retry_max_wait_s": 2.0,
            "retry_total_s": 60.0,
            "session_margin_s": 60.0,
            "sleep": sleeps,
            "clock": clock,
        }
        options.update(overrides)
        return client_from(**options)

    return build
