"""Paging: Prefer header, query encoding, next links in every form, empty last page, loop/off-host guards."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import responses
from responses import matchers

from connector.errors import SLError, SLProtocolError, SLQueryError
from connector.sl import odata
from connector.sl.client import ServiceLayerClient
from tests.support.sl_unit import HOST, collection, login_ok, rows, sl_error

Factory = Callable[..., ServiceLayerClient]


def link_forms(root: str) -> list[Callable[[str], str]]:
    return [
        lambda q: f"ProductionOrders?{q}",
        lambda q: f"/b1s/{root[-2:]}/ProductionOrders?{q}",
        lambda q: f"{root}/ProductionOrders?{q}",
    ]


@pytest.mark.parametrize("form", [0, 1, 2], ids=["relative", "absolute-path", "absolute-url"])
def test_iter_pages_follows_next_links_and_sends_prefer(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, form: int
) -> None:
    make_link = link_forms(root)[form]
    prefer = matchers.header_matcher({"Prefer": "odata.maxpagesize=5"})
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5), make_link("$select=AbsoluteEntry,ItemNo&$skip=5")),
        match=[prefer, matchers.query_param_matcher({"$select": "AbsoluteEntry,ItemNo"})],
    )
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5, 5), make_link("$select=AbsoluteEntry,ItemNo&$skip=10")),
        match=[prefer, matchers.query_param_matcher({"$select": "AbsoluteEntry,ItemNo", "$skip": "5"})],
    )
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, []),
        match=[prefer, matchers.query_param_matcher({"$select": "AbsoluteEntry,ItemNo", "$skip": "10"})],
    )
    client = make_client()
    pages = list(client.iter_pages("ProductionOrders", select=["AbsoluteEntry", "ItemNo"]))
    assert [len(p) for p in pages] == [5, 5]  # the empty page after a full last page is not yielded
    assert [r["AbsoluteEntry"] for r in client_rows(pages)] == list(range(1, 11))


def client_rows(pages: list[list[dict]]) -> list[dict]:
    return [row for page in pages for row in page]


def test_iter_pages_encodes_filter_literals_exactly(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    nasty = "A'B &#+ ü"
    expected_filter = odata.and_(
        odata.eq("ItemNo", nasty), odata.eq("ProductionOrderStatus", "boposReleased")
    )
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(2)),
        match=[
            matchers.query_param_matcher(
                {"$filter": expected_filter, "$orderby": "AbsoluteEntry", "$top": "50"}
            ),
            matchers.header_matcher({"Prefer": "odata.maxpagesize=20"}),
        ],
    )
    client = make_client()
    found = list(
        client.iter_collection(
            "ProductionOrders", where=expected_filter, orderby="AbsoluteEntry", top=50, page_size=20
        )
    )
    assert len(found) == 2
    raw_query = mocked.calls[1].request.url.split("?", 1)[1]
    assert "%27A%27%27B%20%26%23%2B%20%C3%BC%27" in raw_query
    assert " " not in raw_query and "#" not in raw_query


def test_iter_pages_is_lazy_one_page_at_a_time(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5), "ProductionOrders?$skip=5"),
    )
    mocked.add(responses.GET, f"{root}/ProductionOrders", json=collection(version, rows(3, 5)))
    pages = make_client().iter_pages("ProductionOrders")
    assert len(mocked.calls) == 0
    assert len(next(pages)) == 5
    assert len(mocked.calls) == 2  # login + first page only
    assert len(next(pages)) == 3
    assert next(pages, None) is None


def test_iter_pages_stops_on_a_repeated_skip(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5), "ProductionOrders?$skip=5"),
    )
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5, 5), "ProductionOrders?$top=9&$skip=5"),
    )
    pages = make_client().iter_pages("ProductionOrders")
    next(pages)
    next(pages)
    with pytest.raises(SLError, match="repeats"):
        next(pages)


def test_iter_pages_never_follows_a_link_off_host(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        json=collection(version, rows(5), f"https://evil.example/b1s/{version}/ProductionOrders?$skip=5"),
    )
    pages = make_client().iter_pages("ProductionOrders")
    next(pages)
    with pytest.raises(SLError, match="another host"):
        next(pages)
    assert len(mocked.calls) == 2


def test_iter_pages_rejects_a_body_without_value(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.GET, f"{root}/ProductionOrders", json={"ItemCode": "A"})
    with pytest.raises(SLError, match="not a collection"):
        list(make_client().iter_pages("ProductionOrders"))


def test_iter_pages_bad_filter_is_a_query_error(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders",
        status=400,
        json=sl_error(version, 201, "Query string error - Invalid filter condition"),
    )
    with pytest.raises(SLQueryError) as info:
        list(make_client().iter_pages("ProductionOrders", where="Foo eq"))
    assert info.value.code == "201" and "Invalid filter condition" in str(info.value)


@pytest.mark.parametrize("body", ["5", "5\n", '"5"', '{"@odata.count": 5}'])
def test_count_reads_the_plain_number(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, body: str
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders/$count",
        body=body,
        content_type="text/plain",
        match=[matchers.query_param_matcher({"$filter": "ProductionOrderStatus eq 'boposReleased'"})],
    )
    assert (
        make_client().count("ProductionOrders", where=odata.eq("ProductionOrderStatus", "boposReleased")) == 5
    )


def test_count_rejects_garbage(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.GET, f"{root}/ProductionOrders/$count", body="<html>", content_type="text/html")
    with pytest.raises(SLError, match="not a count"):
        make_client().count("ProductionOrders")


def test_get_entity_quotes_the_key_and_selects(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/Items('A''B')",
        json={"ItemCode": "A'B"},
        match=[matchers.query_param_matcher({"$select": "ItemCode,IssueMethod"})],
    )
    assert make_client().get_entity("Items", "A'B", select=["ItemCode", "IssueMethod"]) == {"ItemCode": "A'B"}
    assert mocked.calls[1].request.url.startswith(f"{root}/Items('A''B')?$select=")


def test_get_low_level_path_and_params(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.GET,
        f"{root}/ProductionOrders(3585)",
        json={"AbsoluteEntry": 3585},
        match=[matchers.query_param_matcher({"$select": "AbsoluteEntry"})],
    )
    assert make_client().get("ProductionOrders(3585)", {"$select": "AbsoluteEntry"}) == {
        "AbsoluteEntry": 3585
    }
    assert HOST in mocked.calls[1].request.url


def test_get_url_refuses_another_host(mocked: responses.RequestsMock, make_client: Factory) -> None:
    with pytest.raises(SLError, match="another host"):
        make_client().get_url("https://evil.example/b1s/v2/Items")
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, "x"], "row 1 of the page is a number 1, not an entity object"),
        ([{"AbsoluteEntry": 1}, "x"], "row 2 of the page is text 'x', not an entity object"),
        ([{"AbsoluteEntry": 1}, None], "row 2 of the page is null, not an entity object"),
        ([[1, 2]], "row 1 of the page is a list [1, 2], not an entity object"),
        ("x" * 100, "the answer is not a collection ('value' is text, not a list)"),
        ({"AbsoluteEntry": 1}, "the answer is not a collection ('value' is an object, not a list)"),
        (None, "the answer is not a collection ('value' is null, not a list)"),
    ],
)
def test_iter_pages_refuses_rows_that_are_not_objects_with_one_clear_message(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, value, expected: str
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.GET, f"{root}/ProductionOrders", json={"value": value})
    with pytest.raises(SLError) as caught:
        list(make_client().iter_pages("ProductionOrders"))
    message = str(caught.value)
    assert type(caught.value) is SLProtocolError and "\n" not in message
    assert message.startswith(f"GET /b1s/{version}/ProductionOrders: {expected}; ")
    assert message.endswith("if it persists, check the proxy and the SL log")
