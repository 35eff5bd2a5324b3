"""End-to-end helpers: the real command line (``connector.cli.main``) against the real mock Service Layer.

``cli`` sets the B1_* environment for the mock (per ``protocol``), runs ``main`` in-process and hands
back the exit code, stdout and stderr. The demo's expected outcomes (demo_company/README.md) live here
so every e2e module checks the same table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.production import reasons as rc

COMPANY = "SBODEMOUS"

#: connector/demo_company/README.md: AbsoluteEntry → (good, rejected) posted by the first cycle.
DEMO_POSTS: dict[int, tuple[float, float]] = {
    101: (4, 0),
    102: (8, 2),
    103: (5, 0),
    115: (2, 0),
    116: (5, 0),
    117: (4, 0),
    118: (10, 0),
}
#: AbsoluteEntry → the one reason code it is held with under the default mapping.
DEMO_HOLDS: dict[int, str] = {
    104: rc.MANUAL_NOT_ISSUED,
    105: rc.BACKFLUSH_BATCH_MANAGED,
    106: rc.BACKFLUSH_SERIAL_MANAGED,
    107: rc.INSUFFICIENT_STOCK,
    108: rc.FINISHED_GOOD_NEEDS_BATCH,
    109: rc.FINISHED_GOOD_NEEDS_SERIAL,
    110: rc.OVER_RECEIPT,
    111: rc.INVALID_QUANTITY,
    112: rc.UNKNOWN_ITEM,
    113: rc.UNSUPPORTED_ORDER_TYPE,
    119: rc.FINISHED_GOOD_NEEDS_BATCH,
}
#: Reasons about one component line: AbsoluteEntry → (LineNumber, component ItemCode).
DEMO_LINE_REASONS: dict[int, tuple[int, str]] = {
    104: (0, "PAINT-WHITE"),
    105: (1, "GLUE-BATCH"),
    106: (1, "SENSOR-SN"),
    107: (0, "FOAM-LOW"),
    112: (1, "GHOST-PART"),
}
#: What the planner is told to do, per code (each held demo message must say it).
DEMO_ACTIONS: dict[str, str] = {
    rc.MANUAL_NOT_ISSUED: "Issue the missing 4 with an Issue for Production",
    rc.BACKFLUSH_BATCH_MANAGED: "Set the line to Manual and issue it with an Issue for Production",
    rc.BACKFLUSH_SERIAL_MANAGED: "Set the line to Manual and issue it with an Issue for Production",
    rc.INSUFFICIENT_STOCK: "Bring the missing stock into warehouse 02",
    rc.FINISHED_GOOD_NEEDS_BATCH: "A consultant adds it, or the order is received by hand",
    rc.FINISHED_GOOD_NEEDS_SERIAL: "A consultant adds it, or the order is received by hand",
    rc.OVER_RECEIPT: "Check the confirmed quantity, or raise the order's planned quantity",
    rc.INVALID_QUANTITY: "enter the total so far, at least 5",
    rc.UNKNOWN_ITEM: "create the item in SAP",
    rc.UNSUPPORTED_ORDER_TYPE: "Receive it by hand in SAP",
}
DEMO_RELEASED = 19  # 101-119; 120 planned, 121 closed, 122 cancelled are never looked at


def number(entry: int) -> int:
    """The demo's DocumentNumber of an AbsoluteEntry."""
    return 2026230000 + entry


def key_of(entry: int, completed: float, rejected: float) -> str:
    """The posting key README.md documents: company/AbsoluteEntry/C<completed target>/R<rejected target>."""
    return f"{COMPANY}/{entry}/C{completed:g}/R{rejected:g}"


def _bases(body: Any) -> set[Any]:
    lines = body.get("DocumentLines") if isinstance(body, dict) else None
    return {line.get("BaseEntry") for line in lines or [] if isinstance(line, dict)}


def receipt_posts(sl: Any, entry: int | None = None) -> list[Any]:
    """Every ``POST InventoryGenEntries`` the mock received (for one order's AbsoluteEntry if given)."""
    return [
        r
        for r in sl.requests
        if r.method == "POST"
        and r.path.startswith("InventoryGenEntries")
        and (entry is None or entry in _bases(r.body))
    ]


def documents_for(sl: Any, entity_set: str, entry: int) -> list[dict[str, Any]]:
    """Documents in SAP (mock store) with a line based on production order ``entry``."""
    return [doc for doc in sl.store.rows(entity_set) if entry in _bases(doc)]


def held_by_entry(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {h["order_entry"]: h for h in report["held"]}


def posted_by_entry(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {p["order_entry"]: p for p in report["posted"]}


def codes_by_entry(report: dict[str, Any]) -> dict[int, list[str]]:
    return {entry: [r["code"] for r in h["reasons"]] for entry, h in held_by_entry(report).items()}


@dataclass(frozen=True)
class CliResult:
    """One ``b1-backflush`` run: exit code and what it printed."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """Stdout as the one JSON document ``--json`` prints (nothing else may be there)."""
        assert self.out.strip(), f"no output; stderr: {self.err[-2000:]}"
        document = json.loads(self.out)
        assert document["schema"].startswith("b1-backflush."), document["schema"]
        return document


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
    from tests.conftest import make_settings

    settings = make_settings(mock_sl, protocol, tmp_path / "by-hand")
    with ServiceLayerClient.from_settings(settings) as client:
        client.login()
        yield client


def ledger_path(env: dict[str, str]) -> Path:
    return Path(env["B1_LEDGER_PATH"])
