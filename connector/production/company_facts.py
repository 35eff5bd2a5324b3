"""What the company's SAP set-up says about a receipt before it is posted: warehouses, UDF sizes, series.

The worker reads these once per cycle (``connector.company_facts.read_company_facts``) and hands them
to the pure rules, so an order that SAP would refuse for a missing warehouse, a too-long UDF value or
an unknown numbering series is held instead. ``None`` for a fact means "not read" (SAP did not let us
read it): the rules that need it are then silent and SAP has the last word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: UserFieldsMD TableName of the receipt's header and lines (docs/service-layer.md §7).
RECEIPT_TABLE, RECEIPT_LINE_TABLE = "OIGN", "IGN1"
#: UserFieldsMD.Type values holding text, whose values have a length limit.
TEXT_UDF_TYPES = frozenset({"db_Alpha", "db_Memo"})


@dataclass(frozen=True)
class UdfField:
    """One UDF as UserFieldsMD describes it (``name`` with the U_ prefix, as on the document)."""

    name: str
    table: str
    type: str | None
    size: int | None = None
    edit_size: int | None = None

    @property
    def max_chars(self) -> int | None:
        """Characters a text UDF holds; None when SAP gives no size or the UDF is not text.

        Which of Size and EditSize SAP enforces is not documented; the smaller positive one is used,
        so a value the connector lets through is never one SAP refuses.
        """
        if self.type not in TEXT_UDF_TYPES:
            return None
        sizes = [s for s in (self.size, self.edit_size) if isinstance(s, int) and s > 0]
        return min(sizes) if sizes else None


@dataclass(frozen=True)
class NumberingSeries:
    """One numbering series of Receipts from Production (SAP's SeriesService names)."""

    series: int
    name: str = ""
    locked: bool = False


@dataclass(frozen=True)
class CompanyFacts:
    """Per cycle: warehouses, the receipt UDFs the mapping writes, the receipt numbering series."""

    #: WarehouseCode → active (``Inactive`` is tNO).
    warehouses: Mapping[str, bool] | None = None
    #: (U_Name, TableName) → the UDF, for the receipt UDFs the mapping writes that exist in SAP.
    udfs: Mapping[tuple[str, str], UdfField] | None = None
    #: Series → the series, for Receipts from Production (object 59); None when the mapping names none.
    receipt_series: Mapping[int, NumberingSeries] | None = None


#: Nothing known: every fact-based rule is silent (unit tests, callers without SAP access).
NO_FACTS = CompanyFacts()
