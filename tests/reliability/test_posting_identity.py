"""A posting in flight is settled where it was sent: in its own company, by the UDF its key was sent in.

Settling looks the key up in SAP; a look-up in the wrong place finds nothing, and after the quiet period
"not found" means "not posted": the posting would turn void and its confirmation could be sent again.
Two changes an administrator or a consultant can make between cycles lead there, and neither may:
the same ledger used for another company (B1_COMPANY_DB changed), and the mapping's
``idempotency.key_field`` moved to another UDF while an answer was lost.
"""

from __future__ import annotations

from pathlib import Path

from connector.ledger import Intent, Ledger
from connector.reconcile import reconcile
from connector.status import status_dict, status_text
from tests.support.exactly_once import receipts_with_key

MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"


def _receipt_requests(sl, method: str) -> list:
    return [r for r in sl.requests if r.method == method and r.path.startswith("InventoryGenEntries")]


def test_a_lost_answer_is_looked_up_in_the_key_field_it_was_sent_in_after_the_mapping_changed(
    mock_sl, worker_factory, tmp_path
):
    mock_sl.faults.commit_then_drop("InventoryGenEntries", count=1)
    first = worker_factory().run_cycle()
    [lost] = first.errors
    [in_sap] = receipts_with_key(mock_sl, lost.key)  # SAP committed it; the answer never came
    # The consultant moves the key to another receipt UDF before the next cycle.
    moved = tmp_path / "moved-key.yaml"
    moved.write_text(
        MAPPING.read_text(encoding="utf-8").replace("key_field: U_B1BF_Key", "key_field: U_B1BF_OrderRef"),
        encoding="utf-8",
    )
    posts_before = len(_receipt_requests(mock_sl, "POST"))

    worker = worker_factory(mapping=moved)
    second = worker.run_cycle()

    assert [(s.key, s.state, s.receipt_entry) for s in second.settled] == [
        (lost.key, "posted", in_sap["DocEntry"])
    ]
    assert lost.key not in {p.key for p in second.posted}
    assert len(_receipt_requests(mock_sl, "POST")) - posts_before == len(second.posted)
    assert receipts_with_key(mock_sl, lost.key) == [in_sap]
    # Reconciliation finds the receipts sent with the old field too: nothing is reported missing.
    result = reconcile(
        worker.client, worker.ledger, company=worker.company, key_field="U_B1BF_OrderRef", days=1
    )
    assert (result.missing, result.orphans, result.duplicates) == ([], [], [])
    assert result.receipts_in_sap == result.postings_in_ledger == len(first.posted) + 1


def test_a_posting_of_another_company_is_left_in_flight_for_that_company(mock_sl, worker_factory, tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    other = "OTHERCO/101/C4/R0"
    ledger.intend(
        Intent(
            key=other,
            order_entry=101,
            order_number=2026230101,
            item="FG-TABLE",
            quantity=4,
            rejected_quantity=0,
            payload={"U_B1BF_Key": other},
        ),
        company="OTHERCO",
    )
    ledger.mark_uncertain(other, message="the answer was lost")
    ledger.close()

    worker = worker_factory()  # logged in to the mock's company, on the same ledger
    report = worker.run_cycle()

    assert other not in {s.key for s in report.settled}
    assert not any(other in str(r.query) for r in _receipt_requests(mock_sl, "GET"))  # never looked up here
    assert worker.ledger.get(other).state == "uncertain"  # still its own company's to settle


def test_status_says_whose_postings_are_in_flight(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for company in ("SBODEMOUS", "OTHERCO"):
        key = f"{company}/101/C4/R0"
        intent = Intent(key, 101, 2026230101, "FG-TABLE", 4, 0, {"U_B1BF_Key": key})
        ledger.intend(intent, company=company)
    text = status_text(status_dict(ledger, "SBODEMOUS"))
    [ours] = [line for line in text.splitlines() if "SBODEMOUS/101/C4/R0" in line]
    [theirs] = [line for line in text.splitlines() if "OTHERCO/101/C4/R0" in line]
    assert "company" not in ours
    assert "company OTHERCO: settled only by a connector logged in to it" in theirs
