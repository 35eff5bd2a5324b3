"""build_receipt: the exact InventoryGenEntries body, per rule, with provenance for every field."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from connector.errors import OrderError
from connector.mapping.spec import Mapping
from connector.production import reasons as rc
from connector.production.confirmations import ReceiptPlan
from connector.production.orders import ItemMaster, ProductionOrder
from connector.production.receipt import BuiltReceipt, Protocol, build_receipt
from connector.production.rules import check_receipt_fields
from tests.support.production_factories import item, items, mapping, order, plan

TODAY = date(2026, 4, 26)
NOW = datetime(2026, 4, 26, 8, 30, 15)
KEY = "SBODEMOUS/101/C4/R0"


def build(
    o: ProductionOrder | None = None,
    p: ReceiptPlan | None = None,
    catalogue: dict[str, ItemMaster] | None = None,
    m: Mapping | None = None,
    protocol: Protocol = "v2",
) -> BuiltReceipt:
    return build_receipt(
        o or order(),
        p or plan(4),
        catalogue if catalogue is not None else items(item("FG")),
        m or mapping(),
        key=KEY,
        today=TODAY,
        now=NOW,
        protocol=protocol,
    )


def leaf_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in leaf_paths(v, f"{prefix}.{k}" if prefix else k)}
    if isinstance(value, list):
        return {p for i, v in enumerate(value) for p in leaf_paths(v, f"{prefix}[{i}]")}
    return {prefix}


def test_build_receipt_default_mapping_payload() -> None:
    built = build()
    assert built.payload == {
        "DocDate": "2026-04-26",
        "Comments": "Receipt from production order 2026230104 (b1-backflush)",
        "JournalMemo": "Receipt from production 2026230104",
        "U_B1BF_Key": KEY,
        "DocumentLines": [
            {
                "BaseType": 202,
                "BaseEntry": 101,
                "Quantity": 4.0,
                "WarehouseCode": "01",
                "TransactionType": "botrntComplete",
            }
        ],
    }
    assert built.provenance["DocumentLines[0].WarehouseCode"] == (
        "receipt.warehouse: rule order → order Warehouse '01'"
    )
    assert built.provenance["Comments"] == (
        "receipt.comments template 'Receipt from production order {DocumentNumber} (b1-backflush)'"
    )


FULL = {
    "receipt": {
        "reference2": "{right(DocumentNumber, 8)}",
        "header_udfs": {"U_Shift": "{U_Shift}", "U_Count": 3},
        "line_udfs": {"U_Line": "L-{ItemNo}", "U_Factor": 1.5},
        "reject_warehouse": "QC",
        "doc_date": "order_due_date",
    },
    "finished_good": {"batch": {"shelf_life_days": 30}, "serial": {}},
}


@pytest.mark.parametrize("product", [item("FG", batch=True), item("FG", serial=True), item("FG")])
@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_build_receipt_provenance_covers_every_payload_field(product: ItemMaster, protocol: Protocol) -> None:
    built = build(order(U_Shift="N"), plan(3, 2), items(product), mapping(**FULL), protocol)
    assert leaf_paths(built.payload) == set(built.provenance)
    assert all(text.strip() for text in built.provenance.values())


@pytest.mark.parametrize("product", [item("FG", batch=True), item("FG", serial=True), item("FG")])
def test_build_receipt_never_sends_item_code_or_base_line(product: ItemMaster) -> None:
    built = build(order(U_Shift="N"), plan(3, 2), items(product), mapping(**FULL))
    for line in built.payload["DocumentLines"]:
        assert "ItemCode" not in line and "BaseLine" not in line
        assert (line["BaseType"], line["BaseEntry"]) == (202, 101)


@pytest.mark.parametrize(("protocol", "batch_key"), [("v1", "BatchNumber"), ("v2", "BatchNumberProperty")])
def test_build_receipt_batch_key_differs_by_protocol(protocol: Protocol, batch_key: str) -> None:
    m = mapping(finished_good={"batch": {"number": "{DocumentNumber}-{today:%Y%m%d}", "shelf_life_days": 30}})
    built = build(p=plan(4, 1), catalogue=items(item("FG", batch=True)), m=m, protocol=protocol)
    lines = built.payload["DocumentLines"]
    assert [ln["BatchNumbers"] for ln in lines] == [
        [{batch_key: "2026230104-20260426", "Quantity": 4.0, "ExpiryDate": "2026-05-26"}],
        [{batch_key: "2026230104-20260426", "Quantity": 1.0, "ExpiryDate": "2026-05-26"}],
    ]


@pytest.mark.parametrize(
    ("doc_date", "posted_on"),
    [("today", "2026-04-26"), ("order_due_date", "2026-05-01"), ("order_posting_date", "2026-04-20")],
)
def test_build_receipt_templates_see_the_posting_date_as_today(doc_date: str, posted_on: str) -> None:
    """A batch number and its expiry follow the receipt's DocDate, whatever day the connector runs."""
    m = mapping(
        receipt={"doc_date": doc_date, "header_udfs": {"U_B1BF_OrderRef": "{today:%Y-%m-%d}"}},
        finished_good={"batch": {"number": "B-{today:%Y%m%d}", "shelf_life_days": 10}},
    )
    built = build(catalogue=items(item("FG", batch=True)), m=m)
    batch = built.payload["DocumentLines"][0]["BatchNumbers"][0]
    assert built.payload["DocDate"] == posted_on
    assert batch["BatchNumberProperty"] == "B-" + posted_on.replace("-", "")
    assert batch["ExpiryDate"] == (date.fromisoformat(posted_on) + timedelta(days=10)).isoformat()
    assert built.payload["U_B1BF_OrderRef"] == posted_on


def test_build_receipt_batch_without_shelf_life_has_no_expiry() -> None:
    built = build(catalogue=items(item("FG", batch=True)), m=mapping(finished_good={"batch": {}}))
    assert "ExpiryDate" not in built.payload["DocumentLines"][0]["BatchNumbers"][0]


@pytest.mark.parametrize(
    ("completed", "rejected_before", "good", "rejected", "good_serials", "reject_serials"),
    [
        (0.0, 0.0, 3.0, 0.0, [1, 2, 3], None),
        (3.0, 0.0, 2.0, 0.0, [4, 5], None),  # partial receipts never reuse a number
        (3.0, 1.0, 2.0, 1.0, [5, 6], [7]),  # rejected units count as received
        (0.0, 0.0, 0.0, 2.0, None, [1, 2]),
    ],
)
def test_build_receipt_serial_numbering_continues_after_received(
    completed: float,
    rejected_before: float,
    good: float,
    rejected: float,
    good_serials: list[int] | None,
    reject_serials: list[int] | None,
) -> None:
    o = order(CompletedQuantity=completed, RejectedQuantity=rejected_before)
    m = mapping(finished_good={"serial": {"number": "{ItemNo}-{serial:04d}"}})
    built = build(
        o,
        plan(good, rejected, completed=completed, rejected_before=rejected_before),
        items(item("FG", serial=True)),
        m,
    )
    by_type = {ln["TransactionType"]: ln["SerialNumbers"] for ln in built.payload["DocumentLines"]}
    for transaction, expected in (("botrntComplete", good_serials), ("botrntReject", reject_serials)):
        if expected is None:
            assert transaction not in by_type
        else:
            assert by_type[transaction] == [
                {"InternalSerialNumber": f"FG-{n:04d}", "Quantity": 1} for n in expected
            ]


def test_build_receipt_serial_template_without_counter_fails() -> None:
    m = mapping(finished_good={"serial": {"number": "{ItemNo}"}})
    with pytest.raises(OrderError) as caught:
        build(p=plan(2), catalogue=items(item("FG", serial=True)), m=m)
    assert caught.value.reason_code == rc.MAPPING_RULE_FAILED and "{serial}" in str(caught.value)


@pytest.mark.parametrize(("reject_warehouse", "expected"), [(None, ["01", "01"]), ("QC", ["01", "QC"])])
def test_build_receipt_reject_line(reject_warehouse: str | None, expected: list[str]) -> None:
    built = build(p=plan(4, 1), m=mapping(receipt={"reject_warehouse": reject_warehouse}))
    lines = built.payload["DocumentLines"]
    assert [(ln["TransactionType"], ln["Quantity"], ln["WarehouseCode"]) for ln in lines] == [
        ("botrntComplete", 4.0, expected[0]),
        ("botrntReject", 1.0, expected[1]),
    ]


def test_build_receipt_only_rejected_quantity_has_one_reject_line() -> None:
    built = build(p=plan(0, 2), m=mapping(receipt={"reject_warehouse": "QC"}))
    assert [(ln["TransactionType"], ln["WarehouseCode"]) for ln in built.payload["DocumentLines"]] == [
        ("botrntReject", "QC")
    ]
    assert set(built.provenance) >= {"DocumentLines[0].WarehouseCode"}


def test_build_receipt_nothing_to_receive_is_refused() -> None:
    with pytest.raises(OrderError):
        build(p=plan(0))


@pytest.mark.parametrize(
    ("rule", "fields", "doc_date"),
    [
        ("today", {}, "2026-04-26"),
        ("order_due_date", {"DueDate": "2026-05-01T00:00:00Z"}, "2026-05-01"),  # v2
        ("order_due_date", {"DueDate": "2026-05-01"}, "2026-05-01"),  # v1
        ("order_posting_date", {"PostingDate": "2026-04-20T00:00:00Z"}, "2026-04-20"),
        ("order_posting_date", {"PostingDate": "2026-04-20T00:00:00+02:00"}, "2026-04-20"),
    ],
)
def test_build_receipt_doc_date_rules(rule: str, fields: dict[str, Any], doc_date: str) -> None:
    built = build(order(**fields), m=mapping(receipt={"doc_date": rule}))
    assert built.payload["DocDate"] == doc_date
    assert built.provenance["DocDate"].startswith(f"receipt.doc_date: {rule}")


@pytest.mark.parametrize("bad", [None, "", "soon", "2026-13-01", "2026-02-30T00:00:00Z", 20260501])
def test_build_receipt_doc_date_not_a_date_fails(bad: Any) -> None:
    with pytest.raises(OrderError) as caught:
        build(order(DueDate=bad), m=mapping(receipt={"doc_date": "order_due_date"}))
    assert caught.value.reason_code == rc.MAPPING_RULE_FAILED and "DueDate" in str(caught.value)


@pytest.mark.parametrize(
    ("template", "ok"),
    [("{right(DocumentNumber, 8)}", True), ("{DocumentNumber}X", True), ("{DocumentNumber}XY", False)],
)
def test_build_receipt_reference2_beyond_11_characters_is_held_naming_length_and_limit(
    template: str, ok: bool
) -> None:
    m = mapping(receipt={"reference2": template})
    built = build(m=m)
    found = check_receipt_fields(order(), built.payload, m)
    if ok:
        assert len(built.payload["Reference2"]) <= 11 and found == []
        return
    assert [r.code for r in found] == [rc.MAPPING_RULE_FAILED]
    assert "Reference2 would be 12 characters, but SAP's Reference2 holds 11 at most" in found[0].message
    assert "receipt.reference2" in found[0].message


def test_build_receipt_long_comments_and_memo_are_never_cut_but_held() -> None:
    m = mapping(receipt={"comments": "{U_Note}", "journal_memo": "{U_Note}"})
    built = build(order(U_Note="x" * 300), m=m)
    assert len(built.payload["Comments"]) == 300 and len(built.payload["JournalMemo"]) == 300
    found = check_receipt_fields(order(), built.payload, m)
    assert [r.message.split(": ", 1)[1].split(",")[0] for r in found] == [
        "Comments would be 300 characters",
        "JournalMemo would be 300 characters",
    ]
    assert "holds 254 at most" in found[0].message and "holds 50 at most" in found[1].message


def test_build_receipt_udfs_numbers_pass_through_and_text_is_rendered() -> None:
    m = mapping(
        receipt={
            "header_udfs": {"U_Shift": "S-{U_Shift}", "U_Count": 3, "U_Rate": 2.5},
            "line_udfs": {"U_Origin": "{ItemName}", "U_Seq": 7},
        }
    )
    built = build(order(U_Shift="N"), p=plan(4, 1), catalogue=items(item("FG", name="Gearbox")), m=m)
    assert (built.payload["U_Shift"], built.payload["U_Count"], built.payload["U_Rate"]) == ("S-N", 3, 2.5)
    assert [(ln["U_Origin"], ln["U_Seq"]) for ln in built.payload["DocumentLines"]] == [("Gearbox", 7)] * 2
    assert built.provenance["U_Count"] == "receipt.header_udfs.U_Count constant 3"


def test_build_receipt_key_field_carries_the_key() -> None:
    built = build(m=mapping(idempotency={"key_field": "U_ExtRef"}))
    assert built.payload["U_ExtRef"] == KEY and "U_B1BF_Key" not in built.payload


@pytest.mark.parametrize(
    ("rule", "product", "warehouse"),
    [
        ({"rule": "order"}, item("FG"), "01"),
        ({"rule": "constant", "code": "FGW"}, item("FG"), "FGW"),
        ({"rule": "by_item", "by_item": {"FG": "BI"}}, item("FG"), "BI"),
        ({"rule": "by_item", "by_item": {"OTHER": "BI"}}, item("FG"), "01"),
        ({"rule": "by_item_group", "by_item_group": {100: "GR"}}, item("FG", group=100), "GR"),
        ({"rule": "by_item_group", "by_item_group": {100: "GR"}}, item("FG", group=200), "01"),
        ({"rule": "by_item_group", "by_item_group": {100: "GR"}}, None, "01"),
    ],
)
def test_build_receipt_warehouse_rules(
    rule: dict[str, Any], product: ItemMaster | None, warehouse: str
) -> None:
    built = build(catalogue=items(product) if product else {}, m=mapping(receipt={"warehouse": rule}))
    assert built.payload["DocumentLines"][0]["WarehouseCode"] == warehouse
    how = built.provenance["DocumentLines[0].WarehouseCode"]
    assert how.startswith(f"receipt.warehouse: rule {rule['rule']}")


@pytest.mark.parametrize("rule", [{"rule": "order"}, {"rule": "by_item", "by_item": {"X": "Y"}}])
def test_build_receipt_no_warehouse_fails(rule: dict[str, Any]) -> None:
    with pytest.raises(OrderError) as caught:
        build(order(Warehouse=None), m=mapping(receipt={"warehouse": rule}))
    assert caught.value.reason_code == rc.MAPPING_RULE_FAILED and "no receipt warehouse" in str(caught.value)


def test_build_receipt_bad_template_is_a_mapping_rule_failure() -> None:
    with pytest.raises(OrderError) as caught:
        build(order(U_Lot="abc"), m=mapping(receipt={"comments": "{U_Lot:05d}"}))
    assert caught.value.reason_code == rc.MAPPING_RULE_FAILED
    assert "receipt.comments" in str(caught.value) and "Order 2026230104" in str(caught.value)


@pytest.mark.parametrize(
    ("product", "fg_rule", "good", "code"),
    [
        (item("FG", batch=True), {}, 1.0, rc.FINISHED_GOOD_NEEDS_BATCH),
        (item("FG", serial=True), {}, 1.0, rc.FINISHED_GOOD_NEEDS_SERIAL),
        (item("FG", serial=True), {"serial": {}}, 1.5, rc.INVALID_QUANTITY),
    ],
)
def test_build_receipt_refuses_what_the_rules_hold(
    product: ItemMaster, fg_rule: dict[str, Any], good: float, code: str
) -> None:
    with pytest.raises(OrderError) as caught:
        build(p=plan(good), catalogue=items(product), m=mapping(finished_good=fg_rule))
    assert caught.value.reason_code == code


def test_build_receipt_passes_exactly_the_documented_template_values(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def spy(template: str, values: dict[str, Any]) -> str:
        seen.append(dict(values))
        return f"v{values.get('serial', '')}"

    monkeypatch.setattr("connector.production.receipt_fields.render_template", spy)
    o = order(U_Shift="N")
    build(
        o,
        plan(4, 1),
        items(item("FG", serial=True, name="Gearbox", group=7, uom="box")),
        mapping(finished_good={"serial": {"number": "{serial}"}}),
    )
    header = seen[0]
    assert set(header) == set(o.fields) | {
        "ItemName",
        "ItemsGroupCode",
        "InventoryUOM",
        "today",
        "now",
        "Quantity",
        "RejectQuantity",
        "key",
    }
    assert (header["ItemName"], header["ItemsGroupCode"], header["InventoryUOM"]) == ("Gearbox", 7, "box")
    assert (header["today"], header["now"], header["Quantity"], header["RejectQuantity"], header["key"]) == (
        TODAY,
        NOW,
        4.0,
        1.0,
        KEY,
    )
    serial_calls = [v for v in seen if "serial" in v]
    assert [v["serial"] for v in serial_calls] == [1, 2, 3, 4, 5]
    assert all(set(v) - {"serial"} == set(header) for v in serial_calls)
    assert all("serial" not in v for v in seen if v not in serial_calls)


def test_build_receipt_inventory_uom_falls_back_to_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "connector.production.receipt_fields.render_template",
        lambda template, values: seen.append(dict(values)) or "v",
    )
    build(order(InventoryUOM="kg"), catalogue=items(item("FG", uom=None)))
    assert seen[0]["InventoryUOM"] == "kg"


@pytest.mark.parametrize(
    ("product", "finished_good", "what", "length"),
    [
        (item("FG", batch=True), {"batch": {"number": "B-{DocumentNumber}-" + "X" * 25}}, "batch", 38),
        (
            item("FG", serial=True),
            {"serial": {"number": "S-{DocumentNumber}-" + "Y" * 20 + "{serial:04d}"}},
            "serial",
            37,
        ),
    ],
    ids=["batch", "serial"],
)
def test_a_batch_or_serial_number_longer_than_sap_stores_holds_the_order(
    product: ItemMaster, finished_good: dict, what: str, length: int
) -> None:
    # OBTN.DistNumber / OSRN.DistNumber hold 36 characters; SAP would refuse a longer one, so it is
    # never sent, and never cut either (a cut number could collide with another batch).
    with pytest.raises(OrderError) as caught:
        build(catalogue=items(product), m=mapping(finished_good=finished_good))
    assert caught.value.reason_code == rc.MAPPING_RULE_FAILED
    message = str(caught.value)
    assert message.startswith(f"Order 2026230104: finished_good.{what}.number ")
    assert f"gives a {what} number of {length} characters" in message
    assert message.endswith("SAP stores at most 36. A consultant shortens the rule")


def test_a_batch_number_of_36_characters_is_sent_whole() -> None:
    m = mapping(finished_good={"batch": {"number": "B-{DocumentNumber}-" + "X" * 23}})
    built = build(catalogue=items(item("FG", batch=True)), m=m)
    assert len(built.payload["DocumentLines"][0]["BatchNumbers"][0]["BatchNumberProperty"]) == 36
