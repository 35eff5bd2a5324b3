"""``POST SeriesService_GetDocumentSeries``: the reading service the connector asks for a document type's
numbering series (``receipt.series`` and ``mappings check --online``), pinned on v1 and v2.

The field names follow SAP's SeriesService (``DocumentTypeParams.Document`` in, ``Series``, ``Name``,
``NextNumber``, ``Locked`` … out); no capture of this answer exists, so the shape is the documented one.
"""

from __future__ import annotations

from tests.support.raw_client import Client, receipt


def _series(client: Client, document: str) -> list[dict]:
    response = client.post("SeriesService_GetDocumentSeries", {"DocumentTypeParams": {"Document": document}})
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_receipt_series_are_listed_with_their_numbers_and_lock(client: Client) -> None:
    rows = {row["Series"]: row for row in _series(client, "59")}
    assert set(rows) == {121, 122, 123}  # receipts only: the issue (60) and order (202) series are not listed
    assert rows[122] == {
        "Document": "59",
        "Series": 122,
        "Name": "Primary",
        "InitialNumber": 202680001,
        "NextNumber": 202680360,
        "LastNumber": 202689999,
        "Locked": "tNO",
    }
    assert rows[121]["Locked"] == "tYES"


def test_next_number_follows_the_receipts_posted(client: Client) -> None:
    posted = client.post("InventoryGenEntries", receipt(101, 1))
    assert posted.status_code == 201, posted.text
    assert posted.json()["DocNum"] == 202680360
    assert {row["Series"]: row["NextNumber"] for row in _series(client, "59")}[122] == 202680361


def test_a_call_without_a_document_type_is_refused(client: Client) -> None:
    response = client.post("SeriesService_GetDocumentSeries", {})
    assert response.status_code == 400
    error = response.json()["error"]
    assert str(error["code"]) == "-1000"
    assert (error["message"] if client.version == "v2" else error["message"]["value"]) == (
        "DocumentTypeParams.Document is required"
    )
