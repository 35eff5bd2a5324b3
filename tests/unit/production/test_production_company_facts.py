"""The rules that check a receipt against the company's SAP set-up: warehouses, UDF sizes, numbering series.

Pure: the facts are handed in as the worker reads them once per cycle. Each is a refusal SAP would
otherwise give on the POST; the connector holds the order instead, naming what to fix.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from connector.production import reasons as rc
from connector.production.company_facts import CompanyFacts, NumberingSeries, UdfField
from connector.production.receipt import build_receipt
from connector.production.rules import check_receipt_fields, check_series, check_warehouses, evaluate
from tests.support.production_factories import item, items, mapping, order, plan

WAREHOUSES = {"01": True, "REJ": True, "OLD": False}
KEY = "SBODEMOUS/101/C4/R0"


def verdict_codes(m, p, facts, o=None) -> list[str]:
    return [r.code for r in evaluate(o or order(), p, items(item("FG")), m, facts).reasons]


def built_payload(m, o=None):
    return build_receipt(
        o or order(),
        plan(4, 1),
        items(item("FG")),
        m,
        key=KEY,
        today=date(2026, 4, 25),
        now=datetime(2026, 4, 25, 8, 0),
        protocol="v2",
    ).payload


# -- warehouses ----------------------------------------------------------------------------------------
def test_unknown_reject_warehouse_holds_an_order_with_rejects_and_names_the_mapping_key() -> None:
    m = mapping(receipt={"reject_warehouse": "NOPE"})
    reasons = evaluate(order(), plan(4, 1), items(item("FG")), m, CompanyFacts(warehouses=WAREHOUSES)).reasons
    assert [r.code for r in reasons] == [rc.UNKNOWN_WAREHOUSE]
    message = reasons[0].message
    assert "warehouse 'NOPE', which does not exist in SAP" in message
    assert "the rejected quantity (receipt.reject_warehouse 'NOPE')" in message
    assert "A consultant corrects the mapping" in message and reasons[0].severity == "block"


def test_unknown_reject_warehouse_does_not_hold_an_order_without_rejects() -> None:
    # SAP refuses only the lines the receipt has: nothing goes into NOPE here.
    m = mapping(receipt={"reject_warehouse": "NOPE"})
    assert verdict_codes(m, plan(4), CompanyFacts(warehouses=WAREHOUSES)) == []


def test_inactive_order_warehouse_names_both_quantities_once_and_asks_to_correct_the_order() -> None:
    facts = CompanyFacts(warehouses=WAREHOUSES)
    found = check_warehouses_of(order(Warehouse="OLD"), plan(4, 1), mapping(), facts)
    assert len(found) == 1
    assert "the good quantity (receipt.warehouse: rule order → order Warehouse 'OLD')" in found[0]
    assert "and the rejected quantity (the same as the good quantity" in found[0]
    assert "which is inactive in SAP" in found[0] and "correct the order's warehouse" in found[0]


def check_warehouses_of(o, p, m, facts) -> list[str]:
    from connector.production.rules import _Context

    return [r.message for r in check_warehouses(_Context(o, p, items(item("FG")), m, facts))]


def test_constant_warehouse_that_exists_passes_and_unread_warehouses_check_nothing() -> None:
    m = mapping(receipt={"warehouse": {"rule": "constant", "code": "REJ"}})
    assert verdict_codes(m, plan(4, 1), CompanyFacts(warehouses=WAREHOUSES)) == []
    assert verdict_codes(mapping(receipt={"reject_warehouse": "NOPE"}), plan(4, 1), CompanyFacts()) == []


def test_nothing_to_receive_is_never_held_for_a_warehouse() -> None:
    assert verdict_codes(mapping(), plan(0), CompanyFacts(warehouses={}), order(Warehouse="GONE")) == []


# -- numbering series ------------------------------------------------------------------------------------
SERIES = {
    122: NumberingSeries(122, "Primary"),
    130: NumberingSeries(130, "Old", locked=True),
}


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (122, None),
        (999, "receipt.series 999 is not a numbering series of Receipts from Production in SAP"),
        (130, "receipt.series 130 is locked in SAP"),
    ],
)
def test_series_unknown_or_locked_is_held_listing_the_usable_ones(series: int, expected: str | None) -> None:
    from connector.production.rules import _Context

    m = mapping(receipt={"series": series})
    found = check_series(
        _Context(order(), plan(4), items(item("FG")), m, CompanyFacts(receipt_series=SERIES))
    )
    if expected is None:
        assert found == []
        return
    assert [r.code for r in found] == [rc.UNKNOWN_SERIES]
    assert expected in found[0].message and "(series SAP offers: 122)" in found[0].message


def test_series_not_in_the_mapping_or_not_read_checks_nothing_and_goes_into_the_payload() -> None:
    assert verdict_codes(mapping(), plan(4), CompanyFacts(receipt_series={})) == []
    assert verdict_codes(mapping(receipt={"series": 999}), plan(4), CompanyFacts()) == []
    payload = built_payload(mapping(receipt={"series": 122}))
    assert payload["Series"] == 122 and "Series" not in built_payload(mapping())


# -- UDF sizes -------------------------------------------------------------------------------------------
def udfs(*rows: UdfField) -> CompanyFacts:
    return CompanyFacts(udfs={(u.name, u.table): u for u in rows})


KEY_UDF = UdfField("U_B1BF_Key", "OIGN", "db_Alpha", 100, 100)


def test_header_udf_value_over_its_size_is_held_naming_field_length_and_limit() -> None:
    m = mapping(receipt={"header_udfs": {"U_Source": "b1-backflush order {DocumentNumber} of {ItemNo}"}})
    facts = udfs(KEY_UDF, UdfField("U_Source", "OIGN", "db_Alpha", 30, 30))
    found = check_receipt_fields(order(), built_payload(m), m, facts)
    assert [r.code for r in found] == [rc.MAPPING_RULE_FAILED]
    assert found[0].message.startswith(
        "Order 2026230104: UDF U_Source would be 35 characters, but SAP's UDF U_Source holds 30 at most "
        "(made by receipt.header_udfs.U_Source, starting 'b1-backflush order 2026230104 of FG')."
    )


@pytest.mark.parametrize(("size", "edit_size", "held"), [(30, 30, True), (40, 40, False), (40, 20, True)])
def test_udf_limit_is_the_smaller_of_size_and_edit_size(size: int, edit_size: int, held: bool) -> None:
    m = mapping(receipt={"header_udfs": {"U_Source": "b1-backflush order {DocumentNumber} of {ItemNo}"}})
    facts = udfs(KEY_UDF, UdfField("U_Source", "OIGN", "db_Alpha", size, edit_size))
    assert bool(check_receipt_fields(order(), built_payload(m), m, facts)) is held


def test_line_udf_over_its_size_a_missing_udf_and_the_key_field_are_checked() -> None:
    m = mapping(
        receipt={
            "header_udfs": {"U_Ghost": "x", "U_Count": 123456},
            "line_udfs": {"U_Shift": "{ItemNo}-night"},
        }
    )
    facts = udfs(
        UdfField("U_B1BF_Key", "OIGN", "db_Alpha", 10, 10),  # the posting key has 19 characters
        UdfField("U_Count", "OIGN", "db_Numeric", 2, 2),  # a number, not text: no length check
        UdfField("U_Shift", "IGN1", "db_Alpha", 5, 5),
    )
    messages = [r.message for r in check_receipt_fields(order(), built_payload(m), m, facts)]
    assert len(messages) == 3
    assert messages[0] == (
        "Order 2026230104: receipt.header_udfs.U_Ghost writes UDF U_Ghost, which does not exist on table "
        "OIGN in SAP; SAP would refuse the receipt. Create the UDF Ghost on OIGN, or a consultant removes "
        "it from the mapping."
    )
    assert "UDF U_B1BF_Key would be 19 characters, but SAP's UDF U_B1BF_Key holds 10 at most" in messages[1]
    assert "idempotency.key_field" in messages[1]
    assert "UDF U_Shift would be 8 characters, but SAP's UDF U_Shift holds 5 at most" in messages[2]


def test_udfs_not_read_check_only_the_document_fields() -> None:
    m = mapping(receipt={"header_udfs": {"U_Ghost": "x" * 500}})
    assert check_receipt_fields(order(), built_payload(m), m, CompanyFacts()) == []
