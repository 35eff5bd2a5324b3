"""Mock SL fixtures: a fresh demo mock per test and a logged-in raw ``requests`` client per protocol."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.mock_sl.server import MockServiceLayer, MockSwitches
from connector.mock_sl.store import load_data
from tests.support.mock import DEMO
from tests.support.raw_client import Client, start_mock


@pytest.fixture
def sl() -> Iterator[MockServiceLayer]:
    mock = start_mock()
    yield mock
    mock.stop()


@pytest.fixture
def client(sl: MockServiceLayer, protocol: str) -> Client:
    c = Client(sl, protocol)
    assert c.login().status_code == 200
    return c


@pytest.fixture
def make_client(protocol: str) -> Iterator[Any]:
    """Builds a mock with given data, switches or options and a logged-in client for it."""
    started: list[MockServiceLayer] = []

    def factory(**kwargs: Any) -> Client:
        if "switches" in kwargs and isinstance(kwargs["switches"], dict):
            kwargs["switches"] = MockSwitches(**kwargs["switches"])
        mock = start_mock(**kwargs)
        started.append(mock)
        c = Client(mock, protocol)
        assert c.login().status_code == 200
        return c

    yield factory
    for mock in started:
        mock.stop()


@pytest.fixture
def reversed_orders(make_client: Any) -> Client:
    """The demo company with its production orders stored in descending key order (the mock must not
    rely on storage order for key filters, ``$orderby`` or paging), and a logged-in client for it."""
    data = load_data(DEMO)
    data["ProductionOrders"] = list(reversed(data["ProductionOrders"]))
    return make_client(data=data)
