"""The per-cycle read of company facts: what is asked of SAP, and a refused read is a warning, not a stop."""

from __future__ import annotations

from typing import Any

import pytest

from connector.company_facts import read_company_facts
from connector.errors import SLConnectionError, SLQueryError, SLRequestError
from connector.mapping.spec import Mapping

UDFS = [
    {"Name": "B1BF_Key", "TableName": "OIGN", "Type": "db_Alpha", "Size": 100, "EditSize": 100},
    {"Name": "Shift", "TableName": "IGN1", "Type": "db_Alpha", "Size": 10, "EditSize": 8},
]


class ScriptedClient:
    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.fail = fail or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def iter_collection(self, entity_set: str, **options: Any) -> Any:
        self.calls.append((entity_set, options))
        if entity_set in self.fail:
            raise self.fail[entity_set]
        rows = {
            "Warehouses": [
                {"WarehouseCode": "01", "Inactive": "tNO"},
                {"WarehouseCode": "OLD", "Inactive": "tYES"},
            ],
            "UserFieldsMD": UDFS,
        }[entity_set]
        return iter(rows)

    def call_reading_service(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, body))
        if operation in self.fail:
            raise self.fail[operation]
        return {
            "value": [{"Series": 122, "Name": "Primary", "Locked": "tNO"}, {"Series": 121, "Locked": "tYES"}]
        }


def test_reads_warehouses_and_only_the_receipt_udfs_the_mapping_writes() -> None:
    client = ScriptedClient()
    mapping = Mapping.model_validate({"receipt": {"line_udfs": {"U_Shift": "{U_Shift}"}}})
    read = read_company_facts(client, mapping)
    assert read.warnings == []
    assert read.facts.warehouses == {"01": True, "OLD": False}
    assert read.facts.udfs is not None and read.facts.udfs[("U_Shift", "IGN1")].max_chars == 8
    assert read.facts.receipt_series is None  # the mapping names no series: not asked
    assert [name for name, _ in client.calls] == ["Warehouses", "UserFieldsMD"]
    assert client.calls[0][1] == {"select": ["WarehouseCode", "Inactive"]}
    assert client.calls[1][1]["where"] == (
        "((TableName eq 'IGN1') or (TableName eq 'OIGN')) and ((Name eq 'B1BF_Key') or (Name eq 'Shift'))"
    )


def test_series_are_read_for_receipts_when_the_mapping_names_one() -> None:
    client = ScriptedClient()
    read = read_company_facts(client, Mapping.model_validate({"receipt": {"series": 122}}))
    assert client.calls[-1] == ("SeriesService_GetDocumentSeries", {"DocumentTypeParams": {"Document": "59"}})
    assert read.facts.receipt_series is not None
    assert {s: v.locked for s, v in read.facts.receipt_series.items()} == {122: False, 121: True}


def test_a_refused_read_leaves_that_fact_unknown_with_a_warning() -> None:
    refused = SLQueryError("GET Warehouses -> HTTP 400 [SAP -1000]: no permission", status=400)
    client = ScriptedClient(
        fail={"Warehouses": refused, "SeriesService_GetDocumentSeries": SLRequestError("Service Not Found")}
    )
    read = read_company_facts(client, Mapping.model_validate({"receipt": {"series": 122}}))
    assert read.facts.warehouses is None and read.facts.receipt_series is None
    assert read.facts.udfs is not None
    assert len(read.warnings) == 2
    assert read.warnings[0].startswith(
        "the warehouse list (Warehouses) could not be read, so it is not checked"
    )
    assert "no permission" in read.warnings[0]


def test_sap_unreachable_stops_the_read() -> None:
    client = ScriptedClient(fail={"Warehouses": SLConnectionError("connection refused", request_sent=False)})
    with pytest.raises(SLConnectionError):
        read_company_facts(client, Mapping())
