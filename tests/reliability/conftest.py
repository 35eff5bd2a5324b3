"""Reliability tests run the mock with over-receipt ALLOWED, on purpose, and with one posting session
and with four (B1_POST_SESSIONS=4).

The mock refuses a receipt beyond the order's planned quantity by default (strict, so a connector bug
that over-receives fails). Here the point is the opposite: if the connector ever posted a confirmation
twice (a lost answer re-sent, a crash replayed), SAP would book it twice, and these tests must SEE that
second receipt and fail on it, rather than have the mock's over-receipt refusal hide it.

Every exactly-once rule must hold whichever session posts, whatever else is in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from connector.mock_sl.server import MockServiceLayer
from tests.support.mock import DEMO, duplicates_visible, make_settings


@pytest.fixture
def mock_sl() -> Iterator[MockServiceLayer]:
    """The demo company on the real HTTP mock, over-receipt allowed so duplicates stay visible."""
    with MockServiceLayer(DEMO, port=0, switches=duplicates_visible()) as sl:
        yield sl


@pytest.fixture(params=[1, 4], ids=lambda n: f"sessions{n}")
def post_sessions(request: pytest.FixtureRequest) -> int:
    """B1_POST_SESSIONS for the worker under test."""
    return int(request.param)


@pytest.fixture
def worker_factory(mock_sl, protocol, tmp_path, post_sessions) -> Iterator[object]:
    """Logged-in workers against the mock, posting with ``post_sessions`` sessions; closed at teardown."""
    from connector.composition import build_worker

    with ExitStack() as stack:

        def factory(**overrides: object):
            overrides.setdefault("post_sessions", post_sessions)
            return build_worker(make_settings(mock_sl, protocol, tmp_path, **overrides), stack)

        yield factory
