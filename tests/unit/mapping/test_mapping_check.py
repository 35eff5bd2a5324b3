"""mappings check: offline problems, online checks against a scripted client, run_check's exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.errors import SLAuthError, SLConnectionError, SLQueryError
from connector.mapping.check import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_SL_UNREACHABLE,
    check_offline,
    check_online,
    format_problems,
    run_check,
    udfs_used,
    warehouses_used,
)
from connector.mapping.loader import load_mapping
from connector.mapping.problems import Problem
from connector.mapping.spec import Mapping

ROOT = Path(__file__).resolve().parents[3]
PARTIAL = ROOT / "mappings" / "examples" / "partial-confirmations-reject-warehouse.yaml"
READY = ROOT / "mappings" / "examples" / "ready-flag-batch-close.yaml"

#: The demo company: UDFs (UserFieldsMD Name has no U_ prefix) and warehouses.
DEMO_UDFS = [
    {"Name": "ConfirmedQty", "TableName": "OWOR", "Type": "db_Float"},
    {"Name": "RejectedQty", "TableName": "OWOR", "Type": "db_Float"},
    {"Name": "ReadyToReceive", "TableName": "OWOR", "Type": "db_Alpha"},
    {"Name": "Line", "TableName": "OWOR", "Type": "db_Alpha"},
    {"Name": "B1BF_Key", "TableName": "OIGN", "Type": "db_Alpha", "Size": 100, "EditSize": 100},
    {"Name": "B1BF_Source", "TableName": "OIGN", "Type": "db_Alpha"},
    {"Name": "B1BF_OrderRef", "TableName": "OIGN", "Type": "db_Alpha"},
]
DEMO_WAREHOUSES = [{"WarehouseCode": c, "Inactive": "tNO"} for c in ("01", "02", "REJ", "QC")]


class FakeClient:
    """Answers the three collections the online check reads, and records the calls."""

    def __init__(
        self,
        udfs: list[dict[str, Any]] = DEMO_UDFS,
        warehouses: list[dict[str, Any]] = DEMO_WAREHOUSES,
        key_error: Exception | None = None,
        series: list[dict[str, Any]] | Exception = (),  # type: ignore[assignment]
    ) -> None:
        self.udfs, self.warehouses, self.key_error = udfs, warehouses, key_error
        self.series = series
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call_reading_service(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, body))
        if isinstance(self.series, Exception):
            raise self.series
        return {"value": list(self.series)}

    def iter_collection(self, entity_set: str, **options: Any) -> Iterator[dict[str, Any]]:
        self.calls.append((entity_set, options))
        rows = {"UserFieldsMD": self.udfs, "Warehouses": self.warehouses}[entity_set]
        return iter(rows)

    def iter_pages(self, entity_set: str, **options: Any) -> Iterator[list[dict[str, Any]]]:
        self.calls.append((entity_set, options))
        if self.key_error is not None:
            raise self.key_error
        return iter([[]])


@pytest.mark.parametrize("path", [ROOT / "mappings" / "default.yaml", PARTIAL, READY], ids=lambda p: p.name)
def test_check_online_demo_company_has_no_problems(path: Path) -> None:
    client = FakeClient()
    assert check_online(load_mapping(path), client, path=path) == []
    sets = [name for name, _ in client.calls]
    assert sets == ["UserFieldsMD", "Warehouses", "InventoryGenEntries"]
    key_probe = client.calls[-1][1]
    assert key_probe == {"where": "U_B1BF_Key eq 'probe'", "select": ["DocEntry"], "top": 1}


def test_check_online_missing_udf_names_table_and_line() -> None:
    udfs = [u for u in DEMO_UDFS if u["Name"] != "RejectedQty"]
    problems = check_online(load_mapping(PARTIAL), FakeClient(udfs=udfs), path=PARTIAL)
    assert [(p.key, p.message) for p in problems] == [
        ("quantities.rejected_field", "UDF U_RejectedQty does not exist on OWOR")
    ]
    assert problems[0].line == 14
    assert "create the UDF RejectedQty on table OWOR" in problems[0].fix


def test_check_online_udf_on_wrong_table() -> None:
    udfs = [
        *(u for u in DEMO_UDFS if u["Name"] != "B1BF_Source"),
        {"Name": "B1BF_Source", "TableName": "OWOR", "Type": "db_Alpha"},
    ]
    problems = check_online(load_mapping(PARTIAL), FakeClient(udfs=udfs), path=PARTIAL)
    assert [p.key for p in problems] == ["receipt.header_udfs.U_B1BF_Source"]
    assert "exists on OWOR only; create it on OIGN" in problems[0].fix


def test_check_online_extra_filter_udf_must_exist_on_orders() -> None:
    udfs = [u for u in DEMO_UDFS if u["Name"] != "Line"]
    problems = check_online(load_mapping(READY), FakeClient(udfs=udfs), path=READY)
    assert [(p.key, p.message) for p in problems] == [
        ("candidates.extra_filter", "UDF U_Line does not exist on OWOR")
    ]


def test_check_online_template_udf_is_reported_at_the_template_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text('receipt:\n  comments: "x"\n  header_udfs:\n    U_B1BF_OrderRef: "{U_Shift}-{ItemNo}"\n')
    problems = check_online(load_mapping(path), FakeClient(), path=path)
    assert [(p.line, p.key, p.message) for p in problems] == [
        (4, "receipt.header_udfs.U_B1BF_OrderRef", "UDF U_Shift does not exist on OWOR")
    ]


def test_check_online_key_field_must_be_text() -> None:
    udfs = [u if u["Name"] != "B1BF_Key" else {**u, "Type": "db_Numeric"} for u in DEMO_UDFS]
    problems = check_online(Mapping(), FakeClient(udfs=udfs))
    assert [p.key for p in problems] == ["idempotency.key_field"]
    assert problems[0].file == "<built-in default mapping>"


@pytest.mark.parametrize(
    ("warehouses", "message"),
    [
        (
            [w for w in DEMO_WAREHOUSES if w["WarehouseCode"] != "REJ"],
            "warehouse 'REJ' does not exist in SAP",
        ),
        (
            [w if w["WarehouseCode"] != "REJ" else {**w, "Inactive": "tYES"} for w in DEMO_WAREHOUSES],
            "warehouse 'REJ' is inactive in SAP",
        ),
    ],
)
def test_check_online_reject_warehouse(warehouses: list[dict[str, Any]], message: str) -> None:
    problems = check_online(load_mapping(PARTIAL), FakeClient(warehouses=warehouses), path=PARTIAL)
    assert [(p.key, p.message) for p in problems] == [("receipt.reject_warehouse", message)]


def test_check_online_key_field_not_filterable() -> None:
    error = SLQueryError(
        "bad filter", status=400, code="-1000", sap_message="Property 'U_B1BF_Key' is invalid"
    )
    problems = check_online(Mapping(), FakeClient(key_error=error))
    assert [p.key for p in problems] == ["idempotency.key_field"]
    assert "Property 'U_B1BF_Key' is invalid" in problems[0].message


def test_udfs_and_warehouses_used_by_partial_example() -> None:
    mapping = load_mapping(PARTIAL)
    assert {(n, t) for n, t, _ in udfs_used(mapping)} == {
        ("U_ConfirmedQty", "OWOR"),
        ("U_RejectedQty", "OWOR"),
        ("U_B1BF_Source", "OIGN"),
        ("U_B1BF_OrderRef", "OIGN"),
        ("U_B1BF_Key", "OIGN"),
    }
    assert sorted(code for code, _ in warehouses_used(mapping)) == ["QC", "REJ"]


def test_check_offline_returns_structured_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nreceipt:\n  warehous: x\n")
    assert check_offline(path) == [
        Problem(str(path), 3, "receipt.warehous", "unknown key", "did you mean 'warehouse'?")
    ]


def test_run_check_ok_and_problems(tmp_path: Path) -> None:
    assert run_check(None) == (
        EXIT_OK,
        "Checked the built-in default mapping offline.\nOK: no problems found.",
    )
    code, text = run_check(PARTIAL, client=FakeClient())
    assert code == EXIT_OK and "offline and online" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("receipt:\n  doc_date: tody\n")
    code, text = run_check(bad, client=FakeClient())
    assert code == EXIT_PROBLEMS
    assert f"{bad}:2: receipt.doc_date:" in text and "online skipped" in text and "1 problem found." in text


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SLAuthError("login refused", status=401, code="-304"), EXIT_AUTH),
        (SLConnectionError("connection refused", request_sent=False), EXIT_SL_UNREACHABLE),
    ],
)
def test_run_check_online_failure_exit_codes(error: Exception, code: int) -> None:
    class Broken(FakeClient):
        def iter_collection(self, entity_set: str, **options: Any) -> Iterator[dict[str, Any]]:
            raise error

    result_code, text = run_check(PARTIAL, client=Broken())
    assert result_code == code
    assert "Online check failed" in text


def test_format_problems_sorted_with_count() -> None:
    problems = [
        Problem("b.yaml", 2, "k", "m", "f"),
        Problem("a.yaml", 9, "", "n"),
        Problem("a.yaml", None, "x", "y"),
    ]
    assert format_problems(problems).splitlines() == [
        "a.yaml: x: y",
        "a.yaml:9: n",
        "b.yaml:2: k: m — f",
        "3 problems found.",
    ]


def test_check_online_key_field_too_short_for_the_key() -> None:
    udfs = [u if u["Name"] != "B1BF_Key" else {**u, "Size": 20, "EditSize": 20} for u in DEMO_UDFS]
    problems = check_online(Mapping(), FakeClient(udfs=udfs))
    assert [(p.key, p.message) for p in problems] == [
        ("idempotency.key_field", "UDF U_B1BF_Key holds 20 characters, posting keys can be 100")
    ]


RECEIPT_SERIES = [
    {"Series": 122, "Name": "Primary", "Document": "59", "Locked": "tNO"},
    {"Series": 130, "Name": "2025", "Document": "59", "Locked": "tYES"},
]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (122, None),
        (999, "series 999 is not a numbering series of Receipts from Production in SAP"),
        (130, "series 130 is locked in SAP"),
    ],
)
def test_check_online_receipt_series_must_exist_and_not_be_locked(
    tmp_path: Path, series: int, message: str | None
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(f"receipt:\n  series: {series}\n")
    client = FakeClient(series=RECEIPT_SERIES)
    problems = check_online(load_mapping(path), client, path=path)
    assert ("SeriesService_GetDocumentSeries", {"DocumentTypeParams": {"Document": "59"}}) in client.calls
    if message is None:
        assert problems == []
        return
    assert [(p.line, p.key, p.message) for p in problems] == [(2, "receipt.series", message)]
    assert "122" in problems[0].fix


def test_check_online_reads_series_only_when_the_mapping_names_one() -> None:
    client = FakeClient(series=SLQueryError("no", status=400))
    assert check_online(Mapping(), client) == []
    assert "SeriesService_GetDocumentSeries" not in [name for name, _ in client.calls]


def test_check_online_receipt_udf_text_that_cannot_fit_its_size(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "receipt:\n  header_udfs:\n"
        '    U_B1BF_Source: "made by b1-backflush for {ItemNo} on the night shift"\n'
        '    U_B1BF_OrderRef: "{DocumentNumber}-{today:%Y%m%d}"\n'
    )
    udfs = [
        {**u, "Size": 30, "EditSize": 30} if u["Name"] in ("B1BF_Source", "B1BF_OrderRef") else u
        for u in DEMO_UDFS
    ]
    problems = check_online(load_mapping(path), FakeClient(udfs=udfs), path=path)
    # Only what is knowable: 44 characters outside {...} in a UDF of 30; the order reference may fit.
    assert [(p.line, p.key, p.message) for p in problems] == [
        (
            3,
            "receipt.header_udfs.U_B1BF_Source",
            "UDF U_B1BF_Source holds 30 characters in SAP; this rule makes at least 44",
        )
    ]
