"""What SAP would refuse is held before it is posted: a warehouse SAP does not have, a text or UDF longer than
its field, an unknown or locked numbering series. Each is held with a reason naming the fix, shown by
``explain`` and reported by ``mappings check --online``; the receipt is never POSTed, and no receipt POST
of the run gets a 4xx from the mock (which refuses all of these, as SAP does).
"""

from __future__ import annotations

from pathlib import Path

from connector.production import reasons as rc
from tests.support.demo import (
    DEMO_POSTS,
    codes_by_entry,
    held_by_entry,
    number,
    posted_by_entry,
    receipt_posts,
    refusals,
)


def mapping_file(tmp_path: Path, monkeypatch, text: str) -> Path:
    path = tmp_path / "consultant.yaml"
    path.write_text("version: 1\n" + text, encoding="utf-8")
    monkeypatch.setenv("B1_MAPPING", str(path))
    return path


def run_and_check_holds(cli, mock_sl, held: dict[int, str]) -> dict:
    """One cycle: exactly ``held`` (entry → code) are held among the demo's postable orders, never POSTed;
    the other postable orders are posted, and no receipt POST of the run was refused."""
    report = cli("once", "--json").json
    codes = codes_by_entry(report)
    assert {entry: codes[entry] for entry in held} == {entry: [code] for entry, code in held.items()}
    assert set(posted_by_entry(report)) == set(DEMO_POSTS) - set(held)
    for entry in held:
        assert receipt_posts(mock_sl, entry) == []
    assert refusals(mock_sl) == [] and report["errors"] == []
    return report


def test_a_reject_warehouse_sap_does_not_have_holds_the_order_with_rejects(
    cli, mock_sl, tmp_path, monkeypatch
):
    path = mapping_file(tmp_path, monkeypatch, 'receipt:\n  reject_warehouse: "NOPE"\n')

    report = run_and_check_holds(cli, mock_sl, {102: rc.UNKNOWN_WAREHOUSE})  # 102: 8 good + 2 rejected

    [reason] = held_by_entry(report)[102]["reasons"]
    assert reason["message"] == (
        f"Order {number(102)}: the rejected quantity (receipt.reject_warehouse 'NOPE') would be received "
        "into warehouse 'NOPE', which does not exist in SAP; SAP would refuse the receipt. A consultant "
        "corrects the mapping, or the warehouse is created or activated in SAP."
    )
    explained = cli("explain", str(number(102)), "--json").json
    assert explained["verdict"] == "hold" and explained["reasons"] == [reason]
    assert "UNKNOWN_WAREHOUSE" in cli("status").out

    check = cli("mappings", "check", str(path), "--online")
    assert check.code == 2
    assert "receipt.reject_warehouse: warehouse 'NOPE' does not exist in SAP" in check.out + check.err


def test_an_inactive_receipt_warehouse_holds_every_order_going_there(cli, mock_sl, tmp_path, monkeypatch):
    mock_sl.store.patch("Warehouses", "QC", {"Inactive": "tYES"})
    mapping_file(
        tmp_path, monkeypatch, 'receipt:\n  warehouse:\n    rule: by_item\n    by_item: {FG-TABLE: "QC"}\n'
    )

    report = run_and_check_holds(
        cli, mock_sl, {102: rc.UNKNOWN_WAREHOUSE, 115: rc.UNKNOWN_WAREHOUSE, 117: rc.UNKNOWN_WAREHOUSE}
    )

    message = held_by_entry(report)[115]["reasons"][0]["message"]
    assert "the good quantity (receipt.warehouse: rule by_item, product FG-TABLE → 'QC')" in message
    assert "into warehouse 'QC', which is inactive in SAP" in message


def test_a_comments_template_rendering_300_characters_is_held_naming_length_and_limit(
    cli, mock_sl, tmp_path, monkeypatch
):
    # 52 characters of text and fields, plus the planner's remark of 248 (SAP's order remarks hold 254).
    mapping_file(
        tmp_path,
        monkeypatch,
        'receipt:\n  comments: "Receipt from production order {DocumentNumber}, {ItemNo}: {Remarks}"\n',
    )
    mock_sl.store.patch("ProductionOrders", 101, {"Remarks": "r" * 248})

    report = run_and_check_holds(cli, mock_sl, {101: rc.MAPPING_RULE_FAILED})

    [reason] = held_by_entry(report)[101]["reasons"]
    assert reason["message"].startswith(
        f"Order {number(101)}: Comments would be 300 characters, but SAP's Comments holds 254 at most "
        f"(made by receipt.comments, starting 'Receipt from production order {number(101)}')."
    )
    # The other orders' comments are posted in full, never cut.
    [sent] = receipt_posts(mock_sl, 103)
    assert (
        sent.body["Comments"]
        == f"Receipt from production order {number(103)}, FG-SHELF: case 3: manual component issued"
    )
    assert cli("explain", "--entry", "101", "--json").json["reasons"] == [reason]


def test_a_udf_value_over_its_size_is_held_naming_the_udf_length_and_limit(
    cli, mock_sl, tmp_path, monkeypatch
):
    # U_B1BF_Source is alphanumeric 30 in the demo company; the orders' remarks are 14 to 46 characters.
    path = mapping_file(tmp_path, monkeypatch, 'receipt:\n  header_udfs:\n    U_B1BF_Source: "{Remarks}"\n')

    report = run_and_check_holds(cli, mock_sl, {102: rc.MAPPING_RULE_FAILED, 103: rc.MAPPING_RULE_FAILED})

    [reason] = held_by_entry(report)[102]["reasons"]
    assert reason["message"].startswith(
        f"Order {number(102)}: UDF U_B1BF_Source would be 46 characters, but SAP's UDF U_B1BF_Source holds "
        "30 at most (made by receipt.header_udfs.U_B1BF_Source, starting 'case 2: resource + text lines, "
        "good + re')."
    )
    assert "31 characters" in held_by_entry(report)[103]["reasons"][0]["message"]
    assert cli("explain", str(number(103)), "--json").json["verdict"] == "hold"
    # Offline and online the template is fine: nothing outside {...} is too long; the order's data is.
    assert cli("mappings", "check", str(path), "--online").code == 0


def test_an_unknown_or_locked_series_holds_every_order_and_a_known_one_numbers_the_receipts(
    cli, mock_sl, tmp_path, monkeypatch
):
    path = mapping_file(tmp_path, monkeypatch, "receipt:\n  series: 121\n")  # Closed2025: locked
    report = run_and_check_holds(cli, mock_sl, dict.fromkeys(DEMO_POSTS, rc.UNKNOWN_SERIES))
    message = held_by_entry(report)[101]["reasons"][0]["message"]
    assert "receipt.series 121 is locked in SAP (series SAP offers: 122, 123)" in message
    check = cli("mappings", "check", str(path), "--online")
    assert check.code == 2 and "receipt.series: series 121 is locked in SAP" in check.out + check.err

    mapping_file(tmp_path, monkeypatch, "receipt:\n  series: 999\n")
    explained = cli("explain", str(number(101)), "--json").json
    assert [r["code"] for r in explained["reasons"]] == [rc.UNKNOWN_SERIES]
    assert (
        "is not a numbering series of Receipts from Production in SAP" in explained["reasons"][0]["message"]
    )

    mapping_file(tmp_path, monkeypatch, "receipt:\n  series: 123\n")  # Rework: 202690001 onwards
    posted = run_and_check_holds(cli, mock_sl, {})["posted"]
    receipts = {doc["DocEntry"]: doc for doc in mock_sl.store.rows("InventoryGenEntries")}
    for p in posted:
        doc = receipts[p["receipt_entry"]]
        assert doc["Series"] == 123 and p["receipt_number"] == doc["DocNum"] >= 202690001


def test_a_fact_sap_will_not_give_is_a_cycle_warning_and_the_cycle_goes_on(cli, mock_sl):
    # E.g. the connector's user may not read the warehouse list: not checked this cycle, said so.
    mock_sl.faults.fail_next("Warehouses", status=403, code=-1000, message="No permission", method="GET")
    report = cli("once", "--json").json
    [warning] = [w for w in report["warnings"] if w["code"] == "COMPANY_FACTS_UNREAD"]
    assert warning["order_number"] is None
    assert warning["message"].startswith("the warehouse list (Warehouses) could not be read")
    assert set(posted_by_entry(report)) == set(DEMO_POSTS) and report["errors"] == []


def test_a_backflushed_component_in_an_inactive_warehouse_holds_the_orders_that_issue_from_it(cli, mock_sl):
    # SAP issues a backflushed line from the line's own warehouse; an inactive one refuses the receipt.
    mock_sl.store.patch("Warehouses", "02", {"Inactive": "tYES"})
    lines_from_02: dict[int, list[dict]] = {}
    for order in mock_sl.store.rows("ProductionOrders"):
        for line in order["ProductionOrderLines"] if order["AbsoluteEntry"] in DEMO_POSTS else []:
            backflushed = (
                line["ProductionOrderIssueType"] == "im_Backflush" and line.get("ItemType") == "pit_Item"
            )
            if backflushed and line["Warehouse"] == "02":
                lines_from_02.setdefault(order["AbsoluteEntry"], []).append(line)
    assert lines_from_02, "the demo backflushes from warehouse 02"

    report = cli("once", "--json").json
    held = held_by_entry(report)
    assert set(held) & set(DEMO_POSTS) == set(lines_from_02)  # besides the demo's orders held anyway
    assert set(posted_by_entry(report)) == set(DEMO_POSTS) - set(lines_from_02)
    assert refusals(mock_sl) == [] and all(receipt_posts(mock_sl, entry) == [] for entry in lines_from_02)
    for entry, lines in lines_from_02.items():  # one reason per line, each naming it
        assert [r["message"] for r in held[entry]["reasons"]] == [
            f"Order {number(entry)} line {line['LineNumber'] + 1}: component {line['ItemNo']} is "
            "backflushed from warehouse '02', which is inactive in SAP; SAP would refuse the receipt. "
            "Activate the warehouse in SAP, or correct the warehouse on the order's line."
            for line in sorted(lines, key=lambda ln: ln["LineNumber"])
        ]
        assert {r["code"] for r in held[entry]["reasons"]} == {rc.UNKNOWN_WAREHOUSE}
