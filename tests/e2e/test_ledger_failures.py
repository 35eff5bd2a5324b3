"""A ledger that fails (disk full, I/O error, read-only) stops the cycle: ``once`` exits 6 with one line,
``run`` logs one line and tries again at the next interval. Never hundreds of per-order errors and exit 0.

The failures are SQLite's own errors, injected into the ledger's connection: SQLITE_FULL ("database
or disk is full") on the third posting intent, as a disk filling up mid-cycle gives it, and
``query_only`` (every write fails, as on a file that turned read-only) from the start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

import pytest

from connector import cli as cli_module
from connector.ledger import Ledger
from connector.service import CycleRunner
from tests.support.demo import DEMO_POSTS, ledger_path, receipt_posts
from tests.support.mock import make_settings


class _DiskFillsUp:
    """The ledger's connection, whose disk is full from the ``nth`` posting intent on."""

    def __init__(self, db: sqlite3.Connection, nth: int) -> None:
        self._db, self._left = db, nth

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("INSERT INTO postings"):
            self._left -= 1
            if self._left <= 0:
                raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _fail_ledgers(monkeypatch: pytest.MonkeyPatch, how: str, *, times: int = 1_000) -> None:
    """The next ``times`` ledgers opened for writing fail ``how``."""
    opened = Ledger.__init__
    left = [times]

    def failing_init(self: Ledger, *args: object, **kwargs: object) -> None:
        opened(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.read_only or left[0] <= 0:
            return
        left[0] -= 1
        if how == "disk full":
            self._db = _DiskFillsUp(self._db, nth=3)  # type: ignore[assignment]
        else:
            self._db.execute("PRAGMA query_only=ON")

    monkeypatch.setattr(Ledger, "__init__", failing_init)


def _one_ledger_error_line(err: str, path: object, cause: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ledger error: the ledger {path} failed: {cause}")
    assert lines[0].endswith("check the free disk space and the permissions of its folder")


def test_disk_full_mid_cycle_stops_the_cycle_and_once_exits_6_with_one_line(
    cli, cli_env, mock_sl, monkeypatch
):
    monkeypatch.setenv("B1_LOG_LEVEL", "ERROR")
    _fail_ledgers(monkeypatch, "disk full")
    result = cli("once")
    assert result.code == cli_module.EXIT_LEDGER == 6
    _one_ledger_error_line(result.err, ledger_path(cli_env), "database or disk is full")
    assert result.out == ""
    # It stopped at the first posting the ledger could not record: nothing was sent without an intent.
    assert len(receipt_posts(mock_sl)) == 2


def test_a_ledger_failing_at_cycle_start_exits_6_with_one_line_and_sends_nothing(
    cli, cli_env, mock_sl, monkeypatch
):
    monkeypatch.setenv("B1_LOG_LEVEL", "ERROR")
    _fail_ledgers(monkeypatch, "read-only")
    result = cli("once")
    assert result.code == 6
    _one_ledger_error_line(result.err, ledger_path(cli_env), "attempt to write a readonly database")
    assert receipt_posts(mock_sl) == []


def test_after_the_disk_is_freed_the_next_once_finishes_the_job_exactly_once(
    cli, cli_env, mock_sl, monkeypatch
):
    _fail_ledgers(monkeypatch, "disk full", times=1)
    assert cli("once").code == 6
    again = cli("once", "--json")
    assert again.code == 0, again.err
    posts = receipt_posts(mock_sl)
    assert len(posts) == len(DEMO_POSTS)  # every order once: none twice, none lost
    assert {p.status for p in posts} == {204}  # created (Prefer: return-no-content)


def test_run_logs_a_ledger_failure_in_one_line_and_tries_again_next_interval(
    mock_sl, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    _fail_ledgers(monkeypatch, "disk full", times=1)
    settings = make_settings(mock_sl, "v2", tmp_path)
    runner = CycleRunner(settings, threading.Event())
    try:
        runner()
        assert (runner.cycles_ok, runner.cycles_failed) == (0, 1)
        [failed] = [r for r in caplog.records if r.getMessage().startswith("service_cycle_failed")]
        assert failed.exc_info is None  # one line, no traceback
        assert "database or disk is full" in failed.error  # type: ignore[attr-defined]
        assert not [r for r in caplog.records if r.getMessage().startswith("order_failed")]
        runner()  # the next interval: a fresh ledger connection, the disk has room again
        assert (runner.cycles_ok, runner.cycles_failed) == (1, 1)
    finally:
        runner.reset()
    assert len({p.body["U_B1BF_Key"] for p in receipt_posts(mock_sl)}) == len(receipt_posts(mock_sl))
