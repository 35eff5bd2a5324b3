"""A cycle that posts a large backlog keeps counts and a bounded sample, not one entry per receipt:
every receipt is a row in the ledger (``status``), the report only says how many."""

from __future__ import annotations

from connector.report import POSTED_SAMPLE, CycleReport, Posted


def _posted(n: int) -> Posted:
    return Posted(10_000 + n, 2_026_000_000 + n, "FG-CHAIR", 1.0, 0.0, n + 1, 900 + n, f"SBO/{n}/C1/R0")


def test_the_report_lists_a_sample_and_counts_every_receipt():
    report = CycleReport(company="SBO")
    for n in range(POSTED_SAMPLE + 5):
        report.add_posted(_posted(n))
    assert len(report.posted) == POSTED_SAMPLE
    assert (
        report.posted[0].order_entry == 10_000 and report.posted[-1].order_entry == 10_000 + POSTED_SAMPLE - 1
    )
    assert report.posted_count == report.summary()["posted"] == report.to_dict()["posted_count"]
    assert report.posted_count == POSTED_SAMPLE + 5
    text = report.render_text()
    assert f"Posted {POSTED_SAMPLE + 5} Receipt(s)" in text
    assert "and 5 more (b1-backflush status lists every receipt)" in text


def test_a_small_cycle_lists_every_receipt():
    report = CycleReport(company="SBO")
    for n in range(3):
        report.add_posted(_posted(n))
    assert [p.order_entry for p in report.posted] == [10_000, 10_001, 10_002]
    assert "more (b1-backflush status" not in report.render_text()
