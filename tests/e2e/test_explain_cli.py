"""``b1-backflush explain ORDER [--entry] [--json]`` against the mock: the exact payload or every reason,
and never a POST."""

from __future__ import annotations

import json

from connector import cli as cli_module
from connector.production import reasons as rc
from tests.support.demo import codes_by_entry, held_by_entry, key_of, number, receipt_posts


def test_explain_a_clean_order_prints_the_exact_payload_that_once_then_posts(cli, mock_sl):
    result = cli("explain", str(number(101)), "--json")

    assert result.code == 0, result.err
    d = result.json
    assert (d["order_entry"], d["order_number"], d["verdict"]) == (101, number(101), "post")
    assert d["reasons"] == []
    key = key_of(101, 4, 0)
    assert d["key"] == key
    payload = d["payload"]
    assert payload["U_B1BF_Key"] == key
    [line] = payload["DocumentLines"]
    assert (line["BaseType"], line["BaseEntry"], line["Quantity"]) == (202, 101, 4)
    assert "ItemCode" not in line and "BaseLine" not in line  # SAP refuses both on a referenced line
    # The text form prints the same JSON, field by field, with the rule behind each field.
    text = cli("explain", str(number(101))).out
    assert json.dumps(payload, indent=2) in "\n".join(ln[2:] for ln in text.splitlines())
    assert "BaseEntry" in text and "order AbsoluteEntry 101" in text
    assert receipt_posts(mock_sl) == []
    assert mock_sl.store.get("ProductionOrders", 101)["CompletedQuantity"] == 0

    by_entry = cli("explain", "--entry", "101", "--json").json
    assert by_entry["payload"] == payload and by_entry["key"] == key

    cli("once", "--json")
    [sent] = receipt_posts(mock_sl, 101)
    assert sent.body == payload and sent.status == 204  # created, not sent back


def test_explain_a_held_order_prints_every_reason_and_posts_nothing(cli, mock_sl):
    # Order 107 short of FOAM-LOW, and now also confirmed beyond its planned 10.
    mock_sl.store.patch("ProductionOrders", 107, {"U_ConfirmedQty": 12})

    result = cli("explain", str(number(107)), "--json")

    assert result.code == 0, result.err
    d = result.json
    assert d["verdict"] == "hold" and d["payload"] is None and d["key"] is None
    assert [r["code"] for r in d["reasons"]] == [rc.OVER_RECEIPT, rc.INSUFFICIENT_STOCK]
    text = cli("explain", str(number(107))).out
    assert "Verdict: HOLD" in text
    for reason in d["reasons"]:
        assert str(number(107)) in reason["message"]
        assert reason["code"] in text and reason["message"] in text
    assert receipt_posts(mock_sl) == []

    # explain and the cycle agree.
    report = cli("once", "--json").json
    held = held_by_entry(report)[107]["reasons"]
    assert [r["message"] for r in held] == [r["message"] for r in d["reasons"]]
    assert codes_by_entry(report)[107] == [rc.OVER_RECEIPT, rc.INSUFFICIENT_STOCK]


def test_explain_by_entry_shows_why_an_order_is_not_a_candidate(cli, mock_sl):
    d = cli("explain", "--entry", "120", "--json").json  # 120 is still planned

    assert (d["order_number"], d["status"], d["verdict"]) == (number(120), "boposPlanned", "hold")
    [reason] = d["reasons"]
    assert reason["code"] == rc.ORDER_NOT_RELEASED and str(number(120)) in reason["message"]
    assert receipt_posts(mock_sl) == []


def test_explain_an_order_that_does_not_exist_says_so_with_its_own_exit_code(cli, mock_sl):
    result = cli("explain", "2026239999")

    assert result.code == cli_module.EXIT_NO_SUCH_ORDER == 5  # a typo, not bad settings (2)
    assert "SAP has no production order with DocumentNumber 2026239999" in result.err
    assert "--entry" in result.err and "Traceback" not in result.err
    by_entry = cli("explain", "--entry", "9999", "--json")
    assert by_entry.code == 5
    assert by_entry.json["schema"] == "b1-backflush.error/1" and by_entry.json["exit_code"] == 5
    assert "AbsoluteEntry 9999" in by_entry.json["message"]
    assert receipt_posts(mock_sl) == []


def test_explain_an_order_sap_sends_damaged_says_why_it_is_held(cli, mock_sl):
    with mock_sl.store.lock:
        mock_sl.store.live("ProductionOrders", 101)["ProductionOrderLines"][0]["LineNumber"] = None

    result = cli("explain", str(number(101)), "--json")

    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    d = result.json
    assert d["verdict"] == "hold" and d["payload"] is None
    [reason] = d["reasons"]
    assert reason["code"] == rc.INVALID_ORDER_DATA
    assert str(number(101)) in reason["message"] and "LineNumber" in reason["message"]
    text = cli("explain", "--entry", "101").out
    assert "Verdict: HOLD" in text and rc.INVALID_ORDER_DATA in text
    # The cycle holds it for the same reason.
    assert codes_by_entry(cli("once", "--json").json)[101] == [rc.INVALID_ORDER_DATA]


def test_explain_says_why_there_is_nothing_to_do_and_whether_cycles_look_at_the_order(cli, mock_sl):
    # 114: confirmed 6, SAP already has 6 — a candidate with nothing to receive.
    done = cli("explain", str(number(114)), "--json").json
    assert (done["verdict"], done["candidate"]) == ("nothing", True)
    assert done["nothing_because"] == (
        "U_ConfirmedQty is 6; SAP has already received 6 good; "
        "U_RejectedQty is empty, SAP has received 0 rejected."
    )
    # 120 is planned, not released: the poll's filter never selects it, and explain says so.
    planned = cli("explain", str(number(120)), "--json").json
    assert planned["candidate"] is False
    assert "ProductionOrderStatus eq 'boposReleased'" in planned["not_a_candidate_because"]
    assert [r["code"] for r in planned["reasons"]] == [rc.ORDER_NOT_RELEASED]
    assert "Cycles never look at this order" in cli("explain", str(number(120))).out
    # A clean, confirmed, released order is a candidate.
    assert cli("explain", str(number(101)), "--json").json["candidate"] is True
    assert receipt_posts(mock_sl) == []


def test_explain_names_an_item_group_outside_the_candidates(cli, mock_sl, monkeypatch, tmp_path):
    mapping = tmp_path / "groups.yaml"
    mapping.write_text("version: 1\ncandidates:\n  item_groups: [999]\n", encoding="utf-8")
    monkeypatch.setenv("B1_MAPPING", str(mapping))
    d = cli("explain", str(number(101)), "--json").json
    assert d["candidate"] is False
    assert d["not_a_candidate_because"] == (
        "its product's item group 100 is not in candidates.item_groups [999]"
    )
    assert receipt_posts(mock_sl) == []
