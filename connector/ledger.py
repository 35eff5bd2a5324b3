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

``sent_at`` is when the POST of the current attempt went out (the quiet period counts from it), and
``recheck`` marks a key that was posted again after a look-up found it absent: the next cycle looks
it up once more, so a first attempt SAP committed later still is caught as a duplicate.

Every SQLite failure (disk full, I/O error, a locked or read-only file) surfaces as ``LedgerError``,
which stops the cycle; ``LedgerConflictError`` is the one kind that concerns a single posting.
``Ledger.open_read_only`` is for the commands that only look (``status``, ``reconcile``,
``explain``, the status page): it never creates, migrates or writes the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.errors import LedgerConflictError, LedgerError


@dataclass(frozen=True)
class Intent:
    """What one receipt will receive, as its intent row records it before the POST (rule 2)."""

    key: str
    order_entry: int
    order_number: int
    item: str
    quantity: float
    rejected_quantity: float
    payload: dict[str, Any]


#: 2 added ``postings.sent_at`` and ``postings.recheck`` (added in place to a version-1 ledger).
SCHEMA_VERSION = 2
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
    updated_at       TEXT NOT NULL,
    sent_at          REAL,
    recheck          INTEGER NOT NULL DEFAULT 0
);
-- Never two postings in flight for one order (issue: "Posting exactly once").
CREATE UNIQUE INDEX IF NOT EXISTS postings_one_in_flight
    ON postings(company, order_entry) WHERE state IN ('sending', 'uncertain');
CREATE INDEX IF NOT EXISTS postings_by_order ON postings(company, order_entry);
CREATE INDEX IF NOT EXISTS postings_by_update ON postings(updated_at);
-- Receipts created with a 204 whose DocNum is still to be read (connector/receipt_numbers.py).
CREATE INDEX IF NOT EXISTS postings_without_number
    ON postings(company) WHERE state='posted' AND receipt_number IS NULL;
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
class PostingRow(Intent):
    """One row of ``postings``: the intent, and what became of it."""

    company: str
    state: str
    receipt_entry: int | None
    receipt_number: int | None
    sl_code: str | None
    sl_message: str | None
    attempts: int
    uncertain_since: float | None
    created_at: str
    updated_at: str
    #: When the POST of the latest attempt was sent (clock of the posting process); None before v2.
    sent_at: float | None = None
    #: Posted again after a look-up found the key absent: look it up once more next cycle.
    recheck: bool = False

    def key_field(self) -> str | None:
        """The header UDF the key was sent in: the payload's property that holds it.

        Read from what was sent, not from today's mapping: a consultant may have changed
        ``idempotency.key_field`` since, and the key must be looked up where SAP has it.
        """
        return next(
            (name for name, value in self.payload.items() if name.startswith("U_") and value == self.key),
            None,
        )


#: Columns added after version 1, with their definitions (``ALTER TABLE ... ADD COLUMN``).
_ADDED_COLUMNS = {"sent_at": "REAL", "recheck": "INTEGER NOT NULL DEFAULT 0"}


def _failure(path: Path, exc: BaseException) -> LedgerError:
    """One line for any SQLite failure: what failed, and what to check."""
    return LedgerError(
        f"the ledger {path} failed: {exc}. Nothing more is posted until it works again: "
        "check the free disk space and the permissions of its folder"
    )


class Ledger:
    """SQLite-backed ledger; one connection guarded by a lock (the worker is single-threaded anyway)."""

    def __init__(
        self, path: Path | str, *, clock: Any = time.time, read_only: bool = False, missing_ok: bool = False
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.RLock()
        #: Posted marks not written yet (``mark_posted(deferred=True)``): key → (DocEntry, DocNum).
        #: They are written in the ledger's next transaction, whatever it is for (usually the next
        #: intent), and before any read that could see them.
        self._deferred_marks: dict[str, tuple[int, int | None]] = {}
        if read_only and missing_ok and not self.path.exists():
            self._open_empty()
            return
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._enable_wal()
            # FULL: a commit survives power loss before the POST that depends on it is sent.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._add_missing_columns()
            self._check_schema_version()
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"cannot open the ledger {self.path}: {exc}. "
                "Check B1_LEDGER_PATH and the folder's permissions"
            ) from None

    @classmethod
    def open_read_only(cls, path: Path | str, *, missing_ok: bool = False) -> Ledger:
        """The ledger for commands that only look: never created, migrated or written.

        ``missing_ok``: no file at ``path`` reads as an empty ledger (``reconcile`` after the ledger
        was lost, ``explain`` before the first cycle) instead of "no ledger at PATH".
        """
        return cls(path, read_only=True, missing_ok=missing_ok)

    def _open_empty(self) -> None:
        # An empty ledger in memory: the file is not created, and nothing can be written to it.
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA query_only=ON")

    def _open_read_only(self) -> None:
        if not self.path.is_file():
            raise LedgerError(
                f"no ledger at {self.path}: nothing has run on it yet. Check B1_LEDGER_PATH "
                "(the same as the service's), or run `b1-backflush once` first"
            )
        try:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA query_only=ON")
            row = self._db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise LedgerError(
                f"cannot read the ledger {self.path}: {exc}. Check B1_LEDGER_PATH and the file's permissions"
            ) from None
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema {row[0] if row else 'unknown'}, which this connector "
                f"({SCHEMA_VERSION}) cannot read: upgrade b1-backflush"
            )

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

    def _add_missing_columns(self) -> None:
        # A version-1 ledger gains the newer columns in place; CREATE TABLE IF NOT EXISTS does not.
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(postings)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                try:
                    self._db.execute(f"ALTER TABLE postings ADD COLUMN {name} {definition}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another process added it just now
                        raise

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
        if int(row[0]) < SCHEMA_VERSION:
            self._db.execute("UPDATE meta SET value=? WHERE name='schema_version'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        """Write the deferred posted marks, then close the connection (idempotent)."""
        # A failed ledger's close must not hide why it failed; a mark it could not write is the
        # lost mark docs/exactly-once.md describes (the key is settled in SAP next start).
        with self._lock, suppress(sqlite3.Error):
            with suppress(LedgerError):
                self.write_deferred_marks()
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; it also writes the deferred posted marks, so they ride along."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                written = self._apply_deferred_marks()
                yield self._db
                self._db.execute("COMMIT")
                for key in written:
                    del self._deferred_marks[key]
            except BaseException as exc:
                try:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolls back by itself when the connection or disk fails
                if isinstance(exc, sqlite3.Error):
                    raise _failure(self.path, exc) from None
                raise

    def _query(self, sql: str, params: tuple[Any, ...] = (), *, sees_all: bool = True) -> list[sqlite3.Row]:
        """Every read goes through here, so a failing file is a ``LedgerError`` like a failing write.

        ``sees_all``: the read may concern any posting, so the deferred marks are written first (a
        read of one key passes False and writes them only when its own key is among them).
        """
        with self._lock:
            if sees_all:
                self.write_deferred_marks()
            with self._failures_are_ledger_errors():
                return self._db.execute(sql, params).fetchall()

    def _apply_deferred_marks(self) -> list[str]:
        """Inside a write transaction: the deferred posted marks; returns their keys."""
        for key, (entry, number) in self._deferred_marks.items():
            try:
                self._update(key, "posted", receipt_entry=entry, receipt_number=number)
            except LedgerError:
                del self._deferred_marks[key]  # never again: it would fail every later transaction
                raise
        return list(self._deferred_marks)

    def write_deferred_marks(self) -> None:
        """Write the deferred posted marks now, without waiting for the disk (``synchronous=NORMAL``).

        Losing them to a power cut is safe for the reason they were deferred (``mark_posted``).
        """
        with self._lock:
            if not self._deferred_marks:
                return
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._tx():
                    pass
            finally:
                # Every other write, the intent above all, is committed durably again.
                self._db.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def _failures_are_ledger_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _failure(self.path, exc) from None

    # --- postings -------------------------------------------------------------------------------

    def intend(self, intent: Intent, *, company: str) -> None:
        """Commit the intent to post ``intent.key`` (state ``sending``) right before the POST is sent.

        ``sent_at`` (this ledger's clock) is when the POST goes out: the quiet period counts from it.
        Raises ``LedgerConflictError`` when the key is already posted/in flight, or another posting
        of the same order is in flight: the caller must settle first, never post.
        """
        key, payload = intent.key, json.dumps(intent.payload, sort_keys=True)
        now = _now_text()
        sent_at = self._clock()
        with self._tx() as db:
            try:
                # One statement: a new key is inserted; a rejected or void one is sent again; any
                # other state changes nothing (rowcount 0) and is refused below.
                cursor = db.execute(
                    "INSERT INTO postings (key, company, order_entry, order_number, item, quantity,"
                    " rejected_quantity, payload, state, created_at, updated_at, sent_at)"
                    " VALUES (?,?,?,?,?,?,?,?,'sending',?,?,?)"
                    " ON CONFLICT (key) DO UPDATE SET state='sending', payload=excluded.payload,"
                    " attempts=attempts+1, sl_code=NULL, sl_message=NULL, uncertain_since=NULL,"
                    " updated_at=excluded.updated_at, sent_at=excluded.sent_at"
                    " WHERE state IN ('rejected', 'void')",
                    (
                        key,
                        company,
                        intent.order_entry,
                        intent.order_number,
                        intent.item,
                        intent.quantity,
                        intent.rejected_quantity,
                        payload,
                        now,
                        now,
                        sent_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise LedgerConflictError(
                    f"order {intent.order_number} (AbsoluteEntry {intent.order_entry}) already has a posting"
                    " in flight; "
                    "it is settled before anything new is posted"
                ) from None
            if cursor.rowcount != 1:
                (state,) = db.execute("SELECT state FROM postings WHERE key=?", (key,)).fetchone()
                raise LedgerConflictError(f"posting {key} is already {state}; it must not be sent again")

    def _set(self, key: str, state: str, **columns: Any) -> None:
        with self._tx():
            self._update(key, state, **columns)

    def _update(self, key: str, state: str, **columns: Any) -> None:
        """Inside a write transaction: the posting's new state and columns."""
        assignments = ", ".join(f"{name}=?" for name in columns)
        more = ", " + assignments if assignments else ""
        sql = f"UPDATE postings SET state=?, updated_at=?{more} WHERE key=?"  # noqa: S608 - column names are ours
        cursor = self._db.execute(sql, (state, _now_text(), *columns.values(), key))
        if cursor.rowcount != 1:
            raise LedgerError(f"posting {key} is not in the ledger")

    def mark_posted(
        self, key: str, *, receipt_entry: int, receipt_number: int | None, deferred: bool = False
    ) -> None:
        """SAP created the receipt (201, or found by key).

        ``deferred=True`` writes the mark with the ledger's next transaction (the next intent, at
        the latest the cycle's end or ``close``) instead of a commit of its own: one commit per
        receipt instead of two. Safe for the mark after a 201 only because its loss (a crash before
        that transaction) leaves the row ``sending``, which is settled by looking the key up in SAP
        before anything is posted for the order again (docs/exactly-once.md, "The posted mark").
        """
        if not deferred:
            self._set(key, "posted", receipt_entry=receipt_entry, receipt_number=receipt_number)
            return
        with self._lock:
            self._deferred_marks[key] = (receipt_entry, receipt_number)

    def set_receipt_numbers(self, numbers: dict[str, int]) -> None:
        """The DocNums read after the receipts were posted (posting key → DocNum).

        Not a change of state, so ``updated_at`` stays when the posting last changed."""
        if not numbers:
            return
        with self._tx() as db:
            db.executemany(
                "UPDATE postings SET receipt_number=? WHERE key=? AND receipt_number IS NULL",
                [(number, key) for key, number in numbers.items()],
            )

    def posted_without_number(self, company: str) -> list[tuple[str, int]]:
        """(key, DocEntry) of the posted receipts whose DocNum is still to be read."""
        rows = self._query(
            "SELECT key, receipt_entry FROM postings WHERE company=? AND state='posted'"
            " AND receipt_number IS NULL AND receipt_entry IS NOT NULL ORDER BY receipt_entry",
            (company,),
        )
        return [(row["key"], int(row["receipt_entry"])) for row in rows]

    def mark_rejected(self, key: str, *, code: str | None, message: str | None) -> None:
        """SAP refused the receipt with a business error; nothing was created."""
        self._set(key, "rejected", sl_code=code, sl_message=message)

    def mark_uncertain(self, key: str, *, message: str) -> None:
        """The POST may have been committed; look the key up before any new attempt."""
        with self._lock:
            row = self.get(key)
            since = row.uncertain_since if row and row.uncertain_since is not None else self._clock()
            self._set(key, "uncertain", sl_message=message, uncertain_since=since)

    def mark_void(self, key: str, *, message: str, recheck: bool = False) -> None:
        """Nothing reached SAP (or two lookups proved it absent): the key may be posted again.

        ``recheck``: the POST may still have reached SAP (two look-ups found nothing, yet a commit
        can be slower still), so once the key is posted again it is looked up once more.
        """
        # A void "not sent" re-attempt keeps an earlier recheck: it is still owed after the next post.
        more = {"recheck": 1} if recheck else {}
        self._set(key, "void", sl_message=message, uncertain_since=None, **more)

    def mark_duplicate(self, key: str, *, message: str) -> None:
        """More than one receipt carries this key in SAP: a person must look; never post."""
        self._set(key, "duplicate", sl_message=message, recheck=0)

    def mark_rechecked(self, key: str) -> None:
        """The look-up after a re-post found the key once: nothing more to check."""
        with self._tx() as db:
            db.execute("UPDATE postings SET recheck=0, updated_at=? WHERE key=?", (_now_text(), key))

    def to_recheck(self, company: str) -> list[PostingRow]:
        """This company's keys posted again after a look-up found them absent, not looked up since."""
        return self._postings("company=? AND state='posted' AND recheck=1 ORDER BY updated_at", (company,))

    def get(self, key: str) -> PostingRow | None:
        """The posting with this key, or None."""
        with self._lock:
            rows = self._query(
                "SELECT * FROM postings WHERE key=?", (key,), sees_all=key in self._deferred_marks
            )
        return _posting(rows[0]) if rows else None

    def in_flight(self, company: str | None = None) -> list[PostingRow]:
        """Postings in state sending or uncertain (to settle before anything new), of one company or all.

        Only a connector logged in to a posting's own company may settle it: looked up in another
        company, its key is never found, and it would be declared not posted (void) and sent again.
        """
        return self._postings(*_of_company("state IN ('sending', 'uncertain') ORDER BY created_at", company))

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

    def duplicates(self, company: str | None = None) -> list[PostingRow]:
        """Keys found more than once in SAP, of one company or all."""
        return self._postings(*_of_company("state='duplicate' ORDER BY updated_at DESC", company))

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
        rows = self._query("SELECT state, COUNT(*) FROM postings GROUP BY state")
        return {state: count for state, count in rows}

    def _postings(self, where: str, params: tuple[Any, ...] = ()) -> list[PostingRow]:
        rows = self._query(f"SELECT * FROM postings WHERE {where}", params)  # noqa: S608
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
        rows = self._query(sql + " ORDER BY order_number", params)
        return [{**dict(row), "reasons": json.loads(row["reasons"])} for row in rows]

    # --- reconciliation ----------------------------------------------------------------------

    def record_reconciliation(self, result: dict[str, Any]) -> None:
        """Keep what the last reconciliation of ``run`` found, for ``status`` and the status page."""
        record = json.dumps({**result, "at": _now_text()}, default=str)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_reconciliation', ?)", (record,))

    def last_reconciliation(self) -> dict[str, Any] | None:
        """What the last reconciliation of ``run`` found, or None."""
        rows = self._query("SELECT value FROM meta WHERE name='last_reconciliation'")
        return json.loads(rows[0][0]) if rows else None

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
        rows = self._query("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (limit,))
        return [_cycle(row) for row in rows]

    def cycle_overview(self, company: str | None) -> dict[str, Any]:
        """The cycle history in short: the last good cycle, what came after it, the latest one.

        Dry runs (``once --dry-run``) are left out: they post nothing, so they say nothing about
        whether receipts are being posted. Each cycle carries its ``outcome`` (``cycle_outcome``).
        ``company`` None: every company's cycles.
        """
        real = "company=? AND dry_run=0" if company is not None else "dry_run=0"
        params: tuple[Any, ...] = (company,) if company is not None else ()
        with self._lock, self._failures_are_ledger_errors():
            recorded = self._db.execute(f"SELECT COUNT(*) FROM cycles WHERE {real}", params).fetchone()[0]  # noqa: S608
            latest = self._db.execute(
                f"SELECT * FROM cycles WHERE {real} ORDER BY id DESC LIMIT 1",  # noqa: S608
                params,
            ).fetchone()
            # Newest first, stopping at the last good one: usually one or two rows.
            since: list[dict[str, Any]] = []
            last_good = None
            for row in self._db.execute(
                f"SELECT * FROM cycles WHERE {real} ORDER BY id DESC",  # noqa: S608
                params,
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


def _of_company(where: str, company: str | None) -> tuple[str, tuple[Any, ...]]:
    """``where`` narrowed to one company's postings when ``company`` is given."""
    return (f"company=? AND {where}", (company,)) if company is not None else (where, ())


def _posting(row: sqlite3.Row) -> PostingRow:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    data["recheck"] = bool(data.get("recheck"))
    return PostingRow(**data)
