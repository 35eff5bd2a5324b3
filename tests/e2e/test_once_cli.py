"""``b1-backflush once [--dry-run] --json`` and ``status`` on the demo company, over the real mock Service
Layer (v1 and v2)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from tests.support.demo import (
    COMPANY,
    DEMO_ACTIONS,
    DEMO_HOLDS,
    DEMO_LINE_REASONS,
    DEMO_POSTS,
    DEMO_RELEASED,
    codes_by_entry,
    documents_for,
    held_by_entry,
    key_of,
    number,
    posted_by_entry,
    receipt_posts,
)

BACKFLUSH, ITEM = "im_Backflush", "pit_Item"


def expected_backflush(order: dict, received: float) -> dict[str, float]:
    """What SAP issues by itself for a receipt of ``received`` units: every backflushed stock component,
    its share of the order (receipt ÷ planned × line planned)."""
    return {
        line["ItemNo"]: received / order["PlannedQuantity"] * line["PlannedQuantity"]
        for line in order["ProductionOrderLines"]
        if line["ProductionOrderIssueType"] == BACKFLUSH and line["ItemType"] == ITEM
    }


def assert_held_as_documented(report: dict) -> None:
    assert codes_by_entry(report) == {entry: [code] for entry, code in DEMO_HOLDS.items()}
    for entry, held in held_by_entry(report).items():
        assert held["order_number"] == number(entry)
        for reason in held["reasons"]:
            message = reason["message"]
            assert str(number(entry)) in message, message
            assert DEMO_ACTIONS[reason["code"]] in message, message
            assert reason["severity"] == "block"
            if entry in DEMO_LINE_REASONS:
                line, item = DEMO_LINE_REASONS[entry]
                assert (reason["line"], reason["item"]) == (line, item)
                # People read SAP's screen numbering: LineNumber 0 is line 1.
                assert re.search(rf"\bline {line + 1}\b", message) and item in message, message


def test_once_json_posts_the_clean_demo_orders_exactly_once_and_holds_the_rest(cli, mock_sl):
    orders_before = {o["AbsoluteEntry"]: o for o in mock_sl.store.rows("ProductionOrders")}

    first = cli("once", "--json")

    assert first.code == 0, first.err
    report = first.json
    assert report["orders_seen"] == DEMO_RELEASED
    assert report["errors"] == [] and report["warnings"] == []
    posted = posted_by_entry(report)
    assert {entry: (p["quantity"], p["rejected_quantity"]) for entry, p in posted.items()} == DEMO_POSTS
    for entry, p in posted.items():
        good, rejected = DEMO_POSTS[entry]
        assert p["order_number"] == number(entry)
        assert p["key"] == key_of(entry, good, rejected)
        assert isinstance(p["receipt_entry"], int) and isinstance(p["receipt_number"], int)
    assert len({p["receipt_entry"] for p in posted.values()}) == len(posted)
    assert_held_as_documented(report)
    assert 114 not in posted and 114 not in held_by_entry(report)  # confirmed == completed: nothing to do

    # SAP's side: one receipt per posted order, carrying the key; the order's totals moved; SAP issued
    # every backflushed component by itself (InventoryGenExits) and nothing else.
    receipts = mock_sl.store.rows("InventoryGenEntries")
    assert len(receipts) == len(DEMO_POSTS)
    exits = mock_sl.store.rows("InventoryGenExits")
    for entry, p in posted.items():
        good, rejected = DEMO_POSTS[entry]
        [receipt] = documents_for(mock_sl, "InventoryGenEntries", entry)
        assert receipt["U_B1BF_Key"] == p["key"]
        assert (receipt["DocEntry"], receipt["DocNum"]) == (p["receipt_entry"], p["receipt_number"])
        by_type = Counter()
        for line in receipt["DocumentLines"]:
            assert (line["BaseType"], line["BaseEntry"], line["ItemCode"]) == (
                202,
                entry,
                orders_before[entry]["ItemNo"],
            )
            by_type[line["TransactionType"]] += line["Quantity"]
        assert by_type == Counter({"botrntComplete": good, "botrntReject": rejected})
        order = mock_sl.store.get("ProductionOrders", entry)
        assert (order["CompletedQuantity"], order["RejectedQuantity"]) == (good, rejected)
        [issue] = documents_for(mock_sl, "InventoryGenExits", entry)
        issued: dict[str, float] = defaultdict(float)
        for line in issue["DocumentLines"]:
            issued[line["ItemCode"]] += line["Quantity"]
        assert issued == expected_backflush(orders_before[entry], good + rejected)
    assert len(exits) == len(DEMO_POSTS)
    for entry in DEMO_HOLDS:
        assert documents_for(mock_sl, "InventoryGenEntries", entry) == []
        assert documents_for(mock_sl, "InventoryGenExits", entry) == []
        assert receipt_posts(mock_sl, entry) == []

    posts_before = len(receipt_posts(mock_sl))
    second = cli("once", "--json")

    assert second.code == 0, second.err
    again = second.json
    assert again["posted"] == [] and again["errors"] == []
    assert codes_by_entry(again) == codes_by_entry(report)
    assert len(receipt_posts(mock_sl)) == posts_before  # not even attempted
    assert len(mock_sl.store.rows("InventoryGenEntries")) == len(DEMO_POSTS)
    assert len(mock_sl.store.rows("InventoryGenExits")) == len(DEMO_POSTS)


def test_once_without_json_tells_in_plain_words(cli, mock_sl):
    result = cli("once")

    assert result.code == 0, result.err
    assert "Posted 7 Receipt(s) from Production" in result.out
    assert '"schema"' not in result.out


def test_dry_run_reports_what_would_be_posted_and_posts_nothing(cli, mock_sl):
    dry = cli("once", "--dry-run", "--json")

    assert dry.code == 0, dry.err
    report = dry.json
    assert report["dry_run"] is True
    assert report["posted"] == []
    assert receipt_posts(mock_sl) == []
    assert mock_sl.store.rows("InventoryGenEntries") == []
    would = {w["order_entry"]: w for w in report["would_post"]}
    assert {entry: (w["quantity"], w["rejected_quantity"]) for entry, w in would.items()} == DEMO_POSTS
    for entry, w in would.items():
        good, rejected = DEMO_POSTS[entry]
        assert w["key"] == key_of(entry, good, rejected)
        assert w["payload"]["U_B1BF_Key"] == w["key"]
        assert {(ln["BaseType"], ln["BaseEntry"]) for ln in w["payload"]["DocumentLines"]} == {(202, entry)}
    assert_held_as_documented(report)
    text = cli("once", "--dry-run")  # without --json: plain words, and no JSON
    assert "dry run: nothing was posted" in text.out and "{" not in text.out

    # The dry run reserved nothing: the real cycle posts exactly what it said, with the same bodies.
    real = cli("once", "--json").json
    assert {entry: p["key"] for entry, p in posted_by_entry(real).items()} == {
        entry: w["key"] for entry, w in would.items()
    }
    for entry, w in would.items():
        [sent] = receipt_posts(mock_sl, entry)
        assert sent.body == w["payload"]


def test_status_after_a_cycle_lists_postings_and_held_orders_from_the_ledger(cli, mock_sl):
    cli("once", "--json")
    mock_sl.stop()  # status reads the ledger only: it works while SAP is down

    status = cli("status", "--json")

    assert status.code == 0, status.err
    data = status.json
    assert data["company"] == COMPANY
    assert data["counts"] == {"posted": len(DEMO_POSTS)}
    postings = {r["order_entry"]: r for r in data["recent_postings"]}
    assert {entry: (r["quantity"], r["rejected_quantity"]) for entry, r in postings.items()} == DEMO_POSTS
    for entry, row in postings.items():
        assert row["key"] == key_of(entry, *DEMO_POSTS[entry])
        assert row["state"] == "posted" and row["receipt_entry"] is not None
    held = {h["order_entry"]: [r["code"] for r in h["reasons"]] for h in data["held"]}
    assert held == {entry: [code] for entry, code in DEMO_HOLDS.items()}
    assert data["unsettled"] == [] and data["duplicates"] == [] and data["rejected"] == []
    [last] = data["last_cycles"][:1]
    assert last["status"] == "ok" and last["summary"]["posted"] == len(DEMO_POSTS)

    text = cli("status").out
    for entry, code in DEMO_HOLDS.items():
        assert f"order {number(entry)}" in text
        assert code in text
    for entry in DEMO_POSTS:
        assert f"order {number(entry)}: " in text


def test_status_says_a_cycle_that_lost_an_answer_is_not_ok(cli, mock_sl):
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
    cli("once", "--json")

    data = cli("status", "--json").json
    [last] = data["last_cycles"][:1]
    # It ran to the end (status ok), yet one receipt's outcome is unknown: its outcome says so.
    assert (last["status"], last["outcome"], last["summary"]["uncertain"]) == ("ok", "answer_lost", 1)
    assert data["cycles"]["last_good"] is None and data["cycles"]["since_last_good"] == {"answer_lost": 1}
    text = cli("status").out
    assert "Last cycle:" in text and "answer lost; posted" in text
