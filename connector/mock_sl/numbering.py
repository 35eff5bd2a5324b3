"""Document numbering series: where ``DocNum`` / ``DocumentNumber`` come from (docs/service-layer.md §4.2).

In B1 the number a user sees is drawn from a numbering series of the document's object type, not from
the internal key: the real receipt capture has ``DocEntry`` 6802, ``DocNum`` 202680360, ``Series`` 122.
The demo company declares its series in ``company.json`` (names as in SAP's ``SeriesService``:
``Series``, ``Name``, ``Document`` = object code, ``InitialNumber``, ``NextNumber``, ``LastNumber``,
``Locked``) plus ``DefaultSeries`` per object code. A POST without ``Series`` takes the default; with
``Series`` it must name a series of that object type. Callers hold the store lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.mock_sl.protocol import SapError

#: Object type codes (``BoObjectTypes`` values) of the documents the mock numbers.
RECEIPT, ISSUE, PRODUCTION_ORDER = "59", "60", "202"

#: Series used when a data folder declares none (keeps older fixture folders working). DocNum ranges
#: are far from any DocEntry on purpose, so a client that mixes the two up fails visibly.
FALLBACK_SERIES: tuple[dict[str, Any], ...] = (
    {"Series": 122, "Name": "Primary", "Document": RECEIPT, "InitialNumber": 202680001,
     "NextNumber": 202680001, "LastNumber": 202689999, "Locked": "tNO"},
    {"Series": 124, "Name": "Primary", "Document": ISSUE, "InitialNumber": 202780001,
     "NextNumber": 202780001, "LastNumber": 202789999, "Locked": "tNO"},
    {"Series": 138, "Name": "Primary", "Document": PRODUCTION_ORDER, "InitialNumber": 2026230001,
     "NextNumber": 2026230001, "LastNumber": 2026239999, "Locked": "tNO"},
)  # fmt: skip

# ASSUMPTION: SAP's texts for an unknown, locked or exhausted series were not captured; -5002 is B1's
# class for a document it refuses to add, and the hint names the header table as B1's texts do.
UNKNOWN_SERIES = "Series {series} is not defined for this document type  [{table}.Series]"
LOCKED_SERIES = "Series {series} is locked  [{table}.Series]"
SERIES_EXHAUSTED = "Series {series} has no numbers left (last number {last})  [{table}.Series]"


@dataclass
class Series:
    """One numbering series; ``next_number`` moves on each time a document takes a number."""

    series: int
    name: str
    document: str
    initial_number: int
    next_number: int
    last_number: int
    locked: bool


class Numbering:
    """The company's numbering series and the default series per object type."""

    def __init__(self, series: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any]) -> None:
        self.series: dict[int, Series] = {}
        for row in series:
            number = int(row["Series"])
            self.series[number] = Series(
                series=number,
                name=str(row.get("Name") or ""),
                document=str(row["Document"]),
                initial_number=int(row.get("InitialNumber") or 1),
                next_number=int(row.get("NextNumber") or row.get("InitialNumber") or 1),
                last_number=int(row.get("LastNumber") or 2**31 - 1),
                locked=row.get("Locked") == "tYES",
            )
        self.defaults: dict[str, int] = {str(k): int(v) for k, v in defaults.items()}
        for known in self.series.values():  # an object type without a declared default takes its first
            self.defaults.setdefault(known.document, known.series)

    @classmethod
    def from_company(cls, company: Mapping[str, Any]) -> Numbering:
        """From ``company.json``'s ``Series`` / ``DefaultSeries`` (the fallback series when absent)."""
        return cls(company.get("Series") or FALLBACK_SERIES, company.get("DefaultSeries") or {})

    def resolve(self, document: str, requested: Any, table: str) -> Series:
        """The series a new document of object type ``document`` would use; refuses a bad ``Series``.

        Nothing is consumed: callers check first and ``take`` once nothing else can fail.
        """
        number = self.defaults.get(document) if requested in (None, "") else requested
        try:
            chosen = self.series.get(int(number))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            chosen = None
        if chosen is None or chosen.document != document:
            raise SapError(400, -5002, UNKNOWN_SERIES.format(series=number, table=table))
        if chosen.locked:
            raise SapError(400, -5002, LOCKED_SERIES.format(series=chosen.series, table=table))
        return chosen

    def take(
        self, document: str, requested: Any, table: str, highest_used: Callable[[int, int], int | None]
    ) -> tuple[int, int]:
        """(Series, number) for a new document; numbers already on rows are never reused.

        ``highest_used(low, high)``: the largest number a stored row of this object type holds within
        ``[low, high]`` (None: none), so taking a number costs the same however many documents exist.
        """
        chosen = self.resolve(document, requested, table)
        highest = highest_used(chosen.initial_number, chosen.last_number)
        value = chosen.next_number if highest is None else max(chosen.next_number, highest + 1)
        if value > chosen.last_number:
            raise SapError(
                400,
                -5002,
                SERIES_EXHAUSTED.format(series=chosen.series, last=chosen.last_number, table=table),
            )
        chosen.next_number = value + 1
        return chosen.series, value
