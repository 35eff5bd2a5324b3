"""The repository root, the demo company and settings for a worker pointed at a running mock Service Layer."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from connector.demo_company import DEMO_COMPANY as DEMO
from connector.mock_sl.server import MockSwitches

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["DEMO", "ROOT", "duplicates_visible", "free_port", "make_settings", "process_env"]


def make_settings(sl: Any, protocol: str, tmp_path: Path, **overrides: object):
    """Settings for a worker against the mock (no .env, no environment)."""
    from connector.settings import Settings

    user, password = next(iter(sl.users.items()))
    values = {
        "sl_url": sl.root(protocol),
        "company_db": sl.company_db,
        "username": user,
        "password": password,
        "ledger_path": tmp_path / "ledger.sqlite3",
        "unknown_quiet_period_s": 0,
        "retry_max_wait_s": 0.01,
        # Short: the second look-up of a lost answer waits until read timeout + quiet period after the send.
        "read_timeout_s": 2,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def process_env(sl: Any, tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of a ``b1-backflush`` process run against the mock (v2): this process's own
    without any ``B1_*``, the mock's login, a ledger in ``tmp_path``; ``variables`` add or override."""
    user, password = next(iter(sl.users.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("B1_")}
    env.update(
        B1_SL_URL=sl.root("v2"),
        B1_COMPANY_DB=sl.company_db,
        B1_USERNAME=user,
        B1_PASSWORD=password,
        B1_LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
        **variables,
    )
    return env


def duplicates_visible() -> MockSwitches:
    """The switches every reliability test's mock runs with: over-receipt allowed, so a confirmation
    posted twice shows as a second receipt instead of being hidden by the mock's refusal."""
    return MockSwitches(over_receipt="allow")


def free_port() -> int:
    """A loopback port nobody listens on right now (for servers started in another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
