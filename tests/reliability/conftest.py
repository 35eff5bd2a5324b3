"""Reliability tests run the mock with over-receipt ALLOWED, on purpose.

The mock refuses a receipt beyond the order's planned quantity by default (strict, so a connector bug
that over-receives fails). Here the point is the opposite: if the connector ever posted a confirmation
twice (a lost answer re-sent, a crash replayed), SAP would book it twice, and these tests must SEE that
second receipt and fail on it, rather than have the mock's over-receipt refusal hide it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.mock_sl.server import MockServiceLayer, MockSwitches
from tests.conftest import DEMO


def duplicates_visible() -> MockSwitches:
    """The switches every reliability test's mock runs with (see the module docstring)."""
    return MockSwitches(over_receipt="allow")


@pytest.fixture
def mock_sl() -> Iterator[MockServiceLayer]:
    """The demo company on the real HTTP mock, over-receipt allowed so duplicates stay visible."""
    with MockServiceLayer(DEMO, port=0, switches=duplicates_visible()) as sl:
        yield sl
