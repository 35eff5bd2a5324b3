"""The $filter parser/evaluator as a pure table (no sockets)."""

from __future__ import annotations

import pytest

from connector.mock_sl.odata_filter import QueryError, evaluate, parse_filter, parse_orderby, sort_rows

KNOWN = {
    "Code": "Edm.String",
    "Qty": "Edm.Double",
    "Status": "SAPB1.BoProductionOrderStatusEnum",
    "Due": "Edm.DateTime",
    "N": "Edm.Int32",
}
ROW = {"Code": "A'B", "Qty": 2.5, "Status": "boposReleased", "Due": "2026-06-10", "N": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Code eq 'A''B'", True),
        ("Code ne 'A''B'", False),
        ("Qty gt 2", True),
        ("Qty ge 2.5", True),
        ("Qty lt 2.5", False),
        ("Qty le 2.5", True),
        ("Status eq 'R'", True),
        ("Status eq 'boposReleased'", True),
        ("Status eq 'P'", False),
        ("Due eq '20260610'", True),
        ("Due gt datetime'2026-06-09'", True),
        ("Due eq '2026-06-10T00:00:00Z'", True),
        ("not (N eq 3)", False),
        ("N eq 3 and (Qty eq 1 or Code eq 'A''B')", True),
        ("startswith(Code,'A')", True),
        ("endswith(Code,'B')", True),
        ("contains(Code,'''')", True),
        ("substringof('''B',Code)", True),
        ("Code eq null", False),
        ("N eq 3.0", True),
    ],
)
def test_odata_filter_evaluates(text: str, expected: bool) -> None:
    assert evaluate(parse_filter(text, KNOWN), ROW, KNOWN) is expected


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("Nope eq 1", 201, "Property 'Nope' is invalid"),
        ("Code eq", 201, "Query string error - Invalid filter condition"),
        ("Code eq 'x", 201, "Query string error - Invalid filter condition"),
        ("(N eq 1", 201, "Query string error - Invalid filter condition"),
        ("N eq 1 N", 201, "Query string error - Invalid filter condition"),
        ("N add 1 eq 2", 201, "Query string error - Invalid filter condition"),
    ],
)
def test_odata_filter_refuses(text: str, code: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter(text, KNOWN)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_odata_filter_case_insensitive_fold() -> None:
    assert evaluate(parse_filter("Code eq 'a''b'", KNOWN), ROW, KNOWN, fold=True) is True
    assert evaluate(parse_filter("Code eq 'a''b'", KNOWN), ROW, KNOWN) is False


def test_odata_orderby_nulls_first_and_desc() -> None:
    rows = [{"N": 2}, {"N": None}, {"N": 1}]
    assert [r["N"] for r in sort_rows(rows, parse_orderby("N", KNOWN))] == [None, 1, 2]
    assert [r["N"] for r in sort_rows(rows, parse_orderby("N desc", KNOWN))] == [2, 1, None]
