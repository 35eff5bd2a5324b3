"""Answers to the receipt POST that cannot be trusted either way are ``uncertain`` and settled by key.

* A 201 without a usable ``DocEntry``, or a 204 whose ``Location`` names none: SAP most likely
  committed it, but the ledger cannot point at it.
* A 4xx that is not SAP's JSON error (a proxy's HTML 400/404): it does not prove SAP refused the POST,
  so the order is not held ``SL_REJECTED``; the key is looked up before anything is sent again.
"""

from __future__ import annotations

import threading

import pytest

from connector.ledger import Ledger
from connector.production import reasons as rc
from connector.sl.client import Created, ServiceLayerClient
from tests.support.exactly_once import KEY_FIELD, assert_exactly_once_and_ledger_agrees, skip_quiet_periods


def _receipt_posts(sl) -> list:
    return [r for r in sl.requests if r.method == "POST" and r.path.startswith("InventoryGenEntries")]


# What SAP's answer names as the new receipt's DocEntry: the 201's body (spoilt), or a 204's Location
# (``Prefer: return-no-content``) that names none or no integer.
SPOILT_ANSWERS = {
    "201 without DocEntry or Location": (Created({"DocNum": 7}, None), None),
    "201 DocEntry ''": (Created({"DocEntry": ""}, "5"), ""),
    "201 DocEntry '1234x'": (Created({"DocEntry": "1234x"}, "5"), "1234x"),
    "201 DocEntry 0": (Created({"DocEntry": 0}, "5"), 0),
    "201 DocEntry True": (Created({"DocEntry": True}, "5"), True),
    "204 without Location": (Created({}, None), None),
    "204 Location (1234x)": (Created({}, "1234x"), "1234x"),
    "204 Location (0)": (Created({}, "0"), 0),
}


def _spoil_the_first_answer(monkeypatch, answer: Created) -> list[str]:
    """The first receipt SAP creates is answered with ``answer``; returns [its key] once posted."""
    real_create = ServiceLayerClient.create
    spoilt: list[str] = []
    first_only = threading.Lock()  # several posting sessions may answer at once

    def create_losing_the_doc_entry(client, entity_set, body):
        created = real_create(client, entity_set, body)
        with first_only:
            if not spoilt:  # the first receipt only: SAP committed it, the answer lacks its DocEntry
                spoilt.append(body[KEY_FIELD])
                return answer
        return created

    # On the class: whichever session posts (B1_POST_SESSIONS) gets the spoilt answer.
    monkeypatch.setattr(ServiceLayerClient, "create", create_losing_the_doc_entry)
    return spoilt


def _receipt_of(sl, key: str) -> dict:
    [receipt] = [r for r in sl.store.rows("InventoryGenEntries") if r[KEY_FIELD] == key]
    return receipt


@pytest.mark.parametrize("answer", SPOILT_ANSWERS)
def test_an_answer_without_a_usable_doc_entry_is_posted_by_one_look_up_by_key(
    mock_sl, worker_factory, tmp_path, answer, monkeypatch
):
    # SAP said it created the receipt, so it is committed: one look-up by key finds it at once.
    spoilt = _spoil_the_first_answer(monkeypatch, SPOILT_ANSWERS[answer][0])
    worker = worker_factory()
    first = worker.run_cycle()  # never a TypeError
    [key] = spoilt
    receipt = _receipt_of(mock_sl, key)
    assert first.errors == []
    [posted] = [p for p in first.posted if p.key == key]
    assert (posted.receipt_entry, posted.receipt_number) == (receipt["DocEntry"], receipt["DocNum"])
    looked_up = [
        r
        for r in mock_sl.requests
        if r.method == "GET" and r.path == "InventoryGenEntries" and key in r.query.get("$filter", "")
    ]
    assert len(looked_up) == 1
    assert [(r.body or {}).get(KEY_FIELD) for r in _receipt_posts(mock_sl)].count(key) == 1  # never re-sent
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize("answer", ["204 without Location", "201 DocEntry '1234x'"])
def test_when_that_look_up_fails_too_the_posting_stays_uncertain_and_is_settled_by_key(
    mock_sl, worker_factory, tmp_path, answer, monkeypatch
):
    spoilt_answer, doc_entry = SPOILT_ANSWERS[answer]
    spoilt = _spoil_the_first_answer(monkeypatch, spoilt_answer)
    worker = worker_factory()
    # The cycle's first two GETs of receipts are refused: the cancelled receipts (read before the first
    # POST, a warning), then the look-up right after the spoilt answer.
    mock_sl.faults.fail_next("InventoryGenEntries", method="GET", status=400, code=-5006, count=2)

    first = worker.run_cycle()  # the cycle goes on with the other orders
    [key] = spoilt
    assert [e.key for e in first.errors] == [key]
    assert f"without naming a usable DocEntry ({doc_entry!r})" in first.errors[0].message
    assert key not in {p.key for p in first.posted} and first.posted
    assert worker.ledger.get(key).state == "uncertain"
    posts_after_first = len(_receipt_posts(mock_sl))

    second = worker.run_cycle()
    receipt = _receipt_of(mock_sl, key)
    assert [(s.key, s.state, s.receipt_entry) for s in second.settled] == [
        (key, "posted", receipt["DocEntry"])
    ]
    assert len(_receipt_posts(mock_sl)) == posts_after_first  # settled by look-up, never re-sent
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize("status", [400, 404])
def test_a_proxy_html_4xx_after_the_post_is_uncertain_not_a_rejection(
    mock_sl, worker_factory, tmp_path, status
):
    worker = worker_factory()
    skip_quiet_periods(worker)  # the proxy never forwarded the POST: nothing can land meanwhile
    mock_sl.faults.fail_next("InventoryGenEntries", status=status, html=True, method="POST")

    first = worker.run_cycle()
    [error] = first.errors
    key = error.key
    assert f"HTTP {status}" in error.message and "not SAP's error body" in error.message
    assert rc.SL_REJECTED not in {r["code"] for h in first.held for r in h.reasons}
    assert worker.ledger.get(key).state == "uncertain"

    second = (
        worker.run_cycle()
    )  # nothing in SAP under the key (the proxy did not forward it): void, re-posted
    assert [(s.key, s.state) for s in second.settled] == [(key, "void")]
    assert [p.key for p in second.posted] == [key]
    assert_exactly_once_and_ledger_agrees(mock_sl, tmp_path / "ledger.sqlite3")
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        assert ledger.get(key).state == "posted"
    finally:
        ledger.close()
