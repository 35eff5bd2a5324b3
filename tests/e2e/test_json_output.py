"""``--json`` means JSON: every command, run as a real process against the real mock Service Layer,
prints exactly one JSON document on stdout whose fields are those docs/json-output.md lists for its
``schema``; and text output survives a Windows console code page (cp1252)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connector.json_output import SCHEMAS
from connector.production import reasons as rc
from tests.support.demo import DEMO_HOLDS, DEMO_POSTS, number
from tests.support.mock import ROOT

DOC = ROOT / "docs" / "json-output.md"


def documented_fields() -> dict[str, tuple[set[str], set[str]]]:
    """schema → (fields always present, fields present only sometimes), read from the doc's tables."""
    shapes: dict[str, tuple[set[str], set[str]]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = None  # a section other than the shapes (e.g. the log lines)
        heading = re.match(r"^### (b1-backflush\.[a-z-]+/\d+)$", line)
        if heading:
            current = heading.group(1)
            shapes[current] = (set(), set())
            continue
        row = re.match(r"^\| `([a-z_]+)` \| [^|]+ \| (.*) \|$", line)
        if current and row:
            always, sometimes = shapes[current]
            (sometimes if row.group(2).startswith("dry run only") else always).add(row.group(1))
    return shapes


SHAPES = documented_fields()


def test_the_doc_describes_every_shape_the_code_prints():
    assert set(SHAPES) == {f"b1-backflush.{kind}/{version}" for kind, version in SCHEMAS.items()}


def run(
    args: list[str], env: dict[str, str], cwd: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """``b1-backflush ARGS`` as its own process (its stdout and stderr apart, as a script sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        env={**env, **extra_env},
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding=extra_env.get("PYTHONIOENCODING", "utf-8"),
        timeout=60,
    )


def document(proc: subprocess.CompletedProcess[str], schema: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Stdout is one JSON document with exactly the documented fields of ``schema``."""
    assert proc.stdout.count("\n") == 1, f"not one line: {proc.stdout!r}; stderr: {proc.stderr[-2000:]}"
    doc = json.loads(proc.stdout)
    assert doc["schema"] == schema
    always, sometimes = SHAPES[schema]
    assert set(doc) == always | (sometimes if dry_run else set()), (
        f"{schema}: fields differ from docs/json-output.md"
    )
    return doc


@pytest.fixture
def env(mock_sl, tmp_path) -> dict[str, str]:
    """A consultant's environment for the mock: B1_* only, no .env in the working directory. One
    protocol: the documents do not depend on it (every other e2e test runs both), processes are slow."""
    user, password = next(iter(mock_sl.users.items()))
    base = {k: v for k, v in os.environ.items() if not k.startswith("B1_")}
    base["PYTHONPATH"] = str(ROOT)
    return {
        **base,
        "B1_SL_URL": mock_sl.root("v2"),
        "B1_COMPANY_DB": mock_sl.company_db,
        "B1_USERNAME": user,
        "B1_PASSWORD": password,
        "B1_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        "B1_UNKNOWN_QUIET_PERIOD_S": "0",
        "B1_RETRY_MAX_WAIT_S": "0.01",
    }


def test_every_json_command_prints_one_document_of_its_documented_shape(env, mock_sl, tmp_path):
    dry = document(run(["once", "--dry-run", "--json"], env, tmp_path), "b1-backflush.once/1", dry_run=True)
    assert {w["order_entry"] for w in dry["would_post"]} == set(DEMO_POSTS)

    once = run(["once", "--json"], env, tmp_path)
    assert once.returncode == 0
    report = document(once, "b1-backflush.once/1")
    assert {p["order_entry"] for p in report["posted"]} == set(DEMO_POSTS)
    assert {h["order_entry"] for h in report["held"]} == set(DEMO_HOLDS)
    assert "event=posted" in once.stderr  # the logs stay on stderr

    status = document(run(["status", "--json"], env, tmp_path), "b1-backflush.status/1")
    assert status["counts"] == {"posted": len(DEMO_POSTS)}
    assert {h["order_entry"] for h in status["held"]} == set(DEMO_HOLDS)

    reconcile = run(["reconcile", "--json"], env, tmp_path)
    assert reconcile.returncode == 0
    assert document(reconcile, "b1-backflush.reconcile/1")["clean"] is True

    clean = document(run(["explain", str(number(101)), "--json"], env, tmp_path), "b1-backflush.explain/1")
    assert clean["verdict"] == "nothing"  # received by the cycle above
    held = document(run(["explain", str(number(107)), "--json"], env, tmp_path), "b1-backflush.explain/1")
    assert held["verdict"] == "hold" and held["reasons"][0]["code"] == rc.INSUFFICIENT_STOCK

    # An order SAP sends damaged: the same explain shape, with what cannot be read as null.
    with mock_sl.store.lock:
        mock_sl.store.live("ProductionOrders", 104)["ProductionOrderLines"][0]["LineNumber"] = None
    damaged = run(["explain", "--entry", "104", "--json"], env, tmp_path)
    assert damaged.returncode == 0
    unreadable = document(damaged, "b1-backflush.explain/1")
    assert unreadable["verdict"] == "hold" and unreadable["reasons"][0]["code"] == rc.INVALID_ORDER_DATA
    assert (unreadable["order_entry"], unreadable["payload"], unreadable["to_receive"]) == (104, None, None)

    missing = run(["explain", "2026239999", "--json"], env, tmp_path)
    assert missing.returncode == 5
    error = document(missing, "b1-backflush.error/1")
    assert error["exit_code"] == 5 and "2026239999" in error["message"]
    assert error["message"] in missing.stderr


def test_mappings_check_json_offline_online_and_with_problems(env, tmp_path):
    clean = run(["mappings", "check", "--json"], env, tmp_path)
    assert clean.returncode == 0
    doc = document(clean, "b1-backflush.mappings-check/1")
    assert (doc["file"], doc["scope"], doc["ok"], doc["problems"]) == (None, "offline", True, [])

    online = document(
        run(["mappings", "check", "--online", "--json"], env, tmp_path), "b1-backflush.mappings-check/1"
    )
    assert (online["scope"], online["ok"]) == ("online", True)

    bad = tmp_path / "acme.yaml"
    bad.write_text("version: 1\nreceipt:\n  warehouse:\n    code: 99\n", encoding="utf-8")
    result = run(["mappings", "check", str(bad), "--online", "--json"], env, tmp_path)
    assert result.returncode == 2
    doc = document(result, "b1-backflush.mappings-check/1")
    assert doc["ok"] is False and doc["file"] == str(bad)
    [problem] = doc["problems"]
    assert set(problem) == {"file", "line", "key", "message", "fix"}
    assert problem["line"] == 4 and problem["key"] == "receipt.warehouse.code"


def test_demo_json_is_one_document_and_its_story_goes_to_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("B1_")}
    env["PYTHONPATH"] = str(ROOT)
    result = run(["demo", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    doc = document(result, "b1-backflush.demo/1")
    assert {p["order_entry"] for p in doc["posted"]} == set(DEMO_POSTS)
    assert "Second cycle right after" in result.stderr


def test_a_failing_json_command_prints_the_error_document(env, tmp_path):
    result = run(["once", "--json"], env, tmp_path, B1_SL_URL="http://127.0.0.1:9/b1s/v2")
    assert result.returncode == 3
    error = document(result, "b1-backflush.error/1")
    assert error["exit_code"] == 3 and "B1_SL_URL" in error["message"]


def test_a_command_line_argparse_refuses_still_gives_a_json_script_one_document(env, tmp_path):
    result = run(["reconcile", "--days", "zero", "--json"], env, tmp_path)
    assert result.returncode == 2
    error = document(result, "b1-backflush.error/1")
    assert error["exit_code"] == 2 and "usage" in result.stderr


def test_text_output_survives_a_windows_console_code_page(env, mock_sl, tmp_path):
    # explain's provenance says "good quantity → CompletedQuantity"; cp1252 has no arrow.
    explain = run(["explain", str(number(101))], env, tmp_path, PYTHONIOENCODING="cp1252")
    assert explain.returncode == 0, explain.stderr
    assert "UnicodeEncodeError" not in explain.stderr
    assert "good quantity -> CompletedQuantity" in explain.stdout
    assert "Verdict: POST — every check passed." in explain.stdout  # cp1252 has the dash: kept

    # SAP data in a script cp1252 lacks (a Polish item code) reaches the report, the ledger and status.
    mock_sl.store.patch("ProductionOrders", 107, {"ItemNo": "KRZESŁO-ŁĄKOWE"})
    for args in (["once"], ["status"], ["once", "--json"], ["status", "--json"]):
        result = run(args, env, tmp_path, PYTHONIOENCODING="cp1252")
        assert result.returncode == 0, result.stderr
        assert "UnicodeEncodeError" not in result.stderr and "Traceback" not in result.stderr
        if "--json" in args:
            assert "KRZESŁO-ŁĄKOWE" in json.dumps(json.loads(result.stdout), ensure_ascii=False)
        else:
            assert "KRZES?O-??KOWE" in result.stdout
