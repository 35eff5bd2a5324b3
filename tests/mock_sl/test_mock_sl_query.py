"""OData over the wire: paging, next links, $top, filters, $select, $orderby, $count, $expand (v1 + v2)."""

from __future__ import annotations

import pytest

from connector.mock_sl.server import MockServiceLayer
from tests.support.raw_client import Client

RELEASED = 19  # released orders in the demo company (101..119)


def next_link(client: Client, body: dict) -> str | None:
    return body.get("odata.nextLink" if client.version == "v1" else "@odata.nextLink")


def walk(client: Client, path: str, **kwargs: object) -> tuple[list[dict], list[str]]:
    rows, links = [], []
    response = client.get(path, **kwargs)  # type: ignore[arg-type]
    while True:
        body = response.json()
        rows += body["value"]
        link = next_link(client, body)
        if link is None:
            return rows, links
        links.append(link)
        response = client.get(link, headers=kwargs.get("headers"))  # type: ignore[arg-type]


def test_paging_default_page_size_is_20(client: Client) -> None:
    body = client.get("ProductionOrders", params={"$select": "AbsoluteEntry"}).json()
    assert len(body["value"]) == 20
    assert next_link(client, body) == "ProductionOrders?%24select=AbsoluteEntry&$skip=20"
    assert list(body)[-1] == ("odata.nextLink" if client.version == "v1" else "@odata.nextLink")


def test_paging_maxpagesize_follows_relative_links_and_keeps_query(client: Client) -> None:
    query = (
        "$filter=ProductionOrderStatus%20eq%20'boposReleased'&$select=AbsoluteEntry&$orderby=AbsoluteEntry"
    )
    response = client.get(f"ProductionOrders?{query}", headers={"Prefer": "odata.maxpagesize=5"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=5"
    assert next_link(client, response.json()) == f"ProductionOrders?{query}&$skip=5"
    rows, links = walk(client, f"ProductionOrders?{query}", headers={"Prefer": "odata.maxpagesize=5"})
    assert [row["AbsoluteEntry"] for row in rows] == list(range(101, 101 + RELEASED))
    assert len(links) == 3


def test_paging_full_last_page_still_links_to_an_empty_page(client: Client) -> None:
    # Exactly 10 rows match; page size 5: the second page is full and still links on.
    query = "$filter=AbsoluteEntry le 110&$select=AbsoluteEntry"
    second = client.get(f"ProductionOrders?{query}&$skip=5", headers={"B1S-PageSize": "5"}).json()
    assert len(second["value"]) == 5 and next_link(client, second) is not None
    third = client.get(next_link(client, second), headers={"B1S-PageSize": "5"}).json()
    assert third["value"] == [] and next_link(client, third) is None


def test_paging_top_across_pages_carries_the_remaining_top(client: Client) -> None:
    response = client.get(
        "ProductionOrders?$select=AbsoluteEntry&$top=12", headers={"Prefer": "odata.maxpagesize=5"}
    )
    assert next_link(client, response.json()) == "ProductionOrders?$select=AbsoluteEntry&$top=7&$skip=5"
    rows, links = walk(
        client, "ProductionOrders?$select=AbsoluteEntry&$top=12", headers={"Prefer": "odata.maxpagesize=5"}
    )
    assert len(rows) == 12 and links[-1].endswith("$top=2&$skip=10")


def test_paging_top_that_fits_gives_no_link_and_zero_turns_paging_off(client: Client) -> None:
    fits = client.get("ProductionOrders", params={"$top": 5, "$select": "AbsoluteEntry"}).json()
    assert len(fits["value"]) == 5 and next_link(client, fits) is None
    off = client.get(
        "ProductionOrders?$select=AbsoluteEntry", headers={"Prefer": "odata.maxpagesize=0"}
    ).json()
    assert len(off["value"]) == 22 and next_link(client, off) is None


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("AbsoluteEntry eq 101", [101]),
        ("AbsoluteEntry ne 101 and AbsoluteEntry lt 104", [102, 103]),
        ("AbsoluteEntry gt 120", [121, 122]),
        ("AbsoluteEntry ge 121", [121, 122]),
        ("AbsoluteEntry le 102", [101, 102]),
        ("AbsoluteEntry eq 101 or AbsoluteEntry eq 122", [101, 122]),
        ("not (ProductionOrderStatus eq 'R') ", [120, 121, 122]),
        ("ProductionOrderStatus eq 'boposPlanned'", [120]),
        ("ProductionOrderStatus eq 'L'", [121]),
        ("ProductionOrderType eq 'bopotDisassembly'", [113]),
        ("startswith(ItemNo,'FG-SER')", [109]),
        ("endswith(ItemNo,'SERIAL')", [109]),
        ("contains(Remarks,'quoted')", [115]),
        ("substringof('quoted',Remarks)", [115]),
        ("U_ReadyToReceive eq 'Y'", [118]),
        ("U_ConfirmedQty gt 11.5", [110, 121]),
        ("(AbsoluteEntry eq 101 or AbsoluteEntry eq 102) and U_RejectedQty eq 2", [102]),
        ("U_RejectedQty eq null and AbsoluteEntry le 102", [101]),
        ("DueDate eq '2026-06-10' and AbsoluteEntry eq 101", [101]),
        ("DueDate ge '20260610' and AbsoluteEntry eq 101", [101]),
        ("DueDate lt datetime'2026-06-10' and AbsoluteEntry eq 101", []),
        ("DueDate eq '2026-06-10T00:00:00Z' and AbsoluteEntry eq 102", [102]),
    ],
)
def test_filter_operators(client: Client, flt: str, expected: list[int]) -> None:
    body = client.get(
        "ProductionOrders",
        params={"$filter": flt, "$select": "AbsoluteEntry", "$orderby": "AbsoluteEntry"},
        headers={"Prefer": "odata.maxpagesize=0"},
    ).json()
    assert [row["AbsoluteEntry"] for row in body["value"]] == expected


def test_filter_quoted_string_literal_and_key(client: Client) -> None:
    body = client.get("Items", params={"$filter": "ItemCode eq 'BOLT''M8'", "$select": "ItemCode"}).json()
    assert body["value"] == [{"ItemCode": "BOLT'M8"}]
    assert client.get("Items('BOLT%27%27M8')").json()["ItemCode"] == "BOLT'M8"


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"$filter": "NoSuchField eq 1"}, 400, "201", "Property 'NoSuchField' is invalid"),
        ({"$filter": "AbsoluteEntry eq"}, 400, "201", "Query string error - Invalid filter condition"),
        ({"$filter": "(AbsoluteEntry eq 1"}, 400, "201", "Query string error - Invalid filter condition"),
        (
            {"$select": "AbsoluteEntry,NoSuchField"},
            400,
            "-1000",
            "Property 'NoSuchField' of 'ProductionOrder' is invalid",
        ),
        (
            {"$expand": "ProductionOrderLines"},
            400,
            "201",
            "Cannot expand invalid navigation property 'ProductionOrderLines' "
            "for entity type 'ProductionOrder'",
        ),
    ],
)
def test_query_errors(client: Client, params: dict, status: int, code: str, message: str) -> None:
    response = client.get("ProductionOrders", params=params)
    assert response.status_code == status
    assert client.error(response) == (code, message)


@pytest.mark.parametrize(
    "literal",
    ["9" * 30, "9" * 5000, "9223372036854775808", "-9223372036854775809", "1e999", "-1e999"],
    ids=["30 digits", "5000 digits", "Int64 max + 1", "Int64 min - 1", "1e999", "-1e999"],
)
@pytest.mark.parametrize("field", ["AbsoluteEntry", "PlannedQuantity"])
def test_a_number_no_odata_type_holds_is_a_filter_error_not_a_dropped_connection(
    client: Client, field: str, literal: str
) -> None:
    response = client.get("ProductionOrders", params={"$filter": f"{field} eq {literal}"})
    assert response.status_code == 400
    assert client.error(response) == ("201", "Query string error - Invalid filter condition")
    assert client.get("ProductionOrders", params={"$filter": f"{field} eq 9223372036854775807"}).ok


def test_a_fault_inside_the_mock_is_a_500_with_an_error_body_and_the_mock_keeps_serving(
    client: Client, sl: MockServiceLayer, monkeypatch, capsys
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the mock")

    monkeypatch.setattr(type(sl.router), "_list", broken)
    response = client.get("ProductionOrders")
    assert response.status_code == 500
    assert client.error(response) == ("-1", "Internal error")
    assert "RuntimeError: a bug in the mock" in capsys.readouterr().err  # the traceback, for whoever runs it
    monkeypatch.undo()
    assert client.get("ProductionOrders").ok


def test_query_unknown_entity_set_is_service_not_found(client: Client) -> None:
    response = client.get("NoSuchSet")
    assert response.status_code == 400 and client.error(response)[1] == "Service Not Found"


def test_select_complex_collection_and_no_etag(client: Client) -> None:
    body = client.get(
        "ProductionOrders(102)", params={"$select": "AbsoluteEntry,ProductionOrderLines"}
    ).json()
    assert set(body) - {"odata.metadata", "@odata.context"} == {"AbsoluteEntry", "ProductionOrderLines"}
    line = body["ProductionOrderLines"][1]
    assert line["ItemType"] == "pit_Resource" and "WeightOfRecycledPlastic" in line
    assert line["UoMCode"] is None
    rows = client.get("Warehouses", params={"$select": "WarehouseCode"}).json()["value"]
    assert all(set(row) == {"WarehouseCode"} for row in rows)


def test_full_entity_has_every_property_and_etag(client: Client) -> None:
    body = client.get("ProductionOrders(101)").json()
    etag = "odata.etag" if client.version == "v1" else "@odata.etag"
    assert body[etag].startswith('W/"')
    for name in ("ClosingDate", "SAPPassport", "ProductionOrdersStages", "U_ConfirmedQty", "U_Line"):
        assert name in body
    assert body["PlannedQuantity"] == 10.0 and body["ProductionOrderStatus"] == "boposReleased"
    assert body["DueDate"] == ("2026-06-10" if client.version == "v1" else "2026-06-10T00:00:00Z")
    listed = client.get("Items", params={"$top": 1}).json()["value"][0]
    assert listed[etag].startswith('W/"')


def test_orderby_several_keys(client: Client) -> None:
    body = client.get(
        "ProductionOrders",
        params={"$orderby": "ItemNo desc,AbsoluteEntry asc", "$top": 3, "$select": "AbsoluteEntry,ItemNo"},
    ).json()
    assert [(r["ItemNo"], r["AbsoluteEntry"]) for r in body["value"]] == [
        ("FG-TABLE", 102),
        ("FG-TABLE", 115),
        ("FG-TABLE", 117),
    ]


def test_count_endpoint_and_inline_count(client: Client) -> None:
    response = client.get("ProductionOrders/$count", params={"$filter": "ProductionOrderStatus eq 'R'"})
    assert response.text == str(RELEASED) and response.headers["Content-Type"].startswith("text/plain")
    if client.version == "v1":
        body = client.get("ProductionOrders", params={"$inlinecount": "allpages", "$top": 1}).json()
        assert body["odata.count"] == "22"
    else:
        body = client.get("ProductionOrders", params={"$count": "true", "$top": 1}).json()
        assert body["@odata.count"] == 22
        body = client.get("ProductionOrders", params={"$inlinecount": "allpages", "$top": 1}).json()
        assert body["@odata.count"] == 22


def test_user_fields_md_list_filter_and_composite_key(client: Client) -> None:
    body = client.get(
        "UserFieldsMD", params={"$filter": "TableName eq 'OIGN'", "$select": "Name,Size"}
    ).json()
    assert {"Name": "B1BF_Key", "Size": 100} in body["value"]
    row = client.get("UserFieldsMD(TableName='OWOR',FieldID=0)").json()
    assert (row["Name"], row["Type"], row["SubType"]) == ("ConfirmedQty", "db_Float", "st_Quantity")


@pytest.mark.parametrize("after", [0, 104, 110, 119])
@pytest.mark.parametrize("top", [1, 5, 30])
def test_keyset_page_is_the_same_whether_or_not_every_row_is_filtered(client: Client, after, top) -> None:
    # "... and (AbsoluteEntry gt N)" ordered by AbsoluteEntry with $top is answered without filtering
    # every row (a company of 100,000 orders stays fast); a count asks for every row, so it takes the
    # full path. Both must give the same rows.
    query = {
        "$select": "AbsoluteEntry,DocumentNumber",
        "$filter": f"(ProductionOrderStatus eq 'boposReleased') and (AbsoluteEntry gt {after})",
        "$orderby": "AbsoluteEntry",
        "$top": str(top),
    }
    count_key = "$inlinecount" if client.version == "v1" else "$count"
    count_value = "allpages" if client.version == "v1" else "true"
    headers = {"Prefer": "odata.maxpagesize=100"}
    keyset = client.get("ProductionOrders", params=query, headers=headers).json()["value"]
    full = client.get("ProductionOrders", params={**query, count_key: count_value}, headers=headers).json()[
        "value"
    ]
    assert keyset == full
    assert [row["AbsoluteEntry"] for row in keyset] == sorted(row["AbsoluteEntry"] for row in keyset)
    assert all(row["AbsoluteEntry"] > after for row in keyset)
    assert len(keyset) == min(top, len([e for e in range(101, 120) if e > after]))
