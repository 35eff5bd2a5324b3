"""The DocNums of receipts SAP created without sending them back.

A receipt is posted with ``Prefer: return-no-content`` (``ServiceLayerClient.create``): SAP answers
204 and names the new receipt's DocEntry in ``Location``, without building and sending the whole
document (about 15 KB). Users find a receipt in SAP by its DocNum, though, so the DocNums are read
afterwards: up to ``PER_READ`` receipts with one GET (``DocEntry eq a or DocEntry eq b …``, the
``$select`` two properties), which keeps a cycle near one request per receipt.

The ledger records each receipt with its DocEntry at once; the DocNum follows. A read SAP refuses
leaves the DocNums owed: the next cycle asks the ledger which posted receipts still lack one.
"""

from __future__ import annotations

from connector.ledger import Ledger
from connector.sl import odata
from connector.sl.client import ServiceLayerClient

RECEIPTS = "InventoryGenEntries"

#: Receipts whose DocNums one GET reads (its ``$filter`` stays a few KB long).
PER_READ = 100


class ReceiptNumbers:
    """DocNums owed, by DocEntry; ``read_some`` asks SAP for them and writes them to the ledger."""

    def __init__(self, client: ServiceLayerClient, ledger: Ledger, company: str) -> None:
        self._client = client
        self._ledger = ledger
        self._company = company
        self._owed: dict[int, str] = {}  # DocEntry → posting key

    def owe(self, key: str, receipt_entry: int) -> None:
        """The receipt ``receipt_entry`` (posted under ``key``) needs its DocNum read."""
        self._owed[receipt_entry] = key

    def owe_unread(self) -> None:
        """Every posted receipt of the company whose DocNum the ledger still lacks (a read SAP
        refused in an earlier cycle, or a process that stopped before its read)."""
        for key, entry in self._ledger.posted_without_number(self._company):
            self.owe(key, entry)

    @property
    def owed(self) -> int:
        """How many DocNums are still to be read."""
        return len(self._owed)

    def due(self) -> bool:
        """Enough are owed for a full read."""
        return len(self._owed) >= PER_READ

    def read_some(self) -> dict[str, int]:
        """Read up to ``PER_READ`` owed DocNums with one GET into the ledger; posting key → DocNum.

        Those asked for are no longer owed in this run, found or not (documents are never deleted in
        SAP; the next cycle's look at the ledger asks again for any still missing). Raises
        ``SLError`` when SAP refuses the read; they stay owed.
        """
        entries = sorted(self._owed)[:PER_READ]
        numbers: dict[str, int] = {}
        for row in self._client.iter_collection(
            RECEIPTS,
            where=odata.any_of("DocEntry", entries),
            select=["DocEntry", "DocNum"],
            page_size=len(entries) + 1,  # one row more than can come back: no empty last page
        ):
            entry, number = row.get("DocEntry"), row.get("DocNum")
            key = self._owed.get(entry) if isinstance(entry, int) else None
            if key is not None and isinstance(number, int) and not isinstance(number, bool):
                numbers[key] = number
        self._ledger.set_receipt_numbers(numbers)
        for entry in entries:
            del self._owed[entry]
        return numbers
