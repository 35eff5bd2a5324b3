"""A receipt has two numbers and the connector never mixes them up: ``DocEntry`` (the key the Service Layer
looks receipts up by) and ``DocNum`` (what users see, from a numbering series). The demo company numbers
receipts from series 122 (DocNum 202680360 onwards, as in the real capture), so the two never agree.
Every place that names a receipt shows both, each the right one: the cycle, the ledger, ``status``,
``explain``, a settled lost answer, a duplicate, ``reconcile``.
"""

from __future__ import annotations

from tests.support.demo import DEMO_POSTS, key_of, number

KEY_FIELD = "U_B1BF_Key"


def sap_receipts(sl) -> dict[int, dict]:
    """DocEntry → the receipt as SAP holds it."""
    return {doc["DocEntry"]: doc for doc in sl.store.rows("InventoryGenEntries")}


def test_every_receipt_is_named_by_its_docnum_and_its_docentry_never_one_for_the_other(cli, mock_sl):
    once = cli("once")  # the plain-words report (stdout without --json)
    posted = {r["order_entry"]: r for r in cli("status", "--json").json["recent_postings"]}
    assert set(posted) == set(DEMO_POSTS)
    in_sap = sap_receipts(mock_sl)
    for p in posted.values():
        doc = in_sap[p["receipt_entry"]]
        assert doc[KEY_FIELD] == p["key"] and doc["Series"] == 122
        assert p["receipt_number"] == doc["DocNum"] >= 202680360 > doc["DocEntry"]
        assert f"receipt DocNum {doc['DocNum']} (DocEntry {doc['DocEntry']})" in once.out

    # explain names the order's receipt from the ledger with both numbers.
    mock_sl.store.patch("ProductionOrders", 101, {"U_ConfirmedQty": 6})
    explained = cli("explain", str(number(101)), "--json").json
    first = posted[101]
    assert explained["receipts"] == [
        {
            "key": key_of(101, 4, 0),
            "state": "posted",
            "good": 4,
            "rejected": 0,
            "receipt_entry": first["receipt_entry"],
            "receipt_number": first["receipt_number"],
        }
    ]
    text = cli("explain", str(number(101))).out
    assert f"receipt DocNum {first['receipt_number']} (DocEntry {first['receipt_entry']}): 4 good" in text

    reconciled = cli("reconcile", "--json")
    assert reconciled.code == 0, reconciled.out


def test_a_lost_answer_and_a_duplicate_are_settled_and_named_with_both_numbers(cli, mock_sl, sl_client):
    # The answer to the first receipt (order 101) is lost; someone posts the same key again by hand.
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
    cli("once", "--json")
    [original] = [d for d in sap_receipts(mock_sl).values() if d[KEY_FIELD] == key_of(101, 4, 0)]
    sl_client.post(
        "InventoryGenEntries",
        {"DocDate": original["DocDate"], KEY_FIELD: original[KEY_FIELD]}
        | {"DocumentLines": [{"BaseType": 202, "BaseEntry": 101, "Quantity": 4}]},
    )
    copies = sorted(
        (d for d in sap_receipts(mock_sl).values() if d[KEY_FIELD] == original[KEY_FIELD]),
        key=lambda d: d["DocEntry"],
    )
    assert len(copies) == 2

    settling = cli("once")  # the lost answer is looked up: two receipts carry its key
    assert f"Settled earlier posting {original[KEY_FIELD]}: duplicate." in settling.out
    held = cli("once", "--json").json
    [reason] = next(h for h in held["held"] if h["order_entry"] == 101)["reasons"]
    named = ", ".join(f"DocNum {d['DocNum']} (DocEntry {d['DocEntry']})" for d in copies)
    assert reason["code"] == "DUPLICATE_IN_SAP" and named in reason["message"]

    reconciled = cli("reconcile")
    assert reconciled.code == 4 and named in reconciled.out

    explained = cli("explain", "--entry", "101", "--json").json
    assert [(r["state"], r["receipt_entry"]) for r in explained["receipts"]] == [("duplicate", None)]

    # A person cancels the extra one: the original is settled with its own DocEntry and DocNum.
    mock_sl.store.patch("InventoryGenEntries", copies[1]["DocEntry"], {"Cancelled": "tYES"})
    order = mock_sl.store.get("ProductionOrders", 101)
    mock_sl.store.patch("ProductionOrders", 101, {"CompletedQuantity": order["CompletedQuantity"] - 4})
    cleared = cli("once")
    assert (
        f"Settled earlier posting {original[KEY_FIELD]}: posted as receipt DocNum {original['DocNum']} "
        f"(DocEntry {original['DocEntry']})."
    ) in cleared.out
    [row] = cli("explain", "--entry", "101", "--json").json["receipts"]
    assert (row["state"], row["receipt_entry"], row["receipt_number"]) == (
        "posted",
        original["DocEntry"],
        original["DocNum"],
    )


def _docnum_reads(sl, since: int = 0) -> list:
    return [
        r
        for r in sl.requests[since:]
        if r.method == "GET"
        and r.path == "InventoryGenEntries"
        and r.query.get("$select") == "DocEntry,DocNum"
    ]


def test_receipts_are_created_without_being_sent_back_and_their_docnums_read_in_one_request(
    mock_sl, worker_factory
):
    # Prefer: return-no-content: SAP answers 204 and names the DocEntry in Location; the DocNums of
    # the cycle's receipts are read afterwards, up to 100 with one GET.
    report = worker_factory().run_cycle()
    posts = [r for r in mock_sl.requests if r.method == "POST" and r.path == "InventoryGenEntries"]
    assert len(posts) == len(DEMO_POSTS) and {r.status for r in posts} == {204}
    [read] = _docnum_reads(mock_sl)
    assert read.query["$filter"].count("DocEntry eq") == len(DEMO_POSTS)
    in_sap = sap_receipts(mock_sl)
    assert {(p.receipt_entry, p.receipt_number) for p in report.posted} == {
        (entry, doc["DocNum"]) for entry, doc in in_sap.items()
    }


def test_a_refused_docnum_read_is_a_warning_and_the_next_cycle_reads_them(mock_sl, worker_factory):
    worker = worker_factory()
    # The cycle's receipt GETs: the cancelled receipts (before the first POST), then the DocNums.
    mock_sl.faults.fail_next("InventoryGenEntries", method="GET", status=400, code=-5006, count=2)
    first = worker.run_cycle()
    [warning] = [w for w in first.warnings if w.code == "DOCNUM_UNREAD"]
    assert warning.order_number is None and f"the DocNums of {len(DEMO_POSTS)} receipt(s)" in warning.message
    assert all(p.receipt_number is None and p.receipt_entry for p in first.posted)
    assert "(DocNum not read yet)" in first.render_text()
    assert {r.receipt_number for r in worker.ledger.recent(state="posted")} == {None}

    second = worker.run_cycle()  # nothing new to post: the DocNums owed are read, once
    assert second.posted == [] and len(_docnum_reads(mock_sl)) == 2
    in_sap = sap_receipts(mock_sl)
    assert {(r.receipt_entry, r.receipt_number) for r in worker.ledger.recent(state="posted")} == {
        (entry, doc["DocNum"]) for entry, doc in in_sap.items()
    }
    worker.run_cycle()
    assert len(_docnum_reads(mock_sl)) == 2  # none owed any more


def test_docnums_are_read_a_batch_at_a_time_and_a_refusal_is_not_asked_again_in_the_cycle(
    mock_sl, cli, monkeypatch
):
    monkeypatch.setattr("connector.receipt_numbers.PER_READ", 3)
    mock_sl.faults.fail_next("InventoryGenEntries", method="GET", status=400, code=-5006, count=100)
    first = cli("once", "--json").json
    # Read once 3 were owed; refused, so not asked again (nor warned about again) this cycle.
    assert len(_docnum_reads(mock_sl)) == 1
    assert [w["code"] for w in first["warnings"] if w["code"] == "DOCNUM_UNREAD"] == ["DOCNUM_UNREAD"]
    assert {p["receipt_number"] for p in first["posted"]} == {None}
    status = cli("status").out
    assert "(DocNum not read yet)" in status and "DocNum None" not in status

    mock_sl.faults.clear()
    cli("once")  # 7 owed: 3 + 3 + 1
    assert len(_docnum_reads(mock_sl)) == 1 + 3
    status = cli("status").out
    assert "(DocNum not read yet)" not in status and "receipt DocNum 2026" in status


def test_a_service_layer_that_sends_the_receipt_back_anyway_needs_no_docnum_read(
    mock_sl, worker_factory, monkeypatch
):
    monkeypatch.setattr("connector.sl.client.RETURN_NO_CONTENT", {})  # as if SAP ignored the preference
    report = worker_factory().run_cycle()
    posts = [r for r in mock_sl.requests if r.method == "POST" and r.path == "InventoryGenEntries"]
    assert {r.status for r in posts} == {201} and _docnum_reads(mock_sl) == []
    in_sap = sap_receipts(mock_sl)
    assert {(p.receipt_entry, p.receipt_number) for p in report.posted} == {
        (entry, doc["DocNum"]) for entry, doc in in_sap.items()
    }
