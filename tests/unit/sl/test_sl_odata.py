"""OData literals, keys, builders, query encoding and next-link resolution."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import SLError
from connector.sl import odata


def parse_string_literal(text: str) -> tuple[str, str]:
    """A tiny OData string-literal reader: returns (value, rest after the closing quote)."""
    assert text.startswith("'")
    value: list[str] = []
    i = 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                value.append("'")
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        value.append(text[i])
        i += 1
    raise ValueError("unterminated literal")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A'B", "'A''B'"),
        ("''", "''''''"),
        ("", "''"),
        ("Ünïcødé-ß 日本", "'Ünïcødé-ß 日本'"),
        ("A&B#C+D", "'A&B#C+D'"),
        ("x' or 1 eq 1 or 'y", "'x'' or 1 eq 1 or ''y'"),
        ("00123", "'00123'"),
        (12, "12"),
        (-3, "-3"),
        (1.5, "1.5"),
        (Decimal("2.50"), "2.50"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (date(2026, 4, 25), "'2026-04-25'"),
        (datetime(2026, 4, 25, 13, 14), "'2026-04-25'"),
    ],
)
def test_literal_renders_exact_odata(value: object, expected: str) -> None:
    assert odata.literal(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), object(), [1]])
def test_literal_rejects_unrepresentable_values(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        odata.literal(value)  # type: ignore[arg-type]


@given(st.text())
def test_literal_round_trips_through_a_parser(text: str) -> None:
    value, rest = parse_string_literal(odata.literal(text))
    assert value == text
    assert rest == ""


@given(st.text())
def test_literal_cannot_escape_a_filter_clause(text: str) -> None:
    clause = odata.eq("ItemCode", text)
    prefix = "ItemCode eq "
    assert clause.startswith(prefix)
    value, rest = parse_string_literal(clause[len(prefix) :])
    assert (value, rest) == (text, "")


@given(st.text())
def test_encode_query_round_trips_any_filter_text(text: str) -> None:
    query = odata.encode_query({"$filter": odata.eq("ItemCode", text), "$top": 5})
    assert "#" not in query and " " not in query and "+" not in query
    parsed = parse_qs(query, keep_blank_values=True)
    assert parsed == {"$filter": [odata.eq("ItemCode", text)], "$top": ["5"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3585, "(3585)"), ("A'B", "('A''B')"), ("0005", "('0005')"), ("PKKEY-0005", "('PKKEY-0005')")],
)
def test_key_quotes_strings_and_not_numbers(value: object, expected: str) -> None:
    assert odata.key(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, True, 1.5])
def test_key_rejects_non_keys(value: object) -> None:
    with pytest.raises(TypeError):
        odata.key(value)  # type: ignore[arg-type]


def test_builders_compose_parenthesised_clauses() -> None:
    clause = odata.and_(
        odata.eq("ProductionOrderStatus", "boposReleased"), odata.any_of("ItemNo", ["A'B", "C"])
    )
    assert clause == (
        "(ProductionOrderStatus eq 'boposReleased') and ((ItemNo eq 'A''B') or (ItemNo eq 'C'))"
    )
    assert odata.or_("A eq 1") == "A eq 1"
    assert odata.compare("DueDate", "ge", date(2026, 1, 2)) == "DueDate ge '2026-01-02'"


@pytest.mark.parametrize("bad", ["Item Code", "x eq 1", "A'B", "", "1abc", "U_X)"])
def test_property_name_rejects_injection(bad: str) -> None:
    with pytest.raises(ValueError):
        odata.eq(bad, 1)


def test_builders_reject_empty_and_bad_input() -> None:
    with pytest.raises(ValueError):
        odata.and_()
    with pytest.raises(ValueError):
        odata.select([])
    with pytest.raises(ValueError):
        odata.orderby("AbsoluteEntry; drop")
    with pytest.raises(ValueError):
        odata.compare("A", "like", 1)


def test_build_query_orders_and_encodes_options() -> None:
    query = odata.build_query(
        where="ItemCode eq 'A&B #1+2'",
        select=["ItemCode", "ItemName"],
        orderby=["DueDate desc", "AbsoluteEntry"],
        top=10,
        skip=20,
    )
    assert query == (
        "$select=ItemCode,ItemName&$filter=ItemCode%20eq%20%27A%26B%20%231%2B2%27"
        "&$orderby=DueDate%20desc,AbsoluteEntry&$top=10&$skip=20"
    )
    assert odata.build_query() == ""


ROOT = "https://sap.example:50000/b1s/v1"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("ProductionOrders?$skip=20", f"{ROOT}/ProductionOrders?$skip=20"),
        ("/b1s/v1/Orders?$skip=20", f"{ROOT}/Orders?$skip=20"),
        (f"{ROOT}/Orders?$select=DocEntry&$skip=100", f"{ROOT}/Orders?$select=DocEntry&$skip=100"),
        (
            "https://SAP.example:50000/b1s/v1/Orders?$skip=5",
            "https://SAP.example:50000/b1s/v1/Orders?$skip=5",
        ),
    ],
)
def test_resolve_next_link_accepts_all_three_forms(link: str, expected: str) -> None:
    assert odata.resolve_next_link(ROOT, link) == expected


def test_resolve_next_link_keeps_a_reverse_proxy_prefix() -> None:
    assert (
        odata.resolve_next_link("https://gw.example/sap/b1s/v2", "/b1s/v2/Items?$skip=20")
        == "https://gw.example/sap/b1s/v2/Items?$skip=20"
    )


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example:50000/b1s/v1/Orders?$skip=20",
        "//evil.example/b1s/v1/Orders",
        "http://sap.example:50000/b1s/v1/Orders",
        "https://sap.example:50001/b1s/v1/Orders",
        "/admin/Orders",
        "../../../etc/passwd",
    ],
)
def test_resolve_next_link_refuses_to_leave_the_service(link: str) -> None:
    with pytest.raises(SLError):
        odata.resolve_next_link(ROOT, link)


@pytest.mark.parametrize(
    ("url", "skip"),
    [
        (f"{ROOT}/Orders?$skip=20", 20),
        (f"{ROOT}/Orders", 0),
        (f"{ROOT}/Orders?$top=400&$skip=100", 100),
        (f"{ROOT}/Orders?$skip=x", None),
    ],
)
def test_skip_of_reads_the_offset(url: str, skip: int | None) -> None:
    assert odata.skip_of(url) == skip


def test_display_path_hides_a_login_query_but_shows_a_get_query() -> None:
    assert odata.display_path(f"{ROOT}/Login?Password=x") == "/b1s/v1/Login"
    assert (
        odata.display_path(f"{ROOT}/Items?$filter=ItemCode%20eq%20%27A%27")
        == "/b1s/v1/Items?$filter=ItemCode eq 'A'"
    )
    assert urlsplit(ROOT).path == "/b1s/v1"


def test_startswith_quotes_the_prefix_and_checks_the_field() -> None:
    assert odata.startswith("U_B1BF_Key", "O'Neil/") == "startswith(U_B1BF_Key,'O''Neil/')"
    with pytest.raises(ValueError):
        odata.startswith("U_Key) or (1 eq 1", "x")
