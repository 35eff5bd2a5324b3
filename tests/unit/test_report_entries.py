"""The report's warnings, errors and settled postings are typed entries, yet ``--json`` prints each in
the documented shape (docs/json-output.md) with the keys in the same order, and the text says the same."""

from __future__ import annotations

import json

from connector.posting import PostingState
from connector.production.reasons import Reason
from connector.report import CycleError, CycleReport, CycleWarning, Settled


def _report() -> CycleReport:
    report = CycleReport(company="SBO")
    report.warnings += [
        CycleWarning(None, "COMPANY_FACTS_UNREAD", "the warehouse list (Warehouses) could not be read"),
        CycleWarning(
            2026230118, "CLOSE_FAILED", "Order 2026230118 is fully received but could not be closed"
        ),
        CycleWarning.from_reason(
            2026230105, Reason("MANUAL_NOT_ISSUED", "warn", "line 2: C-100 was not issued", 1, "C-100")
        ),
    ]
    report.errors += [
        CycleError("cycle", "SAP is unreachable"),
        CycleError("order 2026230101", "KeyError: 'Lines'; the order is tried again next cycle"),
        CycleError("order 2026230102", "the answer was lost", key="SBO/102/C4/R0", state="uncertain"),
        CycleError("order 2026230103", "not sent, retried next cycle: refused", key="SBO/103/C2/R0"),
    ]
    report.settled += [
        Settled("SBO/102/C4/R0", 2026230102, PostingState.POSTED, 501, 9001),
        Settled("SBO/104/C1/R0", 2026230104, PostingState.VOID, None, None),
    ]
    return report


def test_each_entry_keeps_its_documented_json_shape_and_key_order():
    data = json.loads(json.dumps(_report().to_dict()))
    assert [list(w.items()) for w in data["warnings"]] == [
        [
            ("order_number", None),
            ("code", "COMPANY_FACTS_UNREAD"),
            ("message", "the warehouse list (Warehouses) could not be read"),
        ],
        [
            ("order_number", 2026230118),
            ("code", "CLOSE_FAILED"),
            ("message", "Order 2026230118 is fully received but could not be closed"),
        ],
        [
            ("order_number", 2026230105),
            ("code", "MANUAL_NOT_ISSUED"),
            ("line", 1),
            ("item", "C-100"),
            ("message", "line 2: C-100 was not issued"),
            ("severity", "warn"),
        ],
    ]
    assert [list(e.items()) for e in data["errors"]] == [
        [("where", "cycle"), ("message", "SAP is unreachable")],
        [
            ("where", "order 2026230101"),
            ("message", "KeyError: 'Lines'; the order is tried again next cycle"),
        ],
        [
            ("where", "order 2026230102"),
            ("key", "SBO/102/C4/R0"),
            ("state", "uncertain"),
            ("message", "the answer was lost"),
        ],
        [
            ("where", "order 2026230103"),
            ("key", "SBO/103/C2/R0"),
            ("message", "not sent, retried next cycle: refused"),
        ],
    ]
    assert [list(s.items()) for s in data["settled"]] == [
        [
            ("key", "SBO/102/C4/R0"),
            ("order_number", 2026230102),
            ("state", "posted"),
            ("receipt_entry", 501),
            ("receipt_number", 9001),
        ],
        [
            ("key", "SBO/104/C1/R0"),
            ("order_number", 2026230104),
            ("state", "void"),
            ("receipt_entry", None),
            ("receipt_number", None),
        ],
    ]


def test_the_summary_counts_the_lost_answers_among_the_errors():
    summary = _report().summary()
    assert (summary["warnings"], summary["errors"], summary["uncertain"]) == (3, 4, 1)


def test_the_text_says_each_entry_in_plain_words():
    text = _report().render_text()
    assert "  Settled earlier posting SBO/102/C4/R0: posted as receipt DocNum 9001 (DocEntry 501)." in text
    assert "  Settled earlier posting SBO/104/C1/R0: void." in text
    assert "  COMPANY_FACTS_UNREAD: the warehouse list (Warehouses) could not be read" in text.splitlines()
    assert "  order 2026230105: MANUAL_NOT_ISSUED: line 2: C-100 was not issued" in text
    assert (
        "  cycle: SAP is unreachable" in text
        and "  order 2026230103: not sent, retried next cycle: refused" in text
    )
