"""Read the company facts a cycle checks receipts against: warehouses, receipt UDF sizes, numbering series.

One small set of reads per cycle (and per ``explain`` / ``mappings check --online``), built before the
first order is assessed and handed to the pure rules (``connector.production.company_facts``):

* ``GET Warehouses?$select=WarehouseCode,Inactive`` (paged);
* ``GET UserFieldsMD`` for the receipt UDFs the mapping writes (header OIGN, lines IGN1);
* only when the mapping names ``receipt.series``: ``POST SeriesService_GetDocumentSeries`` for
  object 59 (Receipts from Production share the Goods Receipt series), a reading operation.

A read SAP refuses (no permission, an old Service Layer without the operation) leaves that fact unknown
and is reported as a warning; the rules needing it are then silent and SAP has the last word. A Service
Layer that cannot be reached stops the cycle like any other read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from connector.errors import SLNotFoundError, SLQueryError, SLRequestError
from connector.mapping.spec import Mapping
from connector.production.company_facts import (
    RECEIPT_LINE_TABLE,
    RECEIPT_TABLE,
    CompanyFacts,
    NumberingSeries,
    UdfField,
)
from connector.sl import odata

#: BoObjectTypes oInventoryGenEntry: the document type whose series a receipt takes.
RECEIPT_OBJECT_CODE = "59"
SERIES_OPERATION = "SeriesService_GetDocumentSeries"
#: The errors that mean "SAP will not tell us this", not "SAP is unusable".
_REFUSED = (SLQueryError, SLRequestError, SLNotFoundError)


class FactsClient(Protocol):
    """The part of ``ServiceLayerClient`` the reads use."""

    def iter_collection(self, entity_set: str, **options: Any) -> Any:
        """Yield the rows of a collection."""

    def call_reading_service(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a reading service operation."""


@dataclass
class FactsRead:
    """The facts and, for each read SAP refused, a warning naming what is not checked this time."""

    facts: CompanyFacts
    warnings: list[str] = field(default_factory=list)


def receipt_udfs_written(mapping: Mapping) -> list[tuple[str, str]]:
    """(U_Name, TableName) of every UDF the receipt carries: header UDFs, the key field, line UDFs."""
    written = [(name, RECEIPT_TABLE) for name in mapping.receipt.header_udfs]
    written.append((mapping.idempotency.key_field, RECEIPT_TABLE))
    written += [(name, RECEIPT_LINE_TABLE) for name in mapping.receipt.line_udfs]
    return list(dict.fromkeys(written))


def read_warehouses(client: FactsClient) -> dict[str, bool]:
    """WarehouseCode → active."""
    rows = client.iter_collection("Warehouses", select=["WarehouseCode", "Inactive"])
    return {str(row.get("WarehouseCode")): row.get("Inactive") != "tYES" for row in rows}


def read_udfs(client: FactsClient, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], UdfField]:
    """The UserFieldsMD rows of ``wanted`` (UserFieldsMD.Name has no U_ prefix, docs/service-layer.md §7)."""
    if not wanted:
        return {}
    rows = client.iter_collection(
        "UserFieldsMD",
        where=odata.and_(
            odata.any_of("TableName", sorted({table for _, table in wanted})),
            odata.any_of("Name", sorted({name[2:] for name, _ in wanted})),
        ),
        select=["Name", "TableName", "Type", "Size", "EditSize"],
    )
    found = {}
    for row in rows:
        udf = UdfField(
            name=f"U_{row.get('Name')}",
            table=str(row.get("TableName")),
            type=row.get("Type"),
            size=row.get("Size") if isinstance(row.get("Size"), int) else None,
            edit_size=row.get("EditSize") if isinstance(row.get("EditSize"), int) else None,
        )
        found[(udf.name, udf.table)] = udf
    return found


def read_receipt_series(client: FactsClient) -> dict[int, NumberingSeries]:
    """Series → numbering series of Receipts from Production (``Locked`` tYES: SAP refuses it)."""
    body = client.call_reading_service(
        SERIES_OPERATION, {"DocumentTypeParams": {"Document": RECEIPT_OBJECT_CODE}}
    )
    found = {}
    for row in body.get("value") or []:
        if isinstance(row, dict) and isinstance(row.get("Series"), int):
            found[row["Series"]] = NumberingSeries(
                series=row["Series"], name=str(row.get("Name") or ""), locked=row.get("Locked") == "tYES"
            )
    return found


def read_company_facts(client: FactsClient, mapping: Mapping) -> FactsRead:
    """Everything the rules check receipts against, read now; refused reads become warnings."""
    warnings: list[str] = []

    def attempt(what: str, read: Any) -> Any:
        try:
            return read()
        except _REFUSED as exc:
            warnings.append(f"{what} could not be read, so it is not checked before posting: {exc}")
            return None

    warehouses = attempt("the warehouse list (Warehouses)", lambda: read_warehouses(client))
    udfs = attempt(
        "the receipt UDFs (UserFieldsMD)", lambda: read_udfs(client, receipt_udfs_written(mapping))
    )
    series = None
    if mapping.receipt.series is not None:
        series = attempt(
            f"the receipt numbering series ({SERIES_OPERATION})", lambda: read_receipt_series(client)
        )
    return FactsRead(CompanyFacts(warehouses=warehouses, udfs=udfs, receipt_series=series), warnings)
