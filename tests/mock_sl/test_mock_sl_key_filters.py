"""Filters that name keys (``AbsoluteEntry eq a or AbsoluteEntry eq b ...``) and document numbering.

The mock answers these without visiting every row (the connector re-reads the orders it is about to
post, 50 keys per request) and numbers documents without scanning every document. What a client sees
must be exactly what visiting every row gives: the same rows, in the same order, pages, next links and
errors. ``not (not (F))`` selects the same rows as ``F`` but names no key, so it is the reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mock_sl.routes import Request
from connector.mock_sl.server import MockServiceLayer
from connector.mock_sl.store import load_data
from tests.support.mock import DEMO
from tests.support.raw_client import Client, receipt


def every_row(condition: str) -> str:
    """The same condition in a form that names no key (so every row is visited)."""
    return f"not (not ({condition}))"


def entries(response: Any) -> list[int]:
    return [row["AbsoluteEntry"] for row in response.json()["value"]]


def next_link(client: Client, body: dict[str, Any]) -> str | None:
    return body.get("odata.nextLink" if client.version == "v1" else "@odata.nextLink")


def same_answer(client: Client, path: str, condition: str, **options: Any) -> Any:
    """GET with ``condition`` and with ``every_row(condition)``; both answers must match to the byte
    (the next link repeats the query as sent, so it differs only by the filter text)."""
    headers = options.pop("headers", None)
    pinned = client.get(path, params={"$filter": condition, **options}, headers=headers)
    full = client.get(path, params={"$filter": every_row(condition), **options}, headers=headers)
    assert pinned.status_code == full.status_code
    varying = ("Date", "Content-Length")  # the next link's length differs with the filter's
    assert {k: v for k, v in pinned.headers.items() if k not in varying} == {
        k: v for k, v in full.headers.items() if k not in varying
    }
    encoded = pinned.request.url.split("?", 1)[1].split("&")[0]  # "%24filter=..." as sent
    encoded_full = full.request.url.split("?", 1)[1].split("&")[0]
    assert pinned.content == full.content.replace(encoded_full.encode(), encoded.encode())
    return pinned


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("AbsoluteEntry eq 110 or AbsoluteEntry eq 103 or AbsoluteEntry eq 105", [110, 105, 103]),
        ("AbsoluteEntry eq 999999", []),  # a key that does not exist
        ("(AbsoluteEntry eq 104) or (AbsoluteEntry eq 999999)", [104]),
        ("AbsoluteEntry eq 105 or AbsoluteEntry eq 105 or AbsoluteEntry eq 102", [105, 102]),  # once each
        (
            "(AbsoluteEntry eq 101 or AbsoluteEntry eq 120 or AbsoluteEntry eq 105) "
            "and (ProductionOrderStatus eq 'boposReleased')",
            [105, 101],  # 120 is planned
        ),
        ("(ProductionOrderStatus eq 'R') and (AbsoluteEntry eq 121 or AbsoluteEntry eq 119)", [119]),
        ("(AbsoluteEntry eq 101 or AbsoluteEntry eq 102) and (AbsoluteEntry eq 102)", [102]),
        ("AbsoluteEntry eq '107' or 108 eq AbsoluteEntry", [108, 107]),  # converted as any eq is
        ("AbsoluteEntry eq 101 or ProductionOrderStatus eq 'boposPlanned'", [120, 101]),  # no pin: scan
    ],
)
def test_key_filters_answer_in_store_order_as_a_full_scan(
    reversed_orders: Client, condition: str, expected: list[int]
) -> None:
    response = same_answer(reversed_orders, "ProductionOrders", condition, **{"$select": "AbsoluteEntry"})
    assert entries(response) == expected


def test_key_filter_with_orderby_pages_and_links_as_a_full_scan(reversed_orders: Client) -> None:
    client = reversed_orders
    keys = [103, 117, 109, 111, 999, 104, 111]
    condition = " or ".join(f"AbsoluteEntry eq {key}" for key in keys)
    headers = {"Prefer": "odata.maxpagesize=2"}
    options = {"$select": "AbsoluteEntry,DocumentNumber", "$orderby": "AbsoluteEntry desc"}
    first = same_answer(client, "ProductionOrders", condition, headers=headers, **options)
    assert entries(first) == [117, 111]
    link = next_link(client, first.json())
    assert link is not None and link.endswith("&$skip=2")
    second = same_answer(client, "ProductionOrders", condition, headers=headers, **options, **{"$skip": "2"})
    assert entries(second) == [109, 104]
    third = same_answer(client, "ProductionOrders", condition, headers=headers, **options, **{"$skip": "4"})
    assert entries(third) == [103] and next_link(client, third.json()) is None
    # Following the link the mock gave answers the same page.
    assert client.get(link, headers=headers).content == second.content


def test_key_filter_with_top_skip_and_inline_count(client: Client) -> None:
    condition = "AbsoluteEntry eq 115 or AbsoluteEntry eq 102 or AbsoluteEntry eq 108"
    count = {"$inlinecount": "allpages"} if client.version == "v1" else {"$count": "true"}
    response = same_answer(
        client,
        "ProductionOrders",
        condition,
        **{"$select": "AbsoluteEntry", "$top": "1", "$skip": "1"},
        **count,
    )
    assert entries(response) == [108]
    assert response.json()["odata.count" if client.version == "v1" else "@odata.count"] in ("3", 3)
    counted = client.get("ProductionOrders/$count", params={"$filter": condition})
    assert counted.text == "3"


@pytest.mark.parametrize("after", [0, 105, 115, 122])
def test_keyset_page_with_a_key_set(reversed_orders: Client, after: int) -> None:
    # The poll's keyset paging shape ("... and (AbsoluteEntry gt N)", $orderby, $top) with keys named too.
    keys = "AbsoluteEntry eq 103 or AbsoluteEntry eq 108 or AbsoluteEntry eq 116"
    condition = f"({keys}) and (AbsoluteEntry gt {after})"
    options = {"$select": "AbsoluteEntry", "$orderby": "AbsoluteEntry", "$top": "2"}
    response = same_answer(reversed_orders, "ProductionOrders", condition, **options)
    assert entries(response) == [key for key in (103, 108, 116) if key > after][:2]


@pytest.mark.parametrize("after", [0, 110, 119])
def test_keyset_page_in_key_order_whatever_the_store_order(reversed_orders: Client, after: int) -> None:
    condition = f"(ProductionOrderStatus eq 'boposReleased') and (AbsoluteEntry gt {after})"
    options = {"$select": "AbsoluteEntry", "$orderby": "AbsoluteEntry", "$top": "3"}
    response = same_answer(reversed_orders, "ProductionOrders", condition, **options)
    assert entries(response) == [key for key in range(101, 120) if key > after][:3]


def test_a_literal_that_cannot_be_compared_fails_as_before(client: Client) -> None:
    # Without a matching key row the wrong literal is never reached (an empty answer); before the key
    # test it is reached on the first row: 201, exactly as when every row is visited.
    late = same_answer(client, "ProductionOrders", "AbsoluteEntry eq 999999 and PlannedQuantity eq 'x'")
    assert late.status_code == 200 and late.json()["value"] == []
    early = same_answer(client, "ProductionOrders", "PlannedQuantity eq 'x' and AbsoluteEntry eq 999999")
    assert early.status_code == 400
    assert client.error(early) == ("201", "Query string error - Invalid filter condition")


def test_string_keys_case_insensitive_and_with_quotes(client: Client) -> None:
    condition = "ItemCode eq 'wood-leg' or ItemCode eq 'BOLT''M8'"
    exact = same_answer(client, "Items", condition, **{"$select": "ItemCode"})
    assert [row["ItemCode"] for row in exact.json()["value"]] == ["BOLT'M8"]
    folded = same_answer(
        client, "Items", condition, headers={"B1S-CaseInsensitive": "true"}, **{"$select": "ItemCode"}
    )
    assert [row["ItemCode"] for row in folded.json()["value"]] == ["WOOD-LEG", "BOLT'M8"]


def test_a_row_whose_key_was_patched_is_found_by_its_new_value(client: Client) -> None:
    client.sl.store.patch("Warehouses", "QC", {"WarehouseCode": "QC2"})
    response = same_answer(client, "Warehouses", "WarehouseCode eq 'QC2'", **{"$select": "WarehouseCode"})
    assert response.json()["value"] == [{"WarehouseCode": "QC2"}]


def test_settle_look_up_by_udf_finds_the_receipt(client: Client) -> None:
    posted = client.post("InventoryGenEntries", {**receipt(101, 1), "U_B1BF_Key": "K1"}).json()
    client.post("InventoryGenEntries", {**receipt(102, 1), "U_B1BF_Key": "K2"})
    condition = "U_B1BF_Key eq 'K1' or DocEntry eq 2"
    response = same_answer(client, "InventoryGenEntries", condition, **{"$select": "DocEntry,U_B1BF_Key"})
    assert response.json()["value"] == [
        {"DocEntry": posted["DocEntry"], "U_B1BF_Key": "K1"},
        {"DocEntry": 2, "U_B1BF_Key": "K2"},
    ]


# Filters built from key tests, other conditions, and/or/not: whatever their shape, naming keys must
# select what visiting every row selects (in-process, no HTTP: many shapes in little time).
KEY_TESTS = st.sampled_from([101, 104, 111, 119, 120, 121, 999, "'105'", "110.0", "null"]).map(
    lambda key: f"AbsoluteEntry eq {key}"
)
OTHER_TESTS = st.sampled_from(
    [
        "ProductionOrderStatus eq 'boposReleased'",
        "ProductionOrderStatus ne 'R'",
        "AbsoluteEntry gt 108",
        "PlannedQuantity ge 5",
        "startswith(ItemNo,'FG-C')",
    ]
)
KEY_SETS = st.lists(KEY_TESTS, min_size=1, max_size=4).map(lambda tests: " or ".join(f"({t})" for t in tests))


def and_or_not(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One level more of a filter: two conditions and-ed or or-ed, or one negated.

    A named function, not a lambda: Hypothesis reads ``st.recursive``'s extend function's source to
    check that it recurses, and a multi-line lambda's source is not always found (a deprecation
    warning, now and then).
    """
    return st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        inner.map(lambda condition: f"not ({condition})"),
    )


MIXED = st.recursive(st.one_of(KEY_TESTS, OTHER_TESTS), and_or_not, max_leaves=5)
#: A conjunction, as the connector writes them: key sets, other tests and mixed shapes, and-ed.
CONDITIONS = st.lists(st.one_of(KEY_SETS, OTHER_TESTS, MIXED), min_size=1, max_size=3).map(
    lambda parts: " and ".join(f"({part})" for part in parts)
)
PAGING = st.sampled_from(
    [
        {},
        {"$orderby": "AbsoluteEntry desc"},
        {"$orderby": "AbsoluteEntry", "$top": "3"},
        {"$orderby": "PlannedQuantity", "$skip": "1"},
    ]
)
ORDERS_REVERSED = load_data(DEMO)
ORDERS_REVERSED["ProductionOrders"] = list(reversed(ORDERS_REVERSED["ProductionOrders"]))


@settings(max_examples=150, deadline=None)
@given(condition=CONDITIONS, options=PAGING)
def test_any_filter_naming_keys_selects_what_visiting_every_row_selects(
    condition: str, options: dict
) -> None:
    sl = MockServiceLayer(ORDERS_REVERSED, port=0)  # never started: the router is called directly

    def answer(text: str) -> tuple[int, bytes]:
        query = {"$filter": text, "$select": "AbsoluteEntry", **options}
        response = sl.router.handle(
            Request("GET", "v2", "ProductionOrders", "", query, {"B1S-PageSize": "0"})
        )
        return response.status, response.body

    assert answer(condition) == answer(every_row(condition))


def test_an_answer_is_the_same_whatever_changes_after_it_was_rendered() -> None:
    # Answers are encoded after the store lock is released: the rendered body must hold nothing that a
    # later request changes (header values, a stored structure, line values, a line UDF's list).
    data = load_data(DEMO)
    document = stored_document(1, 202680001, 122, 101)
    document["AddressExtension"] = {"ShipToStreet": "Before"}
    document["DocumentLines"][0]["U_Tags"] = ["before"]
    data["InventoryGenEntries"] = [document]
    sl = MockServiceLayer(data, port=0)
    request = Request("GET", "v2", "InventoryGenEntries(1)", "", {}, {})
    rendered = sl.router._under_lock(request, "InventoryGenEntries", (1,), None)
    expected = sl.router.handle(request).body
    assert b"Before" in expected and b"before" in expected
    stored = sl.store.live("InventoryGenEntries", 1)
    assert stored is not None
    stored["AddressExtension"]["ShipToStreet"] = "After"
    stored["DocumentLines"][0]["Quantity"] = 99.0
    stored["DocumentLines"][0]["U_Tags"].append("after")
    stored["Comments"] = "after"
    assert rendered.response().body == expected  # type: ignore[union-attr]


def test_documents_are_found_by_header_values_as_a_full_scan(client: Client) -> None:
    # The connector settles an unknown outcome by looking its key up (U_B1BF_Key eq '...'); documents
    # are found by value without visiting every one, and what is found follows PATCHes and new posts.
    for order, key in ((101, "K1"), (102, "K2"), (103, "K3"), (104, "K4")):
        assert client.post("InventoryGenEntries", {**receipt(order, 1), "U_B1BF_Key": key}).status_code == 201
    before = same_answer(client, "InventoryGenEntries", "U_B1BF_Key eq 'K2'", **{"$select": "DocEntry"})
    assert before.json()["value"] == [{"DocEntry": 2}]
    assert (
        client.patch("InventoryGenEntries(2)", {"U_B1BF_Key": "K9", "Comments": "moved"}).status_code == 204
    )
    assert client.post("InventoryGenEntries", {**receipt(110, 1), "U_B1BF_Key": "K1"}).status_code == 201
    cases = {
        "U_B1BF_Key eq 'K1'": [1, 5],  # a duplicate is visible
        "U_B1BF_Key eq 'K2'": [],  # patched away
        "U_B1BF_Key eq 'K9'": [2],
        "(U_B1BF_Key eq 'K3' or U_B1BF_Key eq 'K4') and (DocNum gt 202680362)": [4],
        "DocNum eq 202680360": [1],
        "Comments eq null and U_B1BF_Key eq 'K9'": [],
        "Comments eq 'moved' and (U_B1BF_Key eq 'K9' or U_B1BF_Key eq 'K4')": [2],
        "U_B1BF_Key eq 'K1' or DocEntry eq 3": [1, 3, 5],  # nothing pinned: every document visited
    }
    for condition, expected in cases.items():
        response = same_answer(client, "InventoryGenEntries", condition, **{"$select": "DocEntry"})
        assert [row["DocEntry"] for row in response.json()["value"]] == expected, condition
    folded = same_answer(
        client, "InventoryGenEntries", "U_B1BF_Key eq 'k1'", headers={"B1S-CaseInsensitive": "true"}
    )
    assert [row["DocEntry"] for row in folded.json()["value"]] == [1, 5]


DOCUMENT_TESTS = st.sampled_from(
    [
        "U_B1BF_Key eq 'K1'",
        "U_B1BF_Key eq 'K3'",
        "U_B1BF_Key eq 'none'",
        "U_B1BF_Key eq null",
        "DocNum eq 202680361",
        "DocNum eq '202680362'",
        "DocEntry eq 2",
        "Comments eq 'moved'",
        "Comments ne null",
        "DocNum gt 202680361",
    ]
)
DOCUMENT_CONDITIONS = st.lists(
    st.recursive(DOCUMENT_TESTS, and_or_not, max_leaves=4),
    min_size=1,
    max_size=3,
).map(lambda parts: " and ".join(f"({part})" for part in parts))


@settings(max_examples=100, deadline=None)
@given(condition=DOCUMENT_CONDITIONS)
def test_any_filter_on_documents_selects_what_visiting_every_row_selects(condition: str) -> None:
    sl = MockServiceLayer(DEMO, port=0)

    def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        return sl.router.handle(Request(method, "v2", path, "", query or {}, {"B1S-PageSize": "0"}, body))

    for order, key in ((101, "K1"), (102, "K2"), (103, "K3"), (104, None), (110, "K1")):
        assert call("POST", "InventoryGenEntries", {**receipt(order, 1), "U_B1BF_Key": key}).status == 201
    assert call("PATCH", "InventoryGenEntries(3)", {"U_B1BF_Key": "K1", "Comments": "moved"}).status == 204
    call("GET", "InventoryGenEntries", query={"$filter": "U_B1BF_Key eq 'K2'"})  # indexes exist before
    assert call("PATCH", "InventoryGenEntries(2)", {"U_B1BF_Key": "K3"}).status == 204  # ... this change

    def answer(text: str) -> tuple[int, bytes]:
        response = call("GET", "InventoryGenEntries", query={"$filter": text, "$select": "DocEntry"})
        return response.status, response.body

    assert answer(condition) == answer(every_row(condition))


# -- numbering with documents already in the data folder ---------------------------------------------
def stored_document(entry: int, number: int, series: int, order: int) -> dict[str, Any]:
    return {
        "DocEntry": entry,
        "DocNum": number,
        "Series": series,
        "DocDate": "2026-05-01",
        "DocumentLines": [{"LineNum": 0, "BaseType": 202, "BaseEntry": order, "Quantity": 1.0}],
    }


@pytest.fixture
def restarted(tmp_path: Path, make_client: Any) -> Client:
    """A mock started from a data folder holding documents a previous run (or SAP) left there."""
    data = load_data(DEMO)
    data["InventoryGenEntries"] = [
        stored_document(40, 202680400, 122, 101),  # above the Primary series' NextNumber (202680360)
        stored_document(12, 202690005, 123, 102),  # Rework series; DocEntry below the largest
        stored_document(41, 7, 122, 103),  # a number outside every series range takes none of them
    ]
    data["InventoryGenExits"] = [stored_document(30, 202780500, 124, 101)]
    folder = tmp_path / "company"
    folder.mkdir()
    for name, rows in data.items():
        (folder / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    return make_client(data=folder)


def test_numbers_continue_after_the_documents_already_stored(restarted: Client) -> None:
    client = restarted
    first = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert (first["DocEntry"], first["DocNum"], first["Series"]) == (42, 202680401, 122)
    rework = client.post("InventoryGenEntries", {**receipt(101, 1), "Series": 123}).json()
    assert (rework["DocEntry"], rework["DocNum"], rework["Series"]) == (43, 202690006, 123)
    again = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert (again["DocEntry"], again["DocNum"]) == (44, 202680402)
    issues = sorted(client.sl.store.rows("InventoryGenExits"), key=lambda doc: doc["DocEntry"])
    assert [(doc["DocEntry"], doc["DocNum"], doc["Series"]) for doc in issues] == [
        (30, 202780500, 124),
        (31, 202780501, 124),
        (32, 202780502, 124),
        (33, 202780503, 124),
    ]
    series = client.post("SeriesService_GetDocumentSeries", {"DocumentTypeParams": {"Document": "59"}})
    next_numbers = {row["Series"]: row["NextNumber"] for row in series.json()["value"]}
    assert (next_numbers[122], next_numbers[123]) == (202680403, 202690007)


def test_refused_series_takes_no_number_after_restart(restarted: Client) -> None:
    client = restarted
    refused = client.post("InventoryGenEntries", {**receipt(101, 1), "Series": 121})
    assert refused.status_code == 400
    assert client.error(refused) == ("-5002", "Series 121 is locked  [OIGN.Series]")
    posted = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert (posted["DocEntry"], posted["DocNum"]) == (42, 202680401)


def test_a_number_changed_on_a_stored_document_is_never_reused(client: Client) -> None:
    first = client.post("InventoryGenEntries", receipt(101, 1)).json()
    assert first["DocNum"] == 202680360
    client.sl.store.patch("InventoryGenEntries", first["DocEntry"], {"DocNum": 202680500})
    assert client.post("InventoryGenEntries", receipt(101, 1)).json()["DocNum"] == 202680501
