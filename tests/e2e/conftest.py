"""End-to-end fixtures: the real command line (``connector.cli.main``) against the real mock Service Layer.

``cli`` sets the B1_* environment for the mock (per ``protocol``), runs ``main`` in-process and hands
back the exit code, stdout and stderr. The demo's expected outcomes live in tests/support/demo.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.demo import CliResult
from tests.support.mock import make_settings


@pytest.fixture
def cli_env(mock_sl, protocol, tmp_path, monkeypatch) -> dict[str, str]:
    """B1_* variables for the mock in ``protocol``; the working directory has no .env."""
    user, password = next(iter(mock_sl.users.items()))
    env = {
        "B1_SL_URL": mock_sl.root(protocol),
        "B1_COMPANY_DB": mock_sl.company_db,
        "B1_USERNAME": user,
        "B1_PASSWORD": password,
        "B1_LEDGER_PATH": str(tmp_path / "state" / "ledger.sqlite3"),
        "B1_UNKNOWN_QUIET_PERIOD_S": "0",
        "B1_READ_TIMEOUT_S": "2",  # a lost answer's second look-up waits read timeout + quiet period
        "B1_RETRY_MAX_WAIT_S": "0.01",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return env


@pytest.fixture
def cli(cli_env, capsys) -> Iterator[Callable[..., CliResult]]:
    """``cli("once", "--json")`` runs ``connector.cli.main`` in-process against the mock."""
    from connector import cli as cli_module
    from connector import log

    root = logging.getLogger()
    handlers, level, secrets = root.handlers[:], root.level, set(log._extra_secrets)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = cli_module.main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    try:
        yield run
    finally:
        # main() points the root logger at this test's captured stderr; later tests must not log there.
        root.handlers[:] = handlers
        root.setLevel(level)
        log._extra_secrets.clear()
        log._extra_secrets.update(secrets)


@pytest.fixture
def sl_client(mock_sl, protocol, tmp_path) -> Iterator[Any]:
    """A logged-in Service Layer client for what a user does in SAP by hand (issues, checks)."""
    from connector.sl.client import ServiceLayerClient

    settings = make_settings(mock_sl, protocol, tmp_path / "by-hand")
    with ServiceLayerClient(settings.sl, settings.retry) as client:
        client.login()
        yield client


@pytest.fixture
def endpoint(tmp_path) -> Any:
    """The service's HTTP endpoint over an empty ledger, not serving yet (``endpoint.serve(...)``).

    No Service Layer behind it: its settings only name one (port 9, discard)."""
    from connector.endpoint import ServiceEndpoint
    from connector.metrics import ServiceMetrics
    from connector.settings import Settings

    settings = Settings(
        sl_url="http://127.0.0.1:9/b1s/v2",
        company_db="SBODEMOUS",
        username="manager",
        password="1234",
        ledger_path=tmp_path / "ledger.sqlite3",
        _env_file=None,
    )  # type: ignore[call-arg]
    return ServiceEndpoint(settings, ServiceMetrics())
