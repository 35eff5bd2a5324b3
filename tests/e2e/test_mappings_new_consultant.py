"""A consultant writes a mapping for a new company from mappings/README.md alone, as a new user would.

The first draft has the typical mistakes (a misspelt key, an unquoted code, an unknown template
field, an unknown function, settings that contradict each other, a YAML tag, a UDF SAP does not
have); ``mappings check`` must point at each one by file, line and key with the fix, all in one
run. Once fixed, the check passes offline and online, and ``explain`` shows the exact payload that a
cycle then posts, with the rule behind every field.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.mapping.semantics import TEMPLATE_TABLES
from tests.support.mappings import (
    MAPPINGS_README,
    doc_number,
    posted_bodies,
    receipts_of,
    root_logging_kept,
    run_cli,
    use_mock_settings,
)

FILE = "mappings/acme.yaml"  # relative to the working directory, as README's examples write it

#: The first draft. Each mistake is marked with "# <- <id>" so its line is found, not hard-coded.
DRAFT = """\
# yaml-language-server: $schema=../connector/mapping/schema.json
#
# ACME plant 2: only production line L1 of series 138; good quantities are received into the main
# warehouse 01; the shop floor confirms good quantities only; FG batches keep 180 days.
version: 1
description: "ACME plant 2, line L1"

candidates:
  extra_filter: "U_Line eq 'L1'"
  series: [138]
  warehouses: ["01"]

quantities:
  source: confirmed_fields
  confirmed_feld: U_ConfirmedQty                # <- typo
  rejected_field: null

receipt:
  doc_date: today
  comments: "PO {DocumentNumbr} / {ItemNo}"     # <- field
  journal_memo: "Prod {DocumentNumber} {upper(ItemName)}"
  reference2: "{rigth(DocumentNumber, 6)}"      # <- function
  header_udfs:
    U_B1BF_Source: "acme"
    U_B1BF_OrderRef: "{DocumentNumber}-{today:%Y%m%d}"
  line_udfs:
    U_Shift: "{U_Shift}"                        # <- udf
  warehouse:
    rule: constant
    code: 01                                    # <- type
  reject_warehouse: "REJ"                       # <- combination

finished_good:
  batch:
    number: !!python/object/apply:os.mkdir ["pwned"]   # <- tag
    shelf_life_days: 180

idempotency:
  key_field: U_B1BF_Key

after_full_receipt: nothing
"""

#: id → (key, what is wrong, the fix) as `mappings check` must print them.
OFFLINE_MISTAKES = {
    "typo": ("quantities.confirmed_feld", "unknown key", "did you mean 'confirmed_field'?"),
    "field": ("receipt.comments", "unknown field 'DocumentNumbr'", "did you mean 'DocumentNumber'?"),
    "function": ("receipt.reference2", "unknown function rigth()", "did you mean 'right'?"),
    "type": ("receipt.warehouse.code", "must be text, got 1", "write it in quotes: '01'"),
    "combination": (
        "receipt.reject_warehouse",
        "reject_warehouse is set but this mapping never receives rejected quantities",
        "remove reject_warehouse, or set quantities.rejected_field",
    ),
    "tag": (
        "finished_good.batch.number",
        "YAML tag '!!python/object/apply:os.mkdir' is not allowed",
        "remove the '!' tag",
    ),
}
#: What the consultant changes after reading the check's output.
OFFLINE_FIXES = {
    "confirmed_feld:": "confirmed_field:",
    "{DocumentNumbr}": "{DocumentNumber}",
    "{rigth(DocumentNumber, 6)}": "{right(DocumentNumber, 6)}",
    "code: 01 ": 'code: "01"',
    '  reject_warehouse: "REJ"                       # <- combination\n': "",
    '!!python/object/apply:os.mkdir ["pwned"]': '"{ItemNo}-{DocumentNumber}"',
}
#: ... and after the online check: SAP has no UDF U_Shift.
NO_SHIFT = {'  line_udfs:\n    U_Shift: "{U_Shift}"                        # <- udf\n': ""}
TODAY_CANDIDATES = 2  # explain reads the real clock: accept today or tomorrow (a run across midnight)


def line_of(text: str, mark: str) -> int:
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(f"# <- {mark}")]
    return number


def fixed(text: str, fixes: dict[str, str]) -> str:
    for old, new in fixes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def acme(mock_sl: Any, protocol: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The consultant's working directory with mappings/acme.yaml; B1_* point at the mock."""
    use_mock_settings(monkeypatch, mock_sl, protocol, tmp_path, mapping=FILE)
    (tmp_path / "mappings").mkdir()
    with root_logging_kept():
        yield tmp_path / FILE


def _key_paths(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[str]:
    for name, value in data.items():
        path = (*prefix, str(name))
        table = path in TEMPLATE_TABLES or path[-1] in ("by_item", "by_item_group")
        if isinstance(value, dict) and not table:
            yield from _key_paths(value, path)
        else:
            yield ".".join(path)


def test_the_draft_uses_only_keys_the_readme_documents() -> None:
    readme = MAPPINGS_README.read_text(encoding="utf-8")
    final = fixed(DRAFT, OFFLINE_FIXES)
    paths = list(_key_paths(yaml.safe_load(final)))
    assert len(paths) == 20
    assert [p for p in paths if f"`{p}`" not in readme] == []


def test_new_consultant_check_points_at_every_mistake_then_explain_shows_the_payload(
    acme: Path,
    mock_sl: Any,
    protocol: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1. The draft: every offline mistake in one run, sorted by line, as FILE:LINE: KEY: what — fix.
    acme.write_text(DRAFT, encoding="utf-8")
    check = run_cli(capsys, "mappings", "check", FILE)
    assert check.code == 2  # README: 2 = problems found
    lines = check.out.splitlines()
    assert lines[0] == f"Checked {FILE} offline."
    assert lines[-1] == f"{len(OFFLINE_MISTAKES)} problems found."
    expected = sorted((line_of(DRAFT, mark), *what) for mark, what in OFFLINE_MISTAKES.items())
    assert len(lines[1:-1]) == len(expected)
    for printed, (line, key, message, fix) in zip(lines[1:-1], expected, strict=True):
        assert printed.startswith(f"{FILE}:{line}: {key}: {message} — "), printed
        assert fix in printed.partition(" — ")[2], printed
    assert not (acme.parent.parent / "pwned").exists()  # the tag was refused, never run

    # --online does not ask SAP about a file that is wrong already, and says so.
    online = run_cli(capsys, "mappings", "check", FILE, "--online")
    assert online.code == 2
    assert online.out.splitlines()[0] == (
        f"Checked {FILE} offline (online skipped: fix the problems below first)."
    )
    assert [r for r in mock_sl.requests if r.path == "UserFieldsMD"] == []

    # 2. Offline fixes applied: the file is clean offline, and B1_MAPPING names it for `check` alone.
    draft = fixed(DRAFT, OFFLINE_FIXES)
    acme.write_text(draft, encoding="utf-8")
    assert run_cli(capsys, "mappings", "check").out.splitlines() == [
        f"Checked {FILE} offline.",
        "OK: no problems found.",
    ]

    # ... but SAP has no U_Shift, neither on the order (OWOR, the template) nor on receipt lines (IGN1).
    online = run_cli(capsys, "mappings", "check", "--online")
    assert online.code == 2
    udf_line = line_of(draft, "udf")
    assert online.out.splitlines()[1:] == [
        f"{FILE}:{udf_line}: receipt.line_udfs.U_Shift: UDF U_Shift does not exist on OWOR — "
        "create the UDF Shift on table OWOR (Tools > Customization Tools > User-Defined Fields)",
        f"{FILE}:{udf_line}: receipt.line_udfs.U_Shift: UDF U_Shift does not exist on IGN1 — "
        "create the UDF Shift on table IGN1 (Tools > Customization Tools > User-Defined Fields)",
        "2 problems found.",
    ]

    # 3. The consultant drops the line UDF: clean offline and online.
    acme.write_text(fixed(draft, NO_SHIFT), encoding="utf-8")
    online = run_cli(capsys, "mappings", "check", FILE, "--online")
    assert (online.code, online.out.splitlines()[1:]) == (0, ["OK: no problems found."])

    # 4. explain on an order of line L1: the exact payload and the rule behind every field.
    first_day = date.today()
    explain = run_cli(capsys, "explain", str(doc_number(101)), "--json")
    assert explain.code == 0, explain.err
    verdict = explain.json
    payload, provenance = verdict["payload"], verdict["provenance"]
    doc_date = date.fromisoformat(payload["DocDate"])
    assert doc_date in {first_day + timedelta(days=d) for d in range(TODAY_CANDIDATES)}
    number = doc_number(101)
    assert (verdict["verdict"], verdict["to_receive"], verdict["key"]) == (
        "post",
        {"good": 4, "rejected": 0},
        "SBODEMOUS/101/C4/R0",
    )
    assert payload == {
        "DocDate": doc_date.isoformat(),
        "Comments": f"PO {number} / FG-CHAIR",
        "JournalMemo": f"Prod {number} OAK CHAIR",
        "Reference2": str(number)[-6:],
        "U_B1BF_Source": "acme",
        "U_B1BF_OrderRef": f"{number}-{doc_date:%Y%m%d}",
        "U_B1BF_Key": "SBODEMOUS/101/C4/R0",
        "DocumentLines": [
            {
                "BaseType": 202,
                "BaseEntry": 101,
                "Quantity": 4,
                "WarehouseCode": "01",
                "TransactionType": "botrntComplete",
            }
        ],
    }
    assert set(provenance) == set(_field_paths(payload))  # every field, and only those, has its rule
    assert provenance["Comments"] == "receipt.comments template 'PO {DocumentNumber} / {ItemNo}'"
    assert provenance["Reference2"] == "receipt.reference2 template '{right(DocumentNumber, 6)}'"
    assert provenance["U_B1BF_Source"] == "receipt.header_udfs.U_B1BF_Source constant 'acme'"
    assert provenance["U_B1BF_Key"].startswith("idempotency.key_field")
    assert provenance["DocDate"] == f"receipt.doc_date: today ({doc_date.isoformat()})"
    assert provenance["DocumentLines[0].WarehouseCode"] == "receipt.warehouse: rule constant '01'"
    assert "U_ConfirmedQty" in provenance["DocumentLines[0].Quantity"]
    # The plain-words explain names the same rules.
    text = run_cli(capsys, "explain", str(number)).out
    assert "Verdict: POST" in text and "Where each field comes from:" in text
    rule = r"^  DocumentLines\[0\]\.WarehouseCode +receipt\.warehouse: rule constant '01'$"
    assert re.search(rule, text, re.M)
    assert posted_bodies(mock_sl) == []  # explain posts nothing

    # A batch-managed product: the batch rule and its shelf life, field by field.
    batch = run_cli(capsys, "explain", str(doc_number(108)), "--json").json
    line = batch["payload"]["DocumentLines"][0]
    expiry = date.fromisoformat(batch["payload"]["DocDate"]) + timedelta(days=180)
    name = "BatchNumber" if protocol == "v1" else "BatchNumberProperty"  # as each SL version names it
    assert line["BatchNumbers"] == [
        {name: f"FG-BATCHED-{doc_number(108)}", "Quantity": 4, "ExpiryDate": expiry.isoformat()}
    ]
    assert batch["provenance"][f"DocumentLines[0].BatchNumbers[0].{name}"].startswith(
        "finished_good.batch.number template '{ItemNo}-{DocumentNumber}'"
    )
    assert batch["provenance"]["DocumentLines[0].BatchNumbers[0].ExpiryDate"] == (
        "DocDate + finished_good.batch.shelf_life_days 180"
    )

    # 5. A real cycle posts exactly the payload explain showed.
    once = run_cli(capsys, "once", "--json")
    assert once.code == 0, once.err
    sent = next(body for body in posted_bodies(mock_sl) if body["DocumentLines"][0]["BaseEntry"] == 101)
    day = date.fromisoformat(sent["DocDate"])  # the same as explain's, unless midnight came in between
    assert sent == {**payload, "DocDate": day.isoformat(), "U_B1BF_OrderRef": f"{number}-{day:%Y%m%d}"}
    [doc] = receipts_of(mock_sl, 101)
    assert (doc["Comments"], doc["U_B1BF_Source"], doc["DocumentLines"][0]["WarehouseCode"]) == (
        f"PO {number} / FG-CHAIR",
        "acme",
        "01",
    )
    # Line L1 only (116, 117 are L2; 119 L3); no rejects (rejected_field: null), so 102 posts 8 good.
    posted = {p["order_entry"]: (p["quantity"], p["rejected_quantity"]) for p in once.json["posted"]}
    assert posted == {101: (4, 0), 102: (8, 0), 103: (5, 0), 108: (4, 0), 115: (2, 0), 118: (10, 0)}


def _field_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Payload leaves as explain names them: Comments, DocumentLines[0].Quantity, ..."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _field_paths(inner, f"{prefix}.{name}" if prefix else name)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _field_paths(inner, f"{prefix}[{index}]")
    else:
        yield prefix


@pytest.mark.parametrize("trouble", ["unreachable", "wrong_password", "fails_midway"])
def test_online_check_exit_code_when_sap_cannot_answer(
    acme: Path,
    mock_sl: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    trouble: str,
) -> None:
    # README: 3 = SAP could not be reached or refused the login (1 is kept for a bug in the connector).
    acme.write_text('version: 1\ndescription: "ACME"\n', encoding="utf-8")
    monkeypatch.setenv("B1_RETRY_ATTEMPTS", "1")
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        if trouble == "unreachable":
            monkeypatch.setenv("B1_SL_URL", f"http://127.0.0.1:{closed.getsockname()[1]}/b1s/v2")
        elif trouble == "wrong_password":
            monkeypatch.setenv("B1_PASSWORD", "not-the-password")
        else:
            mock_sl.faults.fail_next("Warehouses", count=5, status=503, html=True)
        check = run_cli(capsys, "mappings", "check", FILE, "--online")
    assert check.code == 3, (check.out, check.err)
    said = {
        "unreachable": "Check B1_SL_URL and the network",
        "wrong_password": "Check B1_USERNAME, B1_PASSWORD",
        "fails_midway": "Online check failed",
    }[trouble]
    assert said in check.out + check.err
