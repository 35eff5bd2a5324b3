"""Helpers of the mapping end-to-end tests (tests/e2e/test_mappings_*.py).

They drive the connector the way a consultant does: ``b1-backflush ...`` through ``connector.cli.main``
with ``B1_*`` settings in the environment, against the real mock Service Layer over HTTP; and they
read what SAP holds afterwards straight from the mock's store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector import cli, log
from connector.composition import build_worker
from connector.worker import Worker
from tests.support.mock import ROOT, make_settings

MAPPINGS = ROOT / "mappings"
MAPPINGS_README = MAPPINGS / "README.md"
#: The demo company's DocumentNumber of an order = this + AbsoluteEntry (connector/demo_company/README.md).
DOC_NUMBER_BASE = 2026230000


def doc_number(entry: int) -> int:
    """The demo order's DocumentNumber."""
    return DOC_NUMBER_BASE + entry


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """cli.main points the root logger at this test's stderr and registers the password as a secret;
    put the test runner's logging back after, so later tests neither log there nor redact '1234'."""
    root = logging.getLogger()
    handlers, level, secrets = list(root.handlers), root.level, set(log._extra_secrets)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        log._extra_secrets.clear()
        log._extra_secrets.update(secrets)


def use_mock_settings(
    monkeypatch: pytest.MonkeyPatch, sl: Any, protocol: str, tmp_path: Path, mapping: Path | str | None = None
) -> None:
    """The B1_* environment of a consultant pointed at the mock; the working directory is tmp_path
    (so no developer .env is read and the ledger stays in the test's folder)."""
    monkeypatch.chdir(tmp_path)
    user, password = next(iter(sl.users.items()))
    env = {
        "B1_SL_URL": sl.root(protocol),
        "B1_COMPANY_DB": sl.company_db,
        "B1_USERNAME": user,
        "B1_PASSWORD": password,
        "B1_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        "B1_RETRY_MAX_WAIT_S": "0.01",
        "B1_UNKNOWN_QUIET_PERIOD_S": "0",
    }
    if mapping is not None:
        env["B1_MAPPING"] = str(mapping)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@dataclass(frozen=True)
class CliRun:
    """What one ``b1-backflush`` command did: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """The ``--json`` document: all of stdout."""
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    """``b1-backflush ARGV`` in-process, as the console script runs it."""
    capsys.readouterr()
    with root_logging_kept():
        code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return CliRun(code, out, err)


def mapping_worker(
    sl: Any, protocol: str, tmp_path: Path, mapping: Path, stack: ExitStack, today: date
) -> Worker:
    """A logged-in worker with ``mapping``, built as the CLI builds it; its posting date is ``today``."""
    worker = build_worker(make_settings(sl, protocol, tmp_path, mapping=mapping), stack)
    worker.today = lambda: today
    return worker


def receipts_of(sl: Any, entry: int) -> list[dict[str, Any]]:
    """Every Receipt from Production SAP holds for production order ``entry``, oldest first."""
    return [
        doc
        for doc in sl.store.rows("InventoryGenEntries")
        if any(line.get("BaseEntry") == entry for line in doc["DocumentLines"])
    ]


def posted_bodies(sl: Any) -> list[dict[str, Any]]:
    """The bodies of every POST InventoryGenEntries the mock received, in order."""
    return [r.body for r in sl.requests if r.method == "POST" and r.path == "InventoryGenEntries"]


def order_row(sl: Any, entry: int) -> dict[str, Any]:
    """The production order as SAP holds it now."""
    row = sl.store.get("ProductionOrders", entry)
    assert row is not None, entry
    return row
