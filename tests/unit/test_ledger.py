"""The ledger: intent before action, one posting in flight per order, durable across reopen."""

from __future__ import annotations

import sqlite3

import pytest

from connector.errors import LedgerError
from connector.ledger import Intent, Ledger


def _intend(ledger: Ledger, key: str = "SBO/101/C4/R0", entry: int = 101) -> None:
    ledger.intend(
        Intent(
            key=key,
            order_entry=entry,
            order_number=2026000000 + entry,
            item="FG",
            quantity=4.0,
            rejected_quantity=0.0,
            payload={"DocumentLines": []},
        ),
        company="SBO",
    )


def test_ledger_intent_is_durable_before_the_post(tmp_path):
    path = tmp_path / "l.sqlite3"
    ledger = Ledger(path)
    _intend(ledger)
    # A second connection (another process after a crash) sees the intent at once.
    other = sqlite3.connect(path)
    assert other.execute("SELECT state FROM postings").fetchall() == [("sending",)]
    assert ledger._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _commits(statements: list[str]) -> list[tuple[str, list[str]]]:
    """Each COMMIT with the synchronous level it ran at and the UPDATE/INSERT statements it wrote."""
    level, writes, commits = "FULL", [], []
    for statement in statements:
        if statement.startswith("PRAGMA synchronous="):
            level = statement.split("=", 1)[1]
        elif statement.startswith(("UPDATE postings", "INSERT INTO postings")):
            writes.append(statement.split(" SET ")[0].split(" (")[0])
        elif statement == "COMMIT":
            commits.append((level, writes))
            writes = []
    return commits


def test_the_posted_mark_after_a_201_is_written_with_the_next_intent(tmp_path):
    # The intent before the POST is committed with synchronous=FULL. The posted mark after SAP's 201
    # needs no commit of its own (a lost mark is settled by key): it rides on the next intent's.
    path = tmp_path / "l.sqlite3"
    ledger = Ledger(path)
    statements: list[str] = []
    ledger._db.set_trace_callback(statements.append)
    _intend(ledger, key="SBO/101/C4/R0")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70, deferred=True)
    other = sqlite3.connect(path)  # another process (the status page) does not see it yet: in flight
    assert other.execute("SELECT state FROM postings").fetchall() == [("sending",)]
    _intend(ledger, key="SBO/102/C4/R0", entry=102)
    ledger.mark_posted("SBO/102/C4/R0", receipt_entry=8, receipt_number=80)
    assert _commits(statements) == [
        ("FULL", ["INSERT INTO postings"]),
        ("FULL", ["UPDATE postings", "INSERT INTO postings"]),  # the first mark, then the next intent
        ("FULL", ["UPDATE postings"]),
    ]
    assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert other.execute(
        "SELECT key, state, receipt_entry, receipt_number FROM postings ORDER BY key"
    ).fetchall() == [
        ("SBO/101/C4/R0", "posted", 7, 70),
        ("SBO/102/C4/R0", "posted", 8, 80),
    ]


def test_a_read_of_the_ledger_sees_a_deferred_posted_mark(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger, key="SBO/101/C4/R0")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70, deferred=True)
    row = ledger.get("SBO/101/C4/R0")
    assert (row.state, row.receipt_entry, row.receipt_number) == ("posted", 7, 70)
    _intend(ledger, key="SBO/102/C4/R0", entry=102)
    ledger.mark_posted("SBO/102/C4/R0", receipt_entry=8, receipt_number=80, deferred=True)
    assert ledger.in_flight() == []
    assert ledger.has_posted("SBO", 102)
    assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again after writing it


def test_close_writes_deferred_marks_and_a_crash_leaves_the_posting_to_settle(tmp_path):
    path = tmp_path / "l.sqlite3"
    ledger = Ledger(path)
    _intend(ledger, key="SBO/101/C4/R0")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70, deferred=True)
    ledger.close()
    assert Ledger(path).get("SBO/101/C4/R0").state == "posted"

    crashed = Ledger(tmp_path / "crashed.sqlite3")
    _intend(crashed, key="SBO/101/C4/R0")
    crashed.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70, deferred=True)
    # The process dies here (no close): the row is still in flight, settled by key at the next start.
    assert [r.key for r in Ledger(tmp_path / "crashed.sqlite3").in_flight()] == ["SBO/101/C4/R0"]


def test_a_failed_write_keeps_the_deferred_mark_for_the_next_one(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger, key="SBO/101/C4/R0")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70, deferred=True)
    _intend(ledger, key="SBO/102/C4/R0", entry=102)
    with pytest.raises(LedgerError, match="in flight"):  # rolled back, the mark with it
        _intend(ledger, key="SBO/102/C6/R0", entry=102)
    other = sqlite3.connect(tmp_path / "l.sqlite3")
    assert other.execute("SELECT state FROM postings WHERE key='SBO/101/C4/R0'").fetchall() == [("posted",)]
    ledger.mark_posted("SBO/102/C4/R0", receipt_entry=8, receipt_number=80, deferred=True)
    with pytest.raises(LedgerError, match="already posted"):  # rolled back too, 102's mark with it
        _intend(ledger, key="SBO/101/C4/R0")
    assert other.execute("SELECT state FROM postings WHERE key='SBO/102/C4/R0'").fetchall() == [("sending",)]
    ledger.close()
    assert other.execute("SELECT state FROM postings WHERE key='SBO/102/C4/R0'").fetchall() == [("posted",)]


def test_ledger_refuses_a_second_posting_in_flight_for_one_order(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger, key="SBO/101/C4/R0")
    with pytest.raises(LedgerError, match="already has a posting in flight"):
        _intend(ledger, key="SBO/101/C6/R0")
    ledger.mark_uncertain("SBO/101/C4/R0", message="read timeout")
    with pytest.raises(LedgerError, match="in flight"):
        _intend(ledger, key="SBO/101/C6/R0")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70)
    _intend(ledger, key="SBO/101/C6/R0")  # settled: the next confirmation may go


@pytest.mark.parametrize("state", ["posted", "duplicate", "sending", "uncertain"])
def test_ledger_never_intends_a_key_that_is_posted_or_unsettled(tmp_path, state):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger)
    if state == "posted":
        ledger.mark_posted("SBO/101/C4/R0", receipt_entry=1, receipt_number=1)
    elif state == "duplicate":
        ledger.mark_duplicate("SBO/101/C4/R0", message="2 receipts")
    elif state == "uncertain":
        ledger.mark_uncertain("SBO/101/C4/R0", message="dropped")
    with pytest.raises(LedgerError):
        _intend(ledger)


@pytest.mark.parametrize("state", ["rejected", "void"])
def test_ledger_allows_a_new_attempt_after_rejection_or_void(tmp_path, state):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger)
    if state == "rejected":
        ledger.mark_rejected("SBO/101/C4/R0", code="-5002", message="stock")
    else:
        ledger.mark_void("SBO/101/C4/R0", message="not found twice")
    _intend(ledger)
    row = ledger.get("SBO/101/C4/R0")
    assert row is not None and row.state == "sending" and row.attempts == 2 and row.sl_code is None


def test_ledger_uncertain_keeps_the_first_moment_it_became_uncertain(tmp_path):
    now = [1000.0]
    ledger = Ledger(tmp_path / "l.sqlite3", clock=lambda: now[0])
    _intend(ledger)
    ledger.mark_uncertain("SBO/101/C4/R0", message="drop")
    now[0] = 1100.0
    ledger.mark_uncertain("SBO/101/C4/R0", message="still unknown")
    assert ledger.get("SBO/101/C4/R0").uncertain_since == 1000.0
    assert [r.key for r in ledger.in_flight()] == ["SBO/101/C4/R0"]


def test_ledger_holds_keep_first_held_and_replace_the_rest(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.replace_holds(
        "SBO", [{"order_entry": 1, "order_number": 11, "item": "FG", "reasons": [{"code": "X"}]}]
    )
    first = ledger.holds()[0]["first_held"]
    ledger.replace_holds(
        "SBO",
        [
            {"order_entry": 1, "order_number": 11, "item": "FG", "reasons": [{"code": "Y"}]},
            {"order_entry": 2, "order_number": 12, "item": "FG", "reasons": []},
        ],
    )
    holds = ledger.holds("SBO")
    assert [h["order_entry"] for h in holds] == [1, 2]
    assert holds[0]["first_held"] == first and holds[0]["reasons"] == [{"code": "Y"}]
    ledger.replace_holds("SBO", [])
    assert ledger.holds() == []


def test_ledger_unusable_path_names_the_setting(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="B1_LEDGER_PATH"):
        Ledger(blocker / "sub" / "l.sqlite3")


def test_many_openers_of_a_new_ledger_at_once_all_succeed(tmp_path):
    # The service starting while `status` or `reconcile` opens the same new file: both find no
    # schema version row, and a new file's switch to WAL briefly needs it alone.
    import threading

    errors: list[Exception] = []
    for trial in range(40):
        path = tmp_path / f"ledger-{trial}.sqlite3"
        barrier = threading.Barrier(6)

        def open_it(path=path, barrier=barrier) -> None:
            barrier.wait()
            try:
                Ledger(path).close()
            except Exception as exc:  # collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []


def test_unfinished_for_order_names_a_duplicate_before_a_posting_in_flight(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    assert ledger.unfinished_for_order("SBO", 101) is None
    _intend(ledger, key="SBO/101/C4/R0")
    assert ledger.unfinished_for_order("SBO", 101).state == "sending"
    ledger.mark_duplicate("SBO/101/C4/R0", message="2 receipts carry key SBO/101/C4/R0")
    _intend(ledger, key="SBO/101/C6/R0")  # (only possible by hand: the worker holds such an order)
    row = ledger.unfinished_for_order("SBO", 101)
    assert (row.key, row.state) == ("SBO/101/C4/R0", "duplicate")
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70)
    assert ledger.unfinished_for_order("SBO", 101).key == "SBO/101/C6/R0"
    ledger.mark_posted("SBO/101/C6/R0", receipt_entry=8, receipt_number=80)
    assert ledger.unfinished_for_order("SBO", 101) is None
    assert ledger.unfinished_for_order("SBO", 102) is None


def _cycle(ledger: Ledger, status: str, *, dry_run: bool = False, **summary: object) -> None:
    cycle_id = ledger.start_cycle("SBO", dry_run=dry_run)
    if status != "running":
        ledger.finish_cycle(cycle_id, status=status, summary={"errors": 0, **summary})


def test_ledger_cycle_overview_counts_what_came_after_the_last_good_cycle(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    assert ledger.cycle_overview("SBO") == {
        "recorded": 0,
        "latest": None,
        "last_good": None,
        "since_last_good": {},
        "first_since_last_good": None,
    }
    _cycle(ledger, "failed")  # before the last good one: not counted
    _cycle(ledger, "ok", posted=3)
    _cycle(ledger, "ok", errors=1, uncertain=1)  # a lost answer: ran to the end, yet not ok
    _cycle(ledger, "ok", errors=1, uncertain=0)  # a receipt not sent
    _cycle(ledger, "failed", aborted="SLConnectionError: ...")
    _cycle(ledger, "failed")
    _cycle(ledger, "ok", dry_run=True)  # a dry run says nothing about posting
    _cycle(ledger, "running")

    overview = ledger.cycle_overview("SBO")
    assert overview["recorded"] == 7
    assert overview["last_good"]["summary"]["posted"] == 3
    assert overview["since_last_good"] == {"answer_lost": 1, "errors": 1, "failed": 2, "running": 1}
    assert overview["first_since_last_good"]["outcome"] == "answer_lost"
    assert overview["latest"]["outcome"] == "running"
    assert ledger.cycle_overview("OTHER")["recorded"] == 0
    assert [c["outcome"] for c in ledger.last_cycles(3)] == ["running", "ok", "failed"]


def test_intent_records_when_the_post_is_sent_and_a_retry_records_it_again(tmp_path):
    now = [1000.0]
    ledger = Ledger(tmp_path / "l.sqlite3", clock=lambda: now[0])
    _intend(ledger)
    assert ledger.get("SBO/101/C4/R0").sent_at == 1000.0
    ledger.mark_void("SBO/101/C4/R0", message="not found twice", recheck=True)
    now[0] = 1500.0
    _intend(ledger)
    row = ledger.get("SBO/101/C4/R0")
    assert (row.sent_at, row.attempts, row.recheck) == (1500.0, 2, True)


def test_a_repost_after_an_empty_lookup_is_rechecked_once_until_cleared(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _intend(ledger)
    ledger.mark_void("SBO/101/C4/R0", message="not found twice", recheck=True)
    _intend(ledger)
    ledger.mark_void("SBO/101/C4/R0", message="not sent: connection refused")  # keeps the recheck owed
    _intend(ledger)
    ledger.mark_posted("SBO/101/C4/R0", receipt_entry=7, receipt_number=70)
    assert [r.key for r in ledger.to_recheck("SBO")] == ["SBO/101/C4/R0"]
    ledger.mark_rechecked("SBO/101/C4/R0")
    assert ledger.to_recheck("SBO") == []


def test_what_a_poster_settles_is_its_own_companys_and_status_sees_every_company(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    for company in ("SBO", "OTHER"):
        key = f"{company}/101/C4/R0"
        ledger.intend(Intent(key, 101, 2026000101, "FG", 4.0, 0.0, {}), company=company)
        ledger.mark_void(key, message="not found twice", recheck=True)
        ledger.intend(Intent(key, 101, 2026000101, "FG", 4.0, 0.0, {}), company=company)
        ledger.mark_posted(key, receipt_entry=7, receipt_number=70)  # a re-posted key: looked up again
        duplicate = f"{company}/102/C4/R0"
        ledger.intend(Intent(duplicate, 102, 2026000102, "FG", 4.0, 0.0, {}), company=company)
        ledger.mark_duplicate(duplicate, message="2 receipts carry the key")
        ledger.intend(Intent(f"{company}/103/C4/R0", 103, 2026000103, "FG", 4.0, 0.0, {}), company=company)
    assert [r.key for r in ledger.to_recheck("SBO")] == ["SBO/101/C4/R0"]
    assert [r.key for r in ledger.duplicates("SBO")] == ["SBO/102/C4/R0"]
    assert [r.key for r in ledger.in_flight("SBO")] == ["SBO/103/C4/R0"]
    assert {r.key for r in ledger.in_flight()} == {"SBO/103/C4/R0", "OTHER/103/C4/R0"}
    assert {r.key for r in ledger.duplicates()} == {"SBO/102/C4/R0", "OTHER/102/C4/R0"}


def test_the_key_field_of_a_posting_is_read_from_the_body_it_was_sent_with(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    key = "SBO/101/C4/R0"
    body = {"Comments": key, "U_Old": key, "U_Other": "x", "DocumentLines": []}
    ledger.intend(Intent(key, 101, 2026000101, "FG", 4.0, 0.0, body), company="SBO")
    ledger.intend(Intent("SBO/102/C4/R0", 102, 2026000102, "FG", 4.0, 0.0, {}), company="SBO")
    assert ledger.get(key).key_field() == "U_Old"  # a UDF holding the key; never Comments
    assert ledger.get("SBO/102/C4/R0").key_field() is None  # an old row: the mapping's field is used


def test_a_version_1_ledger_gains_the_new_columns_in_place(tmp_path):
    path = tmp_path / "l.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE postings DROP COLUMN sent_at")
    db.execute("ALTER TABLE postings DROP COLUMN recheck")
    db.execute("UPDATE meta SET value='1' WHERE name='schema_version'")
    db.commit()
    db.close()
    assert Ledger.open_read_only(path).count_by_state() == {}  # readable as it is, never migrated
    ledger = Ledger(path)
    _intend(ledger)
    assert ledger.get("SBO/101/C4/R0").sent_at is not None


def test_read_only_ledger_refuses_a_missing_file_and_never_writes(tmp_path):
    path = tmp_path / "state" / "ledger.sqlite3"
    with pytest.raises(LedgerError, match=f"no ledger at {path}"):
        Ledger.open_read_only(path)
    assert not path.parent.exists()  # nothing created
    Ledger(path).close()
    reader = Ledger.open_read_only(path)
    assert reader.count_by_state() == {}
    with pytest.raises(LedgerError, match="readonly"):
        _intend(reader)


def _fail_writes(ledger: Ledger, how: str) -> None:
    if how == "disk full":  # SQLite's own SQLITE_FULL: no page beyond those the file has now
        pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
        ledger._db.execute(f"PRAGMA max_page_count={pages}")
    else:
        ledger._db.execute("PRAGMA query_only=ON")


@pytest.mark.parametrize("how", ["disk full", "read-only"])
def test_every_sqlite_failure_is_a_ledger_error_naming_the_file(tmp_path, how):
    path = tmp_path / "l.sqlite3"
    ledger = Ledger(path)
    _fail_writes(ledger, how)
    with pytest.raises(LedgerError) as caught:
        for n in range(200):  # disk full strikes once the pages the file has are used up
            _intend(ledger, key=f"SBO/{n}/C4/R0", entry=n)
    assert str(path) in str(caught.value) and "disk space" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(LedgerError):
        ledger.start_cycle("SBO", dry_run=False) if how == "read-only" else ledger.replace_holds(
            "SBO", [{"order_entry": n, "reasons": ["x" * 3000]} for n in range(50)]
        )


def test_a_failing_read_is_a_ledger_error(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger._db.close()
    with pytest.raises(LedgerError, match="failed"):
        ledger.count_by_state()


def test_a_deferred_mark_for_a_key_not_in_the_ledger_fails_one_write_not_every_later_one(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.mark_posted("SBO/999/C1/R0", receipt_entry=9, receipt_number=90, deferred=True)
    with pytest.raises(LedgerError, match="posting SBO/999/C1/R0 is not in the ledger"):
        _intend(ledger)
    _intend(ledger)  # the bad mark is dropped: the ledger keeps working
    assert ledger.get("SBO/101/C4/R0").state == "sending"
