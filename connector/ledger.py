"""The local SQLite ledger: posting intents and outcomes, current holds, cycle history.

Exactly-once rule 2 (docs/exactly-once.md): the intent row (key, order, quantities, state
``sending``) is committed — WAL, ``synchronous=FULL`` — *before* the POST is sent. States::

    sending ──201──────────────▶ posted
       │ ──SAP business error──▶ rejected   (the order is evaluated afresh next cycle)
       │ ──nothing reached SAP─▶ void       (safe to post again)
       └──answer lost──────────▶ uncertain ─lookup finds 1──▶ posted
                                    │      ─two lookups, quiet period between, find 0──▶ void
                                    └──────lookup finds ≥2──▶ duplicate (a person must look)

A partial unique index makes "two postings in flight for one order" impossible at the storage
level, whatever the code above does. The ledger is a cache of SAP's truth, not its source: the key
is also written on the receipt, so a lost ledger never causes a duplicate (rule 6).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.errors import LedgerError

SCHEMA_VERSION = 1
IN_FLIGHT = ("sending", "uncertain")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS postings (
    key              TEXT PRIMARY KEY,
    company          TEXT NOT NULL,
    order_entry      INTEGER NOT NULL,
    order_number     INTEGER NOT NULL,
    item             TEXT NOT NULL,
    quantity         REAL NOT NULL,
    rejected_quantity REAL NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN
                       ('sending', 'uncertain', 'posted', 'rejected', 'void', 'duplicate')),
    receipt_entry    INTEGER,
    receipt_number   INTEGER,
    sl_code          TEXT,
    sl_message       TEXT,
    attempts         INTEGER NOT NULL DEFAULT 1,
    uncertain_since  REAL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- Never two postings in flight for one order (issue: "Posting exactly once").
CREATE UNIQUE INDEX IF NOT EXISTS postings_one_in_flight
    ON postings(company, order_entry) WHERE state IN ('sending', 'uncertain');
CREATE INDEX IF NOT EXISTS postings_by_order ON postings(company, order_entry);
CREATE INDEX IF NOT EXISTS postings_by_update ON postings(updated_at);
CREATE TABLE IF NOT EXISTS holds (
    company      TEXT NOT NULL,
    order_entry  INTEGER NOT NULL,
    order_number INTEGER,
    item         TEXT,
    reasons      TEXT NOT NULL,
    first_held   TEXT NOT NULL,
    last_held    TEXT NOT NULL,
    PRIMARY KEY (company, order_entry)
);
CREATE TABLE IF NOT EXISTS cycles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    summary     TEXT
);
"""


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class PostingRow:
    """One row of ``postings``."""

    key: str
    company: str
    order_entry: int
    order_number: int
    item: str
    quantity: float
    rejected_quantity: float
    payload: dict[str, Any]
    state: str
    receipt_entry: int | None
    receipt_number: int | None
    sl_code: str | None
    sl_message: str | None
    attempts: int
    uncertain_since: float | None
    created_at: str
    updated_at: str


class Ledger:
    """SQLite-backed ledger; one connection guarded by a lock (the worker is single-threaded anyway)."""

    def __init__(self, path: Path | str, *, clock: Any = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._enable_wal()
            # FULL: a commit survives power loss before the POST that depends on it is sent.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._check_schema_version()
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"cannot open the ledger {self.path}: {exc}. "
                "Check B1_LEDGER_PATH and the folder's permissions"
            ) from None

    def _enable_wal(self) -> None:
        # Switching a new file to WAL needs it alone for a moment, and SQLite answers "database is
        # locked" at once instead of waiting when another process opens it at the same time.
        deadline = time.monotonic() + 10
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _check_schema_version(self) -> None:
        # OR IGNORE: two processes opening a new ledger at once (the service starting while `status`
        # runs) both find no version row; the second insert must not fail.
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if int(row[0]) > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema {row[0]}, newer than this connector ({SCHEMA_VERSION}): "
                "upgrade b1-backflush"
            )

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # --- postings -------------------------------------------------------------------------------

    def intend(
        self,
        *,
        key: str,
        company: str,
        order_entry: int,
        order_number: int,
        item: str,
        quantity: float,
        rejected_quantity: float,
        payload: dict[str, Any],
    ) -> None:
        """Commit the intent to post ``key`` (state ``sending``) before the POST is sent.

        Raises ``LedgerError`` when the key is already posted/in flight, or another posting of the
        same order is in flight: the caller must settle first, never post.
        """
        now = _now_text()
        with self._tx() as db:
            row = db.execute("SELECT state FROM postings WHERE key=?", (key,)).fetchone()
            try:
                if row is None:
                    db.execute(
                        "INSERT INTO postings (key, company, order_entry, order_number, item, quantity,"
                        " rejected_quantity, payload, state, created_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?,'sending',?,?)",
                        (
                            key,
                            company,
                            order_entry,
                            order_number,
                            item,
                            quantity,
                            rejected_quantity,
                            json.dumps(payload, sort_keys=True),
                            now,
                            now,
                        ),
                    )
                elif row["state"] in ("rejected", "void"):
                    db.execute(
                        "UPDATE postings SET state='sending', payload=?, attempts=attempts+1, sl_code=NULL,"
                        " sl_message=NULL, uncertain_since=NULL, updated_at=? WHERE key=?",
                        (json.dumps(payload, sort_keys=True), now, key),
                    )
                else:
                    raise LedgerError(f"posting {key} is already {row['state']}; it must not be sent again")
            except sqlite3.IntegrityError:
                raise LedgerError(
                    f"order {order_number} (AbsoluteEntry {order_entry}) already has a posting in flight; "
                    "it is settled before anything new is posted"
                ) from None

    def _set(self, key: str, state: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name}=?" for name in columns)
        more = ", " + assignments if assignments else ""
        sql = f"UPDATE postings SET state=?, updated_at=?{more} WHERE key=?"  # noqa: S608 - column names are ours
        with self._tx() as db:
            cursor = db.execute(sql, (state, _now_text(), *columns.values(), key))
            if cursor.rowcount != 1:
                raise LedgerError(f"posting {key} is not in the ledger")

    def mark_posted(
        self, key: str, *, receipt_entry: int, receipt_number: int | None, durable: bool = True
    ) -> None:
        """SAP created the receipt (201, or found by key).

        ``durable=False`` commits without waiting for the disk (``synchronous=NORMAL``: it survives a
        crash of the process, not a power cut). Safe for the mark after a 201 only because its loss
        leaves the row ``sending``, which is settled by looking the key up in SAP before anything is
        posted for the order again (docs/exactly-once.md, "The posted mark").
        """
        if durable:
            self._set(key, "posted", receipt_entry=receipt_entry, receipt_number=receipt_number)
            return
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._set(key, "posted", receipt_entry=receipt_entry, receipt_number=receipt_number)
            finally:
                # Every other write, the intent above all, is committed durably again.
                self._db.execute("PRAGMA synchronous=FULL")

    def mark_rejected(self, key: str, *, code: str | None, message: str | None) -> None:
        """SAP refused the receipt with a business error; nothing was created."""
        self._set(key, "rejected", sl_code=code, sl_message=message)

    def mark_uncertain(self, key: str, *, message: str) -> None:
        """The POST may have been committed; look the key up before any new attempt."""
        with self._lock:
            row = self.get(key)
            since = row.uncertain_since if row and row.uncertain_since is not None else self._clock()
            self._set(key, "uncertain", sl_message=message, uncertain_since=since)

    def mark_void(self, key: str, *, message: str) -> None:
        """Nothing reached SAP (or two lookups proved it absent): the key may be posted again."""
        self._set(key, "void", sl_message=message, uncertain_since=None)

    def mark_duplicate(self, key: str, *, message: str) -> None:
        """More than one receipt carries this key in SAP: a person must look; never post."""
        self._set(key, "duplicate", sl_message=message)

    def get(self, key: str) -> PostingRow | None:
        """The posting with this key, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM postings WHERE key=?", (key,)).fetchone()
        return _posting(row) if row else None

    def in_flight(self) -> list[PostingRow]:
        """Postings in state sending or uncertain (to settle before anything new)."""
        return self._postings("state IN ('sending', 'uncertain') ORDER BY created_at")

    def unfinished_for_order(self, company: str, order_entry: int) -> PostingRow | None:
        """A posting of this order that stops new ones: a duplicate first, else one in flight."""
        rows = self._postings(
            "company=? AND order_entry=? AND state IN ('duplicate', 'sending', 'uncertain')"
            " ORDER BY state='duplicate' DESC LIMIT 1",
            (company, order_entry),
        )
        return rows[0] if rows else None

    def has_posted(self, company: str, order_entry: int) -> bool:
        """Whether this connector ever posted a receipt for the order."""
        where = "company=? AND order_entry=? AND state='posted' LIMIT 1"
        return bool(self._postings(where, (company, order_entry)))

    def postings_for_order(self, company: str, order_entry: int) -> list[PostingRow]:
        """Every posting of the order, oldest first (``explain`` names each receipt: DocNum and DocEntry)."""
        return self._postings(
            "company=? AND order_entry=? ORDER BY created_at, rowid", (company, order_entry)
        )

    def duplicates(self) -> list[PostingRow]:
        """Keys found more than once in SAP."""
        return self._postings("state='duplicate' ORDER BY updated_at DESC")

    def recent(self, limit: int = 20, *, state: str | None = None) -> list[PostingRow]:
        """The most recently changed postings, optionally of one state."""
        if state:
            return self._postings("state=? ORDER BY updated_at DESC, rowid DESC LIMIT ?", (state, limit))
        return self._postings("1=1 ORDER BY updated_at DESC, rowid DESC LIMIT ?", (limit,))

    def postings_since(self, company: str, since: str) -> list[PostingRow]:
        """Every posting of ``company`` created at or after ``since`` (ISO text, UTC), oldest first."""
        return self._postings("company=? AND created_at>=? ORDER BY created_at, rowid", (company, since))

    def count_by_state(self) -> dict[str, int]:
        """How many postings are in each state."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM postings GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    def _postings(self, where: str, params: tuple[Any, ...] = ()) -> list[PostingRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM postings WHERE {where}", params).fetchall()  # noqa: S608
        return [_posting(row) for row in rows]

    # --- holds ----------------------------------------------------------------------------------

    def replace_holds(self, company: str, holds: list[dict[str, Any]]) -> None:
        """Make ``holds`` the current held orders of ``company`` (keeping when each was first held)."""
        now = _now_text()
        with self._tx() as db:
            first = {
                row["order_entry"]: row["first_held"]
                for row in db.execute("SELECT order_entry, first_held FROM holds WHERE company=?", (company,))
            }
            db.execute("DELETE FROM holds WHERE company=?", (company,))
            for hold in holds:
                db.execute(
                    "INSERT INTO holds VALUES (?,?,?,?,?,?,?)",
                    (
                        company,
                        hold["order_entry"],
                        hold.get("order_number"),
                        hold.get("item"),
                        json.dumps(hold["reasons"]),
                        first.get(hold["order_entry"], now),
                        now,
                    ),
                )

    def holds(self, company: str | None = None) -> list[dict[str, Any]]:
        """Currently held orders with their reasons."""
        params: tuple[str, ...] = (company,) if company else ()
        sql = "SELECT * FROM holds WHERE company=?" if company else "SELECT * FROM holds"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY order_number", params).fetchall()
        return [{**dict(row), "reasons": json.loads(row["reasons"])} for row in rows]

    # --- cycles ---------------------------------------------------------------------------------

    def start_cycle(self, company: str, *, dry_run: bool) -> int:
        """Record the start of a cycle; returns its id."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO cycles (company, started_at, status, dry_run) VALUES (?,?,'running',?)",
                (company, _now_text(), int(dry_run)),
            )
            return int(cursor.lastrowid or 0)

    def finish_cycle(self, cycle_id: int, *, status: str, summary: dict[str, Any]) -> None:
        """Record how a cycle ended and its summary (counts, errors)."""
        with self._tx() as db:
            db.execute(
                "UPDATE cycles SET finished_at=?, status=?, summary=? WHERE id=?",
                (_now_text(), status, json.dumps(summary, default=str), cycle_id),
            )

    def last_cycles(self, limit: int = 5) -> list[dict[str, Any]]:
        """The most recent cycles, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_cycle(row) for row in rows]

    def cycle_overview(self, company: str) -> dict[str, Any]:
        """The cycle history in short: the last good cycle, what came after it, the latest one.

        Dry runs (``once --dry-run``) are left out: they post nothing, so they say nothing about
        whether receipts are being posted. Each cycle carries its ``outcome`` (``cycle_outcome``).
        """
        real = "company=? AND dry_run=0"
        with self._lock:
            recorded = self._db.execute(f"SELECT COUNT(*) FROM cycles WHERE {real}", (company,)).fetchone()[0]  # noqa: S608
            latest = self._db.execute(
                f"SELECT * FROM cycles WHERE {real} ORDER BY id DESC LIMIT 1",  # noqa: S608
                (company,),
            ).fetchone()
            # Newest first, stopping at the last good one: usually one or two rows.
            since: list[dict[str, Any]] = []
            last_good = None
            for row in self._db.execute(
                f"SELECT * FROM cycles WHERE {real} ORDER BY id DESC",  # noqa: S608
                (company,),
            ):
                cycle = _cycle(row)
                if cycle["outcome"] == "ok":
                    last_good = cycle
                    break
                since.append(cycle)
        counts: dict[str, int] = {}
        for cycle in since:
            counts[cycle["outcome"]] = counts.get(cycle["outcome"], 0) + 1
        return {
            "recorded": recorded,
            "latest": _cycle(latest) if latest else None,
            "last_good": last_good,
            "since_last_good": counts,
            "first_since_last_good": since[-1] if since else None,
        }


def cycle_outcome(cycle: dict[str, Any]) -> str:
    """How a recorded cycle went, in one word a person can act on.

    ``ok`` only when it finished with no error at all: a cycle that lost SAP's answer to a receipt
    (``answer_lost``) or could not send one (``errors``) is not ok, even though it ran to the end.
    ``running`` is a cycle with no end recorded (still going, or its process died).
    """
    summary = cycle.get("summary") or {}
    if cycle["status"] != "ok":
        return {"failed": "failed", "stopped": "stopped"}.get(cycle["status"], "running")
    if summary.get("uncertain"):
        return "answer_lost"
    return "errors" if summary.get("errors") else "ok"


def _cycle(row: sqlite3.Row) -> dict[str, Any]:
    cycle = {**dict(row), "summary": json.loads(row["summary"]) if row["summary"] else None}
    cycle["outcome"] = cycle_outcome(cycle)
    return cycle


def _posting(row: sqlite3.Row) -> PostingRow:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    return PostingRow(**data)
