"""One writer per ledger: ``once`` takes the same instance lock as ``run``.

Without it a ``once`` started while ``run`` (or another ``once``) is posting would settle the other
process's in-flight posting as its own — look the key up, find nothing because SAP has not committed
yet, void it and post again — and SAP would hold two receipts. Real processes, the real mock, a
slow commit: the second process is refused at once with one line and exit 75 (EX_TEMPFAIL), and
SAP ends with exactly one receipt per key.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.mock import process_env
from tests.support.service import CLEAN_DEMO_ORDERS, finished_cycles, wait_until

KEY_FIELD = "U_B1BF_Key"
EX_TEMPFAIL = 75


def _env(mock_sl, tmp_path: Path, **settings: str) -> dict[str, str]:
    return process_env(
        mock_sl,
        tmp_path,
        B1_POLL_INTERVAL_S="5",
        B1_UNKNOWN_QUIET_PERIOD_S="0",
        B1_RETRY_MAX_WAIT_S="0.01",
        **settings,
    )


def _start(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _receipts_per_key(mock_sl) -> Counter[str]:
    return Counter(doc[KEY_FIELD] for doc in mock_sl.store.rows("InventoryGenEntries") if doc.get(KEY_FIELD))


def _refused_line(ledger: Path) -> str:
    return (
        f"busy: another b1-backflush is already running on the ledger {ledger} (lock {ledger}.lock): "
        "try again when it has finished, or stop the service first"
    )


def _second_once_is_refused(env: dict[str, str], cwd: Path) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "connector.cli", "once"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == EX_TEMPFAIL, second.stderr
    assert second.stderr.strip() == _refused_line(Path(env["B1_LEDGER_PATH"]))
    assert second.stdout == ""


def test_once_while_run_posts_a_slow_commit_is_refused_and_sap_gets_one_receipt_per_key(mock_sl, tmp_path):
    # The case: the commit is slower than read timeout + quiet period, so `run` itself finds the
    # answer lost; a `once` that settled it would find nothing yet and post it again.
    env = _env(mock_sl, tmp_path, B1_READ_TIMEOUT_S="1")
    mock_sl.faults.slow_commit("InventoryGenEntries", seconds=3, count=1)
    service = _start(env, tmp_path, "run")
    try:
        wait_until(lambda: not mock_sl.faults.pending() or service.poll() is not None, what="run's slow POST")
        assert service.poll() is None, service.communicate()
        _second_once_is_refused(env, tmp_path)
        # run settles its own lost answer at its next cycle (the slow commit has landed by then).
        ledger = Path(env["B1_LEDGER_PATH"])
        wait_until(lambda: finished_cycles(ledger) >= 2, timeout_s=60, what="run's second cycle")
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err
    per_key = _receipts_per_key(mock_sl)
    assert len(per_key) == CLEAN_DEMO_ORDERS and set(per_key.values()) == {1}


def test_a_second_once_while_the_first_posts_is_refused_and_sap_gets_one_receipt_per_key(mock_sl, tmp_path):
    env = _env(mock_sl, tmp_path, B1_READ_TIMEOUT_S="30")
    mock_sl.faults.slow_commit("InventoryGenEntries", seconds=5, count=1)
    first = _start(env, tmp_path, "once", "--json")
    try:
        wait_until(lambda: not mock_sl.faults.pending() or first.poll() is not None, what="the first POST")
        assert first.poll() is None, first.communicate()
        _second_once_is_refused(env, tmp_path)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    per_key = _receipts_per_key(mock_sl)
    assert len(per_key) == CLEAN_DEMO_ORDERS and set(per_key.values()) == {1}


def test_the_lock_is_released_when_once_ends_so_the_next_once_runs(mock_sl, tmp_path):
    env = _env(mock_sl, tmp_path)
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "connector.cli", "once"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert set(_receipts_per_key(mock_sl).values()) == {1}


@pytest.mark.parametrize("command", [["status"], ["reconcile"], ["explain", "2026230101"]])
def test_read_only_commands_run_beside_the_service_and_never_settle_its_postings(mock_sl, tmp_path, command):
    from connector.ledger import Intent, Ledger

    env = _env(mock_sl, tmp_path)
    ledger_path = Path(env["B1_LEDGER_PATH"])
    ledger = Ledger(ledger_path)
    # An in-flight posting of another process (its answer still pending): only its owner may settle it.
    ledger.intend(
        Intent(
            key="SBODEMOUS/101/C4/R0",
            order_entry=101,
            order_number=2026230101,
            item="FG-TABLE",
            quantity=4,
            rejected_quantity=0,
            payload={},
        ),
        company="SBODEMOUS",
    )
    before = ledger.count_by_state()
    holder = subprocess.Popen(  # holds the instance lock, as `run` does
        [
            sys.executable,
            "-c",
            "import sys, filelock; l = filelock.FileLock(sys.argv[1]); l.acquire(); input()",
            f"{ledger_path}.lock",
        ],
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "connector.cli", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.communicate("\n", timeout=30)
    assert done.returncode in (0, 4), done.stderr  # reconcile: 4 = SAP and the ledger disagree
    assert ledger.count_by_state() == before == {"sending": 1}
    assert ledger.get("SBODEMOUS/101/C4/R0").state == "sending"
    ledger.close()
